"""The engine's records (``BatchEngine``, ``records``), on the process
runtime (no Docker): every change of a resource moves its ``modified``
(the emulator's ETag and Last-Modified), extras live and die with their
resource, and there is one delete path (``delete_*`` = start + wait)."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from topwords.backends.local.batch_engine import BatchEngine
from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.runtime import make_runtime
from topwords.core.errors import JobNotFound, PoolNotFound
from topwords.core.model import JobSpec, PoolSpec, TaskSpec, TaskState


@pytest.fixture
def engine(tmp_path):
    engine = LocalBatchEngine(runtime=make_runtime("process"), image="unused",
                              work_dir=tmp_path)
    yield engine
    for record in engine.pool_records():
        engine.delete_pool(record.info.spec.id)
    engine.close()


def test_local_engine_is_a_batch_engine():
    assert issubclass(LocalBatchEngine, BatchEngine)
    assert not getattr(LocalBatchEngine, "__abstractmethods__", None)


def test_job_record_modified_moves_on_every_update(engine):
    engine.create_job(JobSpec(id="j", pool_id="nopool"), pool_must_exist=False,
                      extras={"priority": 1})
    first = engine.job_record("j")
    assert first.modified >= first.created and first.extras == {"priority": 1}
    second = engine.update_job("j", extras={"priority": 2})
    third = engine.update_job("j", terminate_when_tasks_complete=True)  # no tasks: completes
    assert first.modified < second.modified < third.modified
    assert (second.extras, third.state, third.created) == ({"priority": 2}, "completed",
                                                           first.created)
    assert engine.job_record("j") == third


def test_task_record_modified_moves_as_the_task_changes(engine):
    engine.create_job(JobSpec(id="j", pool_id="nopool"), pool_must_exist=False)
    [added] = engine.add_task_collection("j", [TaskSpec(id="t", command_line="true")],
                                         [{"displayName": "x"}])
    engine.terminate_task("j", "t")
    ended = engine.task_record("j", "t")
    assert ended.info.state is TaskState.COMPLETED and ended.modified > added.modified
    assert ended.created == added.created and ended.extras == {"displayName": "x"}


def test_engine_applies_the_jobs_common_environment_under_the_tasks_own(engine):
    engine.create_job(JobSpec(id="j", pool_id="nopool", common_environment={"A": "1", "B": "1"}),
                      pool_must_exist=False)
    engine.add_tasks("j", [TaskSpec(id="t", command_line="true", environment={"B": "2"})])
    assert engine.task_record("j", "t").spec.environment == {"A": "1", "B": "2"}


def test_pool_record_modified_moves_when_its_delete_starts(engine):
    engine.create_pool(PoolSpec(id="p", node_count=1), extras={"displayName": "d"})
    before = engine.pool_record("p")
    assert engine.start_deleting_pool("p") is True
    during = engine.pool_record("p") if engine.pool_records() else None
    engine.wait_for_deletions(30)
    if during is not None:  # still listed: deleting, and changed
        assert during.info.state == "deleting" and during.modified > before.modified
    with pytest.raises(PoolNotFound):
        engine.pool_record("p")


def test_delete_pool_is_start_and_wait(engine):
    engine.create_pool(PoolSpec(id="p", node_count=1))
    engine.delete_pool("p")
    assert engine.pool_records() == []
    engine.delete_pool("p")  # idempotent


def test_delete_job_is_start_and_wait_and_leaves_nothing_behind(engine):
    engine.create_job(JobSpec(id="j", pool_id="nopool"), pool_must_exist=False,
                      extras={"tags": ["marker-j"]})
    engine.add_task_collection("j", [TaskSpec(id="t", command_line="true")],
                               [{"tags": ["marker-t"]}])
    job = weakref.ref(engine._jobs["j"])
    assert engine.start_deleting_job("j") is True
    engine.delete_job("j")  # waits for the delete begun above
    with pytest.raises(JobNotFound):
        engine.job_record("j")
    deadline = time.monotonic() + 5
    while job() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert job() is None
    engine.delete_job("j")  # idempotent
