"""Request bodies -> core specs.

``pool_spec``, ``job_spec`` and ``task_spec`` turn a create body into a core
spec plus an *echo* dict: the accepted properties the engine does not act
on (``displayName``, ``userIdentity``, ...), kept in the engine's record of
the resource as its ``extras``, which GET answers return as given.
Properties that would change what runs and that the emulator cannot honour
are refused (400 UnsupportedProperty) rather than silently ignored.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from topwords.core.errors import ConfigError
from topwords.core.model import (
    JobSpec, OutputFile, PoolSpec, ResourceFile, StartTask, TaskConstraints, TaskSpec,
    UploadCondition,
)

from ..images import retired_image
from ..errors import BatchApiError, bad_value, missing, unsupported
from .containers import container_configuration, container_settings, without_passwords
from .wire import parse_duration

__all__ = ["integer_value", "job_spec", "metadata_pairs", "pool_spec",
           "require_object", "start_task_spec", "task_spec"]

Json = dict[str, Any]

#: an integer as a JSON string may spell it (at most 10 digits: Batch's are 32-bit)
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")

_POOL_MODEL = {"id", "vmSize", "targetDedicatedNodes", "targetLowPriorityNodes", "startTask",
               "taskSlotsPerNode", "metadata"}
_START_MODEL = {"commandLine", "resourceFiles", "environmentSettings", "maxTaskRetryCount",
                "waitForSuccess"}
_JOB_MODEL = {"id", "usesTaskDependencies", "poolInfo", "onAllTasksComplete", "metadata",
              "commonEnvironmentSettings"}
_TASK_MODEL = {"id", "commandLine", "resourceFiles", "outputFiles", "environmentSettings",
               "constraints", "dependsOn"}


def pool_spec(body: Json, *, images: Mapping[tuple[str, str, str], str],
              max_nodes: int) -> tuple[PoolSpec, Json]:
    """A pool create body as a ``PoolSpec`` (image left to the engine) and
    its echo.

    Args:
        images: lower-case (publisher, offer, sku) -> nodeAgentSKUId of
            every supported image.
        max_nodes: most nodes (dedicated + low priority) one pool may have.
    Raises:
        BatchApiError: 400 for a missing, invalid or unsupported property.
    """
    _refuse(body, {"applicationPackageReferences": "there are no application packages",
                   "mountConfiguration": "nodes mount no file systems"})
    vm = _object(body, "virtualMachineConfiguration", required=True)
    _check_image(vm, images)
    containers = container_configuration(vm)
    _string(body, "vmSize", required=True)
    dedicated = _integer(body, "targetDedicatedNodes", 0)
    spot = _integer(body, "targetLowPriorityNodes", 0)
    if dedicated + spot > max_nodes:
        raise bad_value("targetDedicatedNodes", f"the emulator runs at most {max_nodes} "
                        "nodes per pool", dedicated + spot)
    start = body.get("startTask")
    spec = _build(lambda: PoolSpec(
        id=_string(body, "id", required=True), node_count=dedicated, spot_node_count=spot,
        vm_size=body["vmSize"], task_slots_per_node=_integer(body, "taskSlotsPerNode", 1),
        start_task=_start_task(start) if start is not None else None,
        metadata=_pairs(body, "metadata"), container_configuration=containers))
    body = without_passwords(body)
    start = body.get("startTask")
    echo = _rest(body, _POOL_MODEL)
    if isinstance(start, dict):
        echo["startTask"] = _rest(start, _START_MODEL)
    return spec, echo


def start_task_spec(body: Any, where: str = "startTask") -> tuple[StartTask, Json]:
    """A ``startTask`` object (of a pool update) as a ``StartTask`` and its
    echo (the properties the engine does not keep).

    Raises:
        BatchApiError: 400 for a missing, invalid or unsupported property.
    """
    start = _build(lambda: _start_task(body), where)
    return start, _rest(body, _START_MODEL)


def metadata_pairs(body: Json) -> dict[str, str]:
    """A body's ``metadata`` list as a dict (400 if it is not name/value pairs)."""
    return _pairs(body, "metadata")


def _check_image(vm: Json, images: Mapping[tuple[str, str, str], str]) -> None:
    ref = _object(vm, "imageReference", required=True, where="virtualMachineConfiguration.")
    key = tuple(str(ref.get(k) or "").lower() for k in ("publisher", "offer", "sku"))
    agent = images.get(key)  # type: ignore[arg-type]
    retired = retired_image(key) if agent is None else None  # type: ignore[arg-type]
    if retired:
        raise bad_value("virtualMachineConfiguration.imageReference", retired, ":".join(key))
    if agent is None:
        raise bad_value("virtualMachineConfiguration.imageReference",
                        "not a supported image (see list_supported_images)", ":".join(key))
    given = vm.get("nodeAgentSKUId")
    if not given:
        raise missing("virtualMachineConfiguration.nodeAgentSKUId")
    if str(given).lower() != agent.lower():
        raise bad_value("virtualMachineConfiguration.nodeAgentSKUId",
                        f"the image needs node agent {agent!r}", given)


