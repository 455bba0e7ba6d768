"""The Batch emulator driven only through the public azure-batch 15 SDK
(``azure.batch.BatchClient`` with ``AzureNamedKeyCredential``) and
azure-storage-blob, as someone who never read this project's code would
write it. Endpoint and key aside, this is what runs against Azure Batch.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.batch import BatchClient, models as bm
from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError, HttpResponseError, ResourceExistsError, ResourceNotFoundError,
)
from azure.storage.blob import (
    BlobSasPermissions, BlobServiceClient, ContainerSasPermissions, generate_blob_sas,
    generate_container_sas,
)

from conftest import EMULATOR_PAGE_SIZE

#: on process nodes in the fast tier, on containers in the Docker tier
#: (each runtime brings its marks: see tests/rigs.py EMULATOR_RUNTIMES)
pytestmark = [pytest.mark.node_runtimes("process", "container")]

WAIT = 60.0


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bash(script: str) -> str:
    return "/bin/bash -c " + "'" + script.replace("'", "'\"'\"'") + "'"


def wait_for_tasks(client: BatchClient, job_id: str, count: int) -> dict[str, bm.BatchTask]:
    """Wait until ``count`` tasks of the job are completed; all its tasks."""
    deadline = time.monotonic() + WAIT
    while client.get_job_task_counts(job_id).task_counts.completed < count:
        assert time.monotonic() < deadline, "tasks did not complete in time"
        time.sleep(0.1)
    return {t.id: t for t in client.list_tasks(job_id)}


def error_of(info: pytest.ExceptionInfo) -> tuple[int, str]:
    return info.value.status_code, info.value.error.code


# -- storage (Azurite) -----------------------------------------------------------

class Blobs:
    """Containers and SAS URLs on the emulator's Azurite."""

    def __init__(self, emulator) -> None:
        self.account, self.key = emulator.storage_account, emulator.storage_key
        self.service = BlobServiceClient(emulator.storage_url, credential={
            "account_name": self.account, "account_key": self.key})
        self.containers: list[str] = []

    def container(self) -> str:
        name = new_id("conf")
        self.service.create_container(name)
        self.containers.append(name)
        return name

    def read_url(self, container: str, name: str, data: bytes) -> str:
        self.service.get_blob_client(container, name).upload_blob(data)
        sas = generate_blob_sas(self.account, container, name, account_key=self.key,
                                permission=BlobSasPermissions(read=True),
                                expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        return f"{self.service.url.rstrip('/')}/{container}/{name}?{sas}"

    def write_url(self, container: str) -> str:
        sas = generate_container_sas(self.account, container, account_key=self.key,
                                     permission=ContainerSasPermissions(write=True, create=True),
                                     expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        return f"{self.service.url.rstrip('/')}/{container}?{sas}"

    def names(self, container: str) -> list[str]:
        return sorted(b.name for b in self.service.get_container_client(container).list_blobs())


@pytest.fixture(scope="module")
def blobs(batch_emulator):
    store = Blobs(batch_emulator)
    yield store
    for name in store.containers:
        store.service.delete_container(name)
    store.service.close()


# -- a pool with a StartTask, as a Batch user creates it ----------------------------

def ubuntu_image(client: BatchClient) -> bm.BatchSupportedImage:
    images = [i for i in client.list_supported_images(filter="verificationType eq 'verified'")
              if i.node_agent_sku_id.startswith("batch.node.ubuntu")]
    return max(images, key=lambda i: i.node_agent_sku_id)


def pool_options(client: BatchClient, pool_id: str, nodes: int = 2,
                 start_task: bm.BatchStartTask | None = None) -> bm.BatchPoolCreateOptions:
    image = ubuntu_image(client)
    return bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3",
        virtual_machine_configuration=bm.VirtualMachineConfiguration(
            image_reference=image.image_reference, node_agent_sku_id=image.node_agent_sku_id),
        target_dedicated_nodes=nodes, task_slots_per_node=2, start_task=start_task,
        metadata=[bm.BatchMetadataItem(name="purpose", value="conformance")])


def nodes_left(request: pytest.FixtureRequest, emulator):
    """A function of a pool id: what is left of its nodes on this machine,
    its containers (on the container runtime) or its node directories (on
    process nodes). Call it before the fixture yields (it may need Docker)."""
    if emulator.engine.runtime.name == "container":
        client = request.getfixturevalue("docker_client")
        return lambda pool_id: client.containers.list(
            all=True, filters={"label": f"topwords.pool={pool_id}"})

    def directories(pool_id: str) -> list:
        pool_dir = emulator.engine.work_dir / pool_id
        return sorted(pool_dir.iterdir()) if pool_dir.exists() else []
    return directories


@pytest.fixture(scope="module")
def pool(request, batch_emulator, batch_client, blobs):
    """Two nodes whose StartTask copies a resource file to the shared dir."""
    pool_id, left = new_id("pool"), nodes_left(request, batch_emulator)
    tool = blobs.read_url(blobs.container(), "tool.sh", b"echo tool says $1\n")
    start = bm.BatchStartTask(
        command_line=bash('cp tool.sh "$AZ_BATCH_NODE_SHARED_DIR/" && echo ready'),
        resource_files=[bm.ResourceFile(http_url=tool, file_path="tool.sh")],
        user_identity=bm.UserIdentity(auto_user=bm.AutoUserSpecification(
            scope=bm.AutoUserScope.POOL, elevation_level=bm.ElevationLevel.ADMIN)),
        wait_for_success=True)
    batch_client.create_pool(pool_options(batch_client, pool_id, start_task=start))
    deadline = time.monotonic() + WAIT
    while any(n.state != bm.BatchNodeState.IDLE for n in batch_client.list_nodes(pool_id)):
        assert time.monotonic() < deadline, "nodes did not become idle"
        time.sleep(0.1)
    yield pool_id
    batch_client.begin_delete_pool(pool_id, polling_interval=1).result()
    assert left(pool_id) == []


@pytest.fixture
def job(batch_client, pool):
    job_id = new_id("job")
    batch_client.create_job(bm.BatchJobCreateOptions(
        id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool), uses_task_dependencies=True))
    yield job_id
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


