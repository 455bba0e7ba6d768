"""Mapping between the core Batch model and azure-batch 15 models.

Pure functions, no client: core specs become ``Batch*CreateOptions`` for the
SDK, and the SDK's pools, nodes and tasks become core ``PoolInfo``,
``NodeInfo`` and ``TaskInfo``. Image choice lives here too, as a function of
the supported-images list.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Iterable, Mapping

from azure.batch import models as bm

from topwords.core.containers import ContainerConfiguration, ContainerSettings
from topwords.core.errors import PoolError, redact_url
from topwords.core.model import (
    FailureInfo, JobSpec, NodeInfo, NodeState, OutputFile, PoolInfo, PoolSpec, ResourceFile,
    StartTask, TaskInfo, TaskResult, TaskSpec, TaskState,
)

__all__ = [
    "choose_image",
    "container_settings",
    "image_name",
    "job_options",
    "node_info",
    "pool_info",
    "pool_options",
    "task_info",
    "task_options",
]

_UBUNTU_AGENT = re.compile(r"^batch\.node\.ubuntu (\d+)\.(\d+)$", re.IGNORECASE)


# -- images -------------------------------------------------------------------

def image_name(ref: bm.BatchVmImageReference) -> str:
    """``publisher:offer:sku:version`` (``latest`` when the version is unset),
    or the custom image's resource id."""
    if ref.publisher:
        return ":".join([ref.publisher, ref.offer or "", ref.sku or "", ref.version or "latest"])
    return ref.virtual_machine_image_id or ref.shared_gallery_image_id or ""


def choose_image(images: Iterable[bm.BatchSupportedImage],
                 wanted: str | None) -> bm.VirtualMachineConfiguration:
    """The image reference and node agent for ``wanted``
    (``publisher:offer:sku[:version]``, any supported image), or with
    ``wanted=None`` for the newest verified Ubuntu LTS for x64 nodes.

    Raises:
        PoolError: the image is not supported by Batch (or none fits).
    """
    images = list(images)
    if wanted is not None:
        image, version = _named_image(images, wanted)
    else:
        image, version = _newest_ubuntu_lts(images), None
    ref = image.image_reference
    return bm.VirtualMachineConfiguration(
        image_reference=bm.BatchVmImageReference(
            publisher=ref.publisher, offer=ref.offer, sku=ref.sku,
            version=version or ref.version or "latest"),
        node_agent_sku_id=image.node_agent_sku_id)


def _newest_ubuntu_lts(images: list[bm.BatchSupportedImage]) -> bm.BatchSupportedImage:
    lts = [(release, image) for image in images
           if (release := _ubuntu_lts(image)) and _verified(image)]
    if not lts:
        raise PoolError("Batch lists no verified Ubuntu LTS image for this account",
                        hint="name an image with --image publisher:offer:sku[:version]")
    return max(lts, key=lambda pair: (pair[0], "gen1" not in (pair[1].image_reference.sku or ""),
                                      _version_key(pair[1].image_reference.version)))[1]


def _named_image(images: list[bm.BatchSupportedImage],
                 wanted: str) -> tuple[bm.BatchSupportedImage, str | None]:
    """The listed image named by ``wanted``, and the version it asks for."""
    parts = wanted.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise PoolError(f"image {wanted!r} is not of the form publisher:offer:sku[:version]")
    for image in images:
        ref = image.image_reference
        if [p.lower() for p in parts[:3]] == [(x or "").lower()
                                               for x in (ref.publisher, ref.offer, ref.sku)]:
            return image, parts[3] if len(parts) == 4 else None
    raise PoolError(f"image {wanted!r} is not supported by Azure Batch",
                    hint="list supported images with `az batch pool supported-images list`, "
                         "or leave the image unset to use the newest Ubuntu LTS")


def _ubuntu_lts(image: bm.BatchSupportedImage) -> tuple[int, int] | None:
    """(major, minor) of an x64 Ubuntu LTS image, else None."""
    match = _UBUNTU_AGENT.match(image.node_agent_sku_id or "")
    ref = image.image_reference
    if not match or (ref.publisher or "").lower() != "canonical":
        return None
    if "arm64" in (ref.sku or "").lower():
        return None
    major, minor = int(match[1]), int(match[2])
    return (major, minor) if major % 2 == 0 and minor == 4 else None


def _verified(image: bm.BatchSupportedImage) -> bool:
    return _value(image.verification_type) == "verified"


def _version_key(version: str | None) -> tuple[float, ...]:
    """``latest`` (or unset) sorts above any numbered version."""
    if not version or version.lower() == "latest":
        return (math.inf,)
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


