"""What the emulator's front door allows a client: sizes, depths, time and
connections, and the checks of a request's body framing and JSON depth.

Anything on the machine's loopback can reach the emulator, task code
included, so nothing a client sends may make it buffer without bound, hold
a thread, or recurse without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .errors import BatchApiError

__all__ = ["Limits", "MAX_BODY", "MAX_JSON_DEPTH", "body_length", "check_body_size",
           "check_json_depth"]

#: Batch refuses request bodies of 1 MB and more (413 RequestBodyTooLarge)
MAX_BODY = 1024 * 1024
#: the deepest JSON body accepted; Batch's own bodies nest about 8 deep
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class Limits:
    """The front door's limits (the defaults are the emulator's; tests
    shrink them).

    Attributes:
        max_body: bytes; a body this large or larger is answered 413 before
            it is read.
        max_line / max_head / max_headers: the longest request line or
            header line, the most bytes of request line and headers together,
            the most header lines (as http.server allows).
        workers: threads that run handlers (a fixed pool; connections do
            not get threads).
        max_connections: open connections; the next one is answered 503
            ServerBusy and closed.
        idle_timeout: seconds a connection (new or kept alive) may wait
            before it sends a request line; above the azure-batch SDK's
            polling interval (5 s), so its pollers keep their connection.
        head_timeout: seconds the header lines may take after the request
            line (slowly trickled headers: Slowloris).
        body_timeout: seconds the body may take after the headers.
        write_timeout: seconds a client may take to read an answer.
    """

    max_body: int = MAX_BODY
    max_line: int = 65536
    max_head: int = 65536
    max_headers: int = 100
    max_json_depth: int = MAX_JSON_DEPTH
    workers: int = 32
    max_connections: int = 512
    idle_timeout: float = 8.0
    head_timeout: float = 5.0
    body_timeout: float = 10.0
    write_timeout: float = 30.0


_DIGITS = re.compile(r"[0-9]{1,18}")
_ECHO = 32  # the most of a bad header value an error repeats


def body_length(headers: Mapping[str, str]) -> int:
    """The length of a request's body from its headers (lower-case names).

    Without Content-Length (and without Transfer-Encoding) a request has no
    body (RFC 9112, 6.3): real clients send DELETE and body-less POSTs so.

    Raises:
        BatchApiError: 411 MissingContentLengthHeader for Transfer-Encoding
            (chunked bodies are refused: every Batch client sends
            Content-Length); 400 InvalidHeaderValue for a Content-Length that
            is empty, negative, not a number or given twice differently.
    """
    if "transfer-encoding" in headers:
        raise BatchApiError(411, "MissingContentLengthHeader",
                            "The Content-Length header was not specified.",
                            {"HeaderName": "Content-Length",
                             "Reason": "Transfer-Encoding is not supported; send the body "
                                       "with a Content-Length"})
    raw = headers.get("content-length")
    if raw is None:
        return 0
    if not _DIGITS.fullmatch(raw.strip()):
        raise BatchApiError(400, "InvalidHeaderValue",
                            "The value provided for one of the HTTP headers was not in the "
                            "correct format.",
                            {"HeaderName": "Content-Length", "HeaderValue": raw[:_ECHO],
                             "Reason": "not a number of bytes"})
    return int(raw)


def check_body_size(length: int, limits: Limits) -> None:
    """Raises: BatchApiError 413 RequestBodyTooLarge for ``length`` bytes
    of ``limits.max_body`` or more."""
    if length >= limits.max_body:
        raise BatchApiError(413, "RequestBodyTooLarge", "The request body is too large and "
                            "exceeds the maximum permissible limit.",
                            {"MaxLimit": str(limits.max_body)})


# a JSON string (escapes included) or one bracket: strings are skipped whole
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def check_json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a JSON document nested deeper than ``limit`` before it is
    parsed (the parser would recurse once per level).

    Raises:
        BatchApiError: 400 InvalidRequestBody.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    depth = 0
    for match in _STRUCTURE.finditer(body):
        char = match.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise BatchApiError(400, "InvalidRequestBody",
                                    "The request body is not valid JSON.",
                                    {"Reason": f"nested deeper than {limit} levels"})
        elif char in (b"]", b"}"):
            depth -= 1