# -- images and pools ----------------------------------------------------------------

def test_supported_images_include_a_verified_ubuntu_lts(batch_client):
    image = ubuntu_image(batch_client)
    assert image.verification_type == bm.ImageVerificationType.VERIFIED
    assert image.os_type == bm.OSType.LINUX
    assert image.image_reference.publisher == "canonical"


def test_pool_runs_its_start_task_with_resource_files_on_every_node(batch_client, pool):
    got = batch_client.get_pool(pool)
    assert (got.state, got.allocation_state) == (bm.BatchPoolState.ACTIVE,
                                                 bm.AllocationState.STEADY)
    assert (got.current_dedicated_nodes, got.target_dedicated_nodes) == (2, 2)
    assert got.virtual_machine_configuration.node_agent_sku_id.startswith("batch.node.ubuntu")
    assert got.start_task.user_identity.auto_user.elevation_level == bm.ElevationLevel.ADMIN
    assert [(m.name, m.value) for m in got.metadata] == [("purpose", "conformance")]
    assert batch_client.pool_exists(pool) is True
    nodes = list(batch_client.list_nodes(pool))
    assert len(nodes) == 2
    for node in nodes:
        info = node.start_task_info
        assert (info.state, info.exit_code, info.result) == (
            bm.BatchStartTaskState.COMPLETED, 0, bm.BatchTaskExecutionResult.SUCCESS)
        stdout = b"".join(batch_client.download_node_file(pool, node.id, "startup/stdout.txt"))
        assert stdout == b"ready\n"
    assert batch_client.get_node(pool, nodes[0].id).id == nodes[0].id