# -- core specs -> SDK options -------------------------------------------------

def pool_options(spec: PoolSpec, *, vm_size: str,
                 vm_config: bm.VirtualMachineConfiguration) -> bm.BatchPoolCreateOptions:
    """``vm_config``: what :func:`choose_image` picked for ``spec.image``
    (the pool's container configuration is added to it)."""
    config = spec.container_configuration
    if config is not None:
        vm_config = bm.VirtualMachineConfiguration(
            image_reference=vm_config.image_reference,
            node_agent_sku_id=vm_config.node_agent_sku_id,
            container_configuration=bm.BatchContainerConfiguration(
                type=bm.ContainerType(config.type),
                container_image_names=list(config.image_names) or None))
    return bm.BatchPoolCreateOptions(
        id=spec.id, vm_size=vm_size, virtual_machine_configuration=vm_config,
        target_dedicated_nodes=spec.node_count,
        target_low_priority_nodes=spec.spot_node_count,
        task_slots_per_node=spec.task_slots_per_node,
        start_task=_start_task(spec.start_task) if spec.start_task else None,
        metadata=_metadata(spec.metadata))


def _identity(elevated: bool, scope: str) -> bm.UserIdentity:
    """The auto-user, always said explicitly: the service's default scope
    (pool) is not the core model's default for tasks (task)."""
    return bm.UserIdentity(auto_user=bm.AutoUserSpecification(
        scope=bm.AutoUserScope.POOL if scope == "pool" else bm.AutoUserScope.TASK,
        elevation_level=bm.ElevationLevel.ADMIN if elevated else bm.ElevationLevel.NON_ADMIN))


def _start_task(start: StartTask) -> bm.BatchStartTask:
    identity = _identity(True, start.user_scope) if start.run_elevated else None
    return bm.BatchStartTask(
        command_line=start.command_line,
        resource_files=_resource_files(start.resource_files),
        environment_settings=_environment(start.environment),
        user_identity=identity,
        max_task_retry_count=start.max_task_retry_count,
        wait_for_success=start.wait_for_success,
        container_settings=container_settings(start.container_settings))


def container_settings(
        settings: ContainerSettings | None) -> bm.BatchTaskContainerSettings | None:
    """Core container settings as the SDK's (None stays None)."""
    if settings is None:
        return None
    mounts = None if settings.bind_mounts is None else [
        bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath(m.source),
                                            is_read_only=m.read_only)
        for m in settings.bind_mounts]
    return bm.BatchTaskContainerSettings(
        image_name=settings.image_name, container_run_options=settings.run_options or None,
        working_directory=bm.ContainerWorkingDirectory(settings.working_directory),
        container_host_batch_bind_mounts=mounts)


def job_options(spec: JobSpec) -> bm.BatchJobCreateOptions:
    return bm.BatchJobCreateOptions(
        id=spec.id, pool_info=bm.BatchPoolInfo(pool_id=spec.pool_id),
        uses_task_dependencies=spec.uses_task_dependencies,
        all_tasks_complete_mode=(bm.BatchAllTasksCompleteMode.TERMINATE_JOB
                                 if spec.terminate_when_tasks_complete else None),
        common_environment_settings=_environment(spec.common_environment),
        metadata=_metadata(spec.metadata))


def task_options(spec: TaskSpec) -> bm.BatchTaskCreateOptions:
    """Wall-clock limits are rounded up to whole seconds."""
    limit = spec.constraints.max_wall_clock_time
    return bm.BatchTaskCreateOptions(
        id=spec.id, command_line=spec.command_line,
        resource_files=_resource_files(spec.resource_files),
        output_files=[_output_file(o) for o in spec.output_files] or None,
        environment_settings=_environment(spec.environment),
        constraints=bm.BatchTaskConstraints(
            max_wall_clock_time=timedelta(seconds=math.ceil(limit)) if limit else None,
            max_task_retry_count=spec.constraints.max_task_retry_count),
        depends_on=(bm.BatchTaskDependencies(task_ids=list(spec.depends_on))
                    if spec.depends_on else None),
        user_identity=_identity(spec.run_elevated, spec.user_scope),
        container_settings=container_settings(spec.container_settings))


def _resource_files(files: Iterable[ResourceFile]) -> list[bm.ResourceFile] | None:
    return [bm.ResourceFile(http_url=f.http_url, file_path=f.file_path, file_mode=f.file_mode)
            for f in files] or None


