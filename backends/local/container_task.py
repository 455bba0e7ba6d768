"""Container tasks: a task (or StartTask) with ``containerSettings`` runs in
a container of its image *beside* its node, as a Batch node's agent runs it
with ``docker create``.

The container holds the same lines as a node (``docker_node``): host
networking, Docker's default seccomp profile, ``no-new-privileges``, only
the node's capabilities (which a non-root user does not even hold), the
task's auto-user as its user (``--user`` only for admin tasks), and it
joins its node's PID namespace, so that it ends with its node (a node
removed, lost, or ended with its owner's lifeline takes its container
tasks' processes with it; what is left is an exited container that the
pool's removal and the leftover sweeps find by its labels).

Mounts: by default the node's whole directory (the very host folder its
node container mounts, which no task can replace) at ``/mnt/batch/tasks``,
Batch's default on Linux. ``containerHostBatchBindMounts`` mounts only the
listed node directories, each at its own path; each is checked without
following links just before the container is made (see the README's
"Security model" for what that leaves to a racing admin task).

Output is streamed from the container (attached before it starts) into the
task's ``stdout.txt`` and ``stderr.txt`` descriptors; the wall-clock limit
kills it (``docker kill``), and the container is removed once it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import docker
import docker.errors

from topwords.core.containers import ContainerSettings
from topwords.core.errors import NodeError

from .container_run import ImageMissing, MountPlan
from .docker_exec import KillTimer, pump
from .runtime import ExecOutcome
from .users import NodeUser

__all__ = ["ContainerHandle", "kill", "run_container"]

@dataclass(frozen=True)
class ContainerHandle:
    """What ``on_start`` gets for a container task: its container's id."""

    container_id: str


def run_container(client: docker.DockerClient, *, settings: ContainerSettings,
                  argv: Sequence[str], env: Mapping[str, str], workdir: str,
                  mounts: MountPlan, stdout: int, stderr: int, user: NodeUser,
                  node_container: str, security: Mapping[str, object],
                  labels: Mapping[str, str], timeout: float | None = None,
                  on_start: Callable[[ContainerHandle], None] | None = None) -> ExecOutcome:
    """Run ``argv`` (empty: the image's own command) in a container of
    ``settings.image_name`` beside ``node_container``.

    Args:
        workdir: the task's ``wd`` as the node sees it (used with
            ``taskWorkingDirectory``).
        security: the node's ``cap_drop``/``cap_add``/``security_opt``.
    Raises:
        ImageMissing: Docker does not have the image.
        NodeError: Docker failed, or a mount source is unsafe.
    """
    options = settings.options
    if options.workdir is not None:
        working_dir = options.workdir
    elif settings.working_directory == "taskWorkingDirectory":
        working_dir = workdir
    else:
        working_dir = None  # the image's WORKDIR
    api = client.api
    with _errors(settings.image_name):
        created = api.create_container(
            settings.image_name, command=list(argv) or None,
            entrypoint=[options.entrypoint] if options.entrypoint is not None else None,
            environment={**env, **dict(options.env)}, working_dir=working_dir,
            user=options.user if options.user is not None else f"{user.uid}:{user.gid}",
            labels=dict(labels), host_config=api.create_host_config(
                network_mode="host", pid_mode=f"container:{node_container}",
                binds=mounts.binds(settings), **security))
    container_id = created["Id"]
    try:
        with _errors(settings.image_name):
            stream = api.attach(container_id, stdout=True, stderr=True, stream=True,
                                demux=True)
            api.start(container_id)
        if on_start:
            on_start(ContainerHandle(container_id))
        killer = KillTimer(lambda: api.kill(container_id) or True, timeout)
        try:
            with _errors(settings.image_name):  # Docker gone mid-stream: a NodeError
                pump(stream, stdout, stderr)
                exit_code = api.wait(container_id).get("StatusCode")
        finally:
            killer.cancel()
        return ExecOutcome(None if killer.fired else exit_code, timed_out=killer.fired)
    finally:
        remove(api, container_id)


def kill(client: docker.DockerClient, handle: ContainerHandle) -> None:
    """Kill a container task (nothing if it has ended). Idempotent."""
    try:
        client.api.kill(handle.container_id)
    except docker.errors.APIError:
        pass  # not running (ended, or being removed)


def remove(api, container_id: str) -> None:
    try:
        api.remove_container(container_id, force=True)
    except docker.errors.APIError:
        pass  # already gone


class _errors:
    """Docker errors of a container task as ``ImageMissing`` / ``NodeError``."""

    def __init__(self, image: str) -> None:
        self.image = image

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, docker.errors.ImageNotFound):
            raise ImageMissing(self.image) from exc
        if isinstance(exc, docker.errors.APIError):
            raise NodeError(f"container task of image {self.image!r}: Docker said "
                            f"{exc.explanation or exc}") from exc
        if isinstance(exc, (docker.errors.DockerException, OSError)) \
                and not isinstance(exc, NodeError):
            raise NodeError(f"container task of image {self.image!r}: {exc}") from exc
        return False


