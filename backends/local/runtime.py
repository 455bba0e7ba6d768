"""Node runtimes: where the local engine's nodes live.

The engine (scheduler, job and task states, the Batch emulator above it)
does not care what a node is, only that it can run commands through its
node agent. A runtime makes nodes:

* ``container`` (``docker_node.ContainerRuntime``): each node a Docker
  container with host networking, isolated as ``docker_node`` says: its own
  filesystem view, non-admin task users, no raw sockets. What CI and the
  security tests use.
* ``process`` (``process_node.ProcessRuntime``): each node the same node
  agent started as a plain host process, its node directory a host folder.
  No Docker needed (a laptop, a CI runner without a daemon) and fast, but
  **no isolation**: a task sees the host's filesystem and runs with the
  engine's user (or, with the engine as root, a task user's uid, still on
  the host). For trusted code: your own tests.

A node handle (``DockerNode``, ``ProcessNode``) offers ``start()``,
``run(argv, env=, workdir=, stdout=, stderr=, user=, timeout=, on_start=)``
-> :class:`ExecOutcome`, ``kill(handle)``, ``ping(timeout)``, ``detach()``,
``remove()`` and ``has_agent``; every method raises ``NodeError`` (never an
SDK error) as documented on ``DockerNode``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from topwords.core.errors import ConfigError

__all__ = ["ExecOutcome", "NodeRuntime", "RUNTIMES", "make_runtime"]

#: the runtimes by name, the default first
RUNTIMES = ("container", "process")


@dataclass(frozen=True)
class ExecOutcome:
    """How a command ended: its exit code, or that the time limit killed it."""

    exit_code: int | None
    timed_out: bool = False


class NodeRuntime(abc.ABC):
    """Makes the nodes of local pools.

    Capability flags:
        name: ``container`` or ``process``.
        isolated: nodes are isolated from the host and from each other.
        node_root: where a node sees its own directory (None: at its host
            path, as plain processes do).
        switches_users: commands run as Batch's auto-users.
        runs_containers: tasks may have container settings (process nodes
            have no Docker to run them: they are refused).
    """

    name: str = "runtime"
    isolated: bool = False
    node_root: PurePosixPath | None = None
    #: commands run as Batch's auto-users (else all as the engine's user)
    switches_users: bool = False
    #: a Docker client, if the runtime has one (the leftover sweeps use it)
    client = None
    #: tasks with container settings can run (in containers beside their node)
    runs_containers: bool = False

    @abc.abstractmethod
    def check_image(self, image: str) -> None:
        """Raise ``PoolError`` if nodes of ``image`` cannot start.

        Idempotent: yes (read-only).
        """

    def image_available(self, image: str) -> bool:
        """Whether a container task's ``image`` is there (only asked of
        runtimes that ``runs_containers``).

        Idempotent: yes (read-only; nothing is pulled).
        """
        return False

    @abc.abstractmethod
    def node(self, *, name: str, image: str, host_root: Path, agent_dir: Path,
             labels: Mapping[str, str]):
        """A node handle (not started) whose directory is ``host_root`` and
        whose agent directory is ``agent_dir`` (made when it starts)."""

    def remove_pool(self, pool_id: str) -> None:
        """Remove every node of ``pool_id`` this runtime can find, also ones
        an earlier process left (a kept pool). Idempotent. The default
        finds none."""

    def close(self) -> None:
        """Release clients. Idempotent."""


def make_runtime(name: str, client=None) -> NodeRuntime:
    """The runtime called ``name`` (``client``: a Docker client for
    ``container``; made here if None).

    Raises:
        ConfigError: an unknown name, or no Docker for ``container``.
    """
    if name == "container":
        from .docker_node import ContainerRuntime, connect
        return ContainerRuntime(client or connect())
    if name == "process":
        from .process_node import ProcessRuntime
        return ProcessRuntime()
    raise ConfigError(f"unknown node runtime {name!r}; choose one of: {', '.join(RUNTIMES)}")
