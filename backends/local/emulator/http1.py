"""HTTP/1.1 on asyncio streams, as much of it as the Batch emulator needs:
read one request head within the front door's limits and time, and render
an answer.

A head is a request line (``METHOD /target HTTP/1.1``) and header lines,
each ending in CRLF (or LF), then an empty line. Everything else is refused
with a Batch error (and the connection is then closed): a target that is not
a path, header lines without a name, with obsolete folding or with CR or NUL
inside (they could forge headers in an answer that repeats them), more or
longer lines than ``Limits`` allows, another HTTP version.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Mapping

from .errors import BatchApiError
from .limits import Limits

__all__ = ["CONTINUE", "Head", "read_head", "render"]

SERVER = "TopwordsBatchEmulator/1.0"
#: the interim answer to ``Expect: 100-continue``
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(r"/[\x21-\x7e]*")
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")


@dataclass(frozen=True)
class Head:
    """A request line and its headers.

    Attributes:
        target: the request target as sent (``/path?query``).
        headers: lower-case names; a repeated header keeps its last value,
            except Content-Length and Transfer-Encoding, whose differing
            values are joined with ", " (so that a conflict is refused).
    """

    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept for another request."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        return "keep-alive" in tokens if self.version == "HTTP/1.0" else "close" not in tokens


async def read_head(reader: asyncio.StreamReader, limits: Limits) -> Head | None:
    """The next request's head.

    Returns:
        None if the client closed the connection, or sent no request line
        within ``limits.idle_timeout`` seconds.
    Raises:
        BatchApiError: 400, 414, 431 or 505 for a malformed head.
        TimeoutError: the header lines took longer than ``limits.head_timeout``.
        EOFError: the client closed the connection within the head.
    """
    try:
        line = await asyncio.wait_for(_request_line(reader), limits.idle_timeout)
    except asyncio.TimeoutError:
        return None
    if line is None:
        return None
    method, target, version = _parse_request_line(line)
    headers = await asyncio.wait_for(_header_lines(reader, limits, len(line)),
                                     limits.head_timeout)
    return Head(method, target, version, headers)


async def _line(reader: asyncio.StreamReader, too_long: int) -> str | None:
    """One line without its line end; None at the end of the stream."""
    try:
        raw = await reader.readline()
    except ValueError:  # longer than the reader's limit
        raise _bad(too_long, "the request line or a header line is too long") from None
    if not raw.endswith(b"\n"):
        return None
    return raw.decode("latin-1").rstrip("\n").removesuffix("\r")


async def _request_line(reader: asyncio.StreamReader) -> str | None:
    for _ in range(3):  # empty lines before a request line are ignored (RFC 9112, 2.2)
        line = await _line(reader, 414)
        if line is None or line:
            return line
    raise _bad(400, "no request line")


def _parse_request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise _bad(400, "the request line is not 'METHOD /path HTTP/1.1'")
    if parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise _bad(505 if _VERSION.fullmatch(parts[2]) else 400,
                   "only HTTP/1.1 and HTTP/1.0 are spoken")
    return parts[0], parts[1], parts[2]


async def _header_lines(reader: asyncio.StreamReader, limits: Limits,
                        used: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(limits.max_headers + 1):
        line = await _line(reader, 431)
        if line is None:
            raise EOFError("the client closed the connection within the request head")
        if not line:
            return headers
        used += len(line) + 2
        if used > limits.max_head:
            raise _bad(431, "the request's headers are too large")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name) or "\r" in value or "\x00" in value:
            raise _bad(400, "a header line is not 'Name: value'")
        name, value = name.lower(), value.strip(" \t")
        if name in ("content-length", "transfer-encoding") and headers.get(name, value) != value:
            value = f"{headers[name]}, {value}"
        headers[name] = value
    raise _bad(431, f"more than {limits.max_headers} header lines")


def _bad(status: int, reason: str) -> BatchApiError:
    code = {414: "RequestUrlTooLong", 431: "RequestHeaderTooLarge",
            505: "UnsupportedHttpVersion"}.get(status, "InvalidRequest")
    return BatchApiError(status, code, "The request is not a well-formed HTTP/1.1 request.",
                         {"Reason": reason})


def render(status: int, headers: Mapping[str, str], body: bytes = b"", *,
           send_body: bool = True) -> bytes:
    """An answer's bytes: status line, ``Server`` and ``Date``, ``headers``
    (the caller sets Content-Length) and, unless ``send_body`` is false
    (HEAD), the body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {status} {reason}", f"Server: {SERVER}",
             f"Date: {formatdate(usegmt=True)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head + body if send_body else head
