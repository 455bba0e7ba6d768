"""Sample methods of the read-only metrics: GetSample by count and by window,
percent thresholds, GetSamplePercent, Count, HistoryBeginTime,
GetSamplePeriod, and the availability delay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topwords.backends.local.autoscale import (DoubleVec, FormulaEvaluationError, InsufficientSampleData,
                                               StaticSamples, TimeInterval, Timestamp)
from topwords.backends.local.autoscale.samples import SampleView, call_method

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=timezone.utc)
PERIOD = timedelta(seconds=30)
MINUTE = TimeInterval.from_timedelta(timedelta(minutes=1))


def every_30s(count: int, *, newest_age: timedelta = timedelta(0), start: float = 0.0):
    """``count`` samples 30 s apart, the newest ``newest_age`` old; values count up."""
    return [(NOW - newest_age - PERIOD * (count - 1 - i), start + i) for i in range(count)]


def view(history, *, delay: timedelta = timedelta(0), name: str = "$CPUPercent") -> SampleView:
    return SampleView.of(StaticSamples(NOW, {name: history}), name, delay=delay, period=PERIOD)


def minutes(k: float) -> TimeInterval:
    return TimeInterval(round(MINUTE.ticks * k))


def get(v: SampleView, *args) -> list[float]:
    result = call_method(v, "GetSample", list(args))
    assert isinstance(result, DoubleVec)
    return list(result.items)


# -- GetSample(count) ---------------------------------------------------------------

def test_get_sample_count_returns_the_newest_samples_oldest_first():
    v = view(every_30s(5))
    assert get(v, 1.0) == [4.0]
    assert get(v, 3.0) == [2.0, 3.0, 4.0]
    assert get(v, 2.9) == [3.0, 4.0]  # a fractional count is truncated


def test_get_sample_count_beyond_the_history_returns_what_there_is():
    assert get(view(every_30s(2)), 10.0) == [0.0, 1.0]
    assert get(view([]), 1.0) == []
    assert get(view(every_30s(2)), 0.0) == []


def test_get_sample_negative_count_is_an_evaluation_error():
    with pytest.raises(FormulaEvaluationError, match="non-negative"):
        get(view(every_30s(2)), -1.0)


# -- GetSample(window [, percent]) -------------------------------------------------------

def test_get_sample_ten_minutes_with_full_history_returns_twenty_samples():
    v = view(every_30s(40))
    assert len(get(v, minutes(10))) == 20
    assert get(v, minutes(10), 100.0) == get(v, minutes(10))


def test_get_sample_percent_threshold_follows_the_documented_example():
    # "If the last minute of history was not available, only 18 samples":
    v = view(every_30s(38, newest_age=timedelta(minutes=1)))
    assert len(get(v, minutes(10))) == 18
    assert len(get(v, minutes(10), 80.0)) == 18
    with pytest.raises(InsufficientSampleData) as caught:
        get(v, minutes(10), 95.0)
    assert caught.value.detail == \
        "Insufficient data from data set: $CPUPercent wanted 95%, received 90%"
    assert caught.value.to_autoscale_run_error()["message"] == \
        "Autoscale evaluation failed due to insufficient sample data"


def test_get_sample_between_two_look_backs_takes_either_order():
    v = view(every_30s(40))
    window = get(v, minutes(1), minutes(6))  # the docs: returns 10 samples
    assert len(window) == 10 and window == get(v, minutes(6), minutes(1))
    assert window == [x for t, x in every_30s(40) if NOW - timedelta(minutes=6) < t <= NOW - timedelta(minutes=1)]


def test_get_sample_accepts_timestamps_and_mixed_bounds():
    v = view(every_30s(40))
    start = Timestamp(NOW - timedelta(minutes=6))
    end = Timestamp(NOW - timedelta(minutes=1))
    assert get(v, start, end) == get(v, minutes(6), minutes(1)) == get(v, start, minutes(1))
    assert get(v, start) == get(v, minutes(6))


def test_get_sample_with_window_and_percent_checks_the_window():
    v = view(every_30s(10))  # 5 minutes of history
    assert len(get(v, minutes(2), minutes(4), 100.0)) == 4
    with pytest.raises(InsufficientSampleData, match="wanted 75%, received 50%"):
        get(v, minutes(0), minutes(10), 75.0)


def test_get_samples_from_a_shorter_window_than_the_period_reports_100_percent():
    v = view(every_30s(3))
    assert call_method(v, "GetSamplePercent", [TimeInterval.from_timedelta(timedelta(seconds=15))]) == 100.0
    assert call_method(v, "GetSamplePercent", [TimeInterval(0)]) == 0.0


@pytest.mark.parametrize("args,fragment", [
    ([], "1 to 3 arguments"),
    ([1.0, 50.0], "only the count"),
    (["a"], "timestamp or timeinterval"),
    ([MINUTE, "x"], "timestamp or timeinterval"),
    ([MINUTE, MINUTE, MINUTE], "samplePercent must be a double"),
    ([MINUTE, MINUTE, 1.0, 1.0], "1 to 3 arguments"),
])
def test_get_sample_with_bad_arguments_is_an_evaluation_error(args, fragment):
    with pytest.raises(FormulaEvaluationError, match=fragment):
        call_method(view(every_30s(3)), "GetSample", args)


# -- the other methods --------------------------------------------------------------------

def test_get_sample_percent_compares_available_with_possible_samples():
    v = view(every_30s(29))  # 15 minutes would hold 30
    assert call_method(v, "GetSamplePercent", [minutes(15)]) == pytest.approx(100 * 29 / 30)
    assert call_method(v, "GetSamplePercent", [minutes(3), minutes(1)]) == 100.0
    assert call_method(view([]), "GetSamplePercent", [minutes(3)]) == 0.0
    with pytest.raises(FormulaEvaluationError, match="1 or 2 arguments"):
        call_method(v, "GetSamplePercent", [])


def test_count_history_begin_time_and_sample_period():
    history = every_30s(7)
    v = view(history)
    assert call_method(v, "Count", []) == 7.0
    assert call_method(v, "HistoryBeginTime", []) == Timestamp(history[0][0])
    assert call_method(v, "GetSamplePeriod", []) == TimeInterval.from_timedelta(PERIOD)
    with pytest.raises(InsufficientSampleData, match="has no samples"):
        call_method(view([]), "HistoryBeginTime", [])
    with pytest.raises(FormulaEvaluationError, match="no arguments"):
        call_method(v, "Count", [1.0])
    with pytest.raises(FormulaEvaluationError, match="has no method Average"):
        call_method(v, "Average", [])


def test_availability_delay_hides_the_newest_samples():
    history = every_30s(20)
    v = view(history, delay=timedelta(minutes=1))
    assert call_method(v, "Count", []) == 18.0
    assert get(v, 1.0) == [17.0]
    assert len(get(v, minutes(10))) == 18


def test_unsorted_history_is_read_in_time_order():
    history = every_30s(4)
    assert get(view(list(reversed(history))), 4.0) == [0.0, 1.0, 2.0, 3.0]


# -- properties ---------------------------------------------------------------------------

ages = st.lists(st.integers(0, 3600), unique=True, max_size=80)  # seconds before NOW


def history_of(seconds: list[int]):
    return sorted((NOW - timedelta(seconds=s), float(s)) for s in seconds)


@given(ages, st.integers(0, 60))
def test_get_sample_window_returns_exactly_the_samples_in_it(seconds, k):
    history = history_of(seconds)
    got = get(view(history), minutes(k))
    assert got == [v for t, v in history if NOW - timedelta(minutes=k) < t <= NOW]


@given(ages, st.integers(0, 200), st.integers(0, 300))
def test_counts_never_exceed_the_recorded_samples(seconds, n, delay):
    history = history_of(seconds)
    v = view(history, delay=timedelta(seconds=delay))
    count = call_method(v, "Count", [])
    assert count == len([t for t, _ in history if t <= NOW - timedelta(seconds=delay)]) <= len(history)
    assert len(get(v, float(n))) == min(n, count)


@given(ages, st.integers(1, 60), st.integers(0, 60))
def test_sample_percent_is_between_0_and_100_and_matches_the_window(seconds, a, b):
    v = view(history_of(seconds))
    percent = call_method(v, "GetSamplePercent", [minutes(a), minutes(b)])
    assert 0.0 <= percent <= 100.0
    window = get(v, minutes(a), minutes(b))
    if a != b:
        assert percent == pytest.approx(min(100.0, 100 * len(window) / (2 * abs(a - b))))


@given(ages, st.integers(1, 60), st.floats(0, 100))
def test_get_sample_with_percent_fails_exactly_when_too_few(seconds, k, wanted):
    v = view(history_of(seconds))
    percent = call_method(v, "GetSamplePercent", [minutes(k)])
    try:
        got = get(v, minutes(k), wanted)
    except InsufficientSampleData:
        assert percent < wanted
    else:
        assert percent >= wanted and got == get(v, minutes(k))
