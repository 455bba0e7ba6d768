"""What a container task needs besides its command (no Docker here: the
task runner and the node pool build these for any runtime, and a runtime
that ``runs_containers`` takes them; see ``container_task``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping

from topwords.core import nofollow
from topwords.core.containers import ContainerSettings
from topwords.core.errors import ConfigError, NodeError, UnsupportedSetting

from .labels import JOB_LABEL

__all__ = ["ContainerPoolNeeded", "ContainerRun", "IMAGE_NOT_FOUND", "ImageMissing",
           "MOUNT_PATHS", "MountPlan", "check_pool", "check_runs_containers",
           "container_kwargs", "image_missing_message"]

#: the error code of a node or task whose container image is not there
IMAGE_NOT_FOUND = "ContainerImageNotFound"


def image_missing_message(image: str) -> str:
    return f"the container image {image!r} is not available on the node (nothing is pulled)"


class ImageMissing(NodeError):
    """Docker does not have a container task's image (nothing is pulled).

    Attributes:
        image: the image's name.
    """

    def __init__(self, image: str) -> None:
        super().__init__(image_missing_message(image),
                         hint="build it (`topwords local build-image` makes "
                              "topwords-node:local) or `docker pull` it first")
        self.image = image

#: where each ``containerHostBatchBindMounts`` source is below the node root
#: (None: the task's own directory, or the job preparation task's)
MOUNT_PATHS = {"Shared": ("shared",), "Startup": ("startup",), "VfsMounts": ("fsmounts",),
               "Applications": ("applications",), "Task": None, "JobPrep": None}


@dataclass(frozen=True)
class MountPlan:
    """A node's directories as a container task mounts them: the node's host
    folder (``host_root``), where the node sees it (``node_root``), and the
    task's and the job preparation task's directories below it."""

    host_root: Path
    node_root: PurePosixPath
    task_rel: tuple[str, ...]
    job_prep_rel: tuple[str, ...]

    def binds(self, settings: ContainerSettings) -> dict[str, dict]:
        """Docker ``volumes`` for ``settings``: the whole node root by
        default, else each listed directory at its own path (made if
        missing, checked without following links).

        Raises:
            NodeError: a mount source is not a plain directory (a link was
                planted in its place).
        """
        if settings.bind_mounts is None:
            return {str(self.host_root): {"bind": str(self.node_root), "mode": "rw"}}
        binds = {}
        for mount in settings.bind_mounts:
            rel = MOUNT_PATHS[mount.source] or (
                self.task_rel if mount.source == "Task" else self.job_prep_rel)
            try:
                nofollow.make_dirs(self.host_root, rel)
            except (OSError, nofollow.UnsafePath) as exc:
                raise NodeError(f"cannot mount the node's {mount.source} directory: "
                                f"{exc}") from None
            binds[str(self.host_root.joinpath(*rel))] = {
                "bind": str(self.node_root.joinpath(*rel)),
                "mode": "ro" if mount.read_only else "rw"}
        return binds


@dataclass(frozen=True)
class ContainerRun:
    """How to run one command in a container beside its node: the task's
    settings, the node directories to mount, and labels for its container."""

    settings: ContainerSettings
    mounts: MountPlan
    labels: Mapping[str, str] = field(default_factory=dict)


def container_kwargs(node, spec, dirs, job_id: str | None) -> dict:
    """``{"container": ContainerRun}`` for a node's ``run`` when ``spec``
    (a task or StartTask) has container settings, else ``{}``.

    Raises:
        NodeError: the node's pool has no container configuration (or its
            runtime runs no containers).
    """
    settings = spec.container_settings
    if settings is None:
        return {}
    if not node.runs_containers:
        raise ContainerPoolNeeded()
    layout = node.layout
    job_prep = layout.job_dir(job_id) + ("job-1", "jobpreparation") if job_id else ()
    labels = {JOB_LABEL: job_id} if job_id else {}
    return {"container": ContainerRun(settings=settings, mounts=MountPlan(
        host_root=layout.host_root, node_root=layout.root, task_rel=dirs.rel,
        job_prep_rel=job_prep), labels=labels)}


class ContainerPoolNeeded(NodeError):
    """A task with container settings on a pool without a container
    configuration."""

    def __init__(self) -> None:
        super().__init__("the task has containerSettings but its pool has no "
                         "containerConfiguration (virtualMachineConfiguration."
                         "containerConfiguration)")


def check_runs_containers(runtime, setting: str, what: str) -> None:
    """Raise UnsupportedSetting (naming ``setting``) if ``runtime`` runs no
    containers."""
    if not runtime.runs_containers:
        raise UnsupportedSetting(
            setting, f"{what}: {setting} needs the container node runtime (this engine "
            f"runs {runtime.name} nodes, which run no containers)",
            hint="use --node-runtime container (the default)")


def check_pool(runtime, spec, *, images: bool) -> None:
    """Raise UnsupportedSetting if ``spec`` (a PoolSpec) wants containers
    ``runtime`` cannot run; with ``images``, ConfigError if Docker lacks one
    of its ``containerImageNames``."""
    config = spec.container_configuration
    if config is not None:
        check_runs_containers(runtime, "virtualMachineConfiguration.containerConfiguration",
                              f"pool {spec.id}")
    if spec.start_task is not None and spec.start_task.container_settings is not None:
        check_runs_containers(runtime, "startTask.containerSettings", f"pool {spec.id}")
        if config is None:
            raise ConfigError(f"pool {spec.id}: startTask.containerSettings needs the pool's "
                              "virtualMachineConfiguration.containerConfiguration")
    for image in config.image_names if config and images else ():
        if not runtime.image_available(image):
            raise ConfigError(f"container image {image!r} is not available to Docker",
                              hint="build it offline with `topwords local build-image` "
                                   "(topwords-node:local), or `docker pull` it first")
