"""Batch JSON <-> core model (pure functions): what azure-batch 15 sends
parses into the right specs, and what the emulator renders deserializes
into the SDK's models with the right values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from azure.batch import models as bm
from azure.batch._utils.model_base import SdkJSONEncoder, _timedelta_as_isostr
from hypothesis import given, strategies as st

from topwords.backends.local.emulator import odata, shapes
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.images import image_index, supported_images_json
from topwords.backends.local.records import (
    FileEntry, JobRecord, NodeRecord, PoolRecord, StartTaskRun, TaskRecord,
)
from topwords.core.model import (
    FailureInfo, JobSpec, NodeInfo, NodeState, PoolInfo, PoolSpec, StartTask, TaskInfo,
    TaskResult, TaskState, UploadCondition,
)

T0 = datetime(2025, 11, 25, 10, 0, 0, 123456, tzinfo=timezone.utc)
IMAGE = bm.BatchSupportedImage(supported_images_json()[-1])


def wire(model) -> dict:
    """A model as the SDK puts it on the wire."""
    return json.loads(json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True))


def refused(fn, *args, **kwargs) -> BatchApiError:
    with pytest.raises(BatchApiError) as info:
        fn(*args, **kwargs)
    return info.value


# -- durations and times ---------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [("PT10M", 600), ("PT1S", 1), ("P1DT2H", 93600),
                                          ("PT0.5S", 0.5), ("P7D", 604800),
                                          ("PT20M00S", 1200)])
def test_parse_duration_examples(text, seconds):
    assert shapes.parse_duration(text, "x") == seconds


def test_batch_unlimited_duration_is_none():
    assert shapes.parse_duration(shapes.MAX_DURATION, "x") is None
    assert shapes.format_duration(None) == shapes.MAX_DURATION


@pytest.mark.parametrize("text", ["", "P", "PT", "10M", "PT10X", "P1DT"])
def test_parse_duration_rejects_non_durations(text):
    error = refused(shapes.parse_duration, text, "constraints.maxWallClockTime")
    assert (error.status, error.code) == (400, "InvalidPropertyValue")
    assert error.values["PropertyName"] == "constraints.maxWallClockTime"


@given(st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=3000)))
def test_sdk_durations_parse_back(delta):
    assert shapes.parse_duration(_timedelta_as_isostr(delta), "x") == \
        pytest.approx(delta.total_seconds(), abs=1e-5)


@given(st.floats(min_value=0.001, max_value=1e8, allow_nan=False))
def test_formatted_durations_parse_back(seconds):
    assert shapes.parse_duration(shapes.format_duration(seconds), "x") == \
        pytest.approx(seconds, abs=1e-5)


def test_times_and_etags():
    assert shapes.format_time(T0) == "2025-11-25T10:00:00.123456Z"
    assert shapes.http_date(T0) == "Tue, 25 Nov 2025 10:00:00 GMT"
    assert shapes.etag(T0).startswith("0x8D") and shapes.etag(T0) != shapes.etag(
        T0 + timedelta(microseconds=1))


# -- requests -> specs --------------------------------------------------------------

def pool_body(**changes) -> dict:
    options = bm.BatchPoolCreateOptions(
        id="p1", vm_size="standard_d2s_v3",
        virtual_machine_configuration=bm.VirtualMachineConfiguration(
            image_reference=IMAGE.image_reference, node_agent_sku_id=IMAGE.node_agent_sku_id),
        target_dedicated_nodes=2, target_low_priority_nodes=1, task_slots_per_node=3,
        display_name="my pool",
        start_task=bm.BatchStartTask(
            command_line="/bin/bash -c 'cp a b'", wait_for_success=True, max_task_retry_count=2,
            resource_files=[bm.ResourceFile(http_url="http://h/c/a?sig=s", file_path="a",
                                            file_mode="0755")],
            environment_settings=[bm.EnvironmentSetting(name="K", value="v")],
            user_identity=bm.UserIdentity(auto_user=bm.AutoUserSpecification(
                scope=bm.AutoUserScope.POOL, elevation_level=bm.ElevationLevel.ADMIN))),
        metadata=[bm.BatchMetadataItem(name="run", value="r1")])
    return {**wire(options), **changes}


def test_pool_spec_from_what_the_sdk_sends():
    spec, echo = shapes.pool_spec(pool_body(), images=image_index(), max_nodes=16)
    assert (spec.id, spec.node_count, spec.spot_node_count, spec.task_slots_per_node) == \
        ("p1", 2, 1, 3)
    assert spec.image is None and spec.metadata == {"run": "r1"}
    start = spec.start_task
    assert (start.command_line, start.wait_for_success, start.max_task_retry_count,
            start.run_elevated) == ("/bin/bash -c 'cp a b'", True, 2, True)
    assert start.resource_files[0].file_mode == "0755" and start.environment == {"K": "v"}
    assert echo["displayName"] == "my pool"
    assert echo["startTask"]["userIdentity"]["autoUser"]["elevationLevel"] == "admin"


@pytest.mark.parametrize("changes,code,name", [
    ({"virtualMachineConfiguration": {"imageReference": {"publisher": "x", "offer": "y",
                                                         "sku": "z"},
                                      "nodeAgentSKUId": "batch.node.ubuntu 24.04"}},
     "InvalidPropertyValue", "virtualMachineConfiguration.imageReference"),
    ({"targetDedicatedNodes": 40}, "InvalidPropertyValue", "targetDedicatedNodes"),
    ({"mountConfiguration": [{}]}, "UnsupportedProperty", "mountConfiguration"),
    ({"vmSize": None}, "MissingRequiredProperty", "vmSize"),
    ({"id": "bad id!"}, "InvalidPropertyValue", "value"),
])
def test_pool_spec_refusals(changes, code, name):
    error = refused(shapes.pool_spec, pool_body(**changes), images=image_index(), max_nodes=16)
    assert (error.status, error.code, error.values["PropertyName"]) == (400, code, name)


def test_pool_spec_needs_the_images_node_agent():
    body = pool_body()
    body["virtualMachineConfiguration"]["nodeAgentSKUId"] = "batch.node.windows amd64"
    error = refused(shapes.pool_spec, body, images=image_index(), max_nodes=16)
    assert error.values["PropertyName"] == "virtualMachineConfiguration.nodeAgentSKUId"


def task_body(**changes) -> dict:
    options = bm.BatchTaskCreateOptions(
        id="t1", command_line="python3 x.py", display_name="first",
        resource_files=[bm.ResourceFile(http_url="http://h/c/in?sig=s", file_path="in.txt")],
        output_files=[bm.OutputFile(
            file_pattern="../std*.txt",
            destination=bm.OutputFileDestination(container=bm.OutputFileBlobContainerDestination(
                container_url="http://h/out?sig=s", path="logs")),
            upload_options=bm.OutputFileUploadConfiguration(
                upload_condition=bm.OutputFileUploadCondition.TASK_FAILURE))],
        environment_settings=[bm.EnvironmentSetting(name="A", value="task")],
        constraints=bm.BatchTaskConstraints(max_wall_clock_time=timedelta(minutes=20),
                                            max_task_retry_count=1),
        depends_on=bm.BatchTaskDependencies(task_ids=["t0"]))
    return {**wire(options), **changes}


def test_task_spec_from_what_the_sdk_sends():
    spec, echo = shapes.task_spec(task_body())
    assert spec.environment == {"A": "task"}
    assert spec.constraints.max_wall_clock_time == 1200
    assert spec.constraints.max_task_retry_count == 1
    assert spec.depends_on == ("t0",)
    assert spec.resource_files[0].file_path == "in.txt"
    [out] = spec.output_files
    assert (out.file_pattern, out.path, out.upload_condition) == (
        "../std*.txt", "logs", UploadCondition.TASK_FAILURE)
    assert echo == {"displayName": "first"}


@pytest.mark.parametrize("changes,name", [
    ({"multiInstanceSettings": {"numberOfInstances": 2}}, "multiInstanceSettings"),
    ({"requiredSlots": 2}, "requiredSlots"),
    ({"dependsOn": {"taskIdRanges": [{"start": 1, "end": 3}]}}, "dependsOn.taskIdRanges"),
    ({"resourceFiles": [{"storageContainerUrl": "http://h/c?sig=s"}]},
     "resourceFiles[0].storageContainerUrl"),
])
def test_task_properties_the_emulator_cannot_honour_are_refused(changes, name):
    error = refused(shapes.task_spec, task_body(**changes))
    assert (error.status, error.code, error.values["PropertyName"]) == (
        400, "UnsupportedProperty", name)


def test_job_spec_and_its_common_environment():
    options = bm.BatchJobCreateOptions(
        id="j1", pool_info=bm.BatchPoolInfo(pool_id="p1"), uses_task_dependencies=True,
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode.TERMINATE_JOB, priority=5,
        common_environment_settings=[bm.EnvironmentSetting(name="C", value="1")])
    spec, echo = shapes.job_spec(wire(options))
    assert (spec.id, spec.pool_id, spec.uses_task_dependencies,
            spec.terminate_when_tasks_complete) == ("j1", "p1", True, True)
    assert spec.common_environment == {"C": "1"} and echo == {"priority": 5}
    error = refused(shapes.job_spec, {**wire(options), "jobManagerTask": {"id": "m"}})
    assert error.code == "UnsupportedProperty"


# -- records -> responses, read back by the SDK's models ----------------------------

def test_task_json_reads_back_as_a_batch_task():
    spec, echo = shapes.task_spec(task_body())
    info = TaskInfo(id="t1", state=TaskState.COMPLETED, exit_code=3, result=TaskResult.FAILURE,
                    failure=FailureInfo(category="usererror", code="FailureExitCode",
                                        message="exit 3"),
                    retry_count=1, node_id="node-1", start_time=T0,
                    end_time=T0 + timedelta(seconds=2))
    record = TaskRecord(spec=spec, info=info, job_id="j1", pool_id="p1", created=T0,
                        modified=T0, state_changed=T0 + timedelta(seconds=2),
                        previous_state=TaskState.RUNNING, previous_state_changed=T0,
                        task_dir="workitems/j1/job-1/t1")
    task = bm.BatchTask(shapes.task_json(record, echo, "http://e/jobs/j1/tasks/t1",
                                         "http://e/pools/p1/nodes/node-1"))
    assert (task.id, task.state, task.previous_state, task.display_name) == (
        "t1", bm.BatchTaskState.COMPLETED, bm.BatchTaskState.RUNNING, "first")
    run = task.execution_info
    assert (run.exit_code, run.result, run.retry_count, run.requeue_count) == (
        3, bm.BatchTaskExecutionResult.FAILURE, 1, 0)
    assert run.failure_info.category == bm.BatchErrorSourceCategory.USER_ERROR
    assert run.start_time == T0 and run.end_time == T0 + timedelta(seconds=2)
    assert task.constraints.max_wall_clock_time == timedelta(minutes=20)
    assert task.constraints.retention_time == timedelta(days=7)
    assert task.node_info.task_root_directory == "workitems/j1/job-1/t1"
    assert task.output_files[0].upload_options.upload_condition == \
        bm.OutputFileUploadCondition.TASK_FAILURE
    assert [(e.name, e.value) for e in task.environment_settings] == [("A", "task")]


def test_active_task_json_has_no_node_but_execution_counters():
    spec, echo = shapes.task_spec(task_body(depends_on=None, dependsOn=None))
    record = TaskRecord(spec=spec, info=TaskInfo(id="t1", state=TaskState.ACTIVE),
                        job_id="j1", pool_id="p1", created=T0, modified=T0, state_changed=T0)
    task = bm.BatchTask(shapes.task_json(record, echo, "u", None))
    assert task.node_info is None and task.execution_info.retry_count == 0
    assert task.execution_info.exit_code is None


def test_pool_node_and_job_json_read_back_as_sdk_models():
    spec = PoolSpec(id="p1", node_count=2, spot_node_count=1,
                    start_task=StartTask(command_line="true"), metadata={"run": "r1"})
    body = pool_body()
    _, echo = shapes.pool_spec(body, images=image_index(), max_nodes=16)
    pool = bm.BatchPool(shapes.pool_json(
        PoolRecord(info=PoolInfo(spec=spec, current_node_count=3), created=T0,
                   modified=T0), echo, "u"))
    assert (pool.state, pool.allocation_state) == (bm.BatchPoolState.ACTIVE,
                                                   bm.AllocationState.STEADY)
    assert (pool.current_dedicated_nodes, pool.current_low_priority_nodes) == (2, 1)
    assert pool.virtual_machine_configuration.node_agent_sku_id == IMAGE.node_agent_sku_id
    assert pool.start_task.user_identity.auto_user.elevation_level == bm.ElevationLevel.ADMIN
    assert pool.start_task.command_line == "true"
    run = StartTaskRun(state="completed", start_time=T0, end_time=T0, exit_code=7,
                       failure=FailureInfo(category="usererror", code="FailureExitCode",
                                           message="exit 7"))
    node = bm.BatchNode(shapes.node_json(
        NodeRecord(info=NodeInfo(id="node-0", state=NodeState.START_TASK_FAILED,
                                 start_task_exit_code=7), allocated=T0, start_task=run),
        url="u", vm_size="standard_d2s_v3", is_dedicated=True, start_task=None))
    assert node.state == bm.BatchNodeState.START_TASK_FAILED
    assert (node.start_task_info.exit_code, node.start_task_info.result) == (
        7, bm.BatchTaskExecutionResult.FAILURE)
    job = bm.BatchJob(shapes.job_json(JobRecord(
        spec=JobSpec(id="j1", pool_id="p1", terminate_when_tasks_complete=True),
        state="completed", created=T0, modified=T0, state_changed=T0, previous_state="active",
        previous_state_changed=T0, end_time=T0, terminate_reason="AllTasksComplete"),
        {"displayName": "d"}, "u"))
    assert (job.state, job.previous_state) == (bm.BatchJobState.COMPLETED,
                                               bm.BatchJobState.ACTIVE)
    assert job.all_tasks_complete_mode == bm.BatchAllTasksCompleteMode.TERMINATE_JOB
    assert job.execution_info.termination_reason == "AllTasksComplete"
    assert job.display_name == "d"


def test_task_counts_and_file_listing_entries():
    def record(state, result=None):
        spec, _ = shapes.task_spec(task_body(dependsOn=None))
        return TaskRecord(spec=spec, info=TaskInfo(id="t", state=state, result=result),
                          job_id="j", pool_id="p", created=T0, modified=T0, state_changed=T0)
    counts = bm.BatchTaskCountsResult(shapes.task_counts_json([
        record(TaskState.ACTIVE), record(TaskState.PREPARING), record(TaskState.RUNNING),
        record(TaskState.COMPLETED, TaskResult.SUCCESS),
        record(TaskState.COMPLETED, TaskResult.FAILURE)]))
    got = counts.task_counts
    assert (got.active, got.running, got.completed, got.succeeded, got.failed) == (1, 2, 2, 1, 1)
    entry = FileEntry(name="wd/out.txt", is_directory=False, size=42, created=T0, modified=T0,
                      mode=0o644)
    listed = bm.BatchNodeFile(shapes.file_json(entry, "u"))
    assert (listed.name, listed.is_directory, listed.properties.content_length) == (
        "wd/out.txt", False, 42)
    assert listed.properties.file_mode == "0o100644"


# -- OData ----------------------------------------------------------------------------

ITEMS = [{"id": f"t{n}", "state": "completed" if n % 2 else "active",
          "executionInfo": {"exitCode": n}} for n in range(7)]


@pytest.mark.parametrize("text,ids", [
    ("state eq 'completed'", ["t1", "t3", "t5"]),
    ("state eq 'Completed' and executionInfo/exitCode ge 3", ["t3", "t5"]),
    ("(id eq 't0' or id eq 't6') and state ne 'completed'", ["t0", "t6"]),
    ("startswith(id, 'T1')", ["t1"]),
    (None, [f"t{n}" for n in range(7)]),
])
def test_filters(text, ids):
    keep = odata.compile_filter(text)
    assert [i["id"] for i in ITEMS if keep(i)] == ids


@pytest.mark.parametrize("text", ["state", "state eq", "state like 'x'", "id eq 't1' xor",
                                  "substringof('a', id)"])
def test_unsupported_filters_are_refused(text):
    error = refused(odata.compile_filter, text)
    assert (error.status, error.code) == (400, "InvalidQueryParameterValue")


def test_pages_link_to_the_next_one():
    query = {"api-version": "2025-06-01", "$filter": "state eq 'active'", "maxresults": "3"}
    first = odata.page(ITEMS, query=query, url="http://e/jobs/j/tasks", page_size=1000,
                       metadata="m")
    assert [i["id"] for i in first["value"]] == ["t0", "t1", "t2"]
    link = first["odata.nextLink"]
    assert link.startswith("http://e/jobs/j/tasks?") and "%24skiptoken=3" in link
    assert "%24filter=state+eq+%27active%27" in link
    last = odata.page(ITEMS, query={**query, "$skiptoken": "6"}, url="u", page_size=1000,
                      metadata="m")
    assert [i["id"] for i in last["value"]] == ["t6"] and "odata.nextLink" not in last
    assert odata.page(ITEMS, query={}, url="u", page_size=5, metadata="m")["value"][-1]["id"] \
        == "t4"
    error = refused(odata.page, ITEMS, query={"maxresults": "5000"}, url="u", page_size=5,
                    metadata="m")
    assert error.code == "OutOfRangeQueryParameterValue"
    assert odata.select(ITEMS[0], "id, state") == {"id": "t0", "state": "active"}
