"""Container workloads on the emulator, driven only through azure-batch 15:
a pool with a container configuration (the local image
``topwords-node:local``) and tasks with container settings, as a Batch
program that runs its tasks in containers writes them."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from spec_check import problems

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

IMAGE = "topwords-node:local"
MISSING = "topwords-no-such-image:never"
WAIT = 60.0


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bash(script: str) -> str:
    return "/bin/bash -c " + "'" + script.replace("'", "'\"'\"'") + "'"


def in_container(**more) -> bm.BatchTaskContainerSettings:
    return bm.BatchTaskContainerSettings(image_name=IMAGE, **more)


def pool_options(client, pool_id: str, images: list[str]) -> bm.BatchPoolCreateOptions:
    image = max((i for i in client.list_supported_images()
                 if i.node_agent_sku_id.startswith("batch.node.ubuntu")),
                key=lambda i: i.node_agent_sku_id)
    return bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1, task_slots_per_node=4,
        virtual_machine_configuration=bm.VirtualMachineConfiguration(
            image_reference=image.image_reference, node_agent_sku_id=image.node_agent_sku_id,
            container_configuration=bm.BatchContainerConfiguration(
                type=bm.ContainerType.DOCKER_COMPATIBLE, container_image_names=images)))


def wait_for_nodes(client, pool_id: str, state: bm.BatchNodeState) -> list[bm.BatchNode]:
    deadline = time.monotonic() + WAIT
    while True:
        nodes = list(client.list_nodes(pool_id))
        if nodes and all(n.state == state for n in nodes):
            return nodes
        assert time.monotonic() < deadline, [n.state for n in nodes]
        time.sleep(0.1)


def run_tasks(client, job_id: str, *tasks: bm.BatchTaskCreateOptions) -> dict[str, bm.BatchTask]:
    client.create_tasks(job_id, list(tasks))
    deadline = time.monotonic() + WAIT
    while True:
        done = {t.id: t for t in client.list_tasks(job_id)
                if t.id in {x.id for x in tasks} and t.state == bm.BatchTaskState.COMPLETED}
        if len(done) == len(tasks):
            return done
        assert time.monotonic() < deadline, "tasks did not complete in time"
        time.sleep(0.1)


def read(client, job_id: str, task_id: str, name: str) -> str:
    return b"".join(client.download_task_file(job_id, task_id, name)).decode()


@pytest.fixture(scope="module")
def pool(batch_client):
    pool_id = new_id("ctpool")
    batch_client.create_pool(pool_options(batch_client, pool_id, [IMAGE]))
    wait_for_nodes(batch_client, pool_id, bm.BatchNodeState.IDLE)
    yield pool_id
    batch_client.begin_delete_pool(pool_id, polling_interval=1).result()


@pytest.fixture
def job(batch_client, pool, docker_client):
    job_id = new_id("ctjob")
    batch_client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                                     pool_info=bm.BatchPoolInfo(pool_id=pool)))
    yield job_id
    batch_client.begin_delete_job(job_id, polling_interval=1).result()
    left = docker_client.containers.list(all=True, filters={"label": f"topwords.job={job_id}"})
    assert left == [], "a container task's container outlived it"


def test_container_task_exit_code_output_env_and_retries(batch_client, job, docker_client):
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="env", command_line=bash(
            'echo "task=$AZ_BATCH_TASK_ID job=$AZ_BATCH_JOB_ID mine=$MINE opt=$OPT '
            'try=$AZ_BATCH_TASK_RETRY_COUNT"; pwd; echo "wd=$AZ_BATCH_TASK_WORKING_DIR"; '
            'id -u; test -e /run/batch-agent && echo on-the-node || echo in-a-container;'
            'echo oops >&2; exit 3'),
        environment_settings=[bm.EnvironmentSetting(name="MINE", value="from-batch")],
        container_settings=in_container(container_run_options="--rm -e OPT=from-options"),
        constraints=bm.BatchTaskConstraints(max_task_retry_count=1)))
    run = tasks["env"].execution_info
    assert (run.exit_code, run.retry_count, run.result) == (
        3, 1, bm.BatchTaskExecutionResult.FAILURE)
    assert run.failure_info.code == "FailureExitCode"
    out = read(batch_client, job, "env", "stdout.txt").splitlines()
    assert len(out) == 10 and out[0].endswith("try=0")  # both attempts, as for plain tasks
    out = out[5:]
    assert out[0] == f"task=env job={job} mine=from-batch opt=from-options try=1"
    assert out[1] == f"/mnt/batch/tasks/workitems/{job}/job-1/env/wd"
    assert out[2] == f"wd={out[1]}"
    assert out[3] != "0", "a non-admin container task ran as root"
    assert out[4] == "in-a-container"  # the node's own files (its agent's) are not there
    assert read(batch_client, job, "env", "stderr.txt") == "oops\noops\n"
    container = tasks["env"].execution_info.container_info
    assert container.state == "exited" and len(container.container_id) == 64


def test_container_task_files_reach_the_node_and_its_output_files_upload(
        batch_client, batch_emulator, job):
    service = BlobServiceClient(batch_emulator.storage_url, credential={
        "account_name": batch_emulator.storage_account,
        "account_key": batch_emulator.storage_key})
    out = new_id("ctout")
    service.create_container(out)
    try:
        sas = generate_container_sas(batch_emulator.storage_account, out,
                                     account_key=batch_emulator.storage_key,
                                     permission=ContainerSasPermissions(write=True, create=True),
                                     expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        upload = bm.OutputFile(file_pattern="*.txt", destination=bm.OutputFileDestination(
            container=bm.OutputFileBlobContainerDestination(
                container_url=f"{service.url.rstrip('/')}/{out}?{sas}", path="res")),
            upload_options=bm.OutputFileUploadConfiguration(
                upload_condition=bm.OutputFileUploadCondition.TASK_SUCCESS))
        tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
            id="files", command_line=bash(
                'echo result > r.txt; echo shared > "$AZ_BATCH_NODE_SHARED_DIR/$AZ_BATCH_TASK_ID"'),
            container_settings=in_container(), output_files=[upload]))
        assert tasks["files"].execution_info.result == bm.BatchTaskExecutionResult.SUCCESS
        assert read(batch_client, job, "files", "wd/r.txt") == "result\n"
        node = tasks["files"].node_info
        shared = b"".join(batch_client.download_node_file(node.pool_id, node.node_id,
                                                     "shared/files")).decode()
        assert shared == "shared\n"
        blobs = sorted(b.name for b in service.get_container_client(out).list_blobs())
        assert blobs == ["res/r.txt"]
    finally:
        service.delete_container(out)
        service.close()


def test_container_task_over_its_wall_clock_limit_is_killed(batch_client, job):
    start = time.monotonic()
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="slow", command_line=bash("sleep 30 & sleep 30; echo never"),
        container_settings=in_container(),
        constraints=bm.BatchTaskConstraints(max_wall_clock_time=timedelta(seconds=1))))
    assert time.monotonic() - start < 15
    assert tasks["slow"].execution_info.failure_info.code == "MaxWallClockTimeExpiry"
    assert "never" not in read(batch_client, job, "slow", "stdout.txt")


def test_container_task_working_directory_and_mounts(batch_client, job):
    tasks = run_tasks(
        batch_client, job,
        bm.BatchTaskCreateOptions(id="imagedefault", command_line="pwd", container_settings=(
            in_container(working_directory=bm.ContainerWorkingDirectory.CONTAINER_IMAGE_DEFAULT))),
        bm.BatchTaskCreateOptions(id="workdir", command_line="pwd",
                                  container_settings=in_container(
                                      container_run_options="--workdir /tmp")),
        bm.BatchTaskCreateOptions(
            id="only-task", command_line=bash(
                'echo mine > mine.txt && test -d "$AZ_BATCH_NODE_SHARED_DIR" || echo no-shared;'
                'test -d "$AZ_BATCH_NODE_STARTUP_DIR" || echo no-startup'),
            container_settings=in_container(container_host_batch_bind_mounts=[
                bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.TASK)])),
        bm.BatchTaskCreateOptions(
            id="ro-shared", command_line=bash(
                'ls "$AZ_BATCH_NODE_SHARED_DIR" >/dev/null && echo can-read;'
                'touch "$AZ_BATCH_NODE_SHARED_DIR/x" 2>/dev/null || echo read-only'),
            container_settings=in_container(container_host_batch_bind_mounts=[
                bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.TASK),
                bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.SHARED,
                                                    is_read_only=True)])))
    assert {t.execution_info.exit_code for t in tasks.values()} == {0}
    assert read(batch_client, job, "imagedefault", "stdout.txt") == "/\n"
    assert read(batch_client, job, "workdir", "stdout.txt") == "/tmp\n"
    assert read(batch_client, job, "only-task", "stdout.txt") == "no-shared\nno-startup\n"
    assert read(batch_client, job, "only-task", "wd/mine.txt") == "mine\n"
    assert read(batch_client, job, "ro-shared", "stdout.txt") == "can-read\nread-only\n"


def test_container_task_holds_the_node_isolation(batch_client, job):
    """Admin or not: the node's capabilities only, no new privileges, host
    networking (loopback reaches the emulator), the node's PID namespace."""
    admin = bm.UserIdentity(auto_user=bm.AutoUserSpecification(
        scope=bm.AutoUserScope.TASK, elevation_level=bm.ElevationLevel.ADMIN))
    script = bash("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u; "
                  "cat /proc/1/cmdline | tr '\\0' ' ' | cut -c1-40; echo;"
                  "ls /sys/class/net")
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="admin", command_line=script, user_identity=admin,
        container_settings=in_container(container_run_options="--user 0")))
    out = read(batch_client, job, "admin", "stdout.txt").splitlines()
    assert out[0].split() == ["CapEff:", "00000000000000fb"]  # CHOWN..SETUID, no NET_RAW
    assert out[1].split() == ["NoNewPrivs:", "1"]
    assert out[2] == "0"
    assert out[3].startswith("/sbin/docker-init"), out[3]  # the node's init: its PID namespace
    assert "lo" in out[4:], "not on the host's network"
    assert tasks["admin"].execution_info.exit_code == 0


