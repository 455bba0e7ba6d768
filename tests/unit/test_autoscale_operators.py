"""Operators per the documented type table, value rendering, and the
arithmetic laws they keep (property tests)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from topwords.backends.local.autoscale import DoubleVec, FormulaEvaluationError, TimeInterval, Timestamp
from topwords.backends.local.autoscale.names import TIME_INTERVALS
from topwords.backends.local.autoscale.operators import apply_binary, apply_unary
from topwords.backends.local.autoscale.values import render

SECOND = TimeInterval(TIME_INTERVALS["TimeInterval_Second"])
HOUR = TimeInterval(TIME_INTERVALS["TimeInterval_Hour"])
T0 = Timestamp(datetime(2024, 1, 1, 12, tzinfo=timezone.utc))
V = DoubleVec((1.0, 2.0, 4.0))


# -- the documented table, row by row -----------------------------------------------

@pytest.mark.parametrize("op,left,right,expected", [
    ("+", 2.0, 3.0, 5.0), ("-", 2.0, 3.0, -1.0), ("*", 2.0, 3.0, 6.0), ("/", 3.0, 2.0, 1.5),
    ("*", 2.0, SECOND, TimeInterval(2 * SECOND.ticks)),
    ("+", V, 1.0, DoubleVec((2.0, 3.0, 5.0))), ("-", V, 1.0, DoubleVec((0.0, 1.0, 3.0))),
    ("*", V, 2.0, DoubleVec((2.0, 4.0, 8.0))), ("/", V, 2.0, DoubleVec((0.5, 1.0, 2.0))),
    ("+", V, V, DoubleVec((2.0, 4.0, 8.0))), ("-", V, V, DoubleVec((0.0, 0.0, 0.0))),
    ("*", V, V, DoubleVec((1.0, 4.0, 16.0))), ("/", V, V, DoubleVec((1.0, 1.0, 1.0))),
    ("*", HOUR, 1.5, TimeInterval(HOUR.ticks * 3 // 2)), ("/", HOUR, 4.0, TimeInterval(HOUR.ticks // 4)),
    ("+", HOUR, SECOND, TimeInterval(HOUR.ticks + SECOND.ticks)),
    ("-", HOUR, SECOND, TimeInterval(HOUR.ticks - SECOND.ticks)),
    ("+", HOUR, T0, Timestamp(T0.moment + timedelta(hours=1))),
    ("+", T0, HOUR, Timestamp(T0.moment + timedelta(hours=1))),
    ("-", Timestamp(T0.moment + timedelta(minutes=90)), T0, TimeInterval(90 * 60 * SECOND.ticks)),
])
def test_apply_binary_documented_arithmetic_gives_documented_type(op, left, right, expected):
    assert apply_binary(op, left, right) == expected


@pytest.mark.parametrize("left,right", [
    (1.0, 2.0), ("abc", "abd"), (T0, Timestamp(T0.moment + timedelta(seconds=1))), (SECOND, HOUR),
])
def test_apply_binary_comparisons_return_one_or_zero_for_each_documented_type(left, right):
    results = {op: apply_binary(op, left, right) for op in ("<", "<=", "==", ">=", ">", "!=")}
    assert results == {"<": 1.0, "<=": 1.0, "==": 0.0, ">=": 0.0, ">": 0.0, "!=": 1.0}
    assert apply_binary("==", left, left) == 1.0 and apply_binary("!=", right, right) == 0.0


@pytest.mark.parametrize("op,left,right,expected", [
    ("&&", 1.0, 2.0, 1.0), ("&&", 1.0, 0.0, 0.0), ("||", 0.0, 0.0, 0.0), ("||", 0.0, -3.0, 1.0),
])
def test_apply_binary_logical_treats_nonzero_as_true(op, left, right, expected):
    assert apply_binary(op, left, right) == expected


@pytest.mark.parametrize("op,value,expected", [
    ("-", 2.0, -2.0), ("!", 0.0, 1.0), ("!", 5.0, 0.0), ("-", SECOND, TimeInterval(-SECOND.ticks)),
])
def test_apply_unary_documented_operands(op, value, expected):
    assert apply_unary(op, value) == expected


@pytest.mark.parametrize("op,left,right", [
    ("*", 2.0, V),            # only doubleVec op double is documented
    ("+", 2.0, V),
    ("-", T0, HOUR),          # only + between timestamp and timeinterval
    ("*", SECOND, SECOND),
    ("/", 2.0, SECOND),
    ("+", T0, T0),
    ("+", "a", "b"),
    ("+", 1.0, "a"),
    ("<", V, V),              # vectors do not compare
    ("==", 1.0, "1"),
    ("<", T0, SECOND),
    ("&&", V, 1.0),
    ("||", 1.0, "x"),
    ("+", V, DoubleVec((1.0,))),
])
def test_apply_binary_undocumented_pair_is_an_evaluation_error(op, left, right):
    with pytest.raises(FormulaEvaluationError):
        apply_binary(op, left, right)


@pytest.mark.parametrize("op,value", [("-", V), ("!", SECOND), ("-", "a"), ("!", T0), ("-", T0)])
def test_apply_unary_undocumented_operand_is_an_evaluation_error(op, value):
    with pytest.raises(FormulaEvaluationError):
        apply_unary(op, value)


@pytest.mark.parametrize("left,right", [(1.0, 0.0), (V, 0.0), (V, DoubleVec((1.0, 0.0, 1.0))), (HOUR, 0.0)])
def test_apply_binary_division_by_zero_is_an_evaluation_error(left, right):
    with pytest.raises(FormulaEvaluationError, match="division by zero"):
        apply_binary("/", left, right)


def test_apply_binary_timestamp_overflow_is_an_evaluation_error():
    with pytest.raises(FormulaEvaluationError, match="out of range"):
        apply_binary("+", T0, TimeInterval(TIME_INTERVALS["TimeInterval_Year"] * 10_000))
    with pytest.raises(FormulaEvaluationError, match="out of range"):
        apply_binary("*", HOUR, math.inf)


# -- rendering ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    (29 / 30 * 100, "96.6667"), (0.5, "0.5"), (3.0, "3"), (-0.0, "0"), (1e6, "1e+06"),
    (DoubleVec((1.0, 1.0, 2.5)), "[1,1,2.5]"), (DoubleVec(()), "[]"),
    (Timestamp(datetime(2016, 10, 13, 19, 18, 47, 805123, tzinfo=timezone.utc)), "2016-10-13T19:18:47.805Z"),
    (TimeInterval(90 * 60 * SECOND.ticks), "01:30:00"),
    (TimeInterval(TIME_INTERVALS["TimeInterval_Day"] + 5), "1.00:00:00.0000005"),
    (TimeInterval(-SECOND.ticks), "-00:00:01"),
    ("taskcompletion", "taskcompletion"),
])
def test_render_prints_values_as_the_service_results_do(value, text):
    assert render(value) == text


def test_timestamp_members_follow_the_docs():
    moment = Timestamp(datetime(2024, 3, 4, 13, 5, 9, tzinfo=timezone.utc))  # a Monday
    members = {name: moment.member(name) for name in
               ("year", "month", "day", "weekday", "hour", "minute", "second")}
    assert members == {"year": 2024, "month": 3, "day": 4, "weekday": 1, "hour": 13,
                       "minute": 5, "second": 9}
    assert Timestamp(datetime(2024, 3, 10, tzinfo=timezone.utc)).member("weekday") == 0  # Sunday
    assert moment.member("millisecond") is None


def test_timestamp_is_utc_and_rejects_naive_datetimes():
    east = timezone(timedelta(hours=2))
    assert Timestamp(datetime(2024, 1, 1, 2, tzinfo=east)).moment == datetime(2024, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        Timestamp(datetime(2024, 1, 1))


# -- laws -------------------------------------------------------------------------------

doubles = st.floats(-1e6, 1e6, allow_nan=False)
nonzero = doubles.filter(lambda x: abs(x) > 1e-3)
vectors = st.integers(0, 6).flatmap(
    lambda k: st.tuples(*[st.lists(doubles, min_size=k, max_size=k).map(lambda xs: DoubleVec(tuple(xs)))] * 3))
ticks = st.integers(-10**15, 10**15).map(TimeInterval)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def vclose(a: DoubleVec, b: DoubleVec) -> bool:
    return len(a) == len(b) and all(close(x, y) for x, y in zip(a.items, b.items))


@given(doubles, doubles)
def test_double_addition_and_multiplication_commute(a, b):
    assert apply_binary("+", a, b) == apply_binary("+", b, a)
    assert apply_binary("*", a, b) == apply_binary("*", b, a)


@given(doubles, doubles, doubles)
def test_double_addition_associates_within_float_tolerance(a, b, c):
    left = apply_binary("+", apply_binary("+", a, b), c)
    right = apply_binary("+", a, apply_binary("+", b, c))
    assert close(left, right)


@given(doubles, nonzero)
def test_double_division_undoes_multiplication(a, b):
    assert close(apply_binary("/", apply_binary("*", a, b), b), a)


@given(vectors)
def test_vector_addition_commutes_and_associates(vs):
    u, v, w = vs
    assert apply_binary("+", u, v) == apply_binary("+", v, u)
    assert vclose(apply_binary("+", apply_binary("+", u, v), w),
                  apply_binary("+", u, apply_binary("+", v, w)))


@given(vectors, doubles)
def test_vector_scalar_ops_act_elementwise(vs, k):
    u = vs[0]
    for op in ("+", "-", "*"):
        got = apply_binary(op, u, k)
        assert got == DoubleVec(tuple(apply_binary(op, x, k) for x in u.items))


@given(vectors, doubles, doubles)
def test_vector_multiplication_distributes_over_scalar_addition(vs, a, b):
    u = vs[0]
    assert vclose(apply_binary("*", u, apply_binary("+", a, b)),
                  apply_binary("+", apply_binary("*", u, a), apply_binary("*", u, b)))


@given(ticks, ticks)
def test_interval_addition_commutes_and_subtraction_inverts_it(a, b):
    assert apply_binary("+", a, b) == apply_binary("+", b, a)
    assert apply_binary("-", apply_binary("+", a, b), b) == a


@given(st.integers(-10**6, 10**6), st.integers(-1000, 1000))
def test_interval_scaling_commutes_with_the_double(seconds, factor):
    interval = TimeInterval(seconds * SECOND.ticks)
    assert apply_binary("*", float(factor), interval) == apply_binary("*", interval, float(factor))
    assert apply_binary("*", interval, float(factor)).ticks == seconds * factor * SECOND.ticks


@given(st.integers(-10**9, 10**9))
def test_timestamp_plus_interval_minus_timestamp_is_the_interval(seconds):
    interval = TimeInterval(seconds * SECOND.ticks)
    assert apply_binary("-", apply_binary("+", T0, interval), T0) == interval


@given(doubles, doubles)
def test_comparisons_are_consistent(a, b):
    assume(a != b)
    lt, gt = apply_binary("<", a, b), apply_binary(">", a, b)
    assert lt + gt == 1.0
    assert apply_binary("<=", a, b) == lt and apply_binary("!=", a, b) == 1.0


def test_render_pads_years_before_1000():
    assert render(Timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc))) == "0999-01-02T03:04:05.000Z"
