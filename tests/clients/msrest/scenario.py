"""A Batch program written against azure-batch 14.2.0 (the msrest API:
``BatchServiceClient``, ``SharedKeyCredentials``, operation groups, errors
as ``BatchErrorException``), as the official samples write it, run
unchanged against the Batch emulator (endpoint, account and key from the
environment). It asserts what the service would answer and prints one line
per step; a failure exits non-zero with its traceback.

Environment: BATCH_URL, BATCH_ACCOUNT, BATCH_KEY, OUTPUT_CONTAINER_URL (a
container SAS URL with write permission), RESOURCE_URL (a readable blob SAS
URL holding RESOURCE_WORDS words), RUN_ID. Runs in its own virtualenv
(requirements.txt beside it): azure-batch 14 and 15 cannot share one.
"""

from __future__ import annotations

import os
import sys

import azure.batch.models as batchmodels
from azure.batch import BatchServiceClient
from azure.batch.batch_auth import SharedKeyCredentials

from steps import CHECKS, step, until  # beside this file

ENV = os.environ
RUN = ENV["RUN_ID"]
POOL_ID, JOB_ID = f"msrest-pool-{RUN}", f"msrest-job-{RUN}"
def refused(call, *args, **kwargs) -> batchmodels.BatchErrorException:
    try:
        call(*args, **kwargs)
    except batchmodels.BatchErrorException as exc:
        return exc
    raise AssertionError(f"{call.__qualname__} should have been refused")


def nodes_idle(client: BatchServiceClient, count: int) -> bool:
    pool = client.pool.get(POOL_ID)
    nodes = list(client.compute_node.list(POOL_ID))
    return (pool.allocation_state == batchmodels.AllocationState.steady and len(nodes) == count
            and all(n.state == batchmodels.ComputeNodeState.idle for n in nodes))


def output(pattern: str, path: str, condition) -> batchmodels.OutputFile:
    return batchmodels.OutputFile(
        file_pattern=pattern,
        destination=batchmodels.OutputFileDestination(
            container=batchmodels.OutputFileBlobContainerDestination(
                container_url=ENV["OUTPUT_CONTAINER_URL"], path=path)),
        upload_options=batchmodels.OutputFileUploadOptions(upload_condition=condition))


def pools_and_images(client: BatchServiceClient) -> batchmodels.ImageInformation:
    images = [i for i in client.account.list_supported_images()
              if i.node_agent_sku_id.startswith("batch.node.ubuntu")]
    image = max(images, key=lambda i: i.node_agent_sku_id)
    client.pool.add(batchmodels.PoolAddParameter(
        id=POOL_ID, vm_size="STANDARD_D2S_V3", target_dedicated_nodes=1,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=image.image_reference,
            node_agent_sku_id=image.node_agent_sku_id),
        start_task=batchmodels.StartTask(
            command_line="/bin/bash -c 'cp input.txt $AZ_BATCH_NODE_SHARED_DIR/'",
            resource_files=[batchmodels.ResourceFile(http_url=ENV["RESOURCE_URL"],
                                                     file_path="input.txt")],
            wait_for_success=True,
            user_identity=batchmodels.UserIdentity(auto_user=batchmodels.AutoUserSpecification(
                scope=batchmodels.AutoUserScope.pool,
                elevation_level=batchmodels.ElevationLevel.admin)))))
    assert client.pool.exists(POOL_ID) is True
    until("an idle node", lambda: nodes_idle(client, 1))
    [node] = client.compute_node.list(POOL_ID)
    assert node.start_task_info.exit_code == 0
    assert POOL_ID in [p.id for p in client.pool.list()]
    step("pool added with a StartTask; its node idle")
    return image


def jobs_and_tasks(client: BatchServiceClient) -> None:
    client.job.add(batchmodels.JobAddParameter(
        id=JOB_ID, pool_info=batchmodels.PoolInformation(pool_id=POOL_ID),
        uses_task_dependencies=True))
    condition = batchmodels.OutputFileUploadCondition
    outputs = [output("../std*.txt", "failed", condition.task_failure),
               output("result.txt", "ok/result.txt", condition.task_success)]
    client.task.add(JOB_ID, batchmodels.TaskAddParameter(
        id="count", output_files=outputs,
        command_line="/bin/bash -c 'wc -w < $AZ_BATCH_NODE_SHARED_DIR/input.txt > result.txt'"))
    result = client.task.add_collection(JOB_ID, [
        batchmodels.TaskAddParameter(
            id="after", command_line="/bin/bash -c 'echo after'",
            depends_on=batchmodels.TaskDependencies(task_ids=["count"])),
        batchmodels.TaskAddParameter(
            id="fails", command_line="/bin/bash -c 'echo why >&2; exit 3'",
            output_files=outputs,
            constraints=batchmodels.TaskConstraints(max_task_retry_count=1))])
    assert [r.status for r in result.value] == [batchmodels.TaskAddStatus.success] * 2
    step("job and tasks added (one task, a collection, a dependency)")

    until("three completed tasks",
          lambda: client.job.get_task_counts(JOB_ID).task_counts.completed == 3)
    tasks = {t.id: t for t in client.task.list(JOB_ID)}
    result_of = batchmodels.TaskExecutionResult
    assert tasks["count"].execution_info.result == result_of.success
    assert tasks["after"].execution_info.start_time >= tasks["count"].execution_info.end_time
    failed = tasks["fails"].execution_info
    assert (failed.exit_code, failed.retry_count, failed.result) == (3, 1, result_of.failure)
    assert failed.failure_info.category == batchmodels.ErrorCategory.user_error
    assert client.task.get(JOB_ID, "count").state == batchmodels.TaskState.completed
    step("tasks completed with their exit codes and retries")

    names = [f.name for f in client.file.list_from_task(JOB_ID, "fails")]
    assert {"stdout.txt", "stderr.txt"} <= set(names), names
    stderr = b"".join(client.file.get_from_task(JOB_ID, "fails", "stderr.txt"))
    assert stderr == b"why\nwhy\n", stderr
    words = b"".join(client.file.get_from_task(JOB_ID, "count", "wd/result.txt"))
    assert words == f"{ENV['RESOURCE_WORDS']}\n".encode(), words
    step("task files listed and downloaded")

    client.job.patch(JOB_ID, batchmodels.JobPatchParameter(priority=3))
    client.job.update(JOB_ID, batchmodels.JobUpdateParameter(
        pool_info=batchmodels.PoolInformation(pool_id=POOL_ID),
        metadata=[batchmodels.MetadataItem(name="stage", value="done")]))
    job = client.job.get(JOB_ID)
    assert job.priority == 0, job.priority  # an update (PUT) resets what it leaves out
    assert [(m.name, m.value) for m in job.metadata] == [("stage", "done")]
    step("job patched and updated")


