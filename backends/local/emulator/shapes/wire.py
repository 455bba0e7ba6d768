"""Batch's wire formats: times, ISO 8601 durations and ETags."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..errors import bad_value

__all__ = ["MAX_DURATION", "etag", "format_duration", "format_time", "http_date",
           "parse_duration", "stamps"]

#: Batch's "unlimited" (.NET TimeSpan.MaxValue)
MAX_DURATION = "P10675199DT2H48M5.4775807S"
_UNLIMITED = 10 * 365 * 86400.0  # longer than this counts as unlimited
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?"
                       r"(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def format_time(when: datetime) -> str:
    """``2024-05-01T12:00:00.123456Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def http_date(when: datetime) -> str:
    """RFC 1123, as in ``Last-Modified``."""
    return when.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def etag(when: datetime) -> str:
    """An ETag in Batch's style (``0x8D...``): .NET ticks of ``when``."""
    delta = when - datetime(1, 1, 1, tzinfo=timezone.utc)
    ticks = (delta.days * 86400 + delta.seconds) * 10**7 + delta.microseconds * 10
    return f"0x{ticks:X}"


def stamps(when: datetime) -> dict[str, str]:
    """The ``ETag`` and ``Last-Modified`` headers of a resource changed ``when``."""
    return {"ETag": etag(when), "Last-Modified": http_date(when)}


def parse_duration(text: str, name: str) -> float | None:
    """Seconds of an ISO 8601 duration (``PT10M``); None for "unlimited".

    Raises:
        BatchApiError: 400 InvalidPropertyValue naming ``name``.
    """
    match = _DURATION.match(text or "") if isinstance(text, str) else None
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise bad_value(name, "not an ISO 8601 duration such as PT10M", text)
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return None if total >= _UNLIMITED else total


def format_duration(seconds: float | None) -> str:
    """``PT10M``, ``P1DT2H0.5S``; None -> Batch's unlimited."""
    if seconds is None:
        return MAX_DURATION
    whole, fraction = divmod(round(seconds, 6), 1)
    days, rest = divmod(int(whole), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    secs_text = f"{secs + fraction:.6f}".rstrip("0").rstrip(".") if fraction else str(secs)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + \
        (f"{secs_text}S" if secs or fraction else "")
    if clock or not days:
        text += "T" + (clock or "0S")
    return text
