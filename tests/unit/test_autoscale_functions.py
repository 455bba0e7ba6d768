"""The documented built-in functions: each one's semantics, doubleVecList
flattening, ``time()`` formats, and statistical laws (property tests)."""

from __future__ import annotations

import math
import random
import statistics
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topwords.backends.local.autoscale import FUNCTIONS, DoubleVec, FormulaEvaluationError, Timestamp
from topwords.backends.local.autoscale.functions import StopEvaluation, call_function
from topwords.backends.local.autoscale.timeparse import parse_time

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
UTC = timezone.utc


def call(name, *args, rand=lambda: 0.25):
    return call_function(name, list(args), now=NOW, rand=rand)


def vec(*xs: float) -> DoubleVec:
    return DoubleVec(tuple(float(x) for x in xs))


def test_functions_are_exactly_the_documented_list():
    assert FUNCTIONS == {"avg", "len", "lg", "ln", "log", "max", "min", "norm", "percentile",
                         "rand", "range", "std", "stop", "sum", "time", "val"}


@pytest.mark.parametrize("name,args,expected", [
    ("avg", (vec(1, 2, 3),), 2.0),
    ("avg", (vec(1, 2, 3), 7.0), 3.25),          # avg(v, 7) == avg(1, 2, 3, 7)
    ("avg", (1.0, 2.0, 3.0, 7.0), 3.25),
    ("len", (vec(1, 2), 3.0, vec()), 3.0),
    ("len", (vec(),), 0.0),
    ("max", (0.0, vec(3, -1)), 3.0),
    ("min", (vec(3, -1), 5.0), -1.0),
    ("norm", (vec(3, 4),), 5.0),
    ("range", (vec(3, -1), 10.0), 11.0),
    ("std", (vec(2, 4, 4, 4, 5, 5, 7, 9),), statistics.stdev([2, 4, 4, 4, 5, 5, 7, 9])),
    ("std", (5.0,), 0.0),
    ("sum", (vec(1, 2), 0.5), 3.5),
    ("sum", (vec(),), 0.0),
    ("lg", (8.0,), 3.0),
    ("ln", (math.e,), 1.0),
    ("log", (1000.0,), 3.0),
    ("val", (vec(5, 6, 7), 0.0), 5.0),
    ("val", (vec(5, 6, 7), 2.0), 7.0),
    ("percentile", (vec(15, 20, 35, 40, 50), 0.0), 15.0),
    ("percentile", (vec(15, 20, 35, 40, 50), 30.0), 20.0),
    ("percentile", (vec(15, 20, 35, 40, 50), 40.0), 20.0),
    ("percentile", (vec(15, 20, 35, 40, 50), 50.0), 35.0),
    ("percentile", (vec(50, 15, 40, 20, 35), 100.0), 50.0),
    ("rand", (), 0.25),
])
def test_call_function_computes_the_documented_value(name, args, expected):
    got = call(name, *args)
    assert isinstance(got, float)
    assert math.isclose(got, expected, rel_tol=1e-12)


@pytest.mark.parametrize("name", ["lg", "ln", "log"])
def test_log_functions_of_a_vector_or_list_are_componentwise_vectors(name):
    base = {"lg": 2.0, "ln": math.e, "log": 10.0}[name]
    assert call(name, vec(1, base)) == vec(0, 1)
    got = call(name, 1.0, vec(base, base * base))
    assert isinstance(got, DoubleVec) and [round(x, 12) for x in got.items] == [0.0, 1.0, 2.0]
    assert isinstance(call(name, 4.0), float)


@pytest.mark.parametrize("name,args,fragment", [
    ("avg", (vec(),), "empty"), ("max", (), "empty"), ("min", (vec(),), "empty"),
    ("range", (), "empty"), ("std", (vec(),), "empty"),
    ("avg", ("a",), "doubles and doubleVecs"), ("sum", (Timestamp(NOW),), "doubles and doubleVecs"),
    ("lg", (0.0,), "not positive"), ("ln", (vec(1, -1),), "not positive"), ("log", (-1.0,), "not positive"),
    ("percentile", (vec(1), 101.0), "between 0 and 100"), ("percentile", (vec(), 50.0), "empty"),
    ("percentile", (1.0, 50.0), "takes a doubleVec"), ("percentile", (vec(1),), "takes 2 arguments"),
    ("val", (vec(1, 2), 2.0), "outside"), ("val", (vec(1, 2), -1.0), "outside"),
    ("val", (vec(1, 2), 0.5), "outside"), ("val", (1.0, 0.0), "takes a doubleVec"),
    ("rand", (1.0,), "takes 0 arguments"), ("stop", (1.0,), "takes 0 arguments"),
    ("time", (1.0,), "takes a string"), ("time", ("yesterday",), "cannot read"),
    ("time", ("a", "b"), "0 or 1 arguments"),
    ("ceil", (1.5,), "unknown function"), ("round", (1.5,), "unknown function"),
    ("histogram", (vec(1),), "unknown function"),
])
def test_call_function_with_bad_arguments_is_an_evaluation_error(name, args, fragment):
    with pytest.raises(FormulaEvaluationError, match=fragment):
        call(name, *args)