def test_pool_errors_have_batch_codes(batch_client, pool):
    with pytest.raises(ResourceExistsError) as exists:
        batch_client.create_pool(pool_options(batch_client, pool))
    assert error_of(exists) == (409, "PoolExists")
    with pytest.raises(ResourceNotFoundError) as missing:
        batch_client.get_pool(new_id("nopool"))
    assert error_of(missing) == (404, "PoolNotFound")
    with pytest.raises(ResourceNotFoundError):  # as on Azure: 404 raises, never False
        batch_client.pool_exists(new_id("nopool"))
    options = pool_options(batch_client, new_id("pool"))
    options.virtual_machine_configuration.image_reference = bm.BatchVmImageReference(
        publisher="nobody", offer="nothing", sku="1", version="latest")
    with pytest.raises(HttpResponseError) as bad_image:
        batch_client.create_pool(options)
    assert error_of(bad_image) == (400, "InvalidPropertyValue")


# -- jobs and tasks -------------------------------------------------------------------

def test_tasks_upload_output_files_and_the_job_completes(batch_client, pool, blobs):
    job_id, out = new_id("job"), blobs.container()
    batch_client.create_job(bm.BatchJobCreateOptions(
        id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool),
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode.TERMINATE_JOB))
    try:
        dest = bm.OutputFileDestination(container=bm.OutputFileBlobContainerDestination(
            container_url=blobs.write_url(out), path="results"))
        outputs = [bm.OutputFile(file_pattern="*.txt", destination=dest,
                                 upload_options=bm.OutputFileUploadConfiguration(
                                     upload_condition=bm.OutputFileUploadCondition.TASK_SUCCESS))]
        batch_client.create_tasks(job_id, [bm.BatchTaskCreateOptions(
            id=f"t{n}", command_line=bash(f'"$AZ_BATCH_NODE_SHARED_DIR/tool.sh" {n} > r{n}.txt'),
            output_files=outputs) for n in range(3)])
        tasks = wait_for_tasks(batch_client, job_id, 3)
        assert {t.execution_info.result for t in tasks.values()} == {
            bm.BatchTaskExecutionResult.SUCCESS}
        assert blobs.names(out) == ["results/r0.txt", "results/r1.txt", "results/r2.txt"]
        deadline = time.monotonic() + 5
        while batch_client.get_job(job_id).state != bm.BatchJobState.COMPLETED:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert batch_client.get_job(job_id).execution_info.termination_reason == \
            "AllTasksComplete"
        with pytest.raises(ResourceExistsError) as completed:
            batch_client.create_task(job_id, bm.BatchTaskCreateOptions(id="late",
                                                                      command_line="true"))
        assert error_of(completed) == (409, "JobCompleted")
    finally:
        batch_client.begin_delete_job(job_id, polling_interval=1).result()
    with pytest.raises(ResourceNotFoundError) as gone:
        batch_client.get_job(job_id)
    assert error_of(gone) == (404, "JobNotFound")


def test_failing_task_is_retried_and_reports_exit_code(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="flaky", command_line=bash('echo "try $AZ_BATCH_TASK_RETRY_COUNT" >&2; exit 3'),
        constraints=bm.BatchTaskConstraints(max_task_retry_count=2)))
    task = wait_for_tasks(batch_client, job, 1)["flaky"]
    run = task.execution_info
    assert (task.state, run.exit_code, run.retry_count) == (bm.BatchTaskState.COMPLETED, 3, 2)
    assert run.result == bm.BatchTaskExecutionResult.FAILURE
    assert run.failure_info.category == bm.BatchErrorSourceCategory.USER_ERROR
    assert b"".join(batch_client.download_task_file(job, "flaky", "stderr.txt")).endswith(b"try 2\n")


def test_task_over_its_wall_clock_limit_is_killed(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="slow", command_line=bash("sleep 30; echo never"),
        constraints=bm.BatchTaskConstraints(max_wall_clock_time=timedelta(seconds=1))))
    start = time.monotonic()
    task = wait_for_tasks(batch_client, job, 1)["slow"]
    assert time.monotonic() - start < 15
    assert task.execution_info.failure_info.code == "MaxWallClockTimeExpiry"
    assert task.constraints.max_wall_clock_time == timedelta(seconds=1)


