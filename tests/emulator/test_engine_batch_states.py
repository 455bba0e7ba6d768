"""The local engine's operations behind the emulator, beyond Compute: job
states and termination, task termination, deletes that stay visible as
'deleting' until done, records and file listings (real Docker)."""

from __future__ import annotations

import time

import pytest

from topwords.backends.local.engine import LocalBatchEngine, StateConflict
from topwords.core.errors import JobNotFound, PoolNotFound, TaskNotFound
from topwords.core.model import (
    JobSpec, NodeState, PoolSpec, StartTask, TaskResult, TaskSpec, TaskState,
)

pytestmark = [pytest.mark.docker]


def until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def engine(docker_client, tmp_path_factory):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    engine = LocalBatchEngine(connect(), image=LocalConfig.from_env().image,
                              work_dir=tmp_path_factory.mktemp("nodes"), account_name="acct",
                              account_url="http://127.0.0.1:1")
    yield engine
    engine.wait_for_deletions()
    for record in engine.pool_records():
        engine.delete_pool(record.info.spec.id)
    engine.close()


@pytest.fixture(scope="module")
def pool(engine, module_unique_id):
    pool_id = module_unique_id("pool")
    engine.create_pool(PoolSpec(id=pool_id, node_count=1, task_slots_per_node=4,
                                start_task=StartTask(command_line="echo started")))
    until(lambda: all(n.info.state is NodeState.IDLE for n in engine.node_records(pool_id)))
    yield pool_id
    engine.delete_pool(pool_id)


def new_job(engine, pool, unique_id, **options) -> str:
    job_id = unique_id("job")
    engine.create_job(JobSpec(id=job_id, pool_id=pool, **options))
    return job_id


def test_nodes_record_their_start_task_and_what_they_ran(engine, pool, unique_id):
    [node] = engine.node_records(pool)
    run = node.start_task
    assert (run.state, run.exit_code, run.failure) == ("completed", 0, None)
    assert run.end_time >= run.start_time
    job_id = new_job(engine, pool, unique_id)
    engine.add_tasks(job_id, [TaskSpec(id="ok", command_line="true"),
                              TaskSpec(id="bad", command_line="false")])
    until(lambda: all(t.info.state is TaskState.COMPLETED for t in engine.task_records(job_id)))
    [node] = engine.node_records(pool)
    assert (node.tasks_run, node.tasks_succeeded, node.running_tasks) >= (2, 1, 0)
    root = engine.node_dir(pool, node.info.id)
    assert root.read("startup/stdout.txt") == b"started\n"
    assert engine.node_dir(pool, "no-such-node") is None


def test_task_records_keep_state_history_and_env_names_the_account(engine, pool, unique_id):
    job_id = new_job(engine, pool, unique_id)
    engine.add_tasks(job_id, [TaskSpec(
        id="env", command_line="/bin/bash -c 'echo $AZ_BATCH_ACCOUNT_NAME $AZ_BATCH_ACCOUNT_URL'")])
    record = until(lambda: (r := engine.task_record(job_id, "env")).info.state
                   is TaskState.COMPLETED and r)
    assert record.previous_state is TaskState.RUNNING
    assert record.created <= record.previous_state_changed <= record.state_changed
    assert record.task_dir.endswith(f"workitems/{job_id}/job-1/env")
    assert engine.read_task_file(job_id, "env", "stdout.txt") == b"acct http://127.0.0.1:1\n"
    names = [e.name for e in engine.list_task_files(job_id, "env", recursive=True)]
    assert names == ["stderr.txt", "stdout.txt", "wd"]
    with pytest.raises(TaskNotFound):
        engine.task_record(job_id, "nope")


def test_job_with_terminate_when_tasks_complete_completes(engine, pool, unique_id):
    job_id = new_job(engine, pool, unique_id, terminate_when_tasks_complete=True)
    assert engine.job_record(job_id).state == "active"  # no tasks yet: stays active
    engine.add_tasks(job_id, [TaskSpec(id="a", command_line="true")])
    record = until(lambda: (r := engine.job_record(job_id)).state == "completed" and r)
    assert (record.terminate_reason, record.previous_state) == ("AllTasksComplete", "active")
    with pytest.raises(StateConflict) as late:
        engine.add_tasks(job_id, [TaskSpec(id="b", command_line="true")])
    assert late.value.code == "JobCompleted"


def test_enabling_terminate_on_a_finished_job_completes_it(engine, pool, unique_id):
    job_id = new_job(engine, pool, unique_id)
    engine.add_tasks(job_id, [TaskSpec(id="a", command_line="true")])
    until(lambda: engine.task_record(job_id, "a").info.state is TaskState.COMPLETED)
    assert engine.job_record(job_id).state == "active"
    engine.set_terminate_when_tasks_complete(job_id, True)
    assert engine.job_record(job_id).state == "completed"


