"""The engine's records -> Batch response bodies, as the Batch service
renders them (camelCase, ISO 8601 times and durations)."""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from topwords.backends.local.records import (
    FileEntry, JobRecord, NodeRecord, PoolRecord, TaskRecord,
)
from topwords.core.model import FailureInfo, OutputFile, StartTask, TaskState

from .autoscale import autoscale_json
from .wire import MAX_DURATION, etag, format_duration, format_time

__all__ = ["file_json", "file_mode", "job_json", "node_json", "pool_json", "start_task_json",
           "task_counts_json", "task_json"]

Json = dict[str, Any]
_RETENTION = "P7D"

def _named(pairs: Mapping[str, str]) -> list[Json]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


def _resource_files_json(files) -> list[Json]:
    return [{k: v for k, v in (("httpUrl", f.http_url), ("filePath", f.file_path),
                               ("fileMode", f.file_mode)) if v is not None} for f in files]


def _without_none(body: Json) -> Json:
    return {k: v for k, v in body.items() if v is not None and v != [] and v != {}}


def pool_json(record: PoolRecord, echo: Json, url: str) -> Json:
    """A pool as GET /pools/{id} answers it (``url``: its absolute URL)."""
    info, spec = record.info, record.info.spec
    dedicated = record.current_dedicated
    if dedicated is None:
        dedicated = min(info.current_node_count, spec.node_count)
    start = start_task_json(spec.start_task, echo)
    created = format_time(record.created)
    body = {k: v for k, v in echo.items() if k != "startTask"}
    body.update(_without_none({
        "id": spec.id, "url": url, "eTag": etag(record.modified),
        "lastModified": format_time(record.modified),
        "creationTime": created, "state": info.state, "stateTransitionTime": created,
        "allocationState": info.allocation_state, "allocationStateTransitionTime": created,
        "vmSize": spec.vm_size, "resizeTimeout": echo.get("resizeTimeout", "PT15M"),
        "currentDedicatedNodes": dedicated,
        "currentLowPriorityNodes": info.current_node_count - dedicated,
        "targetDedicatedNodes": spec.node_count, "targetLowPriorityNodes": spec.spot_node_count,
        **autoscale_json(record.autoscale),
        "enableInterNodeCommunication": echo.get("enableInterNodeCommunication", False),
        "startTask": start, "taskSlotsPerNode": spec.task_slots_per_node,
        "taskSchedulingPolicy": echo.get("taskSchedulingPolicy", {"nodeFillType": "spread"}),
        "metadata": _named(spec.metadata),
        "resizeErrors": [_error_pair(e) for e in info.resize_errors]}))
    return body


def start_task_json(start: StartTask | None, pool_echo: Json) -> Json | None:
    """A pool's StartTask (``pool_echo``: the pool's echo)."""
    if start is None:
        return None
    return {**pool_echo.get("startTask", {}), **_without_none({
        "commandLine": start.command_line,
        "resourceFiles": _resource_files_json(start.resource_files),
        "environmentSettings": _named(start.environment),
        "maxTaskRetryCount": start.max_task_retry_count,
        "waitForSuccess": start.wait_for_success})}


def _error_pair(text: str) -> Json:
    code, _, message = text.partition(": ")
    return {"code": code, "message": message}


def node_json(record: NodeRecord, *, url: str, vm_size: str, is_dedicated: bool,
              start_task: Json | None, image_reference: Json | None = None) -> Json:
    """A compute node as GET /pools/{id}/nodes/{node} answers it
    (``image_reference``: its pool's, as given). Its addresses are the
    host's loopback ones: nodes share the host's network."""
    info, allocated = record.info, format_time(record.allocated)
    run = record.start_task
    start_info = None if run is None else _without_none({
        "state": run.state, "startTime": format_time(run.start_time),
        "endTime": format_time(run.end_time) if run.end_time else None,
        "exitCode": run.exit_code, "retryCount": run.retry_count,
        "result": None if run.state != "completed" else
        ("success" if run.exit_code == 0 and run.failure is None else "failure"),
        "failureInfo": _failure_json(run.failure)})
    return _without_none({
        "id": info.id, "url": url, "state": info.state.value, "schedulingState": "enabled",
        "stateTransitionTime": format_time(record.state_changed or record.allocated),
        "allocationTime": allocated, "lastBootTime": allocated, "ipAddress": "127.0.0.1",
        "ipv6Address": "::1",
        "virtualMachineInfo": {"imageReference": image_reference} if image_reference else None,
        "affinityId": f"TVM:{info.id}", "vmSize": vm_size,
        "totalTasksRun": record.tasks_run, "runningTasksCount": record.running_tasks,
        "runningTaskSlotsCount": record.running_tasks,
        "totalTasksSucceeded": record.tasks_succeeded, "isDedicated": is_dedicated,
        "startTask": start_task, "startTaskInfo": start_info,
        "errors": [_without_none({"code": e.code, "message": e.message, "errorDetails": [
            {"name": k, "value": v} for k, v in e.details]}) for e in record.errors],
        "nodeAgentInfo": {"version": "emulator", "lastUpdateTime": allocated}})


def _failure_json(failure: FailureInfo | None) -> Json | None:
    if failure is None:
        return None
    return {"category": failure.category, "code": failure.code, "message": failure.message}


