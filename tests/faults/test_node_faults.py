"""Faults Batch survives: a node killed or hung mid-task. Its tasks are
requeued onto healthy nodes (``requeue_count``, not a retry), the node goes
``unknown`` then ``unusable`` and a new node takes its place, and the job's
results are complete and correct."""

from __future__ import annotations

import threading
import time

import pytest

from topwords.backends.local.health import HeartbeatSettings
from topwords.core.model import (
    JobSpec, NodeState, PoolSpec, TaskConstraints, TaskResult, TaskSpec,
)

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

#: fast heartbeats for the engine under test: unknown after 1.5 s of
#: silence, lost after 4 s
FAST = HeartbeatSettings(interval=0.3, unknown_after=1.5, unusable_after=4.0)


@pytest.fixture
def engine(docker_client, tmp_path):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    engine = LocalBatchEngine(connect(), image=LocalConfig.from_env().image,
                              work_dir=tmp_path / "nodes", heartbeat=FAST)
    yield engine
    for record in engine.pool_records():
        engine.delete_pool(record.info.spec.id)
    engine.close()


def until(check, timeout=60.0, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def idle_pool(compute, pool_id, nodes=2):
    compute.create_pool(PoolSpec(id=pool_id, node_count=nodes))
    until(lambda: [n.state for n in compute.list_nodes(pool_id)] == [NodeState.IDLE] * nodes)


def node_container(docker_client, pool_id, node_id):
    [found] = docker_client.api.containers(filters={"label": [
        f"topwords.pool={pool_id}", f"topwords.node={node_id}"]})
    return found["Id"]


def running_on(compute, job_id):
    """{node id: task id} of the job's running tasks."""
    return {t.node_id: t.id for t in compute.list_tasks(job_id) if t.state.value == "running"}


def work(n, seconds=3):
    return [TaskSpec(id=f"t{i}", command_line=f"/bin/bash -c 'sleep {seconds}; echo done {i}'")
            for i in range(n)]


def assert_all_done(compute, job_id, pool_id, n):
    done = {t.id: t for t in compute.wait_for_tasks(job_id, pool_id, 120)}
    assert all(t.result is TaskResult.SUCCESS for t in done.values()), done
    for i in range(n):
        assert compute.read_task_file(job_id, f"t{i}", "stdout.txt") == f"done {i}\n".encode()
    return done


@pytest.mark.parametrize("target", ["local", "emulator"])
def test_a_node_killed_mid_task_has_its_task_requeued_and_the_job_completes(
        target, engine, batch_emulator, docker_client, unique_id, request):
    compute = engine if target == "local" else _emulator_compute(request)
    pool_id, job_id = unique_id("killed"), unique_id("job")
    idle_pool(compute, pool_id)
    compute.create_job(JobSpec(id=job_id, pool_id=pool_id))
    compute.add_tasks(job_id, work(4))
    on = until(lambda: (r := running_on(compute, job_id)) and "node-0" in r and r)
    victim = on["node-0"]
    docker_client.api.kill(node_container(docker_client, pool_id, "node-0"))
    done = assert_all_done(compute, job_id, pool_id, 4)
    assert done[victim].requeue_count == 1 and done[victim].retry_count == 0
    assert sum(t.requeue_count for t in done.values()) == 1
    # the lost node stays unusable, and a new node takes its place
    until(lambda: {n.id: n.state for n in compute.list_nodes(pool_id)} == {
        "node-0": NodeState.UNUSABLE, "node-1": NodeState.IDLE, "node-2": NodeState.IDLE})
    compute.delete_job(job_id)
    compute.delete_pool(pool_id)


def test_a_paused_node_goes_unknown_then_unusable_and_its_task_runs_elsewhere(
        engine, docker_client, unique_id):
    pool_id, job_id = unique_id("paused"), unique_id("job")
    idle_pool(engine, pool_id)
    engine.create_job(JobSpec(id=job_id, pool_id=pool_id))
    engine.add_tasks(job_id, work(2, seconds=6))
    on = until(lambda: (r := running_on(engine, job_id)) and len(r) == 2 and r)
    container = node_container(docker_client, pool_id, "node-0")
    docker_client.api.pause(container)
    seen = set()
    watcher = threading.Thread(target=lambda: until(lambda: seen.add(
        engine.list_nodes(pool_id)[0].state) or NodeState.UNUSABLE in seen, 30, 0.05))
    watcher.start()
    done = assert_all_done(engine, job_id, pool_id, 2)
    watcher.join()
    assert {NodeState.UNKNOWN, NodeState.UNUSABLE} <= seen
    assert done[on["node-0"]].requeue_count == 1
    assert done[on["node-0"]].node_id != "node-0"  # it ran on a healthy node


def test_a_node_paused_briefly_carries_on_with_its_task(docker_client, tmp_path, unique_id):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    engine = LocalBatchEngine(connect(), image=LocalConfig.from_env().image,
                              work_dir=tmp_path / "nodes", heartbeat=HeartbeatSettings(
                                  interval=0.3, unknown_after=1.0, unusable_after=8.0))
    try:
        _paused_briefly(engine, docker_client, unique_id)
    finally:
        engine.close()


def _paused_briefly(engine, docker_client, unique_id):
    pool_id, job_id = unique_id("blip"), unique_id("job")
    idle_pool(engine, pool_id, nodes=1)
    engine.create_job(JobSpec(id=job_id, pool_id=pool_id))
    engine.add_tasks(job_id, work(1, seconds=2))
    until(lambda: running_on(engine, job_id))
    container = node_container(docker_client, pool_id, "node-0")
    docker_client.api.pause(container)
    # past unknown_after (1 s), well short of unusable_after (8 s)
    until(lambda: engine.list_nodes(pool_id)[0].state is NodeState.UNKNOWN, 6.0, 0.05)
    docker_client.api.unpause(container)
    done = assert_all_done(engine, job_id, pool_id, 1)
    assert done["t0"].requeue_count == 0
    until(lambda: engine.list_nodes(pool_id)[0].state is NodeState.IDLE, 10.0)  # answers again
    engine.delete_pool(pool_id)


def test_the_wall_clock_limit_holds_on_a_hung_node(docker_client, tmp_path, unique_id):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    patient = HeartbeatSettings(interval=0.5, unknown_after=2.0, unusable_after=120.0)
    engine = LocalBatchEngine(connect(), image=LocalConfig.from_env().image,
                              work_dir=tmp_path / "nodes", heartbeat=patient)
    pool_id, job_id = unique_id("hung"), unique_id("job")
    try:
        idle_pool(engine, pool_id, nodes=1)
        engine.create_job(JobSpec(id=job_id, pool_id=pool_id))
        engine.add_tasks(job_id, [TaskSpec(id="t0", command_line="sleep 60",
                                           constraints=TaskConstraints(max_wall_clock_time=1))])
        until(lambda: running_on(engine, job_id))
        docker_client.api.pause(node_container(docker_client, pool_id, "node-0"))
        started = time.monotonic()
        [task] = engine.wait_for_tasks(job_id, pool_id, 60)
        assert task.failure.code == "MaxWallClockTimeExpiry"
        assert time.monotonic() - started < 15  # 1 s limit + the host's 5 s grace
    finally:
        engine.delete_pool(pool_id)
        engine.close()


def _emulator_compute(request):
    import rigs
    return rigs.build_compute("azure-emulator", request, None, None)
