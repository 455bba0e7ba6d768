"""One compute node: a long-lived Docker container that runs commands.

The container runs ``sleep infinity`` under Docker's init with host
networking; commands run in it with ``docker exec`` (much cheaper than a
container per task). A command's stdout and stderr stream into files on the
host; a wall-clock limit kills the command's whole process tree.

Docker SDK exceptions are translated here, at this one boundary, into
``NodeError``; nothing else in the local backend imports ``docker``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import docker
import docker.errors

from topwords.core.errors import ConfigError, NodeError, PoolError

from .layout import NODE_ROOT

__all__ = ["DockerNode", "ExecOutcome", "LABEL", "connect", "docker_errors", "image_exists",
           "kill_tree", "remove_labelled"]

#: every container the local backend starts carries this label
LABEL = "topwords.local"


@contextmanager
def docker_errors(what: str) -> Iterator[None]:
    """Translate Docker SDK and transport errors into ``NodeError``."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise PoolError(f"{what}: the node image is not there ({exc.explanation})",
                        hint="build it with `topwords local build-image` or set "
                             "TOPWORDS_LOCAL_IMAGE to an image with python3") from exc
    except docker.errors.APIError as exc:
        raise NodeError(f"{what}: Docker said {exc.explanation or exc}") from exc
    except (docker.errors.DockerException, OSError) as exc:
        raise NodeError(f"{what}: {exc}") from exc


def connect(max_pool_size: int = 32) -> docker.DockerClient:
    """A Docker client for ``DOCKER_HOST`` (or the local socket), checked.

    Raises:
        ConfigError: no daemon answers.
    """
    try:
        client = docker.from_env(max_pool_size=max_pool_size, timeout=60)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        raise ConfigError(f"no Docker daemon answers ({type(exc).__name__})",
                          hint="start it with `topwords local setup` (or `dockerd`), "
                               "or set DOCKER_HOST") from None
    return client


def image_exists(client: docker.DockerClient, image: str) -> bool:
    """Whether Docker has ``image`` locally (nothing is pulled)."""
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def remove_labelled(client: docker.DockerClient, labels: Mapping[str, str]) -> int:
    """Force-remove every node container carrying all ``labels``.

    Returns:
        How many were removed.
    """
    filters = {"label": [LABEL] + [f"{k}={v}" for k, v in labels.items()]}
    containers = client.containers.list(all=True, filters=filters)
    for container in containers:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    return len(containers)


@dataclass(frozen=True)
class ExecOutcome:
    """How a command ended: its exit code, or that the time limit killed it."""

    exit_code: int | None
    timed_out: bool = False


class DockerNode:
    """A node container with ``host_root`` mounted at ``/mnt/batch/tasks``."""

    def __init__(self, client: docker.DockerClient, *, name: str, image: str,
                 host_root: Path, labels: Mapping[str, str]) -> None:
        self._client, self._api = client, client.api
        self.name, self.image, self.host_root = name, image, host_root
        self._labels = {LABEL: "1", **labels}
        self._container_id: str | None = None

    def start(self) -> None:
        """Create and start the container (host networking, init process)."""
        with docker_errors(f"starting node container {self.name}"):
            # create + start, never run: run() would try to pull a missing image
            container = self._client.containers.create(
                self.image, ["sleep", "infinity"], name=self.name, init=True,
                network_mode="host", labels=self._labels,
                volumes={str(self.host_root): {"bind": str(NODE_ROOT), "mode": "rw"}})
            self._container_id = container.id
            container.start()

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], workdir: str,
            stdout: Path, stderr: Path, timeout: float | None = None,
            on_start: Callable[[str], None] | None = None) -> ExecOutcome:
        """Run ``argv`` (no shell) in the container; stream its output to files.

        Args:
            timeout: seconds before the process tree is killed (None: never).
            on_start: called with the exec id once it runs (see ``kill``).
        Raises:
            NodeError: Docker could not run the command at all.
        """
        if self._container_id is None:
            raise NodeError(f"node {self.name} is not running")
        with docker_errors(f"running a command on node {self.name}"):
            exec_id = self._api.exec_create(
                self._container_id, list(argv), environment=dict(env), workdir=workdir,
                stdout=True, stderr=True)["Id"]
            stream = self._api.exec_start(exec_id, stream=True, demux=True)
            if on_start:
                on_start(exec_id)
            killer = _Killer(self._api, exec_id, timeout)
            try:
                with open(stdout, "ab") as out, open(stderr, "ab") as err:
                    for out_chunk, err_chunk in stream:
                        if out_chunk:
                            out.write(out_chunk)
                        if err_chunk:
                            err.write(err_chunk)
            finally:
                killer.cancel()
            exit_code = self._api.exec_inspect(exec_id).get("ExitCode")
        return ExecOutcome(None if killer.fired else exit_code, timed_out=killer.fired)

    def kill(self, exec_id: str, start_timeout: float = 10.0) -> None:
        """Kill a command's process tree; one that Docker has not started yet
        is waited for (up to ``start_timeout`` s). Idempotent."""
        deadline = time.monotonic() + start_timeout
        while True:
            with docker_errors(f"stopping a command on node {self.name}"):
                info = self._api.exec_inspect(exec_id)
            if info.get("Running") and info.get("Pid"):
                kill_tree(info["Pid"])
                return
            if info.get("ExitCode") is not None or time.monotonic() > deadline:
                return  # already ended (or never started)
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill and remove the container. Idempotent."""
        if self._container_id is None:
            return
        try:
            with docker_errors(f"removing node container {self.name}"):
                self._api.remove_container(self._container_id, force=True)
        except NodeError as exc:
            if "No such container" not in str(exc):
                raise
        self._container_id = None

    def inspect(self) -> dict:
        """``docker inspect`` of the container (for tests and diagnostics)."""
        with docker_errors(f"inspecting node container {self.name}"):
            return self._api.inspect_container(self._container_id)


class _Killer:
    """Kills an exec's process tree once its time limit passes."""

    def __init__(self, api, exec_id: str, timeout: float | None) -> None:
        self.fired = False
        self._api, self._exec_id = api, exec_id
        self._timer = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer:
            self._timer.cancel()

    def _fire(self) -> None:
        try:
            pid = _running_pid(self._api, self._exec_id)
        except docker.errors.DockerException:
            return
        if pid:
            self.fired = True
            kill_tree(pid)


def _running_pid(api, exec_id: str) -> int | None:
    """The host pid of a still-running exec (None once it ended: its pid may
    already belong to another process)."""
    info = api.exec_inspect(exec_id)
    return info.get("Pid") if info.get("Running") else None


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants (read from the host's /proc).

    Works where the Docker daemon shares the host's PID namespace (a local
    Linux daemon), which is what the local backend targets.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo, tree = [pid], []
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    for member in tree:
        try:
            os.kill(member, signal.SIGKILL)
        except ProcessLookupError:
            pass
