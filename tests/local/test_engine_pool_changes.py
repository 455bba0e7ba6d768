"""The local engine's pool and job changes (what the emulator's resize,
pool update and job replace call), on process nodes: no Docker needed.
Through the SDK they are tested in tests/emulator/test_pool_changes.py."""

from __future__ import annotations

import time

import pytest

from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.jobs import StateConflict
from topwords.backends.local.runtime import make_runtime
from topwords.core.errors import ConfigError, PoolNotFound
from topwords.core.model import JobSpec, NodeState, PoolSpec, StartTask, TaskSpec, TaskState

WAIT = 30.0


@pytest.fixture
def engine(tmp_path):
    engine = LocalBatchEngine(runtime=make_runtime("process"), image="unused",
                              work_dir=tmp_path)
    yield engine
    for record in engine.pool_records():
        engine.delete_pool(record.info.spec.id)
    engine.close()


def until(check, what: str):
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} did not happen in time"
        time.sleep(0.02)
    return value


def states(engine, pool_id: str) -> list[str]:
    return sorted(n.info.state.value for n in engine.node_records(pool_id))


def steady(engine, pool_id: str):
    return until(lambda: (r := engine.pool_record(pool_id)).info.allocation_state == "steady"
                 and r, "a steady pool")


def idle_pool(engine, nodes: int = 1, start: StartTask | None = None) -> str:
    engine.create_pool(PoolSpec(id="p", node_count=nodes, start_task=start))
    until(lambda: states(engine, "p") == ["idle"] * nodes, "idle nodes")
    return "p"


def test_pool_of_no_nodes_is_allowed_and_steady(engine):
    engine.create_pool(PoolSpec(id="empty", node_count=0))
    record = steady(engine, "empty")
    assert (record.current_dedicated, record.current_spot) == (0, 0)
    assert engine.node_records("empty") == []


def test_resize_up_then_down_changes_targets_nodes_and_allocation_state(engine):
    pool = idle_pool(engine)
    engine.resize_pool(pool, 2, 1)
    record = engine.pool_record(pool)
    assert (record.info.spec.node_count, record.info.spec.spot_node_count) == (2, 1)
    assert record.info.allocation_state == "resizing"
    until(lambda: states(engine, pool) == ["idle"] * 3, "3 idle nodes")
    record = steady(engine, pool)
    assert (record.current_dedicated, record.current_spot) == (2, 1)
    assert sorted(n.dedicated for n in engine.node_records(pool)) == [False, True, True]
    engine.resize_pool(pool, 1, 0)
    until(lambda: states(engine, pool) == ["idle"], "one node left")
    record = steady(engine, pool)
    assert (record.current_dedicated, record.current_spot) == (1, 0)
    engine.resize_pool(pool, 2, 0)
    until(lambda: len(states(engine, pool)) == 2, "a new node")
    ids = [n.info.id for n in engine.node_records(pool)]
    assert len(set(ids)) == 2 and "node-3" in ids  # a left node's id is not reused


def test_resize_is_refused_while_the_pool_is_not_steady(engine):
    pool = idle_pool(engine)
    engine.resize_pool(pool, 3)
    with pytest.raises(StateConflict) as busy:
        engine.resize_pool(pool, 1)
    assert busy.value.code == "PoolBeingResized"
    engine.stop_resizing_pool(pool)
    assert steady(engine, pool).info.allocation_state == "steady"
    engine.stop_resizing_pool(pool)  # a steady pool: nothing to stop


@pytest.mark.parametrize("option, result, requeued", [
    ("requeue", "success", 1), ("terminate", "failure", 0), ("taskcompletion", "success", 0)])
def test_a_node_that_leaves_hands_its_task_on_per_the_deallocation_option(
        engine, option, result, requeued):
    pool = idle_pool(engine)
    engine.create_job(JobSpec(id="j", pool_id=pool))
    engine.add_tasks("j", [TaskSpec(id="t", command_line="sleep 1")])
    until(lambda: engine.task_record("j", "t").info.state is TaskState.RUNNING, "running")
    first = engine.task_record("j", "t").info.node_id
    engine.resize_pool(pool, 0, deallocation=option)
    assert states(engine, pool) == ["leavingpool"]
    if option == "requeue":  # the task waits for a node: give it one
        until(lambda: engine.pool_record(pool).info.allocation_state == "steady", "gone")
        engine.resize_pool(pool, 1)
    task = until(lambda: (t := engine.task_record("j", "t")).info.state
                 is TaskState.COMPLETED and t, "the task's end")
    assert (task.info.result.value, task.info.requeue_count) == (result, requeued)
    if option == "terminate":
        assert task.info.failure.code == "TaskEnded"
    if option == "requeue":
        assert task.info.node_id != first
    else:
        until(lambda: states(engine, pool) == [], "the node gone")


def test_refusals(engine):
    pool = idle_pool(engine)
    with pytest.raises(ConfigError):
        engine.resize_pool(pool, -1)
    with pytest.raises(ConfigError):
        engine.resize_pool(pool, 1, deallocation="later")
    with pytest.raises(PoolNotFound):
        engine.resize_pool("nopool", 1)
    engine.start_deleting_pool(pool)
    for call in (lambda: engine.resize_pool(pool, 2), lambda: engine.update_pool(
            pool, metadata={}), lambda: engine.stop_resizing_pool(pool)):
        with pytest.raises(StateConflict) as deleting:
            call()
        assert deleting.value.code == "PoolBeingDeleted"


def test_update_pool_start_task_runs_on_nodes_that_join_later(engine):
    pool = idle_pool(engine, start=StartTask(command_line="sh -c 'echo first'"))
    engine.update_pool(pool, start_task=StartTask(command_line="sh -c 'echo second'"),
                       metadata={"k": "v"})
    spec = engine.pool_record(pool).info.spec
    assert (spec.start_task.command_line, dict(spec.metadata)) == ("sh -c 'echo second'",
                                                                    {"k": "v"})
    engine.resize_pool(pool, 2)
    until(lambda: states(engine, pool) == ["idle", "idle"], "two idle nodes")
    outs = sorted(engine.node_dir(pool, n.info.id).read("startup/stdout.txt")
                  for n in engine.node_records(pool))
    assert outs == [b"first\n", b"second\n"]
    engine.update_pool(pool, start_task=None)
    assert engine.pool_record(pool).info.spec.start_task is None
    assert dict(engine.pool_record(pool).info.spec.metadata) == {"k": "v"}  # kept


def test_update_job_sets_metadata_and_completes_an_empty_terminating_job(engine):
    engine.create_job(JobSpec(id="j", pool_id="p"), pool_must_exist=False)
    engine.update_job("j", metadata={"a": "1"})
    record = engine.job_record("j")
    assert (dict(record.spec.metadata), record.state) == ({"a": "1"}, "active")
    engine.update_job("j", terminate_when_tasks_complete=True)
    assert engine.job_record("j").state == "completed"
    with pytest.raises(StateConflict) as completed:
        engine.update_job("j", metadata={})
    assert completed.value.code == "JobCompleted"
    assert NodeState.LEAVING_POOL.value == "leavingpool"
