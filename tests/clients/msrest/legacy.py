"""A Batch program written against azure-batch 6.0.0 (api-version
2018-12-01.8.0, the msrest SDK of 2018), as the samples of that time write
it, run unchanged against the Batch emulator (endpoint, account and key
from the environment): an image chosen with ``list_node_agent_skus`` (the
operation ``list_supported_images`` later replaced), a pool with
``max_tasks_per_node`` (later ``task_slots_per_node``) and a StartTask, a
task collection with a resource file and a retried failing task, task
counts in that version's bare shape, stdout, an error, deletes.

Environment: BATCH_URL, BATCH_ACCOUNT, BATCH_KEY, RESOURCE_URL (a readable
blob SAS URL holding RESOURCE_WORDS words), RUN_ID. Runs in its own
virtualenv (requirements-6.txt beside it).
"""

from __future__ import annotations

import os

import azure.batch.models as batchmodels
from azure.batch import BatchServiceClient
from azure.batch.batch_auth import SharedKeyCredentials

from steps import CHECKS, step, until  # beside this file

ENV = os.environ
RUN = ENV["RUN_ID"]
POOL_ID, JOB_ID = f"legacy-pool-{RUN}", f"legacy-job-{RUN}"


def choose_image(client: BatchServiceClient):
    skus = [s for s in client.account.list_node_agent_skus()
            if s.id.startswith("batch.node.ubuntu") and s.os_type == batchmodels.OSType.linux]
    sku = max(skus, key=lambda s: s.id)
    assert sku.verified_image_references, sku
    step(f"image chosen with list_node_agent_skus: {sku.id}")
    return sku.id, sku.verified_image_references[0]


def nodes_idle(client: BatchServiceClient) -> bool:
    pool = client.pool.get(POOL_ID)
    nodes = list(client.compute_node.list(POOL_ID))
    return (pool.allocation_state == batchmodels.AllocationState.steady and len(nodes) == 1
            and nodes[0].state == batchmodels.ComputeNodeState.idle)


def add_pool(client: BatchServiceClient, agent: str, image) -> None:
    client.pool.add(batchmodels.PoolAddParameter(
        id=POOL_ID, vm_size="STANDARD_D2S_V3", target_dedicated_nodes=1, max_tasks_per_node=2,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=image, node_agent_sku_id=agent),
        start_task=batchmodels.StartTask(
            command_line="/bin/bash -c 'echo ready > $AZ_BATCH_NODE_SHARED_DIR/ready'",
            wait_for_success=True)))
    until("an idle node", lambda: nodes_idle(client))
    assert client.pool.get(POOL_ID).max_tasks_per_node == 2
    step("pool added with max_tasks_per_node and a StartTask; its node idle")


def run_tasks(client: BatchServiceClient) -> None:
    client.job.add(batchmodels.JobAddParameter(
        id=JOB_ID, pool_info=batchmodels.PoolInformation(pool_id=POOL_ID)))
    client.task.add_collection(JOB_ID, [
        batchmodels.TaskAddParameter(
            id="count", command_line="/bin/bash -c 'cat $AZ_BATCH_NODE_SHARED_DIR/ready; "
                                     "wc -w < input.txt'",
            resource_files=[batchmodels.ResourceFile(http_url=ENV["RESOURCE_URL"],
                                                     file_path="input.txt")]),
        batchmodels.TaskAddParameter(
            id="fail", command_line="/bin/bash -c 'exit 2'",
            constraints=batchmodels.TaskConstraints(max_task_retry_count=1))])
    until("both tasks completed", lambda: all(
        t.state == batchmodels.TaskState.completed for t in client.task.list(JOB_ID)))
    count, fail = client.task.get(JOB_ID, "count"), client.task.get(JOB_ID, "fail")
    assert count.execution_info.exit_code == 0, count.execution_info
    assert (fail.execution_info.exit_code, fail.execution_info.retry_count) == (2, 1)
    stdout = b"".join(client.file.get_from_task(JOB_ID, "count", "stdout.txt")).decode()
    assert stdout.split() == ["ready", ENV["RESOURCE_WORDS"]], stdout
    step("a task collection ran: a resource file, the StartTask's file, a retried failure")
    counts = client.job.get_task_counts(JOB_ID)
    assert (counts.succeeded, counts.failed, counts.completed) == (1, 1, 2), counts
    step("task counts in 2018-12-01.8.0's shape")


def refused_job(client: BatchServiceClient) -> None:
    try:
        client.job.get(f"no-such-job-{RUN}")
    except batchmodels.BatchErrorException as exc:
        assert exc.error.code == "JobNotFound", exc.error
        step("a missing job is JobNotFound")
        return
    raise AssertionError("a missing job was found")


def main() -> None:
    client = BatchServiceClient(SharedKeyCredentials(ENV["BATCH_ACCOUNT"], ENV["BATCH_KEY"]),
                                batch_url=ENV["BATCH_URL"])
    try:
        agent, image = choose_image(client)
        add_pool(client, agent, image)
        run_tasks(client)
        refused_job(client)
    finally:
        for delete, name in ((client.job.delete, JOB_ID), (client.pool.delete, POOL_ID)):
            try:
                delete(name)
            except batchmodels.BatchErrorException as exc:
                print(f"cleanup: {exc.message}")
    until("the pool deleted", lambda: not client.pool.exists(POOL_ID))
    step("job and pool deleted")
    print(f"msrest legacy scenario: {len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()