def test_container_task_of_a_missing_image_fails_naming_it(batch_client, job):
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="missing", command_line="true",
        container_settings=bm.BatchTaskContainerSettings(image_name=MISSING),
        constraints=bm.BatchTaskConstraints(max_task_retry_count=2)))
    run = tasks["missing"].execution_info
    assert run.result == bm.BatchTaskExecutionResult.FAILURE and run.retry_count == 0
    assert run.failure_info.category == bm.BatchErrorSourceCategory.USER_ERROR
    assert run.failure_info.code == "ContainerImageNotFound"
    assert MISSING in run.failure_info.message


def test_run_options_outside_the_safe_subset_are_refused_with_400(batch_client, job):
    with pytest.raises(HttpResponseError) as refused:
        batch_client.create_task(job, bm.BatchTaskCreateOptions(
            id="priv", command_line="true",
            container_settings=in_container(container_run_options="--privileged")))
    assert (refused.value.status_code, refused.value.error.code) == (400, "InvalidPropertyValue")
    assert "'--privileged' is not allowed" in str(refused.value)


def test_pool_whose_image_is_missing_has_unusable_nodes_naming_it(batch_client):
    pool_id = new_id("ctmiss")
    batch_client.create_pool(pool_options(batch_client, pool_id, [IMAGE, MISSING]))
    try:
        [node] = wait_for_nodes(batch_client, pool_id, bm.BatchNodeState.UNUSABLE)
        [error] = node.errors
        assert error.code == "ContainerImageNotFound" and MISSING in error.message
        assert [(d.name, d.value) for d in error.error_details] == [("ImageName", MISSING)]
        config = batch_client.get_pool(pool_id).virtual_machine_configuration
        assert config.container_configuration.container_image_names == [IMAGE, MISSING]
    finally:
        batch_client.begin_delete_pool(pool_id, polling_interval=1).result()


