"""One compute node: a long-lived Docker container whose main process is the
node agent (``node_agent.py``), under Docker's init, with host networking.

Commands run through the agent (one fork/exec in the node) rather than
``docker exec`` (dockerd, containerd and runc: about 50 times the CPU); their
output goes to file descriptors the host opened and sent along, and the
agent enforces the wall-clock limit. In an image without ``python3`` the
container only sleeps and commands fall back to ``docker exec``
(docker_exec.py): slower, same behaviour.

What a node holds its tasks with (host networking cannot be given up on
these machines, so isolation comes from elsewhere): the container mounts
only its own node directory and its own agent directory; it runs with
Docker's default seccomp profile, ``no-new-privileges`` and only the
capabilities a node agent needs to run tasks as their users (no
``NET_RAW``: loopback cannot be sniffed; no ``NET_BIND_SERVICE``,
``MKNOD``, ``SYS_CHROOT``, ...).

Docker SDK exceptions are translated here, at this one boundary, into
``NodeError``; nothing else in the local backend imports ``docker`` but
``container_task`` (the containers of container tasks, beside their node).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import docker
import docker.errors

from topwords.core.errors import ConfigError, NodeError, PoolError

from . import container_task
from .container_run import ContainerRun
from .agent_client import (
    AGENT_MOUNT, LIFELINE_MOUNT, AgentClient, AgentDir, agent_command, parse_greeting,
)
from .labels import CONTAINER_TASK_LABEL, LIFELINE_LABEL, LOCAL_LABEL, POOL_LABEL
from .lifeline import lifeline
from .docker_exec import ExecRunner
from .layout import NODE_ROOT
from .node_usage import docker_usage
from .runtime import ExecOutcome, NodeRuntime
from .users import NodeUser, switches_users

__all__ = ["ContainerRuntime", "DockerNode", "ExecOutcome", "connect", "docker_errors",
           "image_exists", "remove_labelled"]

#: every container the local backend starts carries this label
#: what root in a node may still do: run tasks as their users (SETUID,
#: SETGID), reach and own their files (DAC_OVERRIDE, CHOWN, FOWNER, FSETID)
#: and signal them (KILL); everything else of Docker's default set is dropped
NODE_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"]
#: what node containers and container tasks are started with
_SECURITY = {"cap_drop": ["ALL"], "cap_add": NODE_CAPABILITIES,
             "security_opt": ["no-new-privileges"]}


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
    filters = {"label": [LOCAL_LABEL] + [f"{k}={v}" for k, v in labels.items()]}
    containers = client.containers.list(all=True, filters=filters)
    for container in containers:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    return len(containers)


class ContainerRuntime(NodeRuntime):
    """Nodes as Docker containers (see the module docstring).

    Args:
        client: a Docker client (see :func:`connect`); closed by :meth:`close`.
    """

    name = "container"
    isolated = True
    node_root = NODE_ROOT
    runs_containers = True

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.switches_users = switches_users()  # the engine can give files away

    def check_image(self, image: str) -> None:
        with docker_errors(f"checking node image {image}"):
            found = image_exists(self.client, image)
        if not found:
            raise PoolError(f"node image {image!r} is not available to Docker",
                            hint="build it offline with `topwords local build-image`, "
                                 "or choose one with --image / TOPWORDS_LOCAL_IMAGE")

    def image_available(self, image: str) -> bool:
        with docker_errors(f"checking container image {image}"):
            return image_exists(self.client, image)

    def node(self, *, name: str, image: str, host_root: Path, agent_dir: Path,
             labels: Mapping[str, str]) -> "DockerNode":
        return DockerNode(self.client, name=name, image=image, host_root=host_root,
                          agent_dir=agent_dir, labels=labels)

    def remove_pool(self, pool_id: str) -> None:
        with docker_errors(f"deleting pool {pool_id}"):
            remove_labelled(self.client, {POOL_LABEL: pool_id})

    def close(self) -> None:
        self.client.close()


class DockerNode:
    """A node container with ``host_root`` mounted at ``/mnt/batch/tasks``
    and ``agent_dir`` (made here; it must not exist) at ``/run/batch-agent``."""

    def __init__(self, client: docker.DockerClient, *, name: str, image: str,
                 host_root: Path, agent_dir: Path, labels: Mapping[str, str]) -> None:
        self._client, self._api = client, client.api
        self.name, self.image, self.host_root = name, image, host_root
        self._agent_dir_path = agent_dir
        self._agent_dir: AgentDir | None = None
        self._labels = {LOCAL_LABEL: "1", **labels}
        self._container_id: str | None = None
        self._runner: AgentClient | ExecRunner | None = None

    @property
    def has_agent(self) -> bool:
        """Whether commands run through the node agent (else ``docker exec``)."""
        return isinstance(self._runner, AgentClient)

    def start(self) -> None:
        """Create and start the container and wait for its agent to listen
        (or to say there is none: an image without ``python3``).

        Raises:
            PoolError: the image is not there.
            NodeError: Docker failed, or the container ended at once (an image
                without ``/bin/sh``, say: its output is quoted).
        """
        self._agent_dir = AgentDir(self._agent_dir_path)
        owner = str(lifeline().path)
        with docker_errors(f"starting node container {self.name}"):
            # create + start, never run: run() would try to pull a missing image;
            # auto_remove: a node whose agent ended with its owner is gone
            container = self._client.containers.create(
                self.image, agent_command(AGENT_MOUNT, LIFELINE_MOUNT), name=self.name,
                init=True, network_mode="host", labels={**self._labels, LIFELINE_LABEL: owner},
                **_SECURITY, auto_remove=True,
                volumes={str(self.host_root): {"bind": str(NODE_ROOT), "mode": "rw"},
                         str(self._agent_dir.path): {"bind": AGENT_MOUNT, "mode": "rw"},
                         owner: {"bind": LIFELINE_MOUNT, "mode": "ro"}})
            self._container_id = container.id
            container.start()
            has_agent = parse_greeting(self._first_line())
        if has_agent:
            self._runner = AgentClient(self._agent_dir.path, self._agent_dir.token, self.name)
        else:
            self._runner = ExecRunner(self._api, container.id, self._errors)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        with docker_errors(f"{what} on node {self.name}"):
            yield

    def _first_line(self) -> bytes:
        """The container's first line of output (all of it if it ended first)."""
        logs = self._api.logs(self._container_id, stream=True, follow=True)
        seen = b""
        try:
            for chunk in logs:
                seen += chunk
                if b"\n" in seen:
                    break
        finally:
            logs.close()
        return seen.split(b"\n", 1)[0] if b"\n" in seen else seen

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], workdir: str,
            stdout: int, stderr: int, user: NodeUser, timeout: float | None = None,
            on_start: Callable[[int | str], None] | None = None,
            container: ContainerRun | None = None) -> ExecOutcome:
        """Run ``argv`` (no shell) on the node as ``user``, or in a container
        beside it (``container``: see ``container_task``).

        Args:
            workdir: its working directory, as the node sees it.
            stdout, stderr: file descriptors its output goes to.
            timeout: seconds before the process tree is killed (None: never).
            on_start: called with the command's handle once it runs (see ``kill``).
        Raises:
            NodeError: the node is not running or lost its agent;
                ``container_run.ImageMissing``: no such container image.
        """
        runner = self._runner
        if runner is None:
            raise NodeError(f"node {self.name} is not running")
        if container is not None:
            return container_task.run_container(
                self._client, settings=container.settings, argv=argv, env=env,
                workdir=workdir, mounts=container.mounts, stdout=stdout, stderr=stderr,
                user=user, node_container=self._container_id, security=_SECURITY,
                labels={**self._labels, LIFELINE_LABEL: str(lifeline().path),
                        CONTAINER_TASK_LABEL: "1", **container.labels}, timeout=timeout,
                on_start=on_start)
        exit_code, timed_out = runner.run(argv, env=env, cwd=workdir, stdout=stdout,
                                          stderr=stderr, user=(user.uid, user.gid),
                                          timeout=timeout, on_start=on_start)
        return ExecOutcome(exit_code, timed_out=timed_out)

    def ping(self, timeout: float = 2.0) -> None:
        """Check that the node answers: its agent, or (no agent) Docker says
        its container runs and is not paused.

        Raises:
            NodeError: it does not.
        """
        runner = self._runner
        if runner is None:
            raise NodeError(f"node {self.name} is not running")
        if isinstance(runner, AgentClient):
            runner.ping(timeout)
            return
        state = self.inspect().get("State", {})
        if not state.get("Running") or state.get("Paused"):
            raise NodeError(f"node {self.name}: its container is "
                            f"{'paused' if state.get('Paused') else 'not running'}")

    def usage(self):
        """What the node's container uses now (``node_usage.NodeUsage``), or
        None: not running, or Docker cannot tell."""
        container = self._container_id
        return None if container is None else docker_usage(self._api, container)

    def detach(self) -> None:
        """Let the node outlive its owner (see ``lifeline.py``). Best effort."""
        if isinstance(self._runner, AgentClient):
            try:
                self._runner.detach()
            except NodeError:
                pass

    def kill(self, handle: int | str) -> None:
        """Kill the process tree of a command that ``run`` started (nothing if
        it has ended). Idempotent.

        Raises:
            NodeError: the node's agent cannot be reached.
        """
        if isinstance(handle, container_task.ContainerHandle):
            container_task.kill(self._client, handle)
        elif self._runner is not None:
            self._runner.kill(handle)

    def remove(self) -> None:
        """Kill and remove the container. Idempotent."""
        runner, self._runner = self._runner, None
        if isinstance(runner, AgentClient):
            runner.close()
        if self._container_id is not None:
            try:
                with docker_errors(f"removing node container {self.name}"):
                    self._api.remove_container(self._container_id, force=True)
            except NodeError as exc:
                if "No such container" not in str(exc) and "in progress" not in str(exc):
                    raise
            self._wait_gone()
            self._container_id = None
        if self._agent_dir is not None:
            self._agent_dir.remove()
            self._agent_dir = None

    def _wait_gone(self, timeout: float = 15.0) -> None:
        """Until Docker no longer has the container (a removal Docker began
        itself, auto_remove after a kill, takes a moment)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._api.inspect_container(self._container_id)
            except docker.errors.NotFound:
                return
            except docker.errors.DockerException:
                return  # Docker is gone too: nothing more to wait for
            time.sleep(0.05)

    def inspect(self) -> dict:
        """``docker inspect`` of the container (for tests and diagnostics)."""
        with docker_errors(f"inspecting node container {self.name}"):
            return self._api.inspect_container(self._container_id)
