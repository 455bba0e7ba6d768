"""The value types of the language and how ``results`` prints them.

=============  ==========================================================
language type  Python value
=============  ==========================================================
double         ``float``
doubleVec      :class:`DoubleVec` (a tuple of floats)
doubleVecList  only as function arguments: a list of doubles/doubleVecs
string         ``str``
timestamp      :class:`Timestamp` (an aware UTC ``datetime``)
timeinterval   :class:`TimeInterval` (whole 100 ns ticks)
=============  ==========================================================

A read-only service variable evaluates to a :class:`Metric`, the object
whose methods (``GetSample``...) read its samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Union

from .names import TICKS_PER_SECOND

__all__ = [
    "DoubleVec", "Metric", "TimeInterval", "Timestamp", "Value",
    "render", "type_name",
]

_TICKS_PER_MICROSECOND = 10


@dataclass(frozen=True)
class DoubleVec:
    """A vector of doubles (``doubleVec``)."""

    items: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, order=True)
class TimeInterval:
    """A signed duration in 100 ns ticks (``timeinterval``)."""

    ticks: int = 0

    @classmethod
    def from_timedelta(cls, delta: timedelta) -> "TimeInterval":
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return cls(micros * _TICKS_PER_MICROSECOND)

    def to_timedelta(self) -> timedelta:
        """As a timedelta (rounded to the microsecond, Python's resolution)."""
        return timedelta(microseconds=round(self.ticks / _TICKS_PER_MICROSECOND))

    def seconds(self) -> float:
        return self.ticks / TICKS_PER_SECOND


@dataclass(frozen=True, order=True)
class Timestamp:
    """A point in time (``timestamp``), always UTC."""

    moment: datetime

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        object.__setattr__(self, "moment", self.moment.astimezone(timezone.utc))

    def member(self, name: str) -> float | None:
        """The documented members; weekday is 1 for Monday ... 0 for Sunday."""
        m = self.moment
        members = {"year": m.year, "month": m.month, "day": m.day,
                   "weekday": m.isoweekday() % 7, "hour": m.hour,
                   "minute": m.minute, "second": m.second}
        found = members.get(name)
        return None if found is None else float(found)


@dataclass(frozen=True)
class Metric:
    """A read-only service variable, e.g. ``$CPUPercent``."""

    name: str


Value = Union[float, DoubleVec, str, Timestamp, TimeInterval, Metric]


def type_name(value: object) -> str:
    """The language's name for the type of ``value``."""
    if isinstance(value, float):
        return "double"
    if isinstance(value, DoubleVec):
        return "doubleVec"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, TimeInterval):
        return "timeinterval"
    if isinstance(value, Metric):
        return "metric"
    if isinstance(value, list):
        return "doubleVecList"
    if value is None:
        return "nothing"
    return type(value).__name__


def render(value: Value) -> str:
    """A value as ``AutoScaleRun.results`` prints it."""
    if isinstance(value, float):
        return _double(value)
    if isinstance(value, DoubleVec):
        return "[" + ",".join(_double(item) for item in value.items) + "]"
    if isinstance(value, Timestamp):
        m = value.moment
        return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
                f"{m.second:02d}.{m.microsecond // 1000:03d}Z")
    if isinstance(value, TimeInterval):
        return _interval(value.ticks)
    if isinstance(value, Metric):
        return value.name
    return str(value)


def _double(number: float) -> str:
    """Six significant digits, like C's ``%g`` (the service prints 96.6667)."""
    text = "%g" % number
    return "0" if text == "-0" else text


def _interval(ticks: int) -> str:
    """Like a .NET TimeSpan: ``[-][d.]hh:mm:ss[.fffffff]`` (our choice)."""
    sign = "-" if ticks < 0 else ""
    seconds, fraction = divmod(abs(ticks), TICKS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    if days:
        text = f"{days}.{text}"
    if fraction:
        text += f".{fraction:07d}"
    return sign + text
