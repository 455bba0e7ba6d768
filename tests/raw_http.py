"""Raw HTTP against a real ``BatchHttpServer`` (no SDK in between), for the
front door tests: a server on an engine stub that knows no pools or jobs (no
Docker needed), requests signed with the shared key byte by byte, and
answers read together with whether the server closed the connection."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

import pytest

from topwords.backends.local.emulator.auth import sign, string_to_sign
from topwords.backends.local.emulator.routing import Service
from topwords.backends.local.emulator.server import BatchHttpServer, Limits
from topwords.backends.local.emulator.versions import LATEST_API_VERSION
from topwords.core.errors import JobNotFound, PoolNotFound

ACCOUNT = "frontdoor"
KEY = base64.b64encode(b"f" * 64).decode()
V = LATEST_API_VERSION


class NoPoolsNoJobs:
    """The engine calls the routes below make, on an empty account."""

    def pool_records(self):
        return []

    def job_records(self):
        return []

    def pool_record(self, pool_id):
        raise PoolNotFound(pool_id)

    def job_record(self, job_id):
        raise JobNotFound(job_id)

    def start_deleting_pool(self, pool_id):
        raise PoolNotFound(pool_id)

    def add_task_collection(self, job_id, tasks):
        raise JobNotFound(job_id)


@pytest.fixture
def serve():
    """``serve(**limits)``: a started server; all are stopped at the end."""
    started = []

    def start(**limits) -> BatchHttpServer:
        server = BatchHttpServer(("127.0.0.1", 0), Service(engine=NoPoolsNoJobs()),
                                 {ACCOUNT: KEY}, Limits(**limits))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


def head_bytes(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def signed(method: str, path: str, body: bytes = b"", *, length: object = "auto",
           headers: dict[str, str] | None = None, key: str = KEY, date: str | None = "now",
           signed_length: str | None = None) -> bytes:
    """A request signed with the shared key.

    Args:
        length: the Content-Length header ("auto": the body's length for
            a body or a POST/PUT/PATCH; None: no header).
        signed_length: the content-length line signed (default: as sent).
    """
    headers = dict(headers or {})
    if date:
        headers["ocp-date"] = formatdate(usegmt=True) if date == "now" else date
    if length == "auto":
        length = len(body) if body or method in ("POST", "PUT", "PATCH") else None
    if length is not None:
        headers["Content-Length"] = str(length)
    text = string_to_sign(method, path, headers, ACCOUNT, content_length=signed_length)
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{sign(key, text)}"
    return head_bytes(method, path, headers) + body


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    closed: bool  # the server closed the connection after the answer
    seconds: float

    @property
    def error(self) -> tuple[str, dict[str, str]]:
        doc = json.loads(self.body)
        return doc["code"], {v["key"]: v["value"] for v in doc.get("values", [])}


def connect(server: BatchHttpServer) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=10)


def answer(sock: socket.socket, method: str = "GET", started: float | None = None) -> Reply:
    """Read one answer from ``sock``, then whether the server closed it."""
    started = started or time.monotonic()
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    seconds = time.monotonic() - started
    sock.settimeout(0.5)
    try:
        closed = sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except TimeoutError:
        closed = False
    return Reply(response.status, response.headers, body, closed, seconds)


def send(server: BatchHttpServer, data: bytes, method: str = "GET") -> Reply:
    """Send ``data`` on a new connection and read the answer."""
    with connect(server) as sock:
        started = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        return answer(sock, method, started)


def closed_within(sock: socket.socket, seconds: float) -> float:
    """How long until the server closes ``sock`` (fails after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return time.monotonic() - started



def get_status(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict]:
    conn.putrequest("GET", path, skip_host=True)
    for line in signed("GET", path).decode().split("\r\n")[1:]:
        if line:
            conn.putheader(*line.split(": ", 1))
    conn.endheaders()
    response = conn.getresponse()
    return response.status, json.loads(response.read())

