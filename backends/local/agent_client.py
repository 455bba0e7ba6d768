"""The host's side of the node agent (see ``node_agent.py``, which runs in
each node container): start-up command, and running and killing commands.

One loopback connection per command, held while it runs: the agent answers
on it when the command starts and when it ends, so nothing polls.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
from importlib import resources
from pathlib import Path
from typing import Callable, Mapping, Sequence

from topwords.core.errors import NodeError

__all__ = ["AgentClient", "agent_command", "agent_source", "parse_port", "write_token"]

_HOST = "127.0.0.1"


#: the node container's command: the agent where the image has python3 (its
#: source is $1, its token file $2), else ``{"port": null}`` and a sleep
#: (commands then run with ``docker exec``)
_LAUNCH = ('command -v python3 >/dev/null 2>&1 && exec python3 -c "$1" "$2"; '
           'rm -f "$2"; echo \'{"port": null}\'; exec sleep infinity')


@functools.cache
def agent_source() -> str:
    """The agent program's text (run with ``python3 -c``; read once)."""
    return resources.files(__package__).joinpath("node_agent.py").read_text("utf-8")


def agent_command(token_file: str) -> list[str]:
    """The node container's command, given where the node sees the token file."""
    return ["/bin/sh", "-c", _LAUNCH, "sh", agent_source(), token_file]


def write_token(path: Path) -> str:
    """A new secret, in a file only its owner may read (the agent deletes it)."""
    token = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def parse_port(line: bytes) -> int | None:
    """The port from the node container's first line of output (None: no agent).

    Raises:
        NodeError: the line is not the agent's greeting (the agent's or the
            image's error text is quoted).
    """
    try:
        port = json.loads(line)["port"]
        if port is None or isinstance(port, int) and 0 < port < 65536:
            return port
    except (ValueError, KeyError, TypeError):
        pass
    text = line.decode("utf-8", "replace").strip()[-500:]
    raise NodeError(f"the node agent did not start: {text or 'no output'}")


class AgentClient:
    """Talks to one node's agent.

    Args:
        port: the agent's loopback port.
        token: the secret it was started with.
        node: the node's name, for messages.
    """

    def __init__(self, port: int, token: str, node: str) -> None:
        self.port, self._token, self._node = port, token, node

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, stdout: str,
            stderr: str, timeout: float | None,
            on_start: Callable[[int], None] | None = None) -> tuple[int | None, bool]:
        """Run a command on the node and wait for it.

        Returns:
            (exit code, timed out); the exit code is None when it timed out.
        Raises:
            NodeError: the agent cannot be reached or went away (its container
                was removed).
        """
        request = {"op": "run", "argv": list(argv), "env": dict(env), "cwd": cwd,
                   "stdout": stdout, "stderr": stderr, "timeout": timeout}
        with self._connect() as stream:
            self._send(stream, request)
            pid = self._receive(stream)["pid"]
            if pid is not None and on_start:
                on_start(pid)
            ended = self._receive(stream)
        return ended["exit"], bool(ended["timed_out"])

    def kill(self, pid: int) -> None:
        """Kill the process tree of a command started by ``run`` (nothing if it
        has ended). Idempotent."""
        with self._connect() as stream:
            self._send(stream, {"op": "kill", "pid": pid})
            self._receive(stream)

    def _connect(self):
        try:
            sock = socket.create_connection((_HOST, self.port), timeout=30)
        except OSError as exc:
            raise NodeError(f"node {self._node}: its agent does not answer ({exc})") from exc
        sock.settimeout(None)  # a command may run for hours
        stream = sock.makefile("rwb")
        sock.close()  # the file object keeps the connection open
        return stream

    def _send(self, stream, request: dict) -> None:
        try:
            stream.write(json.dumps({"token": self._token, **request}).encode() + b"\n")
            stream.flush()
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
