"""HTTP/1.1 for the Batch emulator, spoken through h11 (python-hyper's
sans-IO HTTP/1.1 library): :class:`HttpConnection` reads request heads and
bodies from one client's asyncio stream within the front door's limits and
renders the answers. The framing rules are h11's; what it refuses is
answered with the emulator's Batch error bodies.

Refused with a Batch error (the server then closes the connection): a
request line or header line h11 does not accept (no colon, a space before
the colon, CR or NUL inside a value, a folded line at the start of the
headers, an empty line before the request line), an HTTP/1.1 request
without exactly one Host header, a target that is not a path (400
InvalidRequest); an HTTP version other than 1.0 and 1.1
(505); a request line, header lines or a head larger than :class:`Limits`
allows (414, 431); a Content-Length that is not one number (400
InvalidHeaderValue); any Transfer-Encoding, with or without a Content-Length
(411: every Batch client sends Content-Length, and a request with both is a
smuggling attempt). h11 unfolds obsolete line folding inside the headers
(RFC 9112, 5.2 allows it; the folded value then holds a space, never a line
end). An HTTP/1.0 request is answered and its connection closed (h11 keeps
no HTTP/1.0 connection alive).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Mapping

import h11

from .errors import BatchApiError
from .limits import Limits, within

__all__ = ["Head", "HttpConnection"]

SERVER = b"TopwordsBatchEmulator/1.0"

_READ = 65536  # bytes asked of the stream at a time
_ECHO = 32  # the most of a bad header value an error repeats
_HEAD_END = re.compile(rb"\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length:([^\n]*)$", re.IGNORECASE | re.MULTILINE)
_LENGTH = re.compile(rb"[0-9]{1,20}")  # as h11 allows
_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


@dataclass(frozen=True)
class Head:
    """A request line and its headers, as h11 read them.

    Attributes:
        target: the request target as sent (``/path?query``).
        headers: lower-case names; a repeated header keeps its last value
            (h11 has refused differing Content-Lengths and a second Host).
        length: the body's length in bytes (0 without a Content-Length).
    """

    method: str
    target: str
    headers: dict[str, str]
    length: int


class HttpConnection:
    """One client connection's HTTP/1.1: heads, bodies and answers, one
    request after another (keep-alive), through an ``h11.Connection``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 limits: Limits) -> None:
        self._reader, self._writer, self._limits = reader, writer, limits
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_head)
        self._raw: list[bytes] | None = None  # the bytes of the head being read
        self._fed = 0
        self._method = b""

    async def read_head(self) -> Head | None:
        """The next request's head; a request without a body is then read
        whole, a body is left unread (:meth:`read_body`).

        Returns:
            None if the client closed the connection, or sent nothing within
            ``limits.idle_timeout`` seconds.
        Raises:
            BatchApiError: 400, 411, 414, 431 or 505 for a head that is
                refused (see the module's docstring).
            TimeoutError: the head took longer than ``limits.head_timeout``
                seconds from its first bytes.
            EOFError: the client closed the connection within the head.
        """
        leftover = self._h11.trailing_data[0]  # a pipelined request's first bytes
        self._raw, self._fed, self._method = [leftover], len(leftover), b""
        try:
            if not leftover:
                try:
                    data = await within(self._limits.idle_timeout, self._reader.read(_READ))
                except (TimeoutError, asyncio.TimeoutError):
                    return None
                if not data:
                    return None
                self._feed(data)
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                event = await within(self._limits.head_timeout, self._event())
            return self._head(event)
        except h11.RemoteProtocolError as exc:
            raise self._refusal(exc) from None
        finally:
            self._raw = None

    async def read_body(self, head: Head) -> bytes:
        """The body of the request ``head`` came with, after an interim
        ``100 Continue`` if the client waits for one.

        Raises:
            BatchApiError: 417 for an ``Expect`` other than 100-continue.
            TimeoutError: the body took longer than ``limits.body_timeout``.
            EOFError: the client closed the connection within the body.
        """
        if not head.length:
            return b""
        expect = head.headers.get("expect", "").lower()
        if expect and expect != "100-continue":
            raise BatchApiError(417, "UnsupportedHeader", "One of the HTTP headers specified "
                                "in the request is not supported.", {"HeaderName": "Expect"})
        if self._h11.they_are_waiting_for_100_continue:
            self._writer.write(self._h11.send(h11.InformationalResponse(
                status_code=100, headers=[], reason=b"Continue")))
        return await within(self._limits.body_timeout, self._body())

    def answer(self, status: int, headers: Mapping[str, str], body: bytes) -> bytes:
        """An answer's bytes: status line, ``Server`` and ``Date``,
        ``headers`` (the caller sets Content-Length; ``Connection: close``
        ends the connection after it) and the body, none to a HEAD."""
        fields = [(b"Server", SERVER), (b"Date", formatdate(usegmt=True).encode("ascii"))]
        fields += [(name.encode("latin-1"), value.encode("latin-1", "replace"))
                   for name, value in headers.items()]
        data = self._h11.send(h11.Response(status_code=status, headers=fields,
                                           reason=_REASONS.get(status, b"")))
        if body and self._method != b"HEAD":
            data += self._h11.send(h11.Data(data=body))
        return data + self._h11.send(h11.EndOfMessage())

    def next_cycle(self) -> bool:
        """After an answer: whether the connection serves another request
        (both sides done, nobody asked to close)."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    # -- reading -----------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        self._h11.receive_data(data)
        if self._raw is not None:
            self._raw.append(data)
            self._fed += len(data)

    async def _event(self) -> h11.Event:
        """The next event, reading from the stream until h11 has one."""
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self._reader.read(_READ)
            if not data:  # not given to h11: its "unexpectedly closed" is no answer
                raise EOFError("the client closed the connection within a request")
            self._feed(data)

    async def _body(self) -> bytes:
        parts = []
        while type(event := await self._event()) is h11.Data:
            parts.append(event.data)
        return b"".join(parts)

    def _head(self, event: h11.Event) -> Head:
        assert type(event) is h11.Request, event
        self._method = event.method
        limits = self._limits
        if len(event.method) + len(event.target) + 10 > limits.max_line:
            raise _bad(414, "the request line is too long")
        if self._fed > limits.max_head and (
                self._fed - len(self._h11.trailing_data[0]) > limits.max_head):
            raise _bad(431, "the request's headers are too large")
        if len(event.headers) > limits.max_headers:
            raise _bad(431, f"more than {limits.max_headers} header lines")
        if event.http_version not in (b"1.1", b"1.0"):
            raise _bad(505, "only HTTP/1.1 and HTTP/1.0 are spoken")
        if not event.target.startswith(b"/"):
            raise _bad(400, "the request target is not a path")
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in event.headers}
        if "transfer-encoding" in headers:
            raise _chunked()
        length = int(headers.get("content-length", 0))
        if not length:
            end = self._h11.next_event()  # no Data to wait for
            assert type(end) is h11.EndOfMessage, end
        return Head(event.method.decode("ascii"), event.target.decode("ascii"), headers,
                    length)

    def _refusal(self, exc: h11.RemoteProtocolError) -> BatchApiError:
        """The Batch error for a head h11 refused, from the bytes it was in."""
        raw = b"".join(self._raw or ())
        end = _HEAD_END.search(raw)
        head = raw[:end.start()] if end else raw
        limits = self._limits
        if len(head.split(b"\n", 1)[0]) > limits.max_line:
            return _bad(414, "the request line is too long")
        if len(head) > limits.max_head or head.count(b"\n") > limits.max_headers:
            return _bad(431, "the request's headers are too large or too many")
        lengths = [value.strip(b" \t\r") for value in _CONTENT_LENGTH.findall(head)]
        numbers = {part.strip() for value in lengths for part in value.split(b",")}
        if lengths and (len(numbers) != 1 or not _LENGTH.fullmatch(numbers.pop())):
            return BatchApiError(400, "InvalidHeaderValue", "The value provided for one of "
                                 "the HTTP headers was not in the correct format.",
                                 {"HeaderName": "Content-Length",
                                  "HeaderValue": b", ".join(lengths)[:_ECHO].decode("latin-1"),
                                  "Reason": "not a number of bytes"})
        if exc.error_status_hint == 501:  # a Transfer-Encoding h11 does not know
            return _chunked()
        return _bad(400, "the request line or a header line is malformed, or an HTTP/1.1 "
                         "request has not exactly one Host header")


def _chunked() -> BatchApiError:
    return BatchApiError(411, "MissingContentLengthHeader",
                         "The Content-Length header was not specified.",
                         {"HeaderName": "Content-Length",
                          "Reason": "Transfer-Encoding is not supported; send the body "
                                    "with a Content-Length"})


def _bad(status: int, reason: str) -> BatchApiError:
    code = {414: "RequestUrlTooLong", 431: "RequestHeaderTooLarge",
            505: "UnsupportedHttpVersion"}.get(status, "InvalidRequest")
    return BatchApiError(status, code, "The request is not a well-formed HTTP/1.1 request.",
                         {"Reason": reason})
