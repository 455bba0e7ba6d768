"""The host's side of the node agent (see ``node_agent.py``, which runs in
each node): start-up command, and running and killing commands.

One Unix-socket connection per command, held while it runs: the agent
answers on it when the command starts and when it ends, so nothing polls.
The socket lives in the node's agent directory (``AgentDir``), a host
folder only this node mounts and only root may enter.
"""

from __future__ import annotations

import array
import functools
import json
import os
import secrets
import shutil
import socket
from importlib import resources
from pathlib import Path
from typing import Callable, Mapping, Sequence

from topwords.core.errors import NodeError

__all__ = ["AgentClient", "AgentDir", "agent_command", "agent_source", "parse_greeting"]

#: seconds past a command's wall-clock limit before the host gives up on a
#: node that did not end it (a hung node: its agent cannot answer)
WALL_CLOCK_GRACE = 5.0
#: where a node container mounts its agent directory, and its owner's lifeline
AGENT_MOUNT = "/run/batch-agent"
LIFELINE_MOUNT = "/run/batch-owner.lock"

#: the node container's command: the agent where the image has python3 (its
#: source is $1, its directory $2, the owner's lifeline $3), else
#: ``{"agent": null}`` and a sleep (commands then run with ``docker exec``)
_LAUNCH = ('command -v python3 >/dev/null 2>&1 && exec python3 -c "$1" "$2" "$3"; '
           'rm -f "$2/token"; echo \'{"agent": null}\'; exec sleep infinity')


@functools.cache
def agent_source() -> str:
    """The agent program's text (run with ``python3 -c``; read once)."""
    return resources.files(__package__).joinpath("node_agent.py").read_text("utf-8")


def agent_command(agent_dir: str = AGENT_MOUNT, lifeline: str = LIFELINE_MOUNT) -> list[str]:
    """The node's command, given where the node sees its agent directory and
    its owner's lifeline file."""
    return ["/bin/sh", "-c", _LAUNCH, "sh", agent_source(), agent_dir, lifeline]


class AgentDir:
    """A node's agent directory on the host: mode 0700, holding the token
    file (until the agent deletes it) and the agent's socket.

    Args:
        path: the directory to make (its parent must exist).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        shutil.rmtree(path, ignore_errors=True)  # a restarted node's old one
        path.mkdir(mode=0o700)
        self.token = secrets.token_hex(16)
        fd = os.open(path / "token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def parse_greeting(line: bytes) -> bool:
    """Whether the node's first line of output says its agent listens
    (False: no agent, the image has no python3).

    Raises:
        NodeError: the line is not the agent's greeting (the agent's or the
            image's error text is quoted).
    """
    try:
        agent = json.loads(line)["agent"]
        if agent in (1, None):
            return agent == 1
    except (ValueError, KeyError, TypeError):
        pass
    text = line.decode("utf-8", "replace").strip()[-500:]
    raise NodeError(f"the node agent did not start: {text or 'no output'}")


class AgentClient:
    """Talks to one node's agent.

    Args:
        agent_dir: the node's agent directory (its socket is in it).
        token: the secret the agent was started with.
        node: the node's name, for messages.
    """

    def __init__(self, agent_dir: Path, token: str, node: str) -> None:
        self._token, self._node = token, node
        self._dir_fd: int | None = None
        socket_path = agent_dir / "agent.sock"
        if len(str(socket_path).encode()) < 100:
            self._address = str(socket_path)
        else:  # Unix socket addresses hold at most 107 bytes
            self._dir_fd = os.open(agent_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            self._address = f"/proc/self/fd/{self._dir_fd}/agent.sock"

    def close(self) -> None:
        """Release the directory descriptor of a long socket path. Idempotent."""
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, stdout: int,
            stderr: int, user: tuple[int, int], timeout: float | None,
            on_start: Callable[[int], None] | None = None) -> tuple[int | None, bool]:
        """Run a command on the node as ``user`` and wait for it.

        Args:
            stdout, stderr: open file descriptors for its output (sent to
                the agent; the caller still owns and closes them).
        Returns:
            (exit code, timed out); the exit code is None when it timed out.
        Raises:
            NodeError: the agent cannot be reached or went away (its container
                was removed).
        """
        request = {"op": "run", "argv": list(argv), "env": dict(env), "cwd": cwd,
                   "user": list(user), "timeout": timeout}
        with self._connect() as sock:
            if timeout is not None:  # the agent ends it at its limit; a hung one cannot
                sock.settimeout(timeout + WALL_CLOCK_GRACE)
            stream = sock.makefile("rb")
            self._send(sock, request, (stdout, stderr))
            try:
                pid = self._receive(stream)["pid"]
                if pid is not None and on_start:
                    on_start(pid)
                ended = self._receive(stream)
            except NodeError as exc:
                if not isinstance(exc.__cause__, TimeoutError):
                    raise
                if "pid" in locals() and pid is not None:
                    self._kill_quietly(pid)
                return None, True  # past its wall clock on a node that does not answer
        return ended["exit"], bool(ended["timed_out"])

    def _kill_quietly(self, pid: int) -> None:
        try:
            self._call({"op": "kill", "pid": pid}, 2.0)
        except NodeError:
            pass

    def kill(self, pid: int) -> None:
        """Kill the process tree of a command started by ``run`` (nothing if it
        has ended). Idempotent."""
        self._call({"op": "kill", "pid": pid})

    def detach(self) -> None:
        """Let the node outlive this process (a pool kept on purpose)."""
        self._call({"op": "detach"}, 5.0)

    def ping(self, timeout: float = 5.0) -> None:
        """Check that the agent answers.

        Raises:
            NodeError: it does not (within ``timeout`` seconds).
        """
        self._call({"op": "ping"}, timeout)

    def _call(self, request: dict, timeout: float | None = 30.0) -> dict:
        with self._connect(timeout) as sock:
            self._send(sock, request, ())
            return self._receive(sock.makefile("rb"))

    def _connect(self, timeout: float | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        try:
            sock.connect(self._address)
        except OSError as exc:
            sock.close()
            raise NodeError(f"node {self._node}: its agent does not answer ({exc})") from exc
        sock.settimeout(timeout)  # None: a command may run for hours
        return sock

    def _send(self, sock: socket.socket, request: dict, fds: Sequence[int]) -> None:
        data = json.dumps({"token": self._token, **request}).encode() + b"\n"
        try:
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] \
                if fds else []
            sent = sock.sendmsg([data], ancillary)
            if sent < len(data):  # never send(b""): the agent may be done and gone
                sock.sendall(data[sent:])
        except OSError as exc:
            raise NodeError(f"node {self._node}: lost its agent ({exc})") from exc

    def _receive(self, stream) -> dict:
        try:
            line = stream.readline()
        except OSError as exc:
            raise NodeError(f"node {self._node}: lost its agent ({exc})") from exc
        if not line:
            raise NodeError(f"node {self._node}: its agent went away (container removed?)")
        message = json.loads(line)
        if "error" in message:
            raise NodeError(f"node {self._node}: its agent refused: {message['error']}")
        return message