def test_dependent_task_waits_for_its_parent(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="child", command_line="true",
        depends_on=bm.BatchTaskDependencies(task_ids=["parent"])))
    batch_client.create_task(job, bm.BatchTaskCreateOptions(id="parent",
                                                            command_line=bash("sleep 0.5")))
    tasks = wait_for_tasks(batch_client, job, 2)
    assert tasks["child"].execution_info.start_time >= tasks["parent"].execution_info.end_time
    assert tasks["child"].depends_on.task_ids == ["parent"]


def test_dependencies_need_a_job_that_uses_them(batch_client, pool):
    job_id = new_id("job")
    batch_client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                                     pool_info=bm.BatchPoolInfo(pool_id=pool)))
    try:
        with pytest.raises(HttpResponseError) as refused:
            batch_client.create_task(job_id, bm.BatchTaskCreateOptions(
                id="a", command_line="true", depends_on=bm.BatchTaskDependencies(task_ids=["b"])))
        assert error_of(refused) == (400, "TaskDependenciesNotSpecifiedOnJob")
    finally:
        batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_listing_more_tasks_than_a_page_follows_next_link(batch_client, job):
    count = 2 * EMULATOR_PAGE_SIZE + 2
    result = batch_client.create_task_collection(job, bm.BatchTaskGroup(task_values=[
        bm.BatchTaskCreateOptions(id=f"p{n:02}", command_line=bash(f"echo {n}"))
        for n in range(count)]))
    assert {r.status for r in result.result_values} == {bm.BatchTaskAddStatus.SUCCESS}
    pages = [list(p) for p in batch_client.list_tasks(job).by_page()]
    assert [len(p) for p in pages] == [5, 5, 2]
    tasks = wait_for_tasks(batch_client, job, count)
    assert sorted(tasks) == [f"p{n:02}" for n in range(count)]
    counts = batch_client.get_job_task_counts(job)
    assert (counts.task_counts.completed, counts.task_counts.succeeded) == (count, count)
    assert counts.task_slot_counts.completed == count
    done = list(batch_client.list_tasks(job, filter="state eq 'completed'", select=["id"]))
    assert len(done) == count and done[0].command_line is None


def test_stdout_is_downloadable_and_listed(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="hello", command_line=bash('echo "hello from $AZ_BATCH_TASK_ID"; touch made.txt')))
    task = wait_for_tasks(batch_client, job, 1)["hello"]
    assert task.node_info.pool_id == batch_client.get_job(job).pool_info.pool_id
    assert b"".join(batch_client.download_task_file(job, "hello", "stdout.txt")) == \
        b"hello from hello\n"
    names = {f.name: f for f in batch_client.list_task_files(job, "hello", recursive=True)}
    assert {"stdout.txt", "stderr.txt", "wd", "wd/made.txt"} <= set(names)
    assert names["stdout.txt"].properties.content_length == len(b"hello from hello\n")
    with pytest.raises(ResourceNotFoundError):
        b"".join(batch_client.download_task_file(job, "hello", "nothing.txt"))


