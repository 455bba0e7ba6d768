"""The documented built-in functions, and nothing else.

avg, len, lg, ln, log, max, min, norm, percentile, rand, range, std, stop,
sum, time, val. A *doubleVecList* argument is any mix of doubles and
doubleVecs, flattened into one vector first (``avg(v, 7)`` is
``avg(1, 2, 3, 7)`` when ``v`` is ``[1, 2, 3]``). ``lg``/``ln``/``log`` of a
single double give a double; of a vector or a list, a doubleVec.
Errors are raised without a position; the evaluator adds the call's.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Callable

from .errors import FormulaEvaluationError
from .timeparse import parse_time
from .values import DoubleVec, Timestamp, Value, type_name

__all__ = ["FUNCTIONS", "StopEvaluation", "call_function", "fsum"]


class StopEvaluation(Exception):
    """Raised by ``stop()``: end the evaluation, keep what was assigned."""


def call_function(name: str, args: list[Value], *, now: datetime,
                  rand: Callable[[], float]) -> Value:
    """Call built-in ``name``."""
    if name == "rand":
        _arity(name, args, 0)
        return float(rand())
    if name == "time":
        return _time(args, now)
    if name not in _PURE:
        raise FormulaEvaluationError(f"unknown function {name}()")
    return _PURE[name](args)


def fsum(values: list[float]) -> float:
    """An exact sum; inf/nan and intermediate overflow as IEEE would give."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):
        return float(sum(values))


def _flatten(name: str, args: list[Value]) -> list[float]:
    flat: list[float] = []
    for arg in args:
        if isinstance(arg, float):
            flat.append(arg)
        elif isinstance(arg, DoubleVec):
            flat.extend(arg.items)
        else:
            raise FormulaEvaluationError(
                f"{name}() takes doubles and doubleVecs, got {type_name(arg)}")
    return flat


def _nonempty(name: str, args: list[Value]) -> list[float]:
    flat = _flatten(name, args)
    if not flat:
        raise FormulaEvaluationError(f"{name}() of an empty vector")
    return flat


def _arity(name: str, args: list[Value], count: int) -> None:
    if len(args) != count:
        raise FormulaEvaluationError(f"{name}() takes {count} arguments, got {len(args)}")


def _std(args: list[Value]) -> float:
    flat = _nonempty("std", args)
    if len(flat) == 1:
        return 0.0
    mean = fsum(flat) / len(flat)
    return math.sqrt(fsum([(x - mean) * (x - mean) for x in flat]) / (len(flat) - 1))


def _logarithm(name: str, base: Callable[[float], float]) -> Callable[[list[Value]], Value]:
    def apply(x: float) -> float:
        if not x > 0:
            raise FormulaEvaluationError(f"{name}() of a number that is not positive ({x:g})")
        return base(x)

    def function(args: list[Value]) -> Value:
        if len(args) == 1 and isinstance(args[0], float):
            return apply(args[0])
        return DoubleVec(tuple(apply(x) for x in _flatten(name, args)))

    return function


def _percentile(args: list[Value]) -> float:
    """Nearest rank: the smallest element with at least p% of v at or below it."""
    _arity("percentile", args, 2)
    vector, p = args
    if not isinstance(vector, DoubleVec) or not isinstance(p, float):
        raise FormulaEvaluationError(
            f"percentile() takes a doubleVec and a double, got "
            f"{type_name(vector)} and {type_name(p)}")
    if not vector.items:
        raise FormulaEvaluationError("percentile() of an empty vector")
    if not 0.0 <= p <= 100.0:
        raise FormulaEvaluationError(f"percentile() needs p between 0 and 100, got {p:g}")
    ordered = sorted(vector.items)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _val(args: list[Value]) -> float:
    _arity("val", args, 2)
    vector, index = args
    if not isinstance(vector, DoubleVec) or not isinstance(index, float):
        raise FormulaEvaluationError(
            f"val() takes a doubleVec and a double, got {type_name(vector)} and {type_name(index)}")
    if not (index.is_integer() and 0 <= index < len(vector)):
        raise FormulaEvaluationError(
            f"val() index {index:g} is outside the vector of length {len(vector)}")
    return vector.items[int(index)]


def _time(args: list[Value], now: datetime) -> Timestamp:
    if len(args) > 1:
        raise FormulaEvaluationError(f"time() takes 0 or 1 arguments, got {len(args)}")
    if not args or args[0] == "":
        return Timestamp(now)
    text = args[0]
    if not isinstance(text, str):
        raise FormulaEvaluationError(f"time() takes a string, got {type_name(text)}")
    moment = parse_time(text)
    if moment is None:
        raise FormulaEvaluationError(
            f"time() cannot read {text[:40]!r}: use W3C-DTF or RFC 1123")
    return Timestamp(moment)


def _stop(args: list[Value]) -> Value:
    _arity("stop", args, 0)
    raise StopEvaluation()


def _fold(name: str, fold: Callable[[list[float]], float], *, empty_ok: bool = False):
    pick = _flatten if empty_ok else _nonempty
    return lambda args: float(fold(pick(name, args)))


_PURE: dict[str, Callable[[list[Value]], Value]] = {
    "avg": _fold("avg", lambda xs: fsum(xs) / len(xs)),
    "len": _fold("len", len, empty_ok=True),
    "lg": _logarithm("lg", math.log2),
    "ln": _logarithm("ln", math.log),
    "log": _logarithm("log", math.log10),
    "max": _fold("max", max),
    "min": _fold("min", min),
    "norm": _fold("norm", lambda xs: math.sqrt(fsum([x * x for x in xs])), empty_ok=True),
    "percentile": _percentile,
    "range": _fold("range", lambda xs: max(xs) - min(xs)),
    "std": _std,
    "stop": _stop,
    "sum": _fold("sum", fsum, empty_ok=True),
    "val": _val,
}

#: Every documented function name.
FUNCTIONS = frozenset(_PURE) | {"rand", "time"}
