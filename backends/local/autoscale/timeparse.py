"""``time("...")``: the two documented date formats, W3C-DTF and RFC 1123.

W3C-DTF (a profile of ISO 8601): ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``,
``YYYY-MM-DDThh:mmTZD``, ``YYYY-MM-DDThh:mm:ssTZD``,
``YYYY-MM-DDThh:mm:ss.sTZD`` where TZD is ``Z`` or ``+hh:mm``/``-hh:mm``.
At most 7 fractional digits (.NET's resolution; a 9-digit Java timestamp was
rejected by the service, nextflow #3866). RFC 1123: ``Sun, 06 Nov 1994
08:49:37 GMT`` (what .NET's ``ToString("r")`` writes, as the docs' example 4
uses).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["parse_time"]

_W3C = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,7}))?)?"
    r"(?P<tzd>Z|[+-]\d{2}:\d{2}))?)?)?")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{2}) (?P<month>%s) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) GMT" % "|".join(_MONTHS))


def parse_time(text: str) -> datetime | None:
    """The UTC moment ``text`` names, or None if it is in neither format."""
    try:
        return _w3c(text) or _rfc1123(text)
    except (ValueError, OverflowError):  # month 13, Feb 30, before year 1...
        return None


def _w3c(text: str) -> datetime | None:
    match = _W3C.fullmatch(text)
    if match is None:
        return None
    part = match.groupdict()
    fraction = (part["fraction"] or "").ljust(7, "0")
    moment = datetime(int(part["year"]), int(part["month"] or 1), int(part["day"] or 1),
                      int(part["hour"] or 0), int(part["minute"] or 0),
                      int(part["second"] or 0), int(fraction[:6]),
                      tzinfo=timezone.utc)
    tzd = part["tzd"]
    if tzd and tzd != "Z":
        hours, minutes = int(tzd[1:3]), int(tzd[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        moment = moment - offset if tzd[0] == "+" else moment + offset
    return moment


def _rfc1123(text: str) -> datetime | None:
    match = _RFC1123.fullmatch(text)
    if match is None:
        return None
    return datetime(int(match["year"]), _MONTHS.index(match["month"]) + 1, int(match["day"]),
                    int(match["hour"]), int(match["minute"]), int(match["second"]),
                    tzinfo=timezone.utc)
