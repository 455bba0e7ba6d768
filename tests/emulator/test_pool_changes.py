"""Changing pools and jobs after they were created, through the azure-batch
15 SDK as a Batch user calls it: resize (nodes join with their StartTask or
leave per ``nodeDeallocationOption``; ``allocationState`` resizing ->
steady), stop resize, pool update and update-properties, job replace, node
counts, and the account lists the emulator has nothing in."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from azure.batch import BatchClient, models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from test_batch_client_conformance import bash, error_of, new_id, ubuntu_image

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

WAIT = 60.0


def until(check, what: str, wait: float = WAIT):
    deadline = time.monotonic() + wait
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} did not happen in time"
        time.sleep(0.05)
    return value


def steady(client: BatchClient, pool_id: str) -> bm.BatchPool:
    return until(lambda: (p := client.get_pool(pool_id)).allocation_state
                 == bm.AllocationState.STEADY and p, "steady allocation")


def node_states(client: BatchClient, pool_id: str) -> list[str]:
    return sorted(n.state for n in client.list_nodes(pool_id))


@pytest.fixture
def make_pool(batch_client, docker_client):
    made = []

    def make(nodes: int = 1, start: str | None = None, slots: int = 1) -> str:
        pool_id = new_id("pool")
        image = ubuntu_image(batch_client)
        batch_client.create_pool(bm.BatchPoolCreateOptions(
            id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=nodes,
            task_slots_per_node=slots,
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=image.image_reference,
                node_agent_sku_id=image.node_agent_sku_id),
            start_task=bm.BatchStartTask(command_line=bash(start), wait_for_success=True)
            if start else None))
        made.append(pool_id)
        until(lambda: node_states(batch_client, pool_id) == ["idle"] * nodes, "idle nodes")
        return pool_id
    yield make
    for pool_id in made:
        batch_client.begin_delete_pool(pool_id, polling_interval=0.5).result()
        assert docker_client.containers.list(
            all=True, filters={"label": f"topwords.pool={pool_id}"}) == []


@pytest.fixture
def make_job(batch_client):
    made = []

    def make(pool_id: str) -> str:
        job_id = new_id("job")
        batch_client.create_job(bm.BatchJobCreateOptions(
            id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
        made.append(job_id)
        return job_id
    yield make
    for job_id in made:
        batch_client.begin_delete_job(job_id, polling_interval=0.5).result()


def resize(client: BatchClient, pool_id: str, nodes: int, option=None) -> None:
    client.begin_resize_pool(pool_id, bm.BatchPoolResizeOptions(
        target_dedicated_nodes=nodes, node_deallocation_option=option,
        resize_timeout=timedelta(minutes=5)), polling_interval=0.2).result()


# -- resize up and down ---------------------------------------------------------------

def test_resize_up_adds_nodes_that_run_the_start_task_and_the_pool_becomes_steady(
        batch_client, make_pool):
    pool_id = make_pool(1, start="echo joined")
    batch_client.begin_resize_pool(pool_id, bm.BatchPoolResizeOptions(
        target_dedicated_nodes="3"), polling_interval=0.2)  # as the Azure CLI sends it
    assert batch_client.get_pool(pool_id).target_dedicated_nodes == 3
    pool = steady(batch_client, pool_id)
    assert (pool.current_dedicated_nodes, pool.current_low_priority_nodes) == (3, 0)
    assert pool.resize_timeout == timedelta(minutes=15)
    until(lambda: node_states(batch_client, pool_id) == ["idle"] * 3, "3 idle nodes")
    for node in batch_client.list_nodes(pool_id):
        assert node.start_task_info.exit_code == 0
        out = b"".join(batch_client.download_node_file(pool_id, node.id, "startup/stdout.txt"))
        assert out == b"joined\n"
    [counts] = [c for c in batch_client.list_pool_node_counts() if c.pool_id == pool_id]
    assert (counts.dedicated.idle, counts.dedicated.total, counts.low_priority.total) == (3, 3, 0)


def test_resize_to_zero_and_back(batch_client, make_pool):
    pool_id = make_pool(2)
    resize(batch_client, pool_id, 0)
    pool = steady(batch_client, pool_id)
    assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (0, 0)
    assert list(batch_client.list_nodes(pool_id)) == []
    resize(batch_client, pool_id, 1)
    until(lambda: node_states(batch_client, pool_id) == ["idle"], "a node again")
    assert [n.id for n in batch_client.list_nodes(pool_id)] == ["node-2"]  # ids not reused


def busy_pool(client: BatchClient, make_pool, make_job) -> tuple[str, str]:
    """Two one-slot nodes, each running a 3 s task."""
    pool_id = make_pool(2)
    job_id = make_job(pool_id)
    client.create_tasks(job_id, [bm.BatchTaskCreateOptions(
        id=f"t{n}", command_line=bash("sleep 3; echo done")) for n in range(2)])
    until(lambda: client.get_job_task_counts(job_id).task_counts.running == 2, "2 running")
    return pool_id, job_id


def finished(client: BatchClient, job_id: str) -> dict[str, bm.BatchTask]:
    until(lambda: client.get_job_task_counts(job_id).task_counts.completed == 2, "completion")
    return {t.id: t for t in client.list_tasks(job_id)}


def test_resize_down_requeues_the_tasks_of_a_node_that_leaves(batch_client, make_pool,
                                                             make_job):
    pool_id, job_id = busy_pool(batch_client, make_pool, make_job)
    batch_client.begin_resize_pool(pool_id, bm.BatchPoolResizeOptions(
        target_dedicated_nodes=1), polling_interval=0.2)  # requeue: Batch's default
    tasks = finished(batch_client, job_id)
    runs = sorted((t.execution_info.requeue_count, t.execution_info.retry_count,
                   t.execution_info.result) for t in tasks.values())
    assert runs == [(0, 0, bm.BatchTaskExecutionResult.SUCCESS),
                    (1, 0, bm.BatchTaskExecutionResult.SUCCESS)]
    assert len({t.node_info.node_id for t in tasks.values()}) == 1
    assert steady(batch_client, pool_id).current_dedicated_nodes == 1


def test_resize_down_with_terminate_ends_the_tasks_of_a_node_that_leaves(
        batch_client, make_pool, make_job):
    pool_id, job_id = busy_pool(batch_client, make_pool, make_job)
    resize(batch_client, pool_id, 1, bm.BatchNodeDeallocationOption.TERMINATE)
    tasks = finished(batch_client, job_id)
    results = sorted((t.execution_info.result, t.execution_info.failure_info.code
                      if t.execution_info.failure_info else None) for t in tasks.values())
    assert results == [(bm.BatchTaskExecutionResult.FAILURE, "TaskEnded"),
                       (bm.BatchTaskExecutionResult.SUCCESS, None)]
    assert all(t.execution_info.requeue_count == 0 for t in tasks.values())


def test_resize_down_with_task_completion_lets_the_node_finish_first(batch_client, make_pool,
                                                                    make_job):
    pool_id, job_id = busy_pool(batch_client, make_pool, make_job)
    batch_client.begin_resize_pool(pool_id, bm.BatchPoolResizeOptions(
        target_dedicated_nodes=1,
        node_deallocation_option=bm.BatchNodeDeallocationOption.TASK_COMPLETION),
        polling_interval=0.2)
    assert node_states(batch_client, pool_id) == ["leavingpool", "running"]
    assert batch_client.get_pool(pool_id).allocation_state == bm.AllocationState.RESIZING
    [counts] = [c for c in batch_client.list_pool_node_counts() if c.pool_id == pool_id]
    assert (counts.dedicated.leaving_pool, counts.dedicated.running) == (1, 1)
    with pytest.raises(HttpResponseError) as again:
        resize(batch_client, pool_id, 2)
    assert error_of(again) == (409, "PoolBeingResized")
    tasks = finished(batch_client, job_id)
    assert {t.execution_info.result for t in tasks.values()} == {
        bm.BatchTaskExecutionResult.SUCCESS}
    assert all(t.execution_info.requeue_count == 0 for t in tasks.values())
    assert steady(batch_client, pool_id).current_dedicated_nodes == 1
    until(lambda: node_states(batch_client, pool_id) == ["idle"], "one idle node")


def test_stop_resize_keeps_the_nodes_that_started(batch_client, make_pool):
    pool_id = make_pool(1, start="sleep 1")
    batch_client.begin_resize_pool(pool_id, bm.BatchPoolResizeOptions(
        target_dedicated_nodes=4), polling_interval=0.2)
    batch_client.begin_stop_pool_resize(pool_id, polling_interval=0.2).result()
    pool = steady(batch_client, pool_id)
    assert 1 <= pool.current_dedicated_nodes <= 4
    assert pool.current_dedicated_nodes == len(list(batch_client.list_nodes(pool_id)))
    batch_client.begin_stop_pool_resize(pool_id, polling_interval=0.2).result()  # steady: fine


def test_resize_refusals_name_the_property(batch_client, make_pool):
    pool_id = make_pool(1)
    for options, name in (
            ({"targetDedicatedNodes": -1}, "targetDedicatedNodes"),
            ({"targetDedicatedNodes": 999}, "targetDedicatedNodes"),
            ({"targetDedicatedNodes": 1, "nodeDeallocationOption": "later"},
             "nodeDeallocationOption")):
        with pytest.raises(HttpResponseError) as bad:
            batch_client.begin_resize_pool(pool_id, options)
        assert error_of(bad) == (400, "InvalidPropertyValue")
        values = {d["key"]: d["value"] for d in bad.value.response.json()["values"]}
        assert values["PropertyName"] == name
    with pytest.raises(ResourceNotFoundError):
        resize(batch_client, new_id("nopool"), 1)


# -- pool updates -------------------------------------------------------------------------

def test_update_pool_changes_metadata_and_the_start_task_of_nodes_that_join_later(
        batch_client, make_pool):
    pool_id = make_pool(1, start="echo first")
    batch_client.update_pool(pool_id, bm.BatchPoolUpdateOptions(
        start_task=bm.BatchStartTask(command_line=bash("echo second"), wait_for_success=True),
        metadata=[bm.BatchMetadataItem(name="stage", value="two")]))
    pool = batch_client.get_pool(pool_id)
    assert [(m.name, m.value) for m in pool.metadata] == [("stage", "two")]
    assert "second" in pool.start_task.command_line
    resize(batch_client, pool_id, 2)
    until(lambda: node_states(batch_client, pool_id) == ["idle"] * 2, "2 idle nodes")
    outs = sorted(b"".join(batch_client.download_node_file(pool_id, n.id,
                                                           "startup/stdout.txt"))
                  for n in batch_client.list_nodes(pool_id))
    assert outs == [b"first\n", b"second\n"]
    batch_client.update_pool(pool_id, bm.BatchPoolUpdateOptions(display_name="renamed"))
    pool = batch_client.get_pool(pool_id)  # what the PATCH left out stays
    assert (pool.display_name, len(pool.metadata)) == ("renamed", 1)
    with pytest.raises(HttpResponseError) as fixed:
        batch_client.update_pool(pool_id, bm.BatchPoolUpdateOptions(vm_size="standard_d4s_v3"))
    assert error_of(fixed) == (400, "UnsupportedProperty")


def test_replace_pool_properties_replaces_everything_it_covers(batch_client, make_pool):
    pool_id = make_pool(1, start="echo first")
    batch_client.update_pool(pool_id, bm.BatchPoolUpdateOptions(
        metadata=[bm.BatchMetadataItem(name="a", value="1")]))
    batch_client.replace_pool_properties(pool_id, bm.BatchPoolReplaceOptions(
        metadata=[], application_package_references=[]))
    pool = batch_client.get_pool(pool_id)
    assert (pool.start_task, pool.metadata) == (None, None)
    with pytest.raises(HttpResponseError) as incomplete:
        batch_client.replace_pool_properties(pool_id, {"metadata": []})
    assert error_of(incomplete) == (400, "MissingRequiredProperty")


# -- jobs and the account -------------------------------------------------------------------

def test_replace_job_resets_what_it_leaves_out(batch_client, make_pool, make_job):
    pool_id = make_pool(1)
    job_id = make_job(pool_id)
    batch_client.update_job(job_id, bm.BatchJobUpdateOptions(priority=7))
    batch_client.replace_job(job_id, bm.BatchJob(
        pool_info=bm.BatchPoolInfo(pool_id=pool_id),
        metadata=[bm.BatchMetadataItem(name="k", value="v")],
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode.TERMINATE_JOB))
    job = batch_client.get_job(job_id)
    assert job.priority == 0
    assert [(m.name, m.value) for m in job.metadata] == [("k", "v")]
    assert job.state == bm.BatchJobState.COMPLETED  # no tasks, terminatejob: done
    with pytest.raises(HttpResponseError) as other_pool:
        other = make_job(pool_id)
        batch_client.replace_job(other, bm.BatchJob(pool_info=bm.BatchPoolInfo(pool_id="elsewhere")))
    assert error_of(other_pool) == (409, "OperationInvalidForCurrentState")


def test_account_lists_are_empty_and_an_application_is_not_found(batch_client):
    assert list(batch_client.list_applications()) == []
    assert list(batch_client.list_pool_usage_metrics()) == []
    with pytest.raises(ResourceNotFoundError) as missing:
        batch_client.get_application("ffmpeg")
    assert error_of(missing) == (404, "ApplicationNotFound")
