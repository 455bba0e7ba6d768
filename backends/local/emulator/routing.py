"""Requests, responses and the route table of the Batch REST emulator.

Handlers are plain functions registered with :func:`route`; each gets the
:class:`Service` (engine and emulator state), the :class:`Request` and the
path's parameters, and returns a :class:`Response` or raises
``BatchApiError``. Engine errors become Batch errors in :func:`engine_errors`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote

from topwords.backends.local.engine import LocalBatchEngine, StateConflict
from topwords.core.errors import (
    ConfigError, JobNotFound, PoolError, PoolNotFound, ResourceExists, TaskNotFound,
    UnsupportedSetting,
)

from . import odata
from .errors import BatchApiError, bad_value, not_found, unsupported
from .limits import check_json_depth
from .versions import check_api_version

__all__ = ["Request", "Response", "Service", "dispatch", "engine_errors", "json_response",
           "list_response", "route", "wait_until_gone"]

JSON_TYPE = "application/json;odata=minimalmetadata"


@dataclass(frozen=True)
class Request:
    """One HTTP request, after authentication.

    Attributes:
        segments: the path's segments, percent-decoded.
        query: query parameters (first value of each, decoded).
        headers: lower-case names.
        base_url: ``http://host:port`` as the client addressed us.
    """

    method: str
    segments: tuple[str, ...]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    def json(self) -> Any:
        """The body as JSON (400 InvalidRequestBody if it is not, or if it
        nests deeper than ``limits.MAX_JSON_DEPTH``)."""
        check_json_depth(self.body)
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise BatchApiError(400, "InvalidRequestBody",
                                "The request body is not valid JSON.") from None

    def url(self, *segments: str) -> str:
        """The absolute URL of a resource path."""
        return self.base_url + "/" + "/".join(quote(s, safe="") for s in segments)


@dataclass
class Response:
    """What a handler answers; ``body`` is sent as is."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body).encode("utf-8"),
                    {"Content-Type": JSON_TYPE, **(headers or {})})


@dataclass
class Service:
    """What handlers share: the engine and the emulator's own state.

    Attributes:
        page_size: the most items one list page holds.
        max_nodes: the most nodes one pool may have.
        echo: ``("pool", id)`` / ``("job", id)`` -> the create body's
            properties the engine does not keep (see ``shapes``).
        task_echo: job id -> task id -> the same for tasks.
        delete_grace: seconds a DELETE waits for the pool or job to be gone
            before it answers 202, so that the SDK's poller usually finds a
            404 on its first check instead of sleeping its interval (5 s).
        schedules: the job schedules (``schedules.JobSchedules``), made on
            first use.
    """

    engine: LocalBatchEngine
    page_size: int = 1000
    max_nodes: int = 16
    delete_grace: float = 2.0
    echo: dict[tuple[str, str], dict] = field(default_factory=dict)
    task_echo: dict[str, dict[str, dict]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    schedules: Any = None


Handler = Callable[..., Response]
_ROUTES: list[tuple[str, re.Pattern, Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and a path pattern such as
    ``pools/{pool_id}/nodes`` (``{path*}`` takes the rest of the path)."""
    regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", pattern)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^{regex}$"), handler))
        return handler
    return register


def dispatch(service: Service, request: Request) -> Response:
    """Answer a request with its handler, or a Batch-style error."""
    check_api_version(request.query.get("api-version"))
    path = "/".join(request.segments)
    for method, regex, handler in _ROUTES:
        match = regex.match(path)
        if match and method == request.method:
            return handler(service, request, **match.groupdict())
    raise BatchApiError(501, "NotSupported",
                        f"The Batch emulator does not support {request.method} /{path}.",
                        {"Reason": "operation not emulated; see the README's list of what "
                                   "the emulator supports"})


@contextmanager
def engine_errors(kind: str, ident: str, job_id: str | None = None) -> Iterator[None]:
    """Engine (core) errors as Batch errors, for an operation on the
    ``kind`` (Pool, Job, Task) called ``ident`` (of job ``job_id``)."""
    try:
        yield
    except PoolNotFound:
        raise not_found("Pool", ident) from None
    except JobNotFound:
        raise not_found("Job", job_id or ident) from None
    except TaskNotFound:
        raise not_found("Task", ident) from None
    except ResourceExists:
        raise BatchApiError(409, f"{kind}Exists", f"The specified {kind.lower()} already "
                            "exists.", {f"{kind}Id": ident}) from None
    except StateConflict as exc:
        raise BatchApiError(409, exc.code, str(exc), {f"{kind}Id": ident}) from None
    except UnsupportedSetting as exc:  # e.g. container settings on process nodes
        raise unsupported(exc.setting, str(exc)) from None
    except ConfigError as exc:
        raise bad_value(kind.lower(), str(exc)) from None
    except PoolError as exc:  # e.g. the node image went missing: a 5xx would be retried
        raise BatchApiError(400, "InvalidPropertyValue", f"the emulator cannot run this: {exc}",
                            {"Reason": exc.hint or ""}) from None


def wait_until_gone(service: Service, lookup: Callable[[], object]) -> None:
    """Call ``lookup`` until it raises (the resource is gone) or
    ``service.delete_grace`` has passed."""
    deadline = time.monotonic() + service.delete_grace
    while time.monotonic() < deadline:
        try:
            lookup()
        except (PoolNotFound, JobNotFound):
            return
        time.sleep(0.02)


def list_response(request: Request, service: Service, items: list[dict],
                  metadata: str) -> Response:
    """Filter, page and select ``items`` (rendered resources) per the query."""
    keep = odata.compile_filter(request.query.get("$filter"))
    chosen = [item for item in items if keep(item)]
    body = odata.page(chosen, query=dict(request.query), page_size=service.page_size,
                      url=request.base_url + "/" + "/".join(request.segments),
                      metadata=f"{request.base_url}/$metadata#{metadata}")
    body["value"] = [odata.select(item, request.query.get("$select")) for item in body["value"]]
    return json_response(200, body)
