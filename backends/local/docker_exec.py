"""Running commands with ``docker exec``: the fallback for node images
without ``python3``, where the node agent cannot run (see docker_node.py).

About 50 ms of CPU per command (dockerd, containerd, runc), against about 1 ms
through the agent. Output is streamed from Docker into the host files; a
wall-clock limit kills the command's process tree from the host's /proc.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Mapping, Sequence

from .node_agent import kill_tree  # the same tree walk, here on the host's /proc

__all__ = ["ExecRunner"]


class ExecRunner:
    """Runs commands in one container through the Docker API.

    Args:
        api: the Docker SDK's low-level client.
        container_id: the node container.
        errors: a context manager factory translating Docker errors (taking a
            description of the action), ``docker_node.docker_errors``.
    """

    def __init__(self, api, container_id: str, errors) -> None:
        self._api, self._container_id, self._errors = api, container_id, errors

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, stdout: int,
            stderr: int, user: tuple[int, int], timeout: float | None,
            on_start: Callable[[str], None] | None = None) -> tuple[int | None, bool]:
        """As ``AgentClient.run``; the handle given to ``on_start`` is the exec id."""
        with self._errors("running a command"):
            exec_id = self._api.exec_create(
                self._container_id, list(argv), environment=dict(env), workdir=cwd,
                user="%d:%d" % user, stdout=True, stderr=True)["Id"]
            stream = self._api.exec_start(exec_id, stream=True, demux=True)
            if on_start:
                on_start(exec_id)
            killer = KillTimer(lambda: _kill_exec(self._api, exec_id), timeout)
            try:
                pump(stream, stdout, stderr)
            finally:
                killer.cancel()
            exit_code = self._api.exec_inspect(exec_id).get("ExitCode")
        return (None if killer.fired else exit_code), killer.fired

    def kill(self, exec_id: str, start_timeout: float = 10.0) -> None:
        """Kill a command's process tree; one that Docker has not started yet
        is waited for (up to ``start_timeout`` s). Idempotent."""
        deadline = time.monotonic() + start_timeout
        while True:
            with self._errors("stopping a command"):
                info = self._api.exec_inspect(exec_id)
            if info.get("Running") and info.get("Pid"):
                kill_tree(info["Pid"])
                return
            if info.get("ExitCode") is not None or time.monotonic() > deadline:
                return  # already ended (or never started)
            time.sleep(0.02)


def pump(stream, stdout: int, stderr: int) -> None:
    """Write the chunks of a demultiplexed Docker output stream (``(out,
    err)`` pairs) to the two file descriptors, until it ends."""
    for out_chunk, err_chunk in stream:
        for fd, chunk in ((stdout, out_chunk), (stderr, err_chunk)):
            view = memoryview(chunk or b"")
            while view:
                view = view[os.write(fd, view):]


class KillTimer:
    """Calls ``kill`` once ``timeout`` seconds pass (never if None);
    ``fired`` says whether it killed something (``kill`` returned True)."""

    def __init__(self, kill: Callable[[], bool], timeout: float | None) -> None:
        self.fired = False
        self._kill = kill
        self._timer = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Stop the timer; once this returns, ``fired`` is settled."""
        if self._timer:
            self._timer.cancel()
            self._timer.join()

    def _fire(self) -> None:
        try:
            self.fired = bool(self._kill())
        except Exception:  # noqa: BLE001 (a timer thread: what it kills has ended or is gone)
            return


def _kill_exec(api, exec_id: str) -> bool:
    """Kill a running exec's process tree; False if it has ended."""
    info = api.exec_inspect(exec_id)
    # the pid of an ended exec may already belong to another process
    pid = info.get("Pid") if info.get("Running") else None
    if pid:
        kill_tree(pid)
    return bool(pid)