def test_container_pool_and_task_bodies_conform_to_the_spec(batch_client, pool, job):
    run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="conform", command_line="true", container_settings=in_container(
            container_run_options="--rm", container_host_batch_bind_mounts=[
                bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.TASK)])))

    def raw(path: str) -> dict:
        return batch_client.send_request(
            HttpRequest("GET", f"{path}?api-version=2025-06-01")).json()
    pool_body = raw(f"/pools/{pool}")
    assert problems(pool_body, "BatchPool") == []
    assert pool_body["virtualMachineConfiguration"]["containerConfiguration"] == {
        "type": "dockerCompatible", "containerImageNames": [IMAGE]}
    task_body = raw(f"/jobs/{job}/tasks/conform")
    assert problems(task_body, "BatchTask") == []
    assert task_body["containerSettings"]["imageName"] == IMAGE


def test_a_link_planted_as_a_mount_source_is_never_mounted(batch_client, job):
    """An admin task replaces the node's fsmounts directory with a link to
    / (which Docker, on the host, would resolve to the host's root); a
    container task that mounts VfsMounts then fails instead of seeing it."""
    admin = bm.UserIdentity(auto_user=bm.AutoUserSpecification(
        scope=bm.AutoUserScope.TASK, elevation_level=bm.ElevationLevel.ADMIN))
    run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="plant", user_identity=admin, command_line=bash(
            'cd "$AZ_BATCH_NODE_ROOT_DIR" && rm -rf fsmounts && ln -s / fsmounts')))
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="victim", command_line=bash('ls "$AZ_BATCH_NODE_ROOT_DIR/fsmounts/etc"'),
        container_settings=in_container(container_host_batch_bind_mounts=[
            bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.VFS_MOUNTS)])))
    run = tasks["victim"].execution_info
    assert run.result == bm.BatchTaskExecutionResult.FAILURE and run.exit_code is None
    assert "cannot mount the node's VfsMounts directory" in run.failure_info.message
    assert read(batch_client, job, "victim", "stdout.txt") == ""


