"""The HTTP side of the Batch REST emulator: a standard-library threading
HTTP/1.1 server that reads each request, checks its shared-key signature,
hands it to the route table and writes the answer with the headers the
azure-batch SDK reads (``request-id``, ``client-request-id``, ``ETag``,
``Last-Modified``, ...). Every failure is a Batch error body; nothing hangs.
"""

from __future__ import annotations

import logging
import sys
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from . import job_routes, pool_routes  # noqa: F401  (they register their routes)
from .auth import authenticate
from .errors import BatchApiError, error_body
from .routing import Request, Response, Service, dispatch, json_response

__all__ = ["BatchHttpServer", "MAX_BODY"]

#: Batch refuses request bodies of 1 MB and more (413 RequestBodyTooLarge)
MAX_BODY = 1024 * 1024
#: larger bodies than this are not even read: the connection is closed
_DRAIN_LIMIT = 64 * 1024 * 1024

log = logging.getLogger("topwords.emulator")


class BatchHttpServer(ThreadingHTTPServer):
    """Serves the Batch API of ``service`` for ``accounts`` (name -> key).

    Args:
        address: ``(host, port)``; port 0 picks a free one.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service,
                 accounts: Mapping[str, str]) -> None:
        super().__init__(address, _Handler)
        self.service, self.accounts = service, dict(accounts)

    def handle_error(self, request, client_address) -> None:
        """A client that went away is not an error worth a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("connection from %s ended: %s", client_address, exc)
        else:
            log.exception("emulator error serving %s", client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TopwordsBatchEmulator/1.0"
    timeout = 300  # an idle keep-alive connection is closed after this
    server: BatchHttpServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        request_id = str(uuid.uuid4())
        try:
            body = self._read_body()
            authenticate(self.command, self.path, dict(self.headers.items()),
                         self.server.accounts)
            response = dispatch(self.server.service, self._request(body))
        except BatchApiError as exc:
            response = self._error(exc, request_id)
        except Exception:  # a bug: answer 500 and log it, never hang
            log.exception("emulator error on %s %s", self.command, urlsplit(self.path).path)
            response = self._error(BatchApiError(500, "ServerError", "The Batch emulator "
                                                 "failed on this request (see its log)."),
                                   request_id)
        log.info("%s %s -> %d", self.command, urlsplit(self.path).path, response.status)
        self._send(response, request_id)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length < MAX_BODY:
            return self.rfile.read(length) if length else b""
        if length > _DRAIN_LIMIT:
            self.close_connection = True
        else:
            while length > 0:  # read it all, so the connection stays usable
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)
        raise BatchApiError(413, "RequestBodyTooLarge", "The request body is too large and "
                            "exceeds the maximum permissible limit.",
                            {"MaxLimit": str(MAX_BODY)})

    def _request(self, body: bytes) -> Request:
        url = urlsplit(self.path)
        segments = tuple(unquote(s) for s in url.path.split("/") if s)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(method=self.command, segments=segments, query=query,
                       headers={k.lower(): v for k, v in self.headers.items()},
                       body=body, base_url=f"http://{host}")

    def _error(self, exc: BatchApiError, request_id: str) -> Response:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = error_body(exc, f"\nRequestId:{request_id}\nTime:{now}")
        body["odata.metadata"] = (f"{self.server.url}/$metadata#Microsoft.Azure.Batch.Protocol"
                                  ".Entities.Container.errors/@Element")
        return json_response(exc.status, body)

    def _send(self, response: Response, request_id: str) -> None:
        self.send_response(response.status)
        headers = {"request-id": request_id, "DataServiceVersion": "3.0",
                   **response.headers}
        client_id = self.headers.get("client-request-id")
        if client_id:
            headers["client-request-id"] = client_id
        if self.command == "HEAD":
            headers.setdefault("Content-Length", "0")
        else:
            headers["Content-Length"] = str(len(response.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
