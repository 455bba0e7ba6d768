"""The ``process`` node runtime: each node is the node agent started as a
plain host process (no Docker), its node directory a host folder.

The agent is the very program a container node runs (``node_agent.py``,
through ``python -c``), so commands, output, wall-clock kills, users and the
owner's lifeline behave the same; what is missing is isolation (see
``runtime``): tasks see the host. Nodes need no image: they run on the
host's own programs (the Python of this process runs the agent).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

from topwords.core.errors import NodeError

from .agent_client import AgentClient, AgentDir, agent_source, parse_greeting
from .lifeline import lifeline
from .node_agent import kill_tree
from .node_usage import process_tree_usage
from .runtime import ExecOutcome, NodeRuntime
from .users import NodeUser

__all__ = ["ProcessNode", "ProcessRuntime"]


class ProcessRuntime(NodeRuntime):
    """Nodes as host processes (see the module docstring)."""

    name = "process"
    isolated = False
    node_root = None

    def check_image(self, image: str) -> None:
        """Any image name will do: process nodes run no image."""

    def node(self, *, name: str, image: str, host_root: Path, agent_dir: Path,
             labels: Mapping[str, str]) -> "ProcessNode":
        return ProcessNode(name=name, host_root=host_root, agent_dir=agent_dir)


class ProcessNode:
    """A node agent running as a host process (see :class:`DockerNode` for
    what each method promises)."""

    has_agent = True

    def __init__(self, *, name: str, host_root: Path, agent_dir: Path) -> None:
        self.name, self.host_root, self._agent_dir_path = name, host_root, agent_dir
        self._agent_dir: AgentDir | None = None
        self._process: subprocess.Popen | None = None
        self._runner: AgentClient | None = None

    def start(self) -> None:
        """Start the agent and wait for its greeting.

        Raises:
            NodeError: it did not start (its output is quoted).
        """
        self._agent_dir = AgentDir(self._agent_dir_path)
        argv = [sys.executable, "-c", agent_source(), str(self._agent_dir.path),
                str(lifeline().path)]
        try:
            self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             start_new_session=True, cwd=self.host_root)
        except OSError as exc:
            raise NodeError(f"node {self.name}: cannot start its agent ({exc})") from exc
        first = self._process.stdout.readline()
        if not parse_greeting(first):
            raise NodeError(f"node {self.name}: its agent did not start")
        self._runner = AgentClient(self._agent_dir.path, self._agent_dir.token, self.name)

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], workdir: str,
            stdout: int, stderr: int, user: NodeUser, timeout: float | None = None,
            on_start: Callable[[int | str], None] | None = None,
            container=None) -> ExecOutcome:
        runner = self._runner
        if runner is None:
            raise NodeError(f"node {self.name} is not running")
        if container is not None:  # the engine refuses them first; never run one on the host
            raise NodeError(f"node {self.name}: process nodes run no container tasks")
        exit_code, timed_out = runner.run(argv, env=env, cwd=workdir, stdout=stdout,
                                          stderr=stderr, user=(user.uid, user.gid),
                                          timeout=timeout, on_start=on_start)
        return ExecOutcome(exit_code, timed_out=timed_out)

    def ping(self, timeout: float = 2.0) -> None:
        runner = self._runner
        if runner is None or self._process is None or self._process.poll() is not None:
            raise NodeError(f"node {self.name}: its agent is not running")
        runner.ping(timeout)

    def usage(self):
        """What the agent's process tree uses now, or None (not running)."""
        process = self._process
        return None if process is None else process_tree_usage(process.pid)

    def detach(self) -> None:
        if self._runner is not None:
            try:
                self._runner.detach()
            except NodeError:
                pass

    def kill(self, handle: int | str) -> None:
        if self._runner is not None:
            self._runner.kill(handle)

    def remove(self) -> None:
        """Kill the agent and every command it started. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                kill_tree(process.pid)  # its commands are in their own sessions
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._agent_dir is not None:
            self._agent_dir.remove()
            self._agent_dir = None

    def inspect(self) -> dict:
        """What can be said of the node (for diagnostics)."""
        return {"Id": self.name, "Pid": self._process.pid if self._process else None,
                "State": {"Running": self._runner is not None}}
