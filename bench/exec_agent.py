"""A prototype long-lived exec agent in a node container: a same-run baseline
for bench/engine.py of what "exec through an agent" would cost (the project
does not use it).

One ``python3`` process, started in the node with a single ``docker exec``,
listens on a loopback port (node containers use host networking). Each
request is one JSON line ``{argv, env, cwd, stdout, stderr}``; the agent runs
it without a shell, its output into the two files, and answers ``{"exit": N}``.
A client thread keeps one connection (one agent thread each).
"""

from __future__ import annotations

import json
import socket
import threading

AGENT = r"""
import json, socketserver, subprocess
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            r = json.loads(line)
            with open(r["stdout"], "ab") as out, open(r["stderr"], "ab") as err:
                code = subprocess.call(r["argv"], env=r["env"], cwd=r["cwd"],
                                       stdout=out, stderr=err)
            self.wfile.write(b'{"exit": %d}\n' % code)
            self.wfile.flush()
class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_agent(api, container_id: str) -> tuple[int, int]:
    """Start the agent in the container; returns (its port, its host pid).
    It ends with the container."""
    exec_id = api.exec_create(container_id, ["python3", "-c", AGENT])["Id"]
    stream = api.exec_start(exec_id, stream=True, demux=True)
    first = b""
    for out, err in stream:
        first += out or b""
        if b"\n" in first or err:
            break
    if not first.strip().isdigit():
        raise RuntimeError(f"the exec agent did not start: {first!r} {err!r}")
    return int(first), api.exec_inspect(exec_id)["Pid"]


class AgentClient:
    """Runs commands through the agent; one connection per calling thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._local = threading.local()
        self._sockets: list[socket.socket] = []

    def run(self, argv: list[str], *, env: dict, cwd: str, stdout: str, stderr: str) -> int:
        stream = getattr(self._local, "stream", None)
        if stream is None:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self._sockets.append(sock)
            stream = self._local.stream = sock.makefile("rwb")
        stream.write(json.dumps({"argv": argv, "env": env, "cwd": cwd, "stdout": stdout,
                                 "stderr": stderr}).encode() + b"\n")
        stream.flush()
        return json.loads(stream.readline())["exit"]

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
