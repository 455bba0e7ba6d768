"""The evaluator: statement order, service variables and aliases, results
rendering, error outcomes, short-circuiting, stop(), and robustness."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topwords.backends.local.autoscale import (FormulaEvaluationError, FormulaSyntaxError,
                                               InsufficientSampleData, StaticSamples, evaluate, parse)
from topwords.backends.local.autoscale.parser import MAX_DEPTH

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=timezone.utc)  # a Monday
POOL = {"$TargetDedicatedNodes": 2.0, "$TargetLowPriorityNodes": 1.0,
        "$CurrentDedicatedNodes": 2.0, "$CurrentLowPriorityNodes": 0.0, "$TaskSlotsPerNode": 4.0}


def run(formula: str, histories=None, values=None, **options):
    source = StaticSamples(NOW, histories or {}, {**POOL, **(values or {})})
    return evaluate(formula, source, **options)


def error_of(formula: str, **kwargs):
    outcome = run(formula, **kwargs)
    assert outcome.error is not None, outcome.results
    assert outcome.target_dedicated_nodes is None and outcome.node_deallocation_option is None
    return outcome.error


# -- results ---------------------------------------------------------------------------

def test_evaluate_lists_service_variables_first_then_users_in_name_order():
    outcome = run("zeta = 1; $TargetDedicatedNodes = 3; Alpha = 2; $beta = {1, 2}; $NodeDeallocationOption = terminate")
    assert outcome.results == ("$TargetDedicatedNodes=3;$TargetLowPriorityNodes=1;"
                               "$NodeDeallocationOption=terminate;$beta=[1,2];Alpha=2;zeta=1")
    assert list(outcome.variables) == ["$TargetDedicatedNodes", "$TargetLowPriorityNodes",
                                       "$NodeDeallocationOption", "$beta", "Alpha", "zeta"]
    assert (outcome.target_dedicated_nodes, outcome.target_low_priority_nodes,
            outcome.node_deallocation_option) == (3, 1, "terminate")


def test_evaluate_without_assignments_keeps_the_current_targets_and_requeue():
    outcome = run("x = $CurrentDedicatedNodes * 1.1")
    assert outcome.results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=1;$NodeDeallocationOption=requeue;x=2.2"
    assert outcome.to_autoscale_run() == {"timestamp": "2024-05-06T12:00:00.000Z", "results": outcome.results}


def test_evaluate_last_assignment_wins_and_reads_see_earlier_ones():
    outcome = run("a = 1; b = a + 1; a = b * 10; $TargetDedicatedNodes = $TargetDedicatedNodes + a")
    assert outcome.variables["a"] == 20.0 and outcome.target_dedicated_nodes == 22


def test_evaluate_fractional_target_is_truncated_for_the_pool_but_printed_as_computed():
    outcome = run("$TargetDedicatedNodes = 2.75; $TargetLowPriorityNodes = 0.5")
    assert outcome.results.startswith("$TargetDedicatedNodes=2.75;$TargetLowPriorityNodes=0.5;")
    assert (outcome.target_dedicated_nodes, outcome.target_low_priority_nodes) == (2, 0)


@pytest.mark.parametrize("formula", ["$TargetDedicatedNodes = -1", "$TargetLowPriorityNodes = 1 / 0 * 0 + 1e308 * 10"])
def test_evaluate_negative_or_infinite_target_is_an_error(formula):
    error = error_of(formula)
    assert isinstance(error, FormulaEvaluationError) and error.line == 1


def test_evaluate_node_deallocation_option_accepts_documented_words_and_strings_only():
    for option in ("requeue", "terminate", "taskcompletion", "retaineddata"):
        assert run(f"$NodeDeallocationOption = {option}").node_deallocation_option == option
    assert run('$NodeDeallocationOption = "retaineddata"').node_deallocation_option == "retaineddata"
    assert "must be one of" in error_of("$NodeDeallocationOption = \"drain\"").detail
    assert "must be one of" in error_of("$NodeDeallocationOption = 1").detail


def test_evaluate_target_must_be_a_double():
    assert "must be a double, got string" in error_of('$TargetDedicatedNodes = "5"').detail
    assert "must be a double, got metric" in error_of("$TargetDedicatedNodes = $ActiveTasks").detail


# -- aliases --------------------------------------------------------------------------

def test_evaluate_alias_sets_the_target_when_the_full_name_is_not_set():
    outcome = run("$TargetDedicated = 7; $TargetLowPriority = 3")
    assert (outcome.target_dedicated_nodes, outcome.target_low_priority_nodes) == (7, 3)
    assert outcome.results.startswith("$TargetDedicatedNodes=7;$TargetLowPriorityNodes=3;")
    assert "$TargetDedicated=" not in outcome.results


def test_evaluate_full_name_wins_over_its_alias_in_either_order():
    assert run("$TargetDedicatedNodes = 4; $TargetDedicated = 9").target_dedicated_nodes == 4
    assert run("$TargetDedicated = 9; $TargetDedicatedNodes = 4").target_dedicated_nodes == 4


def test_evaluate_alias_reads_the_full_value_until_assigned():
    outcome = run("a = $TargetDedicated; $TargetDedicatedNodes = 5; b = $TargetDedicated; c = $CurrentDedicated")
    assert (outcome.variables["a"], outcome.variables["b"], outcome.variables["c"]) == (2.0, 5.0, 2.0)


# -- names and types ----------------------------------------------------------------

def test_evaluate_plain_read_only_variables_read_current_values():
    outcome = run("x = $CurrentDedicatedNodes + $CurrentLowPriorityNodes * 10 + $TaskSlotsPerNode / 4")
    assert outcome.variables["x"] == 3.0


def test_evaluate_missing_current_value_is_an_error():
    source = StaticSamples(NOW, {}, {})
    outcome = evaluate("x = $TaskSlotsPerNode", source)
    assert "has no current value" in outcome.error.detail
    assert evaluate("x = 1", source).results == \
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;x=1"


def test_evaluate_sampled_metric_used_as_a_number_says_how_to_read_it():
    error = error_of("x = 1;\ny = $ActiveTasks + 1")
    assert (error.line, error.col) == (2, 5)
    assert error.detail == "$ActiveTasks is a sampled metric: read it with $ActiveTasks.GetSample(...)"


def test_evaluate_methods_work_on_plain_read_only_variables_and_metric_copies():
    history = {"$CurrentDedicatedNodes": [(NOW, 2.0)], "$ActiveTasks": [(NOW, 5.0)]}
    outcome = run("c = $CurrentDedicatedNodes.Count(); m = $ActiveTasks; s = m.GetSample(1)", histories=history)
    assert outcome.variables["c"] == 1.0 and outcome.results.endswith("m=$ActiveTasks;s=[5]")
    assert "applies to service variables" in error_of("x = 3; y = x.GetSample(1)").detail


@pytest.mark.parametrize("formula,fragment,col", [
    ("x = y + 1", "y is not defined", 5),
    ("x = $Undefined", "$Undefined is not defined", 5),
    ("x = 1 + \"a\"", "operator + does not apply to double and string", 7),
    ("x = foo(1)", "unknown function foo()", 5),
    ("x = (1).hour", ".hour applies to timestamps", 9),
    ("x = time().millisecond", "no member millisecond", 12),
    ("x = {1, time()}", "a vector holds doubles", 9),
    ("x = \"a\" ? 1 : 2", "?: needs a double", 5),
    ("x = max(1, \"a\")", "takes doubles and doubleVecs", 5),
    ("x = $CPUPercent.GetSample(\"a\")", "timestamp or timeinterval", 5),
])
def test_evaluate_runtime_error_has_the_position_of_the_failing_expression(formula, fragment, col):
    error = error_of(formula)
    assert fragment in error.detail and (error.line, error.col) == (1, col)
    assert error.code == "FormulaEvaluationError"


def test_evaluate_error_outcome_keeps_values_assigned_before_it():
    outcome = run("$TargetDedicatedNodes = 9; a = 1; b = $RunningTasks.GetSample(TimeInterval_Minute, 50); c = 2")
    assert isinstance(outcome.error, InsufficientSampleData)
    assert outcome.results == "$TargetDedicatedNodes=9;$TargetLowPriorityNodes=1;$NodeDeallocationOption=requeue;a=1"
    assert outcome.to_autoscale_run()["error"] == {
        "code": "InsufficientSampleData",
        "message": "Autoscale evaluation failed due to insufficient sample data",
        "values": [{"name": "Message",
                    "value": "Line 1, Col 39: Insufficient data from data set: $RunningTasks wanted 50%, received 0%"}]}


def test_evaluate_syntax_error_is_raised_not_returned():
    with pytest.raises(FormulaSyntaxError):
        run("x = ")


def test_evaluate_accepts_a_parsed_formula():
    formula = parse("$TargetDedicatedNodes = 6")
    assert run(formula).target_dedicated_nodes == 6  # type: ignore[arg-type]


# -- control flow -------------------------------------------------------------------

@pytest.mark.parametrize("formula,expected", [
    ("x = 0 && $ActiveTasks.GetSample(TimeInterval_Hour, 100)", 0.0),
    ("x = 1 || $ActiveTasks.GetSample(TimeInterval_Hour, 100)", 1.0),
    ("x = 1 ? 5 : $ActiveTasks.GetSample(TimeInterval_Hour, 100)", 5.0),
    ("x = 0 ? undefinedName : 6", 6.0),
])
def test_evaluate_skips_what_short_circuits_and_ternaries_do_not_need(formula, expected):
    outcome = run(formula)
    assert outcome.error is None and outcome.variables["x"] == expected


def test_evaluate_logical_operators_check_the_right_side_when_needed():
    assert "needs a double" in error_of("x = 1 && \"a\"").detail
    assert run("x = 0 || 2").variables["x"] == 1.0


def test_evaluate_stop_keeps_earlier_statements_and_skips_later_ones():
    outcome = run("$TargetDedicatedNodes = 5; stop(); $TargetDedicatedNodes = 50; after = 1")
    assert outcome.stopped and outcome.error is None
    assert outcome.target_dedicated_nodes == 5 and "after" not in outcome.variables


def test_evaluate_stop_inside_a_ternary_stops_only_when_chosen():
    assert run("x = 1 ? 2 : stop(); y = 3").variables["y"] == 3.0
    assert run("x = 0 ? 2 : stop(); y = 3").stopped


def test_evaluate_rand_uses_the_given_generator():
    assert run("x = rand() * 10", rand=lambda: 0.5).variables["x"] == 5.0
    assert 0.0 <= run("x = rand()").variables["x"] < 1.0


def test_evaluate_availability_delay_applies_to_every_method():
    history = {"$PendingTasks": [(NOW - timedelta(seconds=30 * i), float(i)) for i in range(10)]}
    outcome = run("n = $PendingTasks.Count(); last = $PendingTasks.GetSample(1)", histories=history,
                  availability_delay=timedelta(minutes=1))
    assert outcome.variables["n"] == 8.0 and outcome.results.endswith("last=[2];n=8")


def test_evaluate_time_constants_and_arithmetic():
    outcome = run("a = TimeInterval_Week / 7 == TimeInterval_Day; b = (time() + TimeInterval_Hour).hour;"
                  " c = TimeInterval_Zero == TimeInterval_100ns * 0; d = TimeInterval_Second == TimeInterval_Millisecond * 1000;"
                  " e = TimeInterval_Millisecond == TimeInterval_Microsecond * 1000; f = TimeInterval_Year == TimeInterval_Day * 365;"
                  " g = time() - time(\"2024-05-06T11:00:00Z\") == TimeInterval_Minute * 60")
    assert [outcome.variables[k] for k in "abcdefg"] == [1.0, 13.0, 1.0, 1.0, 1.0, 1.0, 1.0]


# -- robustness ---------------------------------------------------------------------

def test_evaluate_deepest_accepted_expressions_without_recursion_error():
    depth = MAX_DEPTH - 3
    chained = "x = " + "+".join(["1"] * depth)
    nested = "y = " + "(" * (depth - 1) + "1" + ")" * (depth - 1) + " + 0"
    calls = "z = " + "max(" * (depth // 2) + "1" + ")" * (depth // 2)
    outcome = run(";".join([chained, nested, calls]))
    assert outcome.error is None
    assert (outcome.variables["x"], outcome.variables["y"], outcome.variables["z"]) == (depth, 1.0, 1.0)


leaf = st.sampled_from(["1", "0", "2.5", "a", "$ActiveTasks", "TimeInterval_Minute", "time()",
                        '"s"', "{1, 2}", "$CurrentDedicatedNodes", "requeue", "undefined"])


def _grow(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "<", "==", "&&", "||"]), inner)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "!"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(st.sampled_from(["max", "avg", "len", "percentile", "val", "lg", "time", "std", "stop"]),
                  st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(st.sampled_from(["$ActiveTasks", "$CurrentDedicatedNodes", "a"]),
                  st.sampled_from(["GetSample", "GetSamplePercent", "Count", "HistoryBeginTime", "Nope"]),
                  st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}.{t[1]}({', '.join(t[2])})"),
        inner.map(lambda e: f"({e}).hour"),
    )


expressions = st.recursive(leaf, _grow, max_leaves=12)
targets = st.sampled_from(["a", "$TargetDedicatedNodes", "$TargetLowPriority", "$NodeDeallocationOption", "b"])


@settings(max_examples=300)
@given(st.lists(st.tuples(targets, expressions), min_size=1, max_size=5))
def test_evaluate_random_formulas_only_ever_report_module_errors(statements):
    formula = ";\n".join(f"{name} = {expr}" for name, expr in statements)
    history = {"$ActiveTasks": [(NOW - timedelta(seconds=30 * i), float(i % 3)) for i in range(20)]}
    outcome = run("a = 1;\n" + formula, histories=history)
    assert outcome.error is None or isinstance(outcome.error, FormulaEvaluationError)
    assert outcome.results.startswith("$TargetDedicatedNodes=")
    if outcome.error is None:
        assert isinstance(outcome.target_dedicated_nodes, int) and outcome.target_dedicated_nodes >= 0
        assert outcome.node_deallocation_option in ("requeue", "terminate", "taskcompletion", "retaineddata")
    else:
        assert outcome.error.line >= 1 and outcome.target_dedicated_nodes is None


def test_evaluate_rejects_a_naive_clock():
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate("x = 1", StaticSamples(datetime(2024, 1, 1), {}, POOL))
