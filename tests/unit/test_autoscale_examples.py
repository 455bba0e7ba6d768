"""Every example formula of the service's documentation ("Create an automatic
formula for scaling compute nodes in a Batch pool", 2019-2021 versions, and
the REST reference "Evaluate an automatic scaling formula"), each checked
against what the docs say it does. The formulas are quoted as documented;
the scenarios and expected numbers are ours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from topwords.backends.local.autoscale import (DOCUMENTED_SAMPLE_DELAY, FormulaSyntaxError,
                                               InsufficientSampleData, StaticSamples, evaluate, parse)

UTC = timezone.utc
MONDAY_10AM = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def series(value, *, minutes: float, now: datetime = MONDAY_10AM, newest_age: float = 0):
    """A sample every 30 s over the last ``minutes``; ``value`` may be a list."""
    count = int(minutes * 2)
    values = value if isinstance(value, list) else [value] * count
    newest = now - timedelta(seconds=newest_age)
    return [(newest - timedelta(seconds=30 * (len(values) - 1 - i)), float(v)) for i, v in enumerate(values)]


def pool(now=MONDAY_10AM, *, dedicated=2, low=0, target=None, low_target=0, slots=1, **histories):
    values = {"$CurrentDedicatedNodes": dedicated, "$CurrentLowPriorityNodes": low,
              "$TargetDedicatedNodes": dedicated if target is None else target,
              "$TargetLowPriorityNodes": low_target, "$TaskSlotsPerNode": slots}
    return StaticSamples(now, {f"${k}": v for k, v in histories.items()}, values)


# -- "Sample autoscale formulas": Pending tasks ------------------------------------------

PENDING_TASKS = """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;
"""


@pytest.mark.parametrize("history,expected", [
    (series(10, minutes=1), 1),            # 2 of 6 samples (33 %): stay at the starting single VM
    (series(10, minutes=3), 10),           # full 180 s averaging 10 pending tasks
    (series([4, 4, 6, 6, 8, 8], minutes=3), 6),
    (series(40, minutes=3), 25),           # never above 25 VMs
    (series(0, minutes=3), 0),             # all tasks done: the pool shrinks to zero
])
def test_pending_tasks_formula_follows_the_average_of_the_last_180_seconds(history, expected):
    outcome = evaluate(PENDING_TASKS, pool(PendingTasks=history))
    assert outcome.target_dedicated_nodes == expected
    assert outcome.node_deallocation_option == "taskcompletion"


def test_pending_tasks_formula_never_scales_under_the_documented_one_minute_delay():
    # Why the evaluator's delay defaults to 0: with the docs' "approximately one
    # minute", a 180 s window holds at most 4 of 6 samples (67 % < 70 %).
    outcome = evaluate(PENDING_TASKS, pool(PendingTasks=series(10, minutes=30)),
                       availability_delay=DOCUMENTED_SAMPLE_DELAY)
    assert outcome.variables["pendingTaskSamplePercent"] == pytest.approx(200 / 3)
    assert outcome.target_dedicated_nodes == 1


# -- "Sample autoscale formulas": Preempted nodes ------------------------------------------

PREEMPTED_NODES = """maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;
"""


@pytest.mark.parametrize("preempted,dedicated,low", [([0] * 6, 0, 25), ([3] * 6, 3, 22), ([30] * 6, 25, 0)])
def test_preempted_nodes_formula_replaces_each_preempted_spot_node_by_a_dedicated_one(preempted, dedicated, low):
    outcome = evaluate(PREEMPTED_NODES, pool(PreemptedNodeCount=series(preempted, minutes=3)))
    assert (outcome.target_dedicated_nodes, outcome.target_low_priority_nodes) == (dedicated, low)


# -- "Write an autoscale formula" (CPU based, capped at 400) -------------------------------------

CPU_FORMULA = """$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)
"""


@pytest.mark.parametrize("cpu,nodes,expected", [
    ([0.9] * 120, 10, 11),              # busy for the last 10 minutes: +10 %
    ([0.1] * 120, 10, 9),               # idle for the last hour: -10 %
    ([0.5] * 120, 10, 10),              # neither: unchanged
    ([0.1] * 100 + [0.9] * 20, 10, 11),  # busy lately, though idle on average
    ([0.9] * 120, 500, 400),            # never above 400
])
def test_cpu_formula_grows_on_high_and_shrinks_on_low_cpu(cpu, nodes, expected):
    outcome = evaluate(CPU_FORMULA, pool(dedicated=nodes, CPUPercent=series(cpu, minutes=60)))
    assert outcome.error is None
    assert outcome.target_dedicated_nodes == expected


def test_cpu_formula_with_the_2021_final_statement_needs_its_missing_semicolon():
    # The 2021 page appends "$NodeDeallocationOption = taskcompletion;" after the
    # statement above without a ';' ("missing semicolons can cause errors").
    with pytest.raises(FormulaSyntaxError) as caught:
        parse(CPU_FORMULA + "$NodeDeallocationOption = taskcompletion;\n")
    assert (caught.value.line, caught.value.col) == (8, 1)
    fixed = CPU_FORMULA.rstrip() + ";\n$NodeDeallocationOption = taskcompletion;\n"
    outcome = evaluate(fixed, pool(dedicated=10, CPUPercent=series(0.9, minutes=60)))
    assert (outcome.target_dedicated_nodes, outcome.node_deallocation_option) == (11, "taskcompletion")


# -- SDK snippets ---------------------------------------------------------------------------

MONDAYS = "$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);"


@pytest.mark.parametrize("day,expected", [(6, 5), (7, 1), (11, 1), (12, 1), (13, 5)])
def test_dotnet_snippet_formula_uses_five_nodes_on_mondays_and_one_otherwise(day, expected):
    outcome = evaluate(MONDAYS, pool(datetime(2024, 5, day, 15, tzinfo=UTC)))
    assert outcome.target_dedicated_nodes == expected


PYTHON_SNIPPET = """$curTime = time();
             $workHours = $curTime.hour >= 8 && $curTime.hour < 18; 
             $isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5; 
             $isWorkingWeekdayHour = $workHours && $isWeekday; 
             $TargetDedicated = $isWorkingWeekdayHour ? 20:10;"""


@pytest.mark.parametrize("moment,expected", [
    (datetime(2024, 5, 6, 9, tzinfo=UTC), 20), (datetime(2024, 5, 10, 17, 59, tzinfo=UTC), 20),
    (datetime(2024, 5, 6, 18, tzinfo=UTC), 10), (datetime(2024, 5, 11, 12, tzinfo=UTC), 10),
])
def test_python_snippet_formula_sets_the_alias_to_twenty_in_working_hours(moment, expected):
    assert evaluate(PYTHON_SNIPPET, pool(moment)).target_dedicated_nodes == expected


EVALUATE_SNIPPET = """
        $curTime = time();
        $workHours = $curTime.hour >= 8 && $curTime.hour < 18;
        $isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
        $isWorkingWeekdayHour = $workHours && $isWeekday;
        $TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
    """


def test_evaluate_snippet_reproduces_the_documented_results():
    # The docs show this run at 2016-10-13T19:18:47.805Z (a Thursday evening).
    outcome = evaluate(EVALUATE_SNIPPET, pool(datetime(2016, 10, 13, 19, 18, 47, 805000, tzinfo=UTC)))
    assert outcome.results == ("$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;"
                               "$NodeDeallocationOption=requeue;$curTime=2016-10-13T19:18:47.805Z;"
                               "$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0")


@pytest.mark.parametrize("formula,expected", [
    ("$TargetDedicatedNodes = 0", 0), ("$TargetDedicatedNodes = $CurrentDedicatedNodes;", 3),
])
def test_placeholder_formulas_for_enabling_autoscale(formula, expected):
    assert evaluate(formula, pool(dedicated=3)).target_dedicated_nodes == expected


def test_statement_form_from_the_variables_section_parses():
    (statement,) = parse("$myNewVariable = function($ServiceDefinedVariable, $myCustomVariable);").statements
    assert statement.name == "$myNewVariable"


# -- "Obtain sample data" snippets -------------------------------------------------------------

def test_cpu_sample_of_the_last_five_minutes_has_ten_samples():
    outcome = evaluate("x = $CPUPercent.GetSample(TimeInterval_Minute * 5)",
                       pool(CPUPercent=series(0.5, minutes=30)))
    assert outcome.results.endswith("x=[" + ",".join(["0.5"] * 10) + "]")


def test_running_tasks_between_one_and_six_minutes_ago_prints_as_documented():
    outcome = evaluate("$runningTasksSample = $RunningTasks.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute);",
                       pool(RunningTasks=series(1, minutes=30)))
    assert outcome.results.endswith(";$runningTasksSample=[1,1,1,1,1,1,1,1,1,1]")


@pytest.mark.parametrize("newest_age,fails", [(0, False), (30, False), (90, True)])
def test_running_tasks_with_a_75_percent_requirement(newest_age, fails):
    formula = "$runningTasksSample = $RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75);"
    outcome = evaluate(formula, pool(RunningTasks=series(1, minutes=10, newest_age=newest_age)))
    assert isinstance(outcome.error, InsufficientSampleData) == fails


# -- Example 1: time-based adjustment ------------------------------------------------------------

TIME_BASED = """$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;
"""


@pytest.mark.parametrize("moment,expected", [
    (datetime(2024, 5, 6, 8, tzinfo=UTC), 20), (datetime(2024, 5, 6, 7, 59, tzinfo=UTC), 10),
    (datetime(2024, 5, 12, 10, tzinfo=UTC), 10),  # Sunday
])
def test_time_based_example_uses_twenty_nodes_in_weekday_working_hours(moment, expected):
    outcome = evaluate(TIME_BASED, pool(moment))
    assert (outcome.target_dedicated_nodes, outcome.node_deallocation_option) == (expected, "taskcompletion")


@pytest.mark.parametrize("moment,expected", [
    (datetime(2024, 5, 6, 19, tzinfo=UTC), 20),   # 13:00 MDT on Monday (19:00 UTC is after hours)
    (datetime(2024, 5, 6, 10, tzinfo=UTC), 10),   # 04:00 MDT on Monday
    (datetime(2024, 5, 10, 23, tzinfo=UTC), 20),  # 17:00 MDT on Friday
    (datetime(2024, 5, 11, 0, tzinfo=UTC), 10),   # 18:00 MDT on Friday: after hours
])
def test_time_based_example_shifted_to_mountain_daylight_time(moment, expected):
    shifted = TIME_BASED.replace("$curTime = time();", "$curTime = time() + (-6 * TimeInterval_Hour);")
    assert evaluate(shifted, pool(moment)).target_dedicated_nodes == expected


# -- Example 2: task-based adjustment --------------------------------------------------------------

TASK_BASED = """// Get pending tasks for the past 15 minutes.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point,
// otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise
// half of current dedicated.
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
// The pool size is capped at 20, if target VM value is more than that, set it
// to 20. This value should be adjusted according to your use case.
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
// Set node deallocation mode - let running tasks finish before removing a node
$NodeDeallocationOption = taskcompletion;
"""


def test_task_based_example_follows_pending_tasks_with_full_history():
    outcome = evaluate(TASK_BASED, pool(PendingTasks=series(10, minutes=15)))
    assert outcome.target_dedicated_nodes == 10
    assert outcome.results == ("$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;"
                               "$NodeDeallocationOption=taskcompletion;$samples=100;$targetVMs=10;$tasks=10")


def test_task_based_example_halves_the_pool_when_nothing_is_pending():
    outcome = evaluate(TASK_BASED, pool(target=8, PendingTasks=series(0, minutes=15)))
    assert outcome.target_dedicated_nodes == 4


def test_task_based_example_with_sparse_history_uses_the_last_sample_and_caps_at_20():
    outcome = evaluate(TASK_BASED, pool(PendingTasks=series(50, minutes=2)))  # 4 of 30 samples
    assert outcome.variables["$samples"] < 70 and outcome.target_dedicated_nodes == 20


def test_task_based_example_prints_29_of_30_samples_like_the_service():
    # A real pool printed "$samples=96.6667" for this formula (one sample not yet in).
    outcome = evaluate(TASK_BASED, pool(PendingTasks=series(0, minutes=15, newest_age=30)[1:]))
    assert "$samples=96.6667;" in outcome.results


# -- Example 3: accounting for parallel tasks -------------------------------------------------------

PARALLEL_TASKS = """// Determine whether 70 percent of the samples have been recorded in the past
// 15 minutes; if not, use last sample
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// Set the number of nodes to add to one-fourth the number of active tasks
// (the TaskSlotsPerNode property on this pool is set to 4, adjust
// this number for your use case)
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
// Attempt to grow the number of compute nodes to match the number of active
// tasks, with a maximum of 3
$TargetDedicatedNodes = max(0,min($targetVMs,3));
// Keep the nodes active until the tasks finish
$NodeDeallocationOption = taskcompletion;
"""


@pytest.mark.parametrize("target,active,computed,applied", [
    (1, 10, 3.0, 3),        # 1 + (10 - 4 + 3) / 4 = 3.25, capped at 3
    (1, 5, 2.0, 2),         # 1 + (5 - 4 + 3) / 4 = 2
    (2, 0, 0.75, 0),        # 2 + (0 - 8 + 3) / 4 = 0.75: printed as computed, applied as 0
])
def test_parallel_tasks_example_adds_a_node_per_four_active_tasks(target, active, computed, applied):
    outcome = evaluate(PARALLEL_TASKS, pool(target=target, slots=4, ActiveTasks=series(active, minutes=15)))
    assert outcome.variables["$TargetDedicatedNodes"] == computed
    assert outcome.target_dedicated_nodes == applied
    assert outcome.node_deallocation_option == "taskcompletion"


# -- Example 4: setting an initial pool size -----------------------------------------------------------

CREATED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
# string.Format(@"...", now, 4) with now = DateTime.UtcNow.ToString("r"):
INITIAL_SIZE = """
    $TargetDedicatedNodes = 4;
    lifespan         = time() - time("Mon, 06 May 2024 09:00:00 GMT");
    span             = TimeInterval_Minute * 60;
    startup          = TimeInterval_Minute * 10;
    ratio            = 50;

    $TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);
    """


def test_initial_size_example_keeps_four_nodes_for_the_first_ten_minutes():
    outcome = evaluate(INITIAL_SIZE, pool(CREATED + timedelta(minutes=5), target=0))
    assert outcome.error is None and outcome.target_dedicated_nodes == 4


def test_initial_size_example_drops_to_zero_after_an_idle_hour():
    now = CREATED + timedelta(hours=2)
    idle = series(0, minutes=60, now=now)
    outcome = evaluate(INITIAL_SIZE, pool(now, RunningTasks=idle, ActiveTasks=idle))
    assert outcome.target_dedicated_nodes == 0
    assert "lifespan=02:00:00;ratio=50;span=01:00:00;startup=00:10:00" in outcome.results


def test_initial_size_example_keeps_four_nodes_while_tasks_run():
    now = CREATED + timedelta(hours=2)
    outcome = evaluate(INITIAL_SIZE, pool(now, RunningTasks=series(3, minutes=60, now=now),
                                          ActiveTasks=series(0, minutes=60, now=now)))
    assert outcome.target_dedicated_nodes == 4


def test_initial_size_example_fails_without_half_an_hour_of_samples():
    now = CREATED + timedelta(hours=2)
    outcome = evaluate(INITIAL_SIZE, pool(now, RunningTasks=series(0, minutes=20, now=now),
                                          ActiveTasks=series(0, minutes=60, now=now)))
    assert isinstance(outcome.error, InsufficientSampleData)
    assert outcome.error.value == ("Line 8, Col 56: Insufficient data from data set: "
                                   "$RunningTasks wanted 50%, received 33.3333%")


# -- REST reference: Evaluate an automatic scaling formula ----------------------------------------------

REST_FORMULA = ("totalNodes=($CPUPercent.GetSamplePercent(TimeInterval_Minute*0,TimeInterval_Minute*10)<0.7?5:"
                "(min($CPUPercent.GetSample(TimeInterval_Minute*0, TimeInterval_Minute*10))>0.8?"
                "($CurrentDedicated*1.1):$CurrentDedicated));$targetDedicatedNodes=min(100,totalNodes);")


@pytest.mark.parametrize("cpu,nodes,expected", [(None, 10, 5.0), ([0.9] * 20, 10, 11.0),
                                                ([0.5] * 20, 10, 10.0), ([0.9] * 20, 95, 100.0)])
def test_rest_example_grows_ten_percent_when_cpu_stays_high(cpu, nodes, expected):
    histories = {} if cpu is None else {"CPUPercent": series(cpu, minutes=10)}
    outcome = evaluate(REST_FORMULA, pool(dedicated=nodes, **histories))
    # "$targetDedicatedNodes" differs in case from the service variable; names
    # are case-sensitive here (see the notes), so it is a user variable.
    assert outcome.variables["$targetDedicatedNodes"] == pytest.approx(expected)
