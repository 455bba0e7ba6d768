"""Core model <-> azure-batch 15 model mapping, without a client.

SDK objects are built from the REST JSON Batch sends, and options are
checked as the JSON the SDK would send (``as_dict()``).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from azure.batch import models as bm

from topwords.backends.azure.batch_models import (
    choose_image, image_name, job_options, node_info, pool_info, pool_options, task_info,
    task_options,
)
from topwords.core.errors import PoolError
from topwords.core.model import (
    FailureInfo, JobSpec, NodeState, OutputFile, PoolSpec, ResourceFile, StartTask,
    TaskConstraints, TaskResult, TaskSpec, TaskState, UploadCondition,
)

READ_URL = "https://sa.blob.core.windows.net/app/run.py?sv=2025-01-05&sp=r&sig=R%2BEAD"
WRITE_URL = "https://sa.blob.core.windows.net/out?sv=2025-01-05&sp=cw&sig=WR%2BITE"


def image(offer, sku, agent, *, publisher="canonical", verified=True, version="latest"):
    return {"imageReference": {"publisher": publisher, "offer": offer, "sku": sku,
                               "version": version},
            "nodeAgentSKUId": agent, "osType": "linux", "capabilities": [],
            "verificationType": "verified" if verified else "unverified"}


#: A supported-images list in the order Batch might send it; the newest
#: verified x64 Ubuntu LTS (24.04, gen2 "server") must win.
SUPPORTED = [
    image("ubuntu-22_04-lts", "server", "batch.node.ubuntu 22.04"),
    image("ubuntu-26_04-lts", "server", "batch.node.ubuntu 26.04", verified=False),
    image("ubuntu-25_04", "server", "batch.node.ubuntu 25.04"),
    image("ubuntu-24_04-lts", "server-arm64", "batch.node.ubuntu 24.04"),
    image("ubuntu-24_04-lts", "server-gen1", "batch.node.ubuntu 24.04"),
    image("ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04"),
    image("debian-12", "12", "batch.node.debian 12", publisher="debian"),
    image("windowsserver", "2022-datacenter", "batch.node.windows amd64",
          publisher="microsoftwindowsserver"),
]


def supported(entries=SUPPORTED):
    return [bm.BatchSupportedImage(e) for e in entries]


# -- images -------------------------------------------------------------------

def test_choose_image_unset_picks_newest_verified_ubuntu_lts():
    config = choose_image(supported(), None).as_dict()
    assert config == {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                                         "sku": "server", "version": "latest"},
                      "nodeAgentSKUId": "batch.node.ubuntu 24.04"}


def test_choose_image_unset_with_only_older_lts_picks_it():
    config = choose_image(supported(SUPPORTED[:1] + SUPPORTED[6:]), None)
    assert config.image_reference.offer == "ubuntu-22_04-lts"
    assert config.node_agent_sku_id == "batch.node.ubuntu 22.04"


def test_choose_image_unset_higher_numbered_version_wins_within_release():
    entries = [image("ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04", version=v)
               for v in ("24.04.202401010", "24.04.202409090", "24.04.202405050")]
    assert choose_image(supported(entries), None).image_reference.version == "24.04.202409090"


def test_choose_image_unset_without_ubuntu_lts_raises_pool_error():
    with pytest.raises(PoolError, match="no verified Ubuntu LTS"):
        choose_image(supported(SUPPORTED[6:]), None)


@pytest.mark.parametrize("wanted, version", [
    ("canonical:ubuntu-22_04-lts:server", "latest"),
    ("Canonical:Ubuntu-22_04-LTS:server:22.04.202409090", "22.04.202409090"),
])
def test_choose_image_named_finds_its_node_agent(wanted, version):
    config = choose_image(supported(), wanted)
    assert config.node_agent_sku_id == "batch.node.ubuntu 22.04"
    assert (config.image_reference.offer, config.image_reference.version) == (
        "ubuntu-22_04-lts", version)


def test_choose_image_named_unverified_image_is_allowed():
    config = choose_image(supported(), "canonical:ubuntu-26_04-lts:server")
    assert config.node_agent_sku_id == "batch.node.ubuntu 26.04"


@pytest.mark.parametrize("wanted, message", [
    ("canonical:ubuntu-18_04-lts:server", "not supported by Azure Batch"),
    ("ubuntu:latest", "publisher:offer:sku"),
    ("canonical::server", "publisher:offer:sku"),
])
def test_choose_image_named_unknown_or_malformed_raises_pool_error(wanted, message):
    with pytest.raises(PoolError, match=message):
        choose_image(supported(), wanted)


def test_image_name_unset_version_reads_latest():
    ref = bm.BatchVmImageReference(publisher="canonical", offer="o", sku="s")
    assert image_name(ref) == "canonical:o:s:latest"


# -- core specs -> SDK options ---------------------------------------------------

def test_pool_options_full_spec_maps_every_field():
    start = StartTask(command_line="/bin/bash -c 'cp run.py $AZ_BATCH_NODE_SHARED_DIR'",
                      resource_files=(ResourceFile(http_url=READ_URL, file_path="run.py",
                                                   file_mode="0755"),),
                      environment={"A": "1"}, max_task_retry_count=2)
    spec = PoolSpec(id="p1", node_count=2, spot_node_count=3, task_slots_per_node=4,
                    start_task=start, metadata={"topwords-run": "r1"})
    body = pool_options(spec, vm_size="standard_a1_v2",
                        vm_config=choose_image(supported(), None)).as_dict()
    assert body == {
        "id": "p1", "vmSize": "standard_a1_v2",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                               "sku": "server", "version": "latest"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
        "targetDedicatedNodes": 2, "targetLowPriorityNodes": 3, "taskSlotsPerNode": 4,
        "startTask": {
            "commandLine": start.command_line,
            "resourceFiles": [{"httpUrl": READ_URL, "filePath": "run.py", "fileMode": "0755"}],
            "environmentSettings": [{"name": "A", "value": "1"}],
            "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}},
            "maxTaskRetryCount": 2, "waitForSuccess": True},
        "metadata": [{"name": "topwords-run", "value": "r1"}],
    }


def test_pool_options_start_task_not_elevated_has_no_user_identity():
    spec = PoolSpec(id="p1", start_task=StartTask(command_line="true", run_elevated=False,
                                                  wait_for_success=False))
    body = pool_options(spec, vm_size="v", vm_config=choose_image(supported(), None)).as_dict()
    assert body["startTask"] == {"commandLine": "true", "maxTaskRetryCount": 0,
                                 "waitForSuccess": False}
    assert "metadata" not in body


@pytest.mark.parametrize("terminate, expected", [(True, "terminatejob"), (False, None)])
def test_job_options_maps_pool_dependencies_and_termination(terminate, expected):
    spec = JobSpec(id="j1", pool_id="p1", uses_task_dependencies=True,
                   terminate_when_tasks_complete=terminate, metadata={"k": "v"})
    body = job_options(spec).as_dict()
    assert body["poolInfo"] == {"poolId": "p1"}
    assert body["usesTaskDependencies"] is True
    assert body.get("onAllTasksComplete") == expected
    assert body["metadata"] == [{"name": "k", "value": "v"}]
    assert "commonEnvironmentSettings" not in body


def test_job_options_maps_the_common_environment():
    body = job_options(JobSpec(id="j1", pool_id="p1", common_environment={"A": "1"})).as_dict()
    assert body["commonEnvironmentSettings"] == [{"name": "A", "value": "1"}]


def test_task_options_full_spec_maps_every_field():
    outputs = (OutputFile(file_pattern="std*.txt", container_url=WRITE_URL, path="logs",
                          upload_condition=UploadCondition.TASK_FAILURE),)
    spec = TaskSpec(id="t1", command_line="python3 run.py a.txt",
                    resource_files=(ResourceFile(http_url=READ_URL, file_path="a.txt"),),
                    output_files=outputs, environment={"OUT": WRITE_URL},
                    constraints=TaskConstraints(max_task_retry_count=3,
                                                max_wall_clock_time=599.2),
                    depends_on=("t0",))
    assert task_options(spec).as_dict() == {
        "id": "t1", "commandLine": "python3 run.py a.txt",
        "resourceFiles": [{"httpUrl": READ_URL, "filePath": "a.txt"}],
        "outputFiles": [{"filePattern": "std*.txt",
                         "destination": {"container": {"containerUrl": WRITE_URL,
                                                       "path": "logs"}},
                         "uploadOptions": {"uploadCondition": "taskfailure"}}],
        "environmentSettings": [{"name": "OUT", "value": WRITE_URL}],
        "constraints": {"maxWallClockTime": "PT10M00S", "maxTaskRetryCount": 3},
        "dependsOn": {"taskIds": ["t0"]},
        "userIdentity": {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}},
    }


def test_task_options_minimal_spec_sends_retry_count_and_its_auto_user():
    body = task_options(TaskSpec(id="t", command_line="true")).as_dict()
    assert body == {"id": "t", "commandLine": "true", "constraints": {"maxTaskRetryCount": 0},
                    "userIdentity": {"autoUser": {"scope": "task",
                                                  "elevationLevel": "nonadmin"}}}


def test_task_options_elevated_pool_scope_task_sends_an_admin_pool_user():
    spec = TaskSpec(id="t", command_line="true", run_elevated=True, user_scope="pool")
    assert task_options(spec).as_dict()["userIdentity"] == {
        "autoUser": {"scope": "pool", "elevationLevel": "admin"}}


# -- SDK objects -> core info ------------------------------------------------------

POOL_JSON = {
    "id": "p1", "state": "active", "allocationState": "resizing", "vmSize": "standard_d2s_v3",
    "virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                           "sku": "server", "version": "latest"},
        "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
    "targetDedicatedNodes": 2, "targetLowPriorityNodes": 1,
    "currentDedicatedNodes": 1, "currentLowPriorityNodes": 0, "taskSlotsPerNode": 2,
    "startTask": {"commandLine": "/bin/bash -c 'true'", "waitForSuccess": True,
                  "maxTaskRetryCount": 1,
                  "resourceFiles": [{"httpUrl": READ_URL, "filePath": "run.py"}],
                  "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}}},
    "metadata": [{"name": "topwords-run", "value": "r1"}],
    "resizeErrors": [{"code": "AccountCoreQuotaReached",
                      "message": "The core quota has been reached"}],
}


def test_pool_info_rebuilds_spec_state_and_resize_errors():
    info = pool_info(bm.BatchPool(POOL_JSON))
    assert info.spec == PoolSpec(
        id="p1", node_count=2, spot_node_count=1, vm_size="standard_d2s_v3",
        image="canonical:ubuntu-24_04-lts:server:latest", task_slots_per_node=2,
        start_task=StartTask(command_line="/bin/bash -c 'true'", max_task_retry_count=1),
        metadata={"topwords-run": "r1"})
    assert (info.state, info.allocation_state, info.current_node_count) == (
        "active", "resizing", 1)
    assert info.resize_errors == ("AccountCoreQuotaReached: The core quota has been reached",)
    assert info.spec.start_task.resource_files == ()  # SAS URLs are not kept


def test_pool_info_deleting_pool_with_zero_targets_still_maps():
    data = dict(POOL_JSON, state="deleting", targetDedicatedNodes=0, targetLowPriorityNodes=0)
    data.pop("startTask")
    info = pool_info(bm.BatchPool(data))
    assert info.state == "deleting" and info.spec.start_task is None
    assert not info.compatible_with(PoolSpec(id="p1", task_slots_per_node=2))


def test_pool_info_same_settings_is_compatible_with_the_spec():
    info = pool_info(bm.BatchPool(POOL_JSON))
    wanted = PoolSpec(id="p1", vm_size="Standard_D2s_v3", task_slots_per_node=2,
                      start_task=StartTask(command_line="/bin/bash -c 'true'"))
    assert info.compatible_with(wanted)


@pytest.mark.parametrize("state, expected", [
    ("idle", NodeState.IDLE), ("running", NodeState.RUNNING),
    ("creating", NodeState.CREATING), ("starting", NodeState.STARTING),
    ("waitingforstarttask", NodeState.WAITING_FOR_START_TASK),
    ("starttaskfailed", NodeState.START_TASK_FAILED), ("unusable", NodeState.UNUSABLE),
    ("rebooting", NodeState.STARTING), ("preempted", NodeState.STARTING),
    ("unknown", NodeState.UNKNOWN), ("somethingnew", NodeState.STARTING),
])
def test_node_info_maps_batch_node_states(state, expected):
    assert node_info(bm.BatchNode({"id": "n1", "state": state})).state is expected


def test_node_info_keeps_start_task_exit_code_and_stderr():
    node = bm.BatchNode({"id": "n1", "state": "starttaskfailed",
                         "startTaskInfo": {"state": "completed", "exitCode": 7,
                                           "retryCount": 0}})
    info = node_info(node, start_task_stderr="boom\n")
    assert (info.start_task_exit_code, info.start_task_stderr) == (7, "boom\n")


def test_task_info_completed_failure_maps_result_and_failure_info():
    task = bm.BatchTask({
        "id": "t1", "state": "completed",
        "executionInfo": {"startTime": "2026-01-02T03:04:05Z", "endTime": "2026-01-02T03:05:00Z",
                          "exitCode": 2, "result": "failure", "retryCount": 3, "requeueCount": 0,
                          "failureInfo": {"category": "usererror", "code": "FailureExitCode",
                                          "message": "The task exited with exit code 2"}},
        "nodeInfo": {"poolId": "p1", "nodeId": "tvm-1"}})
    info = task_info(task)
    assert (info.state, info.exit_code, info.result, info.retry_count, info.node_id) == (
        TaskState.COMPLETED, 2, TaskResult.FAILURE, 3, "tvm-1")
    assert info.failure == FailureInfo(category="usererror", code="FailureExitCode",
                                       message="The task exited with exit code 2")
    assert info.start_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert not info.succeeded


@pytest.mark.parametrize("state", ["active", "preparing", "running"])
def test_task_info_not_completed_has_no_result(state):
    info = task_info(bm.BatchTask({"id": "t1", "state": state}))
    assert info.state is TaskState(state)
    assert (info.exit_code, info.result, info.failure, info.retry_count, info.node_id) == (
        None, None, None, 0, None)


def test_container_settings_and_configuration_map_onto_the_sdk_and_back():
    from topwords.core.containers import BindMount, ContainerConfiguration, ContainerSettings
    from topwords.core.model import PoolSpec, TaskSpec
    from topwords.backends.azure.batch_models import pool_info, pool_options, task_options
    settings = ContainerSettings(image_name="img:1", run_options="--rm -e A=1",
                                 working_directory="containerImageDefault",
                                 bind_mounts=(BindMount(source="Task", read_only=True),))
    task = task_options(TaskSpec(id="t", command_line="", container_settings=settings))
    got = task.container_settings
    assert (got.image_name, got.container_run_options, got.working_directory) == (
        "img:1", "--rm -e A=1", bm.ContainerWorkingDirectory.CONTAINER_IMAGE_DEFAULT)
    assert [(m.source, m.is_read_only) for m in got.container_host_batch_bind_mounts] == [
        (bm.ContainerHostDataPath.TASK, True)]
    assert task_options(TaskSpec(id="u", command_line="x")).container_settings is None
    vm = bm.VirtualMachineConfiguration(
        image_reference=bm.BatchVmImageReference(publisher="canonical", offer="o", sku="s"),
        node_agent_sku_id="batch.node.ubuntu 22.04")
    spec = PoolSpec(id="p", container_configuration=ContainerConfiguration(
        type="criCompatible", image_names=("img:1",)))
    options = pool_options(spec, vm_size="standard_d2s_v3", vm_config=vm)
    config = options.virtual_machine_configuration.container_configuration
    assert (config.type, config.container_image_names) == (bm.ContainerType.CRI_COMPATIBLE,
                                                           ["img:1"])
    assert options.virtual_machine_configuration.image_reference.sku == "s"
    back = pool_info(bm.BatchPool(id="p", vm_size="standard_d2s_v3", target_dedicated_nodes=1,
                                  virtual_machine_configuration=options
                                  .virtual_machine_configuration))
    assert back.spec.container_configuration == spec.container_configuration