def test_task_errors_have_batch_codes(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(id="dup", command_line="true"))
    with pytest.raises(ResourceExistsError) as exists:
        batch_client.create_task(job, bm.BatchTaskCreateOptions(id="dup", command_line="true"))
    assert error_of(exists) == (409, "TaskExists")
    result = batch_client.create_task_collection(job, bm.BatchTaskGroup(task_values=[
        bm.BatchTaskCreateOptions(id="dup", command_line="true"),
        bm.BatchTaskCreateOptions(id="fresh", command_line="true")]))
    by_id = {r.task_id: r for r in result.result_values}
    assert by_id["dup"].status == bm.BatchTaskAddStatus.CLIENT_ERROR
    assert by_id["dup"].error.code == "TaskExists"
    assert by_id["fresh"].status == bm.BatchTaskAddStatus.SUCCESS
    with pytest.raises(ResourceNotFoundError) as missing:
        batch_client.get_task(job, "nosuchtask")
    assert error_of(missing) == (404, "TaskNotFound")
    with pytest.raises(ResourceNotFoundError) as no_job:
        batch_client.create_task(new_id("nojob"), bm.BatchTaskCreateOptions(
            id="x", command_line="true"))
    assert error_of(no_job) == (404, "JobNotFound")
    with pytest.raises(ResourceExistsError) as job_exists:
        batch_client.create_job(bm.BatchJobCreateOptions(
            id=job, pool_info=bm.BatchPoolInfo(pool_id="any")))
    assert error_of(job_exists) == (409, "JobExists")


def test_terminating_tasks_and_jobs(batch_client, job):
    batch_client.create_task(job, bm.BatchTaskCreateOptions(id="long",
                                                            command_line=bash("sleep 60")))
    deadline = time.monotonic() + WAIT
    while batch_client.get_task(job, "long").state != bm.BatchTaskState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    batch_client.terminate_task(job, "long")
    task = wait_for_tasks(batch_client, job, 1)["long"]
    assert task.execution_info.failure_info.code == "TaskEnded"
    with pytest.raises(ResourceExistsError) as again:
        batch_client.terminate_task(job, "long")
    assert error_of(again) == (409, "TaskCompleted")
    # azure-batch 15.1 fails client-side without options (its model is not exported)
    batch_client.begin_terminate_job(job, {"terminateReason": "enough"},
                                     polling_interval=1).result()
    ended = batch_client.get_job(job)
    assert ended.state == bm.BatchJobState.COMPLETED
    assert ended.execution_info.termination_reason == "enough"


def test_oversized_task_collection_is_413_and_create_tasks_splits_it(batch_client, job):
    tasks = [bm.BatchTaskCreateOptions(id=f"big{n:03}", command_line="echo " + "x" * 12000)
             for n in range(100)]
    with pytest.raises(HttpResponseError) as too_large:
        batch_client.create_task_collection(job, bm.BatchTaskGroup(task_values=tasks))
    assert error_of(too_large) == (413, "RequestBodyTooLarge")
    batch_client.create_tasks(job, tasks)
    assert len(list(batch_client.list_tasks(job, select=["id"]))) == 100
    batch_client.begin_terminate_job(job, {"terminateReason": "done"}, polling_interval=1).result()


# -- what the emulator refuses ----------------------------------------------------------

def test_wrong_key_is_refused_with_403(batch_emulator, pool):
    wrong = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
        batch_emulator.account_name, "d3Jvbmcga2V5IGZvciB0aGUgZW11bGF0b3I="))
    with wrong, pytest.raises(HttpResponseError) as refused:
        wrong.get_pool(pool)
    assert error_of(refused) == (403, "AuthenticationFailed")


def test_bearer_token_is_refused_with_a_clear_message(batch_emulator):
    class Token:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("not-a-real-token", int(time.time()) + 3600)

    client = BatchClient(batch_emulator.batch_url, Token())
    with client, pytest.raises(ClientAuthenticationError) as refused:
        list(client.list_pools(enforce_https=False))
    assert refused.value.status_code == 401
    assert "shared key" in str(refused.value)


def test_unsupported_operations_and_properties_answer_batch_errors(batch_client, pool, job):
    with pytest.raises(HttpResponseError) as subtasks:
        list(batch_client.list_subtasks(job, "no-such-task"))
    assert error_of(subtasks) == (501, "NotSupported")
    with pytest.raises(HttpResponseError) as multi:
        batch_client.create_task(job, bm.BatchTaskCreateOptions(
            id="mpi", command_line="true",
            multi_instance_settings=bm.MultiInstanceSettings(coordination_command_line="true",
                                                             number_of_instances=2)))
    assert error_of(multi) == (400, "UnsupportedProperty")
