"""What the emulator's front door allows a client: sizes, depths, time and
connections, and the checks of a request's body size and JSON depth (the
body's framing is h11's, see ``http1``).

Anything on the machine's loopback can reach the emulator, task code
included, so nothing a client sends may make it buffer without bound, hold
a thread, or recurse without bound.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Awaitable, TypeVar

from .errors import BatchApiError

__all__ = ["Limits", "MAX_BODY", "MAX_JSON_DEPTH", "check_body_size", "check_json_depth",
           "within"]

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
        max_line / max_head / max_headers: the longest request line (414),
            the most bytes of request line and headers together (431; h11's
            ``max_incomplete_event_size``), the most header lines (431).
        workers: threads that run handlers (a fixed pool; connections do
            not get threads).
        max_connections: open connections; the next one is answered 503
            ServerBusy and closed.
        idle_timeout: seconds a connection (new or kept alive) may wait
            before it sends the first bytes of a request; above the
            azure-batch SDK's polling interval (5 s), so its pollers keep
            their connection.
        head_timeout: seconds the rest of the request line and headers may
            take after their first bytes (a slowly trickled head: Slowloris).
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


T = TypeVar("T")
_timeout = getattr(asyncio, "timeout", None)  # Python 3.11+


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, or TimeoutError after ``seconds``: with
    ``asyncio.timeout`` where there is one (no task per call, unlike
    ``asyncio.wait_for`` before Python 3.12), else ``asyncio.wait_for``."""
    if _timeout is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with _timeout(seconds):
        return await awaitable


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