def test_stop_signals_the_evaluator():
    with pytest.raises(StopEvaluation):
        call("stop")


def test_time_without_argument_or_with_empty_string_is_now():
    assert call("time") == Timestamp(NOW) == call("time", "")


@pytest.mark.parametrize("text,expected", [
    ("2016", datetime(2016, 1, 1, tzinfo=UTC)),
    ("2016-10", datetime(2016, 10, 1, tzinfo=UTC)),
    ("2016-10-13", datetime(2016, 10, 13, tzinfo=UTC)),
    ("2016-10-13T19:18Z", datetime(2016, 10, 13, 19, 18, tzinfo=UTC)),
    ("2016-10-13T19:18:47Z", datetime(2016, 10, 13, 19, 18, 47, tzinfo=UTC)),
    ("2016-10-13T19:18:47.805Z", datetime(2016, 10, 13, 19, 18, 47, 805000, tzinfo=UTC)),
    ("2016-10-13T19:18:47.8051234Z", datetime(2016, 10, 13, 19, 18, 47, 805123, tzinfo=UTC)),
    ("2016-10-13T21:18:47+02:00", datetime(2016, 10, 13, 19, 18, 47, tzinfo=UTC)),
    ("2016-10-13T13:18:47-06:00", datetime(2016, 10, 13, 19, 18, 47, tzinfo=UTC)),
    ("Thu, 13 Oct 2016 19:18:47 GMT", datetime(2016, 10, 13, 19, 18, 47, tzinfo=UTC)),
])
def test_parse_time_reads_w3c_dtf_and_rfc_1123(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", [
    "2016-10-13T19:18:47", "2016-10-13T19:18:47.805123456Z", "2016-13-01", "2016-02-30",
    "2016-10-13 19:18:47Z", "13 Oct 2016 19:18:47 GMT", "Thu, 13 Oct 2016 19:18:47 UTC",
    "2016-10-13T19:18:47+24:00", "0001-01-01T00:00:00+01:00", "", "now",
])
def test_parse_time_rejects_other_forms(text):
    assert parse_time(text) is None


# -- laws ------------------------------------------------------------------------------

values = st.floats(-1e9, 1e9, allow_nan=False)
nonempty = st.lists(values, min_size=1, max_size=40)
# A doubleVecList: each element is a double or a doubleVec.
vector_lists = st.lists(st.one_of(values, st.lists(values, max_size=5).map(lambda xs: vec(*xs))),
                        min_size=1, max_size=6)


def flat(args) -> list[float]:
    out = []
    for arg in args:
        out.extend(arg.items if isinstance(arg, DoubleVec) else [arg])
    return out


@given(nonempty)
def test_min_avg_max_are_ordered(xs):
    v = vec(*xs)
    low, mean, high = call("min", v), call("avg", v), call("max", v)
    assert low <= mean + 1e-6 * max(1.0, abs(mean)) and mean <= high + 1e-6 * max(1.0, abs(mean))
    assert call("range", v) == high - low


@given(vector_lists)
def test_list_functions_equal_their_flattened_form(args):
    single = vec(*flat(args))
    for name in ("len", "sum", "norm"):
        assert call(name, *args) == call(name, single)
    if flat(args):
        for name in ("avg", "min", "max", "range", "std"):
            assert call(name, *args) == call(name, single)


@given(nonempty, st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotone_in_p_and_returns_an_element(xs, p, q):
    v = vec(*xs)
    lo, hi = sorted((p, q))
    assert call("percentile", v, lo) <= call("percentile", v, hi)
    assert call("percentile", v, p) in xs
    assert call("percentile", v, 0.0) == min(xs) and call("percentile", v, 100.0) == max(xs)


@given(nonempty)
def test_std_matches_the_sample_standard_deviation(xs):
    expected = statistics.stdev(xs) if len(xs) > 1 else 0.0
    assert math.isclose(call("std", vec(*xs)), expected, rel_tol=1e-7, abs_tol=1e-6)


@given(st.lists(values, max_size=40))
def test_sum_and_len_agree_with_python(xs):
    assert math.isclose(call("sum", vec(*xs)), math.fsum(xs), abs_tol=1e-6)
    assert call("len", vec(*xs)) == len(xs)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.just(UTC)))
def test_time_reads_back_what_results_print(moment):
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    assert call("time", text) == Timestamp(moment)
    rfc = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert call("time", rfc) == Timestamp(moment.replace(microsecond=0))


def test_huge_values_do_not_raise_python_errors():
    assert call("sum", vec(1e308, 1e308)) == math.inf
    assert call("norm", vec(1e308, 1e308, -1e308)) == math.inf
    assert call("std", vec(1e308, -1e308)) == math.inf
    assert math.isnan(call("sum", vec(math.inf, -math.inf)))
    assert call("avg", vec(1e308, 1e308)) >= 1e308


def test_rand_uses_the_given_generator_and_defaults_to_0_to_1():
    assert call("rand", rand=lambda: 0.75) == 0.75
    assert 0.0 <= call_function("rand", [], now=NOW, rand=random.random) < 1.0