def _start_task(body: Any) -> StartTask:
    if not isinstance(body, dict):
        raise bad_value("startTask", "must be an object")
    elevated, scope = _auto_user(body, "startTask.")
    settings = container_settings(body, "startTask.")
    return _build(lambda: StartTask(
        command_line=_command_line(body, settings, "startTask."),
        resource_files=_resource_files(body, "startTask."),
        environment=_pairs(body, "environmentSettings", "startTask."),
        wait_for_success=bool(body.get("waitForSuccess", False)),
        run_elevated=elevated, user_scope=scope or "pool",
        max_task_retry_count=_retries(body, "startTask."), container_settings=settings),
        "startTask")


def _command_line(body: Json, settings, where: str = "") -> str:
    """``commandLine``: required; with container settings it may be empty
    (the image's own command runs)."""
    if settings is not None and body.get("commandLine") == "":
        return ""
    return _string(body, "commandLine", required=True, where=where)


def _auto_user(body: Json, where: str = "") -> tuple[bool, str | None]:
    """``userIdentity`` as (elevated, scope): a named user is refused (the
    emulator creates no pool user accounts)."""
    identity = _object(body, "userIdentity", where=where)
    if identity.get("username"):
        raise unsupported(where + "userIdentity.username",
                          "named user accounts are not created; use autoUser")
    auto = _object(identity, "autoUser", where=where + "userIdentity.")
    level = str(auto.get("elevationLevel") or "nonadmin").lower()
    scope = str(auto.get("scope") or "").lower() or None
    if level not in ("admin", "nonadmin"):
        raise bad_value(where + "userIdentity.autoUser.elevationLevel",
                        "must be admin or nonadmin", level)
    if scope not in (None, "task", "pool"):
        raise bad_value(where + "userIdentity.autoUser.scope", "must be task or pool", scope)
    return level == "admin", scope


def job_spec(body: Json) -> tuple[JobSpec, Json]:
    """A job create body as a ``JobSpec`` (``commonEnvironmentSettings``
    included: the engine applies them to the job's tasks) and its echo.

    Raises:
        BatchApiError: 400 for a missing, invalid or unsupported property.
    """
    _refuse(body, {"jobManagerTask": "job manager tasks are not run",
                   "jobPreparationTask": "job preparation tasks are not run",
                   "jobReleaseTask": "job release tasks are not run"})
    pool_info = _object(body, "poolInfo", required=True)
    _refuse(pool_info, {"autoPoolSpecification": "auto pools are not created"}, "poolInfo.")
    if str(body.get("onTaskFailure", "noaction")).lower() not in (
            "noaction", "performexitoptionsjobaction"):
        raise bad_value("onTaskFailure", "must be noaction or performexitoptionsjobaction",
                        body.get("onTaskFailure"))
    if (body.get("maxParallelTasks") or -1) != -1:
        raise unsupported("maxParallelTasks", "the number of parallel tasks is not limited")
    limit = (body.get("constraints") or {}).get("maxWallClockTime")
    if limit and parse_duration(limit, "constraints.maxWallClockTime") is not None:
        raise unsupported("constraints.maxWallClockTime", "job wall-clock limits are not "
                          "enforced (task limits are)")
    mode = str(body.get("onAllTasksComplete", "noaction")).lower()
    if mode not in ("noaction", "terminatejob"):
        raise bad_value("onAllTasksComplete", "must be noaction or terminatejob", mode)
    spec = _build(lambda: JobSpec(
        id=_string(body, "id", required=True),
        pool_id=_string(pool_info, "poolId", required=True, where="poolInfo."),
        uses_task_dependencies=bool(body.get("usesTaskDependencies", False)),
        terminate_when_tasks_complete=mode == "terminatejob",
        metadata=_pairs(body, "metadata"),
        common_environment=_pairs(body, "commonEnvironmentSettings")))
    return spec, _rest(body, _JOB_MODEL)


def task_spec(body: Json) -> tuple[TaskSpec, Json]:
    """A task create body as a ``TaskSpec`` (its job's common environment is
    the engine's to add) and its echo.

    Raises:
        BatchApiError: 400 for a missing, invalid or unsupported property.
    """
    if not isinstance(body, dict):
        raise bad_value("value", "each task must be an object")
    _refuse(body, {"multiInstanceSettings": "multi-instance (MPI) tasks are not run",
                   "applicationPackageReferences": "there are no application packages"})
    if _integer(body, "requiredSlots", 1) != 1:
        raise unsupported("requiredSlots", "every task takes one slot")
    depends = _object(body, "dependsOn")
    _refuse(depends, {"taskIdRanges": "only taskIds dependencies are supported"}, "dependsOn.")
    constraints = _object(body, "constraints")
    limit = constraints.get("maxWallClockTime")
    elevated, scope = _auto_user(body)
    settings = container_settings(body)
    spec = _build(lambda: TaskSpec(
        id=_string(body, "id", required=True),
        command_line=_command_line(body, settings),
        resource_files=_resource_files(body),
        output_files=_output_files(body),
        environment=_pairs(body, "environmentSettings"),
        constraints=TaskConstraints(
            max_task_retry_count=_retries(constraints, "constraints."),
            max_wall_clock_time=parse_duration(limit, "constraints.maxWallClockTime")
            if limit else None),
        depends_on=tuple(_strings(depends, "taskIds", "dependsOn.")),
        run_elevated=elevated, user_scope=scope or "task", container_settings=settings))
    return spec, _rest(without_passwords(body), _TASK_MODEL)


