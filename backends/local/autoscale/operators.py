"""Operators, exactly per the documented type table.

Operand pairs the docs do not list (``double * doubleVec``,
``timestamp - timeinterval``, ``-doubleVec``, comparing vectors...) are type
errors: a formula accepted here should be accepted by the service too.
Errors are raised without a position; the evaluator adds the operator's.
"""

from __future__ import annotations

import math
import operator
from datetime import timedelta

from .errors import FormulaEvaluationError
from .values import DoubleVec, TimeInterval, Timestamp, Value, type_name

__all__ = ["apply_binary", "apply_unary", "truth", "COMPARISONS", "LOGICAL"]

_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul,
               "/": operator.truediv}
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
LOGICAL = ("&&", "||")
_COMPARABLE = (float, str, Timestamp, TimeInterval)


def truth(value: Value, what: str) -> bool:
    """A double used as a condition: nonzero is true."""
    if not isinstance(value, float):
        raise FormulaEvaluationError(f"{what} needs a double, got {type_name(value)}")
    return value != 0.0


def apply_unary(op: str, value: Value) -> Value:
    if isinstance(value, float):
        return -value if op == "-" else float(value == 0.0)
    if op == "-" and isinstance(value, TimeInterval):
        return TimeInterval(-value.ticks)
    raise FormulaEvaluationError(f"operator {op} does not apply to {type_name(value)}")


def apply_binary(op: str, left: Value, right: Value) -> Value:
    """``left op right`` for the arithmetic and comparison operators."""
    if op in COMPARISONS:
        if type(left) is type(right) and isinstance(left, _COMPARABLE):
            return float(COMPARISONS[op](left, right))
        _mismatch(op, left, right)
    if op in LOGICAL:  # both already evaluated (the evaluator short-circuits)
        a, b = truth(left, op), truth(right, op)
        return float(a and b) if op == "&&" else float(a or b)
    if isinstance(left, float) and isinstance(right, float):
        return _double(op, left, right)
    if isinstance(left, DoubleVec):
        return _vector(op, left, right)
    return _time(op, left, right)


def _double(op: str, left: float, right: float) -> float:
    if op == "/" and right == 0.0:
        raise FormulaEvaluationError("division by zero")
    return _ARITHMETIC[op](left, right)


def _vector(op: str, left: DoubleVec, right: Value) -> DoubleVec:
    if isinstance(right, float):
        return DoubleVec(tuple(_double(op, item, right) for item in left.items))
    if isinstance(right, DoubleVec):
        if len(left) != len(right):
            raise FormulaEvaluationError(
                f"operator {op} needs vectors of one length, got {len(left)} and {len(right)}")
        return DoubleVec(tuple(_double(op, a, b) for a, b in zip(left.items, right.items)))
    _mismatch(op, left, right)


def _time(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, TimeInterval):
        if isinstance(right, float) and op in "*/":
            if op == "/" and right == 0.0:
                raise FormulaEvaluationError("division by zero")
            return _scaled(left, right if op == "*" else 1.0 / right)
        if isinstance(right, TimeInterval) and op in "+-":
            return TimeInterval(_ARITHMETIC[op](left.ticks, right.ticks))
        if isinstance(right, Timestamp) and op == "+":
            return shift(right, left)
    elif isinstance(left, float) and isinstance(right, TimeInterval) and op == "*":
        return _scaled(right, left)
    elif isinstance(left, Timestamp):
        if isinstance(right, TimeInterval) and op == "+":
            return shift(left, right)
        if isinstance(right, Timestamp) and op == "-":
            return TimeInterval.from_timedelta(left.moment - right.moment)
    _mismatch(op, left, right)


def _scaled(interval: TimeInterval, factor: float) -> TimeInterval:
    ticks = interval.ticks * factor
    if not math.isfinite(ticks):
        raise FormulaEvaluationError("time interval out of range")
    return TimeInterval(round(ticks))


def shift(moment: Timestamp, interval: TimeInterval) -> Timestamp:
    """``moment + interval``, failing cleanly outside years 1..9999."""
    try:
        return Timestamp(moment.moment + timedelta(microseconds=interval.ticks / 10))
    except OverflowError:
        raise FormulaEvaluationError("timestamp out of range") from None


def _mismatch(op: str, left: Value, right: Value) -> None:
    raise FormulaEvaluationError(
        f"operator {op} does not apply to {type_name(left)} and {type_name(right)}")
