"""Pool autoscale through the public azure-batch 15 SDK, on process nodes
and the emulator's test clock: evaluate, enable / disable, pool create with
a formula, periodic evaluations that resize the pool as tasks queue up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError

from emulator_rig import new_id, vm_configuration, wait_for

QUEUE_FORMULA = """
$tasks = max($PendingTasks.GetSample(1));
$TargetDedicatedNodes = min(3, $tasks);
$NodeDeallocationOption = taskcompletion;
"""


def fixed_pool(client, nodes: int = 1) -> str:
    pool_id = new_id("as")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=nodes,
        virtual_machine_configuration=vm_configuration(client)))
    return pool_id


def autoscale_pool(client, formula: str, interval=timedelta(minutes=5)) -> str:
    pool_id = new_id("as")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", enable_auto_scale=True,
        auto_scale_formula=formula, auto_scale_evaluation_interval=interval,
        virtual_machine_configuration=vm_configuration(client)))
    return pool_id


def dedicated_nodes(client, pool_id: str, count: int):
    """Wait until the pool has ``count`` idle or running dedicated nodes."""
    def ready():
        pool = client.get_pool(pool_id)
        nodes = [n for n in client.list_nodes(pool_id)
                 if n.state in (bm.BatchNodeState.IDLE, bm.BatchNodeState.RUNNING)]
        return pool if pool.current_dedicated_nodes == count and len(nodes) == count else None
    return wait_for(ready, f"{count} nodes in pool {pool_id}")


def error_of(info: pytest.ExceptionInfo) -> tuple[int, str, dict]:
    error = info.value.error
    return info.value.status_code, error.code, {d.code: d.message for d in error.details}


def test_evaluate_returns_the_services_result_string(client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 0;")
    run = client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes = 2; cap = 5; $NodeDeallocationOption = "
                           "terminate;"))
    assert run.results == ("$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;"
                           "$NodeDeallocationOption=terminate;cap=5")
    assert run.error is None and run.timestamp is not None
    assert client.get_pool(pool_id).target_dedicated_nodes == 0  # evaluate applies nothing


def test_evaluate_syntax_error_is_400_with_its_position(client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 0;")
    with pytest.raises(HttpResponseError) as info:
        client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = 1;\n$x = (2 + ;"))
    status, code, values = error_of(info)
    assert (status, code) == (400, "AutoScalingFormulaSyntaxError")
    assert values["Message"].startswith("Line 2, Col ")


def test_evaluate_runtime_error_is_in_the_autoscale_run(client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 0;")
    run = client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula="$x = $CPUPercent.GetSample(TimeInterval_Minute * 10, 80);"))
    assert run.error is not None and run.error.code == "InsufficientSampleData"
    assert run.error.error_values[0].name == "Message"
    assert run.error.error_values[0].value.startswith("Line 1, Col ")


def test_evaluate_on_a_pool_without_autoscale_is_refused(client):
    pool_id = fixed_pool(client, nodes=1)
    with pytest.raises(HttpResponseError) as info:
        client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = 1;"))
    assert error_of(info)[:2] == (409, "AutoScalingNotEnabled")


def test_intervals_under_five_minutes_are_refused(client):
    pool_id = fixed_pool(client, nodes=1)
    with pytest.raises(HttpResponseError) as info:
        client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = 1;",
            auto_scale_evaluation_interval=timedelta(minutes=1)))
    status, code, values = error_of(info)
    assert (status, code, values["PropertyName"]) == (400, "InvalidPropertyValue",
                                                      "autoScaleEvaluationInterval")
    assert client.get_pool(pool_id).enable_auto_scale is False


def test_create_with_node_counts_and_autoscale_is_refused(client):
    with pytest.raises(HttpResponseError) as info:
        client.create_pool(bm.BatchPoolCreateOptions(
            id=new_id("as"), vm_size="standard_d2s_v3", enable_auto_scale=True,
            auto_scale_formula="$TargetDedicatedNodes = 1;", target_dedicated_nodes=1,
            virtual_machine_configuration=vm_configuration(client)))
    assert error_of(info)[:2] == (400, "InvalidAutoScalingSettings")


def test_pool_created_with_a_formula_starts_at_its_targets(client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 2;")
    pool = dedicated_nodes(client, pool_id, 2)
    assert pool.enable_auto_scale is True
    assert pool.auto_scale_formula == "$TargetDedicatedNodes = 2;"
    assert pool.auto_scale_evaluation_interval == timedelta(minutes=5)
    assert pool.auto_scale_run.results.startswith("$TargetDedicatedNodes=2;")
    assert pool.target_dedicated_nodes == 2


def test_queued_tasks_grow_the_pool_and_it_shrinks_when_they_are_done(emulator, client):
    pool_id = fixed_pool(client, nodes=1)
    dedicated_nodes(client, pool_id, 1)
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    client.create_tasks(job_id, [bm.BatchTaskCreateOptions(id=f"t{n}", command_line="sleep 1")
                                 for n in range(6)])
    client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula=QUEUE_FORMULA, auto_scale_evaluation_interval=timedelta(minutes=5)))
    pool = dedicated_nodes(client, pool_id, 3)  # enabling evaluates at once: 6 pending, cap 3
    assert pool.auto_scale_run.results.startswith("$TargetDedicatedNodes=3;")
    wait_for(lambda: client.get_job_task_counts(job_id).task_counts.completed == 6,
             "the tasks", timeout=60)
    run_before = pool.auto_scale_run.timestamp

    emulator.clock.advance(timedelta(minutes=5))  # the next evaluation: nothing pending
    pool = dedicated_nodes(client, pool_id, 0)
    assert pool.auto_scale_run.timestamp - run_before >= timedelta(minutes=5)
    assert pool.auto_scale_run.results.startswith("$TargetDedicatedNodes=0;")
    assert pool.target_dedicated_nodes == 0 and list(client.list_nodes(pool_id)) == []

    client.disable_pool_auto_scale(pool_id)
    pool = client.get_pool(pool_id)
    assert pool.enable_auto_scale is False and pool.auto_scale_formula is None


def test_samples_accumulate_on_the_test_clock(emulator, client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 0;")
    emulator.clock.advance(timedelta(minutes=10))
    formula = ("$n = $ActiveTasks.Count(); $p = $ActiveTasks.GetSamplePercent("
               "TimeInterval_Minute * 10); $TargetDedicatedNodes = 0;")
    run = wait_for(lambda: _evaluated(client, pool_id, formula), "ten minutes of samples")
    variables = dict(part.split("=") for part in run.results.split(";"))
    assert float(variables["$n"]) >= 20 and float(variables["$p"]) == 100


def _evaluated(client, pool_id, formula):
    run = client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula=formula))
    return run if "$n=" in run.results and float(run.results.split("$n=")[1].split(";")[0]) \
        >= 20 else None


def test_requeue_deallocation_puts_running_tasks_back(emulator, client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 1;")
    dedicated_nodes(client, pool_id, 1)
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    client.create_task(job_id, bm.BatchTaskCreateOptions(id="long", command_line="sleep 30"))
    wait_for(lambda: client.get_task(job_id, "long").state == bm.BatchTaskState.RUNNING,
             "the task to run")
    client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes = 0; $NodeDeallocationOption = requeue;"))
    task = wait_for(lambda: _requeued(client, job_id), "the task to be requeued")
    assert task.state == bm.BatchTaskState.ACTIVE and task.execution_info.retry_count == 0
    client.begin_terminate_job(job_id, {"terminateReason": "test over"},
                               polling_interval=0.1).result()


def _requeued(client, job_id):
    task = client.get_task(job_id, "long")
    return task if task.execution_info.requeue_count == 1 else None


def test_terminate_deallocation_ends_running_tasks(client):
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 1;")
    dedicated_nodes(client, pool_id, 1)
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    client.create_task(job_id, bm.BatchTaskCreateOptions(id="long", command_line="sleep 30"))
    wait_for(lambda: client.get_task(job_id, "long").state == bm.BatchTaskState.RUNNING,
             "the task to run")
    client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes = 0; $NodeDeallocationOption = terminate;"))
    task = wait_for(lambda: _completed(client, job_id), "the task to be ended")
    assert task.execution_info.failure_info.code == "TaskEnded"
    assert task.execution_info.requeue_count == 0
    dedicated_nodes(client, pool_id, 0)


def _completed(client, job_id):
    task = client.get_task(job_id, "long")
    return task if task.state == bm.BatchTaskState.COMPLETED else None


def test_the_formula_runs_once_per_interval(emulator, client):
    import time
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 0;", interval=timedelta(minutes=5))
    first = client.get_pool(pool_id).auto_scale_run.timestamp
    time.sleep(1.0)  # four ticks of the emulator: nothing is due
    emulator.clock.advance(timedelta(minutes=4))
    time.sleep(0.5)
    assert client.get_pool(pool_id).auto_scale_run.timestamp == first
    emulator.clock.advance(timedelta(minutes=1))
    run = wait_for(lambda: _newer(client, pool_id, first), "the next evaluation")
    assert timedelta(minutes=5) <= run.timestamp - first < timedelta(minutes=6)
    time.sleep(1.0)
    assert client.get_pool(pool_id).auto_scale_run.timestamp == run.timestamp  # once


def _newer(client, pool_id, than):
    run = client.get_pool(pool_id).auto_scale_run
    return run if run.timestamp != than else None


def test_a_result_that_comes_while_the_pool_resizes_is_applied_when_it_is_steady(client):
    pool_id = fixed_pool(client, nodes=2)  # nodes still booting: the pool is resizing
    client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes = 3;"))
    pool = dedicated_nodes(client, pool_id, 3)
    assert pool.target_dedicated_nodes == 3


BUSY = ("python3 -c \"import time\nt = time.process_time()\n"
        "while time.process_time() - t < 3: pass\"")


def test_cpu_and_memory_samples_measure_the_nodes(emulator, client):
    """$CPUPercent between two samples of a node busy on one CPU, and
    $MemoryBytes (megabytes, as the service reports it) of its processes."""
    pool_id = autoscale_pool(client, "$TargetDedicatedNodes = 1;")
    dedicated_nodes(client, pool_id, 1)
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    client.create_task(job_id, bm.BatchTaskCreateOptions(id="busy", command_line=BUSY))
    wait_for(lambda: client.get_task(job_id, "busy").state == bm.BatchTaskState.RUNNING,
             "the task to run")
    formula = ("$c = $CPUPercent.Count(); $cpu = max($CPUPercent.GetSample(1)); "
               "$mb = max($MemoryBytes.GetSample(1)); $TargetDedicatedNodes = 1;")
    emulator.clock.advance(timedelta(seconds=30))  # the first reading of the busy node
    wait_for(lambda: _memory_sampled(client, pool_id), "a memory sample")
    import time
    time.sleep(1.0)
    emulator.clock.advance(timedelta(seconds=30))  # the second: a second of CPU between
    run = wait_for(lambda: _cpu_sampled(client, pool_id, formula), "a CPU sample")
    variables = dict(part.split("=") for part in run.results.split(";"))
    # one busy CPU of os.cpu_count(): well above an idle node's ~0 %, at most 100 %
    assert 5.0 < float(variables["$cpu"]) <= 100.0, run.results
    assert 1.0 < float(variables["$mb"]) < 4096.0, run.results  # python processes: MBs
    client.begin_terminate_job(job_id, {"terminateReason": "test over"},
                               polling_interval=0.1).result()


def _memory_sampled(client, pool_id):
    run = client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula="$m = $MemoryBytes.Count(); $TargetDedicatedNodes = 1;"))
    return run if "$m=" in run.results and float(run.results.split("$m=")[1].split(";")[0]) \
        >= 1 else None


def _cpu_sampled(client, pool_id, formula):
    run = client.evaluate_pool_auto_scale(pool_id, bm.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula=formula))
    return run if "$c=" in run.results and float(run.results.split("$c=")[1].split(";")[0]) \
        >= 1 else None