def _resource_files(body: Json, where: str = "") -> tuple[ResourceFile, ...]:
    files = []
    for n, item in enumerate(_list(body, "resourceFiles", where)):
        name = f"{where}resourceFiles[{n}]"
        _refuse(item, {"storageContainerUrl": "only httpUrl resource files are supported",
                       "autoStorageContainerName": "only httpUrl resource files are supported",
                       "identityReference": "resource files are fetched with their URL only"},
                name + ".")
        url = _string(item, "httpUrl", required=True, where=name + ".")
        path = _string(item, "filePath", required=True, where=name + ".")
        files.append(_build(lambda: ResourceFile(http_url=url, file_path=path,
                                                 file_mode=item.get("fileMode")), name))
    return tuple(files)


def _output_files(body: Json) -> tuple[OutputFile, ...]:
    outputs = []
    for n, item in enumerate(_list(body, "outputFiles")):
        name = f"outputFiles[{n}]"
        container = _object(_object(item, "destination", required=True, where=name + "."),
                            "container", required=True, where=name + ".destination.")
        _refuse(container, {"identityReference": "output files are uploaded with their "
                            "container URL only"}, name + ".destination.container.")
        condition = str((item.get("uploadOptions") or {}).get("uploadCondition")
                        or "taskcompletion").lower()
        try:
            upload = UploadCondition(condition)
        except ValueError:
            raise bad_value(f"{name}.uploadOptions.uploadCondition",
                            "must be tasksuccess, taskfailure or taskcompletion",
                            condition) from None
        pattern = _string(item, "filePattern", required=True, where=name + ".")
        url = _string(container, "containerUrl", required=True,
                      where=name + ".destination.container.")
        outputs.append(_build(lambda: OutputFile(
            file_pattern=pattern, container_url=url, path=container.get("path") or "",
            upload_condition=upload), name + ".filePattern"))
    return tuple(outputs)


# -- small validators ---------------------------------------------------------------

def _build(make, name: str = "value"):
    """Run a core-model constructor; its ConfigError becomes a 400."""
    try:
        return make()
    except ConfigError as exc:
        raise bad_value(name, str(exc)) from None


def _refuse(body: Json, refused: Mapping[str, str], where: str = "") -> None:
    for name, reason in refused.items():
        if body.get(name) not in (None, False, [], {}):
            raise unsupported(where + name, reason)


def _rest(body: Json, model: set[str]) -> Json:
    return {k: v for k, v in body.items() if k not in model}


def _string(body: Json, name: str, *, required: bool = False, where: str = "") -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise missing(where + name)
        return ""
    if not isinstance(value, str):
        raise bad_value(where + name, "must be a string", value)
    return value


def _integer(body: Json, name: str, default: int, where: str = "") -> int:
    """An integer property; an integer-valued string (``"1"``, as the Azure
    CLI sends) counts as that integer, as the service accepts it."""
    value = body.get(name, default)
    if value is None:
        return default
    return integer_value(value, where + name)


def integer_value(value: Any, name: str) -> int:
    """``value`` as an int: an int (not a bool) or a string of one
    (``"1"``, ``" -1 "``); else 400 InvalidPropertyValue naming ``name``."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_value(name, "must be a whole number", value)
    return value


def _retries(body: Json, where: str) -> int:
    value = _integer(body, "maxTaskRetryCount", 0, where)
    if value == -1:
        raise unsupported(where + "maxTaskRetryCount", "unlimited retries are not supported")
    if value < 0:
        raise bad_value(where + "maxTaskRetryCount", "must be -1 or more", value)
    return value


def _object(body: Json, name: str, *, required: bool = False, where: str = "") -> Json:
    value = body.get(name)
    if value is None:
        if required:
            raise missing(where + name)
        return {}
    if not isinstance(value, dict):
        raise bad_value(where + name, "must be an object")
    return value


def _list(body: Json, name: str, where: str = "") -> list:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad_value(where + name, "must be a list of objects")
    return value


def _strings(body: Json, name: str, where: str = "") -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_value(where + name, "must be a list of strings")
    return value


def _pairs(body: Json, name: str, where: str = "") -> dict[str, str]:
    """``[{"name": n, "value": v}, ...]`` as a dict."""
    pairs = {}
    for item in _list(body, name, where):
        key = _string(item, "name", required=True, where=f"{where}{name}.")
        value = item.get("value")
        pairs[key] = "" if value is None else str(value)
    return pairs


def require_object(body: Any) -> Json:
    """A request body that must be a JSON object."""
    if not isinstance(body, dict):
        raise BatchApiError(400, "InvalidRequestBody", "The request body must be a JSON object.")
    return body