def _output_file(out: OutputFile) -> bm.OutputFile:
    container = bm.OutputFileBlobContainerDestination(container_url=out.container_url,
                                                      path=out.path or None)
    return bm.OutputFile(
        file_pattern=out.file_pattern,
        destination=bm.OutputFileDestination(container=container),
        upload_options=bm.OutputFileUploadConfiguration(
            upload_condition=bm.OutputFileUploadCondition(out.upload_condition.value)))


def _environment(env: Mapping[str, str]) -> list[bm.EnvironmentSetting] | None:
    return [bm.EnvironmentSetting(name=k, value=v) for k, v in env.items()] or None


def _metadata(tags: Mapping[str, str]) -> list[bm.BatchMetadataItem] | None:
    return [bm.BatchMetadataItem(name=k, value=v) for k, v in tags.items()] or None


# -- SDK objects -> core info ---------------------------------------------------

def pool_info(pool: bm.BatchPool) -> PoolInfo:
    """Resource files and environment of the StartTask are left out (they
    may carry SAS tokens). A pool whose targets are both 0 (being deleted or
    resized to nothing) reports one dedicated node, as ``PoolSpec`` needs one."""
    dedicated, spot = pool.target_dedicated_nodes or 0, pool.target_low_priority_nodes or 0
    vm_config = pool.virtual_machine_configuration
    spec = PoolSpec(
        id=pool.id, vm_size=pool.vm_size or "",
        node_count=dedicated if dedicated or spot else 1, spot_node_count=spot,
        image=image_name(vm_config.image_reference) if vm_config else None,
        task_slots_per_node=pool.task_slots_per_node or 1,
        start_task=_core_start_task(pool.start_task) if pool.start_task else None,
        metadata={m.name: m.value for m in pool.metadata or ()},
        container_configuration=_core_containers(vm_config))
    return PoolInfo(
        spec=spec, state=_value(pool.state) or "active",
        allocation_state=_value(pool.allocation_state) or "steady",
        current_node_count=(pool.current_dedicated_nodes or 0)
        + (pool.current_low_priority_nodes or 0),
        resize_errors=tuple(redact_url(f"{e.code}: {e.message}") for e in pool.resize_errors or ()))


def _core_containers(vm_config) -> ContainerConfiguration | None:
    config = vm_config.container_configuration if vm_config else None
    if config is None:
        return None
    kind = _value(config.type) or "dockercompatible"
    return ContainerConfiguration(
        type="criCompatible" if kind == "cricompatible" else "dockerCompatible",
        image_names=tuple(config.container_image_names or ()))


def _core_start_task(start: bm.BatchStartTask) -> StartTask:
    auto_user = start.user_identity.auto_user if start.user_identity else None
    elevated = bool(auto_user) and _value(auto_user.elevation_level) == "admin"
    return StartTask(command_line=start.command_line,
                     wait_for_success=bool(start.wait_for_success),
                     run_elevated=elevated,
                     max_task_retry_count=start.max_task_retry_count or 0)


def node_info(node: bm.BatchNode, *, start_task_stderr: str = "") -> NodeInfo:
    started = node.start_task_info
    return NodeInfo(id=node.id, state=_node_state(_value(node.state) or "unknown"),
                    start_task_exit_code=started.exit_code if started else None,
                    start_task_stderr=start_task_stderr)


def _node_state(state: str) -> NodeState:
    if state in (NodeState.REBOOTING.value, NodeState.REIMAGING.value):
        return NodeState.STARTING  # to a workflow, a node on its way back
    try:
        return NodeState(state)
    except ValueError:  # rebooting, offline, preempted, unknown, ...: not ready, not broken
        return NodeState.STARTING


def task_info(task: bm.BatchTask) -> TaskInfo:
    run = task.execution_info
    failure = run.failure_info if run else None
    result = _value(run.result) if run else None
    return TaskInfo(
        id=task.id, state=TaskState(_value(task.state)),
        depends_on=tuple(task.depends_on.task_ids or ()) if task.depends_on else (),
        exit_code=run.exit_code if run else None,
        result=TaskResult(result) if result else None,
        failure=FailureInfo(category=_value(failure.category) or "", code=failure.code or "",
                            message=failure.message or "") if failure else None,
        retry_count=(run.retry_count or 0) if run else 0,
        requeue_count=(run.requeue_count or 0) if run else 0,
        node_id=task.node_info.node_id if task.node_info else None,
        start_time=run.start_time if run else None,
        end_time=run.end_time if run else None)


def _value(enum_or_str: object) -> str | None:
    """An SDK enum member or plain string as its lower-case string value."""
    if enum_or_str is None:
        return None
    return str(getattr(enum_or_str, "value", enum_or_str)).lower()
