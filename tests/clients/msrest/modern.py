"""A Batch program written against azure-batch 14.2.0 (the msrest API) for
what modern workloads use: a pool of container nodes whose tasks run in an
image, an autoscale formula evaluated and enabled, and a job schedule that
makes its job. Run unchanged against the Batch emulator (endpoint, account
and key from the environment), as ``scenario.py`` is.

Environment: BATCH_URL, BATCH_ACCOUNT, BATCH_KEY, RUN_ID, TASK_IMAGE (a
local Docker image with /bin/sh).
"""

from __future__ import annotations

import os
from datetime import timedelta

import azure.batch.models as batchmodels
from azure.batch import BatchServiceClient
from azure.batch.batch_auth import SharedKeyCredentials

from steps import CHECKS, step, until  # beside this file

ENV = os.environ
RUN = ENV["RUN_ID"]
POOL_ID, JOB_ID, SCHEDULE_ID = f"modern-pool-{RUN}", f"modern-job-{RUN}", f"modern-sched-{RUN}"
IMAGE = ENV["TASK_IMAGE"]
def container_pool(client: BatchServiceClient) -> None:
    image = max((i for i in client.account.list_supported_images()
                 if i.node_agent_sku_id.startswith("batch.node.ubuntu")),
                key=lambda i: i.node_agent_sku_id)
    client.pool.add(batchmodels.PoolAddParameter(
        id=POOL_ID, vm_size="STANDARD_D2S_V3", target_dedicated_nodes=1,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=image.image_reference, node_agent_sku_id=image.node_agent_sku_id,
            container_configuration=batchmodels.ContainerConfiguration(
                type="dockerCompatible", container_image_names=[IMAGE]))))
    until("an idle node", lambda: [n for n in client.compute_node.list(POOL_ID)
                                   if n.state == batchmodels.ComputeNodeState.idle])
    step("container pool added; its node idle with the image prefetched")


def container_task(client: BatchServiceClient) -> None:
    client.job.add(batchmodels.JobAddParameter(
        id=JOB_ID, pool_info=batchmodels.PoolInformation(pool_id=POOL_ID)))
    settings = batchmodels.TaskContainerSettings(
        image_name=IMAGE, container_run_options="--rm -e GREETING=hello")
    client.task.add(JOB_ID, batchmodels.TaskAddParameter(
        id="in-image", container_settings=settings,
        command_line="/bin/sh -c 'echo $GREETING from $AZ_BATCH_TASK_ID; exit 4'"))
    task = until("the container task completed", lambda: (
        t := client.task.get(JOB_ID, "in-image")).state == batchmodels.TaskState.completed and t)
    assert task.execution_info.exit_code == 4, task.execution_info.exit_code
    stdout = b"".join(client.file.get_from_task(JOB_ID, "in-image", "stdout.txt"))
    assert stdout == b"hello from in-image\n", stdout
    step("a task ran in the image: its exit code, its stdout, its -e variable")


def autoscale(client: BatchServiceClient) -> None:
    formula = "$TargetDedicatedNodes = max(1, min(3, $PendingTasks.GetSample(1)));"
    client.pool.enable_auto_scale(POOL_ID, auto_scale_formula=formula,
                                  auto_scale_evaluation_interval=timedelta(minutes=5))
    pool = until("the first autoscale run", lambda: (
        p := client.pool.get(POOL_ID)).auto_scale_run and p)
    assert pool.enable_auto_scale is True and pool.auto_scale_formula == formula
    assert "$TargetDedicatedNodes=1" in pool.auto_scale_run.results, pool.auto_scale_run.results
    run = client.pool.evaluate_auto_scale(POOL_ID, "$TargetDedicatedNodes = 2 * 3;")
    assert "$TargetDedicatedNodes=6" in run.results and run.error is None, run.results
    try:
        client.pool.evaluate_auto_scale(POOL_ID, "$TargetDedicatedNodes = ;")
    except batchmodels.BatchErrorException as exc:
        assert exc.response.status_code == 400, exc.response.status_code
        assert exc.error.code == "AutoScalingFormulaSyntaxError", exc.error.code
    else:
        raise AssertionError("a formula that does not parse was accepted")
    client.pool.disable_auto_scale(POOL_ID)
    assert client.pool.get(POOL_ID).enable_auto_scale is False
    step("autoscale enabled (run at once), evaluated, a syntax error refused, disabled")


def job_schedule(client: BatchServiceClient) -> None:
    client.job_schedule.add(batchmodels.JobScheduleAddParameter(
        id=SCHEDULE_ID, schedule=batchmodels.Schedule(recurrence_interval=timedelta(days=1)),
        job_specification=batchmodels.JobSpecification(
            pool_info=batchmodels.PoolInformation(pool_id=POOL_ID))))
    assert client.job_schedule.exists(SCHEDULE_ID) is True
    schedule = until("the schedule's first job", lambda: (
        s := client.job_schedule.get(SCHEDULE_ID)).execution_info.recent_job and s)
    made = schedule.execution_info.recent_job.id
    assert [j.id for j in client.job.list_from_job_schedule(SCHEDULE_ID)] == [made]
    assert schedule.execution_info.next_run_time is not None
    client.job_schedule.terminate(SCHEDULE_ID)
    until("the schedule completed", lambda: client.job_schedule.get(SCHEDULE_ID).state
          == batchmodels.JobScheduleState.completed)
    client.job_schedule.delete(SCHEDULE_ID)
    until("the schedule gone", lambda: client.job_schedule.exists(SCHEDULE_ID) is False)
    step("a job schedule made its job at once, listed it, terminated and was deleted")


def cleanup(client: BatchServiceClient) -> None:
    client.job.delete(JOB_ID)
    client.pool.delete(POOL_ID)
    until("the pool gone", lambda: client.pool.exists(POOL_ID) is False)
    step("job and pool deleted")


def main() -> None:
    client = BatchServiceClient(SharedKeyCredentials(ENV["BATCH_ACCOUNT"], ENV["BATCH_KEY"]),
                                batch_url=ENV["BATCH_URL"])
    try:
        container_pool(client)
        container_task(client)
        autoscale(client)
        job_schedule(client)
    finally:
        try:
            cleanup(client)
        except batchmodels.BatchErrorException as exc:  # what failed above matters more
            print(f"cleanup: {exc}")
    print(f"msrest modern scenario: {len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()
