"""Changing jobs and tasks after they were created, through the public
azure-batch 15 SDK on process nodes: disable (requeue, terminate, wait)
and enable a job, update a task's constraints, delete a task, reactivate a
failed one, with the service's states and errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from emulator_rig import client_of, new_id, start_emulator, vm_configuration, wait_for

J, T = bm.BatchJobState, bm.BatchTaskState


@pytest.fixture(scope="module")
def emulator():
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emulator):
    with client_of(emulator) as client:
        yield client


@pytest.fixture(scope="module")
def pool_id(client):
    pool_id = new_id("ops")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1, task_slots_per_node=2,
        virtual_machine_configuration=vm_configuration(client)))
    wait_for(lambda: [n.state for n in client.list_nodes(pool_id)] == [bm.BatchNodeState.IDLE],
             "an idle node")
    yield pool_id
    client.begin_delete_pool(pool_id, polling_interval=0.2).result()


@pytest.fixture
def job_id(client, pool_id):
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    yield job_id
    try:
        client.begin_delete_job(job_id, polling_interval=0.2).result()
    except ResourceNotFoundError:
        pass


def sh(script: str) -> str:
    return "/bin/sh -c '" + script + "'"


def add(client, job_id: str, task_id: str, script: str, **options) -> None:
    client.create_task(job_id, bm.BatchTaskCreateOptions(id=task_id, command_line=sh(script),
                                                         **options))


def state(client, job_id: str, task_id: str):
    return client.get_task(job_id, task_id).state


def completed(client, job_id: str, task_id: str) -> bm.BatchTask:
    return wait_for(lambda: (t := client.get_task(job_id, task_id)).state == T.COMPLETED and t,
                    f"task {task_id} to complete")


def code_of(exc: pytest.ExceptionInfo) -> tuple[int, str]:
    return exc.value.status_code, exc.value.error.code


def disable(client, job_id: str, option: str) -> None:
    client.begin_disable_job(job_id, bm.BatchJobDisableOptions(disable_tasks=option),
                             polling_interval=0.1).result()


# -- disable and enable ----------------------------------------------------------------

def test_disable_requeue_puts_running_tasks_back_and_enable_runs_them(client, job_id):
    add(client, job_id, "long", "sleep 1; echo done")
    wait_for(lambda: state(client, job_id, "long") == T.RUNNING, "the task to run")
    disable(client, job_id, "requeue")
    job = client.get_job(job_id)
    assert job.state == J.DISABLED and job.previous_state == J.DISABLING
    task = client.get_task(job_id, "long")
    assert task.state == T.ACTIVE
    assert (task.execution_info.requeue_count, task.execution_info.retry_count) == (1, 0)
    add(client, job_id, "added-while-disabled", "true")  # a disabled job takes tasks
    for _ in range(10):  # ... and runs none of them
        assert {t.state for t in client.list_tasks(job_id)} == {T.ACTIVE}
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    job = client.get_job(job_id)
    assert job.state == J.ACTIVE and job.previous_state == J.ENABLING
    assert completed(client, job_id, "long").execution_info.result == \
        bm.BatchTaskExecutionResult.SUCCESS
    assert completed(client, job_id, "added-while-disabled").execution_info.exit_code == 0
    assert b"".join(client.download_task_file(job_id, "long", "stdout.txt")) == b"done\n"


def test_disable_terminate_ends_running_tasks_for_good(client, job_id):
    add(client, job_id, "long", "sleep 30")
    wait_for(lambda: state(client, job_id, "long") == T.RUNNING, "the task to run")
    disable(client, job_id, "terminate")
    assert client.get_job(job_id).state == J.DISABLED
    task = completed(client, job_id, "long")
    assert task.execution_info.result == bm.BatchTaskExecutionResult.FAILURE
    assert task.execution_info.failure_info.code == "TaskEnded"
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    assert state(client, job_id, "long") == T.COMPLETED


def test_disable_wait_lets_running_tasks_finish_while_disabling(client, job_id):
    add(client, job_id, "short", "sleep 1.5; echo finished")
    wait_for(lambda: state(client, job_id, "short") == T.RUNNING, "the task to run")
    client.begin_disable_job(job_id, bm.BatchJobDisableOptions(disable_tasks="wait"),
                             polling_interval=0.1)  # its poller is not waited for
    assert client.get_job(job_id).state == J.DISABLING
    add(client, job_id, "later", "true")
    task = completed(client, job_id, "short")
    assert task.execution_info.exit_code == 0
    wait_for(lambda: client.get_job(job_id).state == J.DISABLED, "the job to be disabled")
    assert state(client, job_id, "later") == T.ACTIVE


def test_disable_and_enable_errors(emulator, client, job_id):
    disable(client, job_id, "requeue")
    disable(client, job_id, "wait")  # a disabled job: no error, as on Batch
    with pytest.raises(HttpResponseError) as bad:
        client.send_request(HttpRequest(
            "POST", f"{emulator.batch_url}/jobs/{job_id}/disable?api-version=2025-06-01",
            json={"disableTasks": "pause"}))
    assert code_of(bad) == (400, "InvalidPropertyValue")
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    with pytest.raises(HttpResponseError) as again:
        client.begin_enable_job(job_id, polling_interval=0.1).result()
    assert code_of(again) == (409, "OperationInvalidForCurrentState")
    client.begin_terminate_job(job_id, {"terminateReason": "over"}, polling_interval=0.1).result()
    wait_for(lambda: client.get_job(job_id).state == J.COMPLETED, "the job to complete")
    with pytest.raises(HttpResponseError) as done:
        disable(client, job_id, "requeue")
    assert code_of(done) == (409, "JobCompleted")
    with pytest.raises(ResourceNotFoundError):
        disable(client, "no-such-job", "requeue")


# -- task update, delete, reactivate -----------------------------------------------------

def test_update_task_constraints(client, job_id):
    disable(client, job_id, "requeue")  # the task waits while its constraints change
    add(client, job_id, "flaky", "exit 4")
    client.replace_task(job_id, "flaky", bm.BatchTask(constraints=bm.BatchTaskConstraints(
        max_task_retry_count=2, max_wall_clock_time=timedelta(minutes=5),
        retention_time=timedelta(days=1))))
    constraints = client.get_task(job_id, "flaky").constraints
    assert (constraints.max_task_retry_count, constraints.max_wall_clock_time,
            constraints.retention_time) == (2, timedelta(minutes=5), timedelta(days=1))
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    run = completed(client, job_id, "flaky").execution_info
    assert (run.exit_code, run.retry_count) == (4, 2)
    with pytest.raises(HttpResponseError) as done:
        client.replace_task(job_id, "flaky", bm.BatchTask(
            constraints=bm.BatchTaskConstraints(max_task_retry_count=1)))
    assert code_of(done) == (409, "TaskCompleted")


def test_a_lowered_wall_clock_limit_applies_to_the_next_run(client, job_id):
    disable(client, job_id, "requeue")
    add(client, job_id, "slow", "sleep 30")
    client.replace_task(job_id, "slow", bm.BatchTask(constraints=bm.BatchTaskConstraints(
        max_wall_clock_time=timedelta(seconds=1))))
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    task = completed(client, job_id, "slow")
    assert task.execution_info.failure_info.code == "MaxWallClockTimeExpiry"


def test_delete_task_in_any_state(client, job_id):
    add(client, job_id, "quick", "echo kept > out.txt")
    add(client, job_id, "running", "sleep 30")
    completed(client, job_id, "quick")
    wait_for(lambda: state(client, job_id, "running") == T.RUNNING, "the task to run")
    client.delete_task(job_id, "quick")
    client.delete_task(job_id, "running")
    with pytest.raises(ResourceNotFoundError):
        client.get_task(job_id, "running")
    assert list(client.list_tasks(job_id)) == []
    counts = client.get_job_task_counts(job_id).task_counts
    assert (counts.active, counts.running, counts.completed) == (0, 0, 0)
    with pytest.raises(ResourceNotFoundError) as gone:
        client.delete_task(job_id, "quick")
    assert gone.value.error.code == "TaskNotFound"
    add(client, job_id, "quick", "true")  # the id is free again
    assert completed(client, job_id, "quick").execution_info.exit_code == 0


def test_reactivate_a_failed_task(client, job_id):
    # runs 1 and 2 (a retry) fail, run 3 succeeds; the count is kept above the
    # task directory, which every run starts afresh
    add(client, job_id, "once", "n=$(cat ../../runs 2>/dev/null || echo 0); n=$((n+1)); "
        "echo $n > ../../runs; test $n -ge 3", constraints=bm.BatchTaskConstraints(
            max_task_retry_count=1))
    failed = completed(client, job_id, "once")
    assert (failed.execution_info.result, failed.execution_info.retry_count) == (
        bm.BatchTaskExecutionResult.FAILURE, 1)
    assert client.get_job_task_counts(job_id).task_counts.failed == 1
    client.reactivate_task(job_id, "once")
    again = completed(client, job_id, "once")
    assert again.execution_info.result == bm.BatchTaskExecutionResult.SUCCESS
    assert again.execution_info.retry_count == 0
    assert client.get_job_task_counts(job_id).task_counts.succeeded == 1
    with pytest.raises(HttpResponseError) as succeeded:
        client.reactivate_task(job_id, "once")
    assert code_of(succeeded) == (409, "OperationInvalidForCurrentState")
    add(client, job_id, "running", "sleep 30")
    wait_for(lambda: state(client, job_id, "running") == T.RUNNING, "the task to run")
    with pytest.raises(HttpResponseError) as running:
        client.reactivate_task(job_id, "running")
    assert code_of(running) == (409, "OperationInvalidForCurrentState")
