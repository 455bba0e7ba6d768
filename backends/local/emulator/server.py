"""The HTTP side of the Batch REST emulator: reads each request (HTTP/1.1
through h11, see ``http1``), checks its shared-key signature, hands it to the
route table (``routes``) and writes the answer with the headers the azure-batch
SDK reads (``request-id``, ``client-request-id`` when
``return-client-request-id`` is true, ``ETag``, ``Last-Modified``, ...).
Every failure is a Batch error body.

Anything on the machine's loopback can reach it, task code included, so the
front door is built not to be held (the numbers are :class:`Limits`):

- one asyncio event loop reads every connection (a coroutine each, not a
  thread) and a fixed pool of worker threads runs the handlers; past
  ``max_connections`` open connections the next is answered 503 ServerBusy
  and closed;
- a connection that sends nothing in ``idle_timeout`` seconds, no complete
  request line and headers ``head_timeout`` seconds after their first bytes,
  or no complete body in ``body_timeout`` seconds, is closed (slow senders:
  Slowloris);
- a request is authenticated from its request line and headers *before* its
  body is read; a request that is refused before its body is read (bad
  credentials, bad framing, a body of 1 MB or more) is answered and its
  connection closed, the body unread;
- JSON bodies and ``$filter`` expressions have a depth limit (see
  ``limits`` and ``odata``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from .auth import authenticate
from .errors import BatchApiError, error_body
from .http1 import Head, HttpConnection
from .limits import MAX_BODY, Limits, check_body_size, within
from .routes import dispatch
from .routing import Request, Response, Service, json_response

__all__ = ["BatchHttpServer", "Limits", "MAX_BODY"]

log = logging.getLogger("topwords.emulator")

#: the client went away, or was too slow: its connection is closed
_GONE = (ConnectionError, EOFError, TimeoutError, asyncio.TimeoutError)


class BatchHttpServer:
    """Serves the Batch API of ``service`` for ``accounts`` (name -> key).

    Used as socketserver's servers are: :meth:`serve_forever` in a thread,
    :meth:`shutdown` from another, then :meth:`server_close`.

    Args:
        address: ``(host, port)``; port 0 picks a free one. The socket
            listens when the constructor returns.
        limits: the front door's limits (default: :class:`Limits`' own).
    """

    def __init__(self, address: tuple[str, int], service: Service,
                 accounts: Mapping[str, str], limits: Limits | None = None) -> None:
        self.service, self.accounts = service, dict(accounts)
        self.limits = limits or Limits()
        self.socket = socket.create_server(address, backlog=128)
        self.server_address = self.socket.getsockname()[:2]
        self._workers = ThreadPoolExecutor(self.limits.workers,
                                           thread_name_prefix="batch-emulator-worker")
        self._connections: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closing = False
        self._stopped = threading.Event()
        #: set by ``BatchEmulator.recording`` (tests only): something with
        #: ``record(method, target, request_headers, status, headers, body)``
        #: that is told every answer; None (the default) costs nothing
        self.recorder = None

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    # -- lifetime ------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval`` is socketserver's
        argument; it is not needed here)."""
        try:
            asyncio.run(self._serve())
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` (closing every connection) and wait
        until it has returned. Idempotent."""
        with self._lock:
            self._closing = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has already ended
                pass
            self._stopped.wait()

    def server_close(self) -> None:
        """Close the listening socket; handlers still running finish."""
        self.socket.close()
        self._workers.shutdown(wait=False, cancel_futures=True)

    async def _serve(self) -> None:
        stop = asyncio.Event()
        with self._lock:
            if self._closing:
                return
            self._loop, self._stop = asyncio.get_running_loop(), stop
        server = await asyncio.start_server(self._connection, sock=self.socket)
        try:
            await stop.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    # -- one connection, one request -------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        http = HttpConnection(reader, writer, self.limits)
        try:
            if len(self._connections) > self.limits.max_connections:
                busy = BatchApiError(503, "ServerBusy", "The server is currently unable to "
                                     "receive requests. Please retry your request.")
                await self._write(writer, self._answer_bytes(http, None, busy, close=True))
                return
            while await self._exchange(http, writer):
                pass
        except _GONE:
            pass  # the client went away, or was too slow
        except asyncio.CancelledError:
            pass  # shutdown (ending normally: asyncio logs a cancelled connection task)
        except Exception:  # a bug: log it, close the connection
            log.exception("emulator error on a connection")
        finally:
            self._connections.discard(task)
            writer.close()

    async def _exchange(self, http: HttpConnection, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection stays open."""
        try:
            head = await http.read_head()
        except BatchApiError as exc:
            await self._write(writer, self._answer_bytes(http, None, exc, close=True))
            return False
        if head is None:
            return False
        read = not head.length  # a request without a body has been read whole
        try:
            authenticate(head.method, head.target, head.headers, self.accounts)
            check_body_size(head.length, self.limits)
            body = await http.read_body(head)
            read = True
            request = self._request(head, body)
            response = await asyncio.get_running_loop().run_in_executor(
                self._workers, self._handle, request)
        except BatchApiError as exc:
            response = exc
        await self._write(writer, self._answer_bytes(http, head, response, close=not read))
        if not read:  # the answer goes out before the reset that closing may send
            try:
                writer.write_eof()
            except OSError:
                pass
        return http.next_cycle()

    def _handle(self, request: Request) -> Response | BatchApiError:
        """Run the request's handler (in a worker thread)."""
        try:
            return dispatch(self.service, request)
        except BatchApiError as exc:
            return exc
        except Exception:  # a bug: answer 500 and log it, never hang
            log.exception("emulator error on %s /%s", request.method, "/".join(request.segments))
            return BatchApiError(500, "ServerError", "The Batch emulator failed on this "
                                 "request (see its log).")

    def _request(self, head: Head, body: bytes) -> Request:
        url = urlsplit(head.target)
        segments = tuple(unquote(s) for s in url.path.split("/") if s)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        return Request(method=head.method, segments=segments, query=query,
                       headers=dict(head.headers), body=body, base_url=self._base_url(head))

    def _base_url(self, head: Head | None) -> str:
        """``http://<host>``: the address the client used (its ``Host``
        header), for the URLs in answers (odata.metadata, nextLink, url)."""
        host = head.headers.get("host") if head else None
        return f"http://{host}" if host else self.url

    # -- answers -----------------------------------------------------------------------

    def _answer_bytes(self, http: HttpConnection, head: Head | None,
                      response: Response | BatchApiError, *, close: bool) -> bytes:
        request_id = str(uuid.uuid4())
        if isinstance(response, BatchApiError):
            response = self._error(response, request_id, self._base_url(head))
        headers = {"request-id": request_id, "DataServiceVersion": "3.0", **response.headers}
        if head and head.headers.get("return-client-request-id", "").strip().lower() == "true":
            client_id = head.headers.get("client-request-id")
            if client_id:  # echoed only on request, as Batch does
                headers["client-request-id"] = client_id
        method = head.method if head else "?"
        if method == "HEAD":
            headers.setdefault("Content-Length", "0")
        else:
            headers["Content-Length"] = str(len(response.body))
        if close:
            headers["Connection"] = "close"
        path = urlsplit(head.target).path if head else "-"
        log.info("%s %s -> %d", method, path, response.status)
        recorder = self.recorder
        if recorder is not None and head is not None:
            recorder.record(method, head.target, head.headers, response.status, headers,
                            b"" if method == "HEAD" else response.body)  # as on the wire
        return http.answer(response.status, headers, response.body)

    def _error(self, exc: BatchApiError, request_id: str, base_url: str) -> Response:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = error_body(exc, f"\nRequestId:{request_id}\nTime:{now}")
        body["odata.metadata"] = (f"{base_url}/$metadata#Microsoft.Azure.Batch.Protocol"
                                  ".Entities.Container.errors/@Element")
        response = json_response(exc.status, body)
        if exc.status == 503:
            response.headers["Retry-After"] = "1"
        return response

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        if writer.transport.get_write_buffer_size():  # the kernel did not take it all
            await within(self.limits.write_timeout, writer.drain())