def test_start_task_runs_in_its_container_before_the_node_takes_tasks(batch_client):
    pool_id, job_id = new_id("ctstart"), new_id("ctjob")
    options = pool_options(batch_client, pool_id, [IMAGE])
    options.start_task = bm.BatchStartTask(
        command_line=bash('{ echo "from $AZ_BATCH_TASK_ID-less start in $PWD"; '
                          'test -e /run/batch-agent && echo on-the-node || echo in-a-container;'
                          ' } > "$AZ_BATCH_NODE_SHARED_DIR/started"'),
        wait_for_success=True, container_settings=in_container(),
        user_identity=bm.UserIdentity(auto_user=bm.AutoUserSpecification(
            scope=bm.AutoUserScope.POOL, elevation_level=bm.ElevationLevel.ADMIN)))
    batch_client.create_pool(options)
    try:
        [node] = wait_for_nodes(batch_client, pool_id, bm.BatchNodeState.IDLE)
        assert node.start_task_info.exit_code == 0
        batch_client.create_job(bm.BatchJobCreateOptions(
            id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
        run_tasks(batch_client, job_id, bm.BatchTaskCreateOptions(
            id="after", command_line=bash('cat "$AZ_BATCH_NODE_SHARED_DIR/started"')))
        assert read(batch_client, job_id, "after", "stdout.txt") == \
            "from -less start in /mnt/batch/tasks/startup/wd\nin-a-container\n"
        batch_client.begin_delete_job(job_id, polling_interval=1).result()
    finally:
        batch_client.begin_delete_pool(pool_id, polling_interval=1).result()


def test_a_container_task_cannot_read_another_tasks_files(batch_client, job):
    run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="owner", command_line=bash("echo secret > secret.txt")))
    tasks = run_tasks(batch_client, job, bm.BatchTaskCreateOptions(
        id="snoop", command_line=bash(
            'cat "$AZ_BATCH_TASK_DIR/../owner/wd/secret.txt" && echo READ || echo refused'),
        container_settings=in_container()))
    assert tasks["snoop"].node_info.node_id  # same one-node pool as the owner
    assert read(batch_client, job, "snoop", "stdout.txt") == "refused\n"
    assert "Permission denied" in read(batch_client, job, "snoop", "stderr.txt")


def test_on_process_nodes_container_settings_are_400_unsupported_property(azurite):
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    from topwords.backends.local.emulator import BatchEmulator
    with BatchEmulator(storage_url=azurite.blob_url, storage_key=azurite.account_key,
                       node_runtime="process") as emulator:
        client = BatchClient(emulator.batch_url, AzureNamedKeyCredential(
            emulator.account_name, emulator.account_key))
        with pytest.raises(HttpResponseError) as pool:
            client.create_pool(pool_options(client, new_id("ctproc"), [IMAGE]))
        assert (pool.value.status_code, pool.value.error.code) == (400, "UnsupportedProperty")
        assert "needs the container node runtime" in str(pool.value)
        client.create_job(bm.BatchJobCreateOptions(id="j", pool_info=bm.BatchPoolInfo(
            pool_id="none")))
        with pytest.raises(HttpResponseError) as task:
            client.create_task("j", bm.BatchTaskCreateOptions(
                id="t", command_line="true", container_settings=in_container()))
        assert (task.value.status_code, task.value.error.code) == (400, "UnsupportedProperty")
        values = {v["key"]: v["value"] for v in task.value.response.json()["values"]}
        assert values["PropertyName"] == "containerSettings"
        client.close()


def test_a_start_task_whose_image_is_missing_fails_the_node_naming_it(batch_client):
    pool_id = new_id("ctstartmiss")
    options = pool_options(batch_client, pool_id, [IMAGE])
    options.start_task = bm.BatchStartTask(
        command_line="true", wait_for_success=True,
        container_settings=bm.BatchTaskContainerSettings(image_name=MISSING))
    batch_client.create_pool(options)
    try:
        [node] = wait_for_nodes(batch_client, pool_id, bm.BatchNodeState.START_TASK_FAILED)
        failure = node.start_task_info.failure_info
        assert failure.code == "ContainerImageNotFound" and MISSING in failure.message
        assert node.start_task_info.state == bm.BatchStartTaskState.COMPLETED
    finally:
        batch_client.begin_delete_pool(pool_id, polling_interval=1).result()
