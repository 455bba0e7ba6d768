"""Sample data: the input interface and the sample methods of a metric.

The engine supplies a :class:`Samples` (or uses :class:`StaticSamples`);
the evaluator calls :func:`call_method` for ``$Metric.Method(args)``.

Semantics (sources and choices: /work/notes/autoscale-language.md):

* Only samples at or before ``now - availability_delay`` are *available*.
* A window ``(start, end]`` is given by look-back intervals (``now -
  interval``) or timestamps, in either order; it holds at most ``(end -
  start) / period`` samples, and its *percent* is available / possible,
  capped at 100.
* ``GetSample`` returns the window's values oldest first, and raises
  :class:`InsufficientSampleData` when a ``samplePercent`` is not met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping, Protocol, Sequence, runtime_checkable

from .errors import FormulaEvaluationError, InsufficientSampleData
from .values import DoubleVec, TimeInterval, Timestamp, Value, type_name

__all__ = ["Sample", "Samples", "StaticSamples", "SampleView", "call_method"]

Sample = tuple[datetime, float]


@runtime_checkable
class Samples(Protocol):
    """What an evaluation reads: the clock, metric histories, current values.

    ``now`` is the evaluation time (aware, UTC). ``history(name)`` returns
    the samples recorded for a read-only variable (``"$ActiveTasks"``...),
    oldest first, newest last, as ``(aware datetime, value)``; an empty
    sequence when none were recorded. ``current(name)`` returns the plain
    value of ``$CurrentDedicatedNodes``, ``$CurrentLowPriorityNodes``,
    ``$TaskSlotsPerNode`` and the pool's current ``$TargetDedicatedNodes`` /
    ``$TargetLowPriorityNodes``, or None when unknown. Neither may raise.
    """

    @property
    def now(self) -> datetime: ...

    def history(self, name: str) -> Sequence[Sample]: ...

    def current(self, name: str) -> float | None: ...


@dataclass(frozen=True)
class StaticSamples:
    """A :class:`Samples` over fixed data (tests, one-off evaluations)."""

    now: datetime
    histories: Mapping[str, Sequence[Sample]] = field(default_factory=dict)
    values: Mapping[str, float] = field(default_factory=dict)

    def history(self, name: str) -> Sequence[Sample]:
        return self.histories.get(name, ())

    def current(self, name: str) -> float | None:
        return self.values.get(name)


@dataclass(frozen=True)
class SampleView:
    """The available samples of one metric at one evaluation."""

    name: str
    now: datetime
    samples: tuple[Sample, ...]  # available ones, oldest first
    period: timedelta

    @classmethod
    def of(cls, source: Samples, name: str, *, delay: timedelta,
           period: timedelta) -> "SampleView":
        cutoff = source.now - delay
        kept = tuple(s for s in source.history(name) if s[0] <= cutoff)
        return cls(name, source.now, tuple(sorted(kept, key=lambda s: s[0])), period)

    def window(self, start: datetime, end: datetime) -> tuple[list[float], float]:
        """Values in ``(start, end]`` and the percent of possible samples."""
        start, end = min(start, end), max(start, end)
        values = [value for moment, value in self.samples if start < moment <= end]
        possible = (end - start) / self.period
        if possible <= 0:
            percent = 100.0 if values else 0.0
        else:
            percent = min(100.0, 100.0 * len(values) / possible)
        return values, percent

    def last(self, count: float) -> list[float]:
        if not math.isfinite(count) or count < 0:
            raise FormulaEvaluationError(f"GetSample count must be a non-negative number, got {count:g}")
        start = max(0, len(self.samples) - int(count))
        return [value for _, value in self.samples[start:]]


def call_method(view: SampleView, method: str, args: list[Value]) -> Value:
    """Run ``$Metric.method(args)``; errors carry no position yet."""
    if method == "GetSample":
        return _get_sample(view, args)
    if method == "GetSamplePercent":
        if not 1 <= len(args) <= 2:
            _arity(method, "1 or 2", len(args))
        start, end = _bounds(view, args, method)
        return view.window(start, end)[1]
    if method in ("Count", "GetSamplePeriod", "HistoryBeginTime") and args:
        _arity(method, "no", len(args))
    if method == "Count":
        return float(len(view.samples))
    if method == "GetSamplePeriod":
        return TimeInterval.from_timedelta(view.period)
    if method == "HistoryBeginTime":
        if not view.samples:
            raise InsufficientSampleData(f"Insufficient data from data set: {view.name} has no samples")
        return Timestamp(view.samples[0][0])
    raise FormulaEvaluationError(f"{view.name} has no method {method}()")


def _get_sample(view: SampleView, args: list[Value]) -> DoubleVec:
    if not args or len(args) > 3:
        _arity("GetSample", "1 to 3", len(args))
    if isinstance(args[0], float):
        if len(args) > 1:
            raise FormulaEvaluationError("GetSample(count) takes only the count")
        return DoubleVec(tuple(view.last(args[0])))
    wanted = None
    if len(args) == 3 or (len(args) == 2 and isinstance(args[1], float)):
        wanted = args[-1]
        if not isinstance(wanted, float):
            raise FormulaEvaluationError(f"samplePercent must be a double, got {type_name(wanted)}")
        args = args[:-1]
    start, end = _bounds(view, args, "GetSample")
    values, percent = view.window(start, end)
    if wanted is not None and percent < wanted:
        raise InsufficientSampleData(
            f"Insufficient data from data set: {view.name} wanted {wanted:g}%, "
            f"received {percent:g}%")
    return DoubleVec(tuple(values))


def _bounds(view: SampleView, args: list[Value], method: str) -> tuple[datetime, datetime]:
    moments = [_moment(view, arg, method) for arg in args]
    return (moments[0], view.now) if len(moments) == 1 else (moments[0], moments[1])


def _moment(view: SampleView, arg: Value, method: str) -> datetime:
    if isinstance(arg, Timestamp):
        return arg.moment
    if isinstance(arg, TimeInterval):
        try:
            return view.now - arg.to_timedelta()
        except OverflowError:
            raise FormulaEvaluationError("time interval out of range") from None
    raise FormulaEvaluationError(
        f"{method} needs a timestamp or timeinterval, got {type_name(arg)}")


def _arity(method: str, expected: str, got: int) -> None:
    raise FormulaEvaluationError(f"{method}() takes {expected} arguments, got {got}")