def errors(client: BatchServiceClient, image) -> None:
    missing = refused(client.job.get, f"msrest-nojob-{RUN}")
    assert (missing.response.status_code, missing.error.code) == (404, "JobNotFound")
    assert client.pool.exists(f"msrest-nopool-{RUN}") is False
    exists = refused(client.pool.add, batchmodels.PoolAddParameter(
        id=POOL_ID, vm_size="STANDARD_D2S_V3", target_dedicated_nodes=1,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=image.image_reference, node_agent_sku_id=image.node_agent_sku_id)))
    assert (exists.response.status_code, exists.error.code) == (409, "PoolExists")
    retired = refused(client.pool.add, batchmodels.PoolAddParameter(  # the quickstart's image
        id=f"msrest-old-{RUN}", vm_size="STANDARD_D2S_V3", target_dedicated_nodes=1,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=batchmodels.ImageReference(
                publisher="canonical", offer="0001-com-ubuntu-server-focal", sku="20_04-lts",
                version="latest"),
            node_agent_sku_id="batch.node.ubuntu 20.04")))
    assert retired.response.status_code == 400
    reason = {d.key: d.value for d in retired.error.values}["Reason"]
    assert "retired" in reason and "22_04-lts" in reason, reason
    step("errors: 404 JobNotFound, exists False, 409 PoolExists, 400 for a retired image")


def pool_changes(client: BatchServiceClient) -> None:
    client.pool.resize(POOL_ID, batchmodels.PoolResizeParameter(target_dedicated_nodes=2))
    assert client.pool.get(POOL_ID).target_dedicated_nodes == 2
    until("two idle nodes", lambda: nodes_idle(client, 2))
    [counts] = [c for c in client.account.list_pool_node_counts() if c.pool_id == POOL_ID]
    assert (counts.dedicated.idle, counts.dedicated.total) == (2, 2)
    client.pool.resize(POOL_ID, batchmodels.PoolResizeParameter(
        target_dedicated_nodes=1,
        node_deallocation_option=batchmodels.ComputeNodeDeallocationOption.task_completion))
    client.pool.stop_resize(POOL_ID)
    until("a steady pool", lambda: client.pool.get(POOL_ID).allocation_state
          == batchmodels.AllocationState.steady)
    step("pool resized up and down, node counts, stop resize")

    client.pool.patch(POOL_ID, batchmodels.PoolPatchParameter(
        metadata=[batchmodels.MetadataItem(name="owner", value="msrest")]))
    assert [(m.name, m.value) for m in client.pool.get(POOL_ID).metadata] == [
        ("owner", "msrest")]
    client.pool.update_properties(POOL_ID, batchmodels.PoolUpdatePropertiesParameter(
        certificate_references=[], application_package_references=[], metadata=[]))
    pool = client.pool.get(POOL_ID)
    assert (pool.metadata, pool.start_task) == (None, None), (pool.metadata, pool.start_task)
    assert list(client.application.list()) == []
    assert list(client.pool.list_usage_metrics()) == []
    step("pool patched and its properties updated; no applications, no usage metrics")


def cleanup(client: BatchServiceClient) -> None:
    client.job.delete(JOB_ID)
    until("the job gone", lambda: JOB_ID not in [j.id for j in client.job.list()])
    client.pool.delete(POOL_ID)
    until("the pool gone", lambda: client.pool.exists(POOL_ID) is False)
    step("job and pool deleted")


def main() -> int:
    client = BatchServiceClient(SharedKeyCredentials(ENV["BATCH_ACCOUNT"], ENV["BATCH_KEY"]),
                                batch_url=ENV["BATCH_URL"])
    try:
        image = pools_and_images(client)
        jobs_and_tasks(client)
        errors(client, image)
        pool_changes(client)
        cleanup(client)
    except BaseException:
        for delete, ident in ((client.job.delete, JOB_ID), (client.pool.delete, POOL_ID)):
            try:
                delete(ident)
            except batchmodels.BatchErrorException:
                pass
        raise
    print(f"msrest scenario: {len(CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