def job_json(record: JobRecord, echo: Json, url: str) -> Json:
    """A job as GET /jobs/{id} answers it."""
    spec, created = record.spec, format_time(record.created)
    body = dict(echo)
    body.update(_without_none({
        "id": spec.id, "url": url, "eTag": etag(record.modified),
        "lastModified": format_time(record.modified), "creationTime": created,
        "state": record.state,
        "stateTransitionTime": format_time(record.state_changed),
        "previousState": record.previous_state,
        "previousStateTransitionTime": format_time(record.previous_state_changed)
        if record.previous_state_changed else None,
        "priority": echo.get("priority", 0),
        "maxParallelTasks": echo.get("maxParallelTasks", -1),
        "allowTaskPreemption": echo.get("allowTaskPreemption", False),
        "usesTaskDependencies": spec.uses_task_dependencies,
        "constraints": {"maxWallClockTime": MAX_DURATION, "maxTaskRetryCount": 0,
                        **echo.get("constraints", {})},
        "poolInfo": {"poolId": spec.pool_id},
        "onAllTasksComplete": "terminatejob" if spec.terminate_when_tasks_complete
        else "noaction",
        "onTaskFailure": str(echo.get("onTaskFailure") or "noaction").lower(), "metadata": _named(spec.metadata),
        "commonEnvironmentSettings": _named(spec.common_environment),
        "executionInfo": _without_none({
            "startTime": created, "poolId": spec.pool_id,
            "endTime": format_time(record.end_time) if record.end_time else None,
            "terminateReason": record.terminate_reason})}))
    return body


def task_json(record: TaskRecord, echo: Json, url: str, node_url: str | None) -> Json:
    """A task as GET /jobs/{id}/tasks/{task} answers it (``node_url``: its
    node's URL once placed)."""
    spec, info, created = record.spec, record.info, format_time(record.created)
    limit = spec.constraints.max_wall_clock_time
    execution = _without_none({
        "startTime": format_time(info.start_time) if info.start_time else None,
        "endTime": format_time(info.end_time) if info.end_time else None,
        "exitCode": info.exit_code, "failureInfo": _failure_json(info.failure),
        "result": info.result.value if info.result else None})
    execution.update(retryCount=info.retry_count, requeueCount=info.requeue_count)
    if record.container_id:  # a container task: the container of its last run
        execution["containerInfo"] = {
            "containerId": record.container_id,
            "state": "running" if info.state is TaskState.RUNNING else "exited"}
    node = None
    if info.node_id and record.task_dir:
        root = record.task_dir
        node = {"affinityId": f"TVM:{info.node_id}", "nodeUrl": node_url,
                "poolId": record.pool_id, "nodeId": info.node_id, "taskRootDirectory": root,
                "taskRootDirectoryUrl": f"{node_url}/files/{quote(root)}"}
    body = dict(echo)
    body.update(_without_none({
        "id": spec.id, "url": url, "eTag": etag(record.modified), "creationTime": created,
        "lastModified": format_time(record.modified), "state": info.state.value,
        "stateTransitionTime": format_time(record.state_changed),
        "previousState": record.previous_state.value if record.previous_state else None,
        "previousStateTransitionTime": format_time(record.previous_state_changed)
        if record.previous_state_changed else None,
        "commandLine": spec.command_line,
        "resourceFiles": _resource_files_json(spec.resource_files),
        "outputFiles": [_output_file_json(o) for o in spec.output_files],
        "environmentSettings": _named(spec.environment),
        "constraints": {"maxWallClockTime": format_duration(limit),
                        "retentionTime": (echo.get("constraints") or {}).get(
                            "retentionTime", _RETENTION),
                        "maxTaskRetryCount": spec.constraints.max_task_retry_count},
        "requiredSlots": 1,
        "dependsOn": {"taskIds": list(spec.depends_on)} if spec.depends_on else None,
        "executionInfo": execution, "nodeInfo": node}))
    return body


def _output_file_json(out: OutputFile) -> Json:
    container = {"containerUrl": out.container_url}
    if out.path:
        container["path"] = out.path
    return {"filePattern": out.file_pattern, "destination": {"container": container},
            "uploadOptions": {"uploadCondition": out.upload_condition.value}}


def task_counts_json(records: list[TaskRecord]) -> Json:
    """``taskCounts`` and ``taskSlotCounts`` (every task takes one slot)."""
    states = [r.info.state for r in records]
    done = [r for r in records if r.info.state is TaskState.COMPLETED]
    succeeded = sum(r.info.succeeded for r in done)
    counts = {"active": states.count(TaskState.ACTIVE),
              "running": states.count(TaskState.RUNNING) + states.count(TaskState.PREPARING),
              "completed": len(done), "succeeded": succeeded, "failed": len(done) - succeeded}
    return {"taskCounts": counts, "taskSlotCounts": dict(counts)}


def file_json(entry: FileEntry, url: str) -> Json:
    """One entry of a file listing."""
    body: Json = {"name": entry.name, "url": url, "isDirectory": entry.is_directory}
    if not entry.is_directory:
        body["properties"] = {"creationTime": format_time(entry.created),
                              "lastModified": format_time(entry.modified),
                              "contentLength": str(entry.size),
                              "contentType": "application/octet-stream",
                              "fileMode": file_mode(entry)}
    return body


def file_mode(entry: FileEntry) -> str:
    """The ``fileMode`` of a file, in octal as Linux nodes report it."""
    return f"0o{entry.mode | (0o40000 if entry.is_directory else 0o100000):o}"