def test_terminating_a_job_kills_running_tasks_and_leaves_active_ones(engine, pool, unique_id):
    job_id = new_job(engine, pool, unique_id, uses_task_dependencies=True)
    engine.add_tasks(job_id, [TaskSpec(id="long", command_line="sleep 60"),
                              TaskSpec(id="after", command_line="true", depends_on=("long",))])
    until(lambda: engine.task_record(job_id, "long").info.state is TaskState.RUNNING)
    start = time.monotonic()
    engine.terminate_job(job_id, "enough")
    record = until(lambda: (r := engine.job_record(job_id)).state == "completed" and r)
    assert time.monotonic() - start < 15
    assert record.terminate_reason == "enough"
    long = engine.task_record(job_id, "long").info
    assert (long.state, long.result, long.failure.code) == (
        TaskState.COMPLETED, TaskResult.FAILURE, "TaskEnded")
    assert engine.task_record(job_id, "after").info.state is TaskState.ACTIVE
    with pytest.raises(StateConflict) as again:
        engine.terminate_job(job_id)
    assert again.value.code == "JobCompleted"


def test_terminating_tasks(engine, pool, unique_id):
    job_id = new_job(engine, pool, unique_id, uses_task_dependencies=True)
    engine.add_tasks(job_id, [TaskSpec(id="waiting", command_line="true",
                                       depends_on=("never",))])
    engine.terminate_task(job_id, "waiting")
    info = engine.task_record(job_id, "waiting").info
    assert (info.state, info.result, info.failure.code) == (
        TaskState.COMPLETED, TaskResult.FAILURE, "TaskEnded")
    with pytest.raises(StateConflict) as done:
        engine.terminate_task(job_id, "waiting")
    assert done.value.code == "TaskCompleted"


def test_deleting_a_job_shows_deleting_until_it_is_gone(engine, pool, unique_id, monkeypatch):
    import threading
    job_id = new_job(engine, pool, unique_id)
    engine.add_tasks(job_id, [TaskSpec(id="long", command_line="sleep 60")])
    until(lambda: engine.task_record(job_id, "long").info.state is TaskState.RUNNING)
    # the node agent kills in a millisecond: hold the kill to look at the job meanwhile
    go, kill = threading.Event(), engine._runner.kill
    monkeypatch.setattr(engine._runner, "kill", lambda task: (go.wait(30), kill(task)))
    assert engine.start_deleting_job(job_id) is True  # at once, as Batch answers 202
    assert engine.job_record(job_id).state == "deleting"
    assert engine.start_deleting_job(job_id) is False
    with pytest.raises(StateConflict) as refused:
        engine.add_tasks(job_id, [TaskSpec(id="x", command_line="true")])
    assert refused.value.code == "JobBeingDeleted"
    assert engine.task_record(job_id, "long").info.state is TaskState.RUNNING
    go.set()
    until(lambda: job_id not in {r.spec.id for r in engine.job_records()}, timeout=15)
    with pytest.raises(JobNotFound):
        engine.job_record(job_id)


def test_deleting_a_pool_shows_deleting_until_its_containers_are_gone(engine, unique_id,
                                                                      docker_client):
    pool_id = unique_id("pool")
    engine.create_pool(PoolSpec(id=pool_id, node_count=2))
    assert engine.start_deleting_pool(pool_id) is True
    assert engine.pool_record(pool_id).info.state == "deleting"
    assert engine.start_deleting_pool(pool_id) is False
    engine.wait_for_deletions()
    with pytest.raises(PoolNotFound):
        engine.pool_record(pool_id)
    assert docker_client.containers.list(all=True,
                                         filters={"label": f"topwords.pool={pool_id}"}) == []


def test_a_job_may_wait_for_its_pool(engine, unique_id):
    pool_id = unique_id("pool")
    job_id = unique_id("job")
    engine.create_job(JobSpec(id=job_id, pool_id=pool_id), pool_must_exist=False)
    engine.add_tasks(job_id, [TaskSpec(id="t", command_line="true")])
    assert engine.task_record(job_id, "t").info.state is TaskState.ACTIVE
    engine.create_pool(PoolSpec(id=pool_id, node_count=1))
    try:
        until(lambda: engine.task_record(job_id, "t").info.state is TaskState.COMPLETED)
    finally:
        engine.delete_job(job_id)
        engine.delete_pool(pool_id)
