"""What the Batch REST emulator's handlers are made of: requests,
responses, :class:`Route` (one row of the route table in ``routes``), the
shared list and get handlers, and engine errors as Batch errors.

A handler is a plain function: it gets the :class:`Service` (engine and
emulator state), the :class:`Request` and the path's parameters, and returns
a :class:`Response` or raises ``BatchApiError``. List and get operations are
made by :func:`list_handler` and :func:`get_handler` from a function that
renders the resource(s), so ``$filter``, ``$select`` and paging are written
once. Engine errors become Batch errors in :func:`batch_error` (and
:func:`engine_errors`, its context manager).
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import quote

from topwords.backends.local.batch_engine import (
    BatchEngine, JobScheduleNotFound, StateConflict, TaskDependenciesNotEnabled,
)
from topwords.core.errors import (
    ConfigError, JobNotFound, PoolError, PoolNotFound, ResourceExists, TaskNotFound,
    UnsupportedSetting,
)

from . import odata
from .errors import BatchApiError, bad_value, not_found, unsupported
from .limits import check_json_depth
from .shapes import stamps

__all__ = ["Handler", "Request", "Response", "Route", "Service", "batch_error", "engine_errors",
           "get_handler", "json_response", "list_handler", "list_response", "wait_until_gone"]

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
        nests deeper than ``limits.MAX_JSON_DEPTH``), without the OData
        annotations (``odata.metadata``, ...) of an object: a client that
        sends back what it got (azure-batch's replace) sends them too, and
        Batch ignores them."""
        check_json_depth(self.body)
        try:
            body = json.loads(self.body or b"null")
        except ValueError:
            raise BatchApiError(400, "InvalidRequestBody",
                                "The request body is not valid JSON.") from None
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if not k.startswith("odata.")}
        return body

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
    """What handlers share: the engine and the emulator's settings. It keeps
    nothing per pool, job or task: their state, the Batch properties the
    engine does not act on included (``extras``), is in the engine's
    records, and so is every job schedule's.

    Attributes:
        engine: the ``BatchEngine`` behind the API.
        page_size: the most items one list page holds.
        max_nodes: the most nodes one pool may have.
        delete_grace: seconds a DELETE waits for the pool or job to be gone
            before it answers 202, so that the SDK's poller usually finds a
            404 on its first check instead of sleeping its interval (5 s).
        started: when the service started (the ``Last-Modified`` of a list
            whose items say nothing of their changes).
        conditional: held while a conditional request is checked and
            answered (see ``conditions``).
    """

    engine: BatchEngine
    page_size: int = 1000
    max_nodes: int = 16
    delete_grace: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    conditional: threading.Lock = field(default_factory=threading.Lock)


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """One operation of the route table: ``method`` and ``template`` (a path
    such as ``pools/{pool_id}/nodes``; ``{path*}`` takes the rest of the
    path) select ``handler``, which serves the Batch operation ``operation``
    (its operationId in the REST spec, e.g. ``Pools_ListPools``)."""

    method: str
    template: str
    operation: str
    handler: Handler

    @cached_property
    def pattern(self) -> re.Pattern:
        regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", self.template)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path's parameters if this route serves ``method`` on ``path``."""
        found = self.pattern.match(path) if method == self.method else None
        return found.groupdict() if found else None


def batch_error(exc: Exception, kind: str, ident: str,
                job_id: str | None = None) -> BatchApiError | None:
    """The Batch error for an engine (core) error of an operation on the
    ``kind`` (Pool, Job, Task, JobSchedule) called ``ident`` (of job ``job_id``); None
    for an exception that is not an engine error (a bug)."""
    if isinstance(exc, PoolNotFound):
        return not_found("Pool", ident)
    if isinstance(exc, JobNotFound):
        return not_found("Job", job_id or ident)
    if isinstance(exc, TaskNotFound):
        return not_found("Task", ident)
    if isinstance(exc, JobScheduleNotFound):
        return BatchApiError(404, "JobScheduleNotFound", "The specified job schedule does not "
                             "exist.", {"JobScheduleId": exc.schedule_id})
    if isinstance(exc, ResourceExists):
        noun = "job schedule" if kind == "JobSchedule" else kind.lower()
        return BatchApiError(409, f"{kind}Exists", f"The specified {noun} already exists.",
                             {f"{kind}Id": ident})
    if isinstance(exc, StateConflict):
        return BatchApiError(409, exc.code, str(exc), {f"{kind}Id": ident})
    if isinstance(exc, TaskDependenciesNotEnabled):
        return BatchApiError(400, "TaskDependenciesNotSpecifiedOnJob",
                             "The specified job does not have task dependencies enabled; "
                             "create it with usesTaskDependencies.",
                             {"JobId": exc.job_id, "TaskId": exc.task_id})
    if isinstance(exc, UnsupportedSetting):  # e.g. container settings on process nodes
        return unsupported(exc.setting, str(exc))
    if isinstance(exc, ConfigError):
        return bad_value(kind.lower(), str(exc))
    if isinstance(exc, PoolError):  # e.g. the node image went missing: a 5xx would be retried
        return BatchApiError(400, "InvalidPropertyValue", f"the emulator cannot run this: {exc}",
                             {"Reason": exc.hint or ""})
    return None


@contextmanager
def engine_errors(kind: str, ident: str, job_id: str | None = None) -> Iterator[None]:
    """Engine errors raised inside become Batch errors (see :func:`batch_error`)."""
    try:
        yield
    except Exception as exc:
        error = batch_error(exc, kind, ident, job_id)
        if error is None:
            raise
        raise error from None


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


# -- the shared list and get operations ------------------------------------------------

def list_response(request: Request, service: Service, items: Sequence[dict],
                  metadata: str) -> Response:
    """Filter, page and select ``items`` (rendered resources) per the query."""
    keep = odata.compile_filter(request.query.get("$filter"))
    chosen = [item for item in items if keep(item)]
    body = odata.page(chosen, query=dict(request.query), page_size=service.page_size,
                      url=request.base_url + "/" + "/".join(request.segments),
                      metadata=f"{request.base_url}/$metadata#{metadata}")
    body["value"] = [odata.select(item, request.query.get("$select")) for item in body["value"]]
    return json_response(200, body, stamps(_latest_change(items, service.started)))


def _latest_change(items: Sequence[dict], since: datetime) -> datetime:
    """A list's last change, for its ``ETag`` and ``Last-Modified``: the
    latest ``lastModified`` (or ``properties.lastModified``, for files) of
    its items, and never before ``since`` (the emulator's start: a list
    of items without one, or of none)."""
    latest = since
    for item in items:
        stamp = item.get("lastModified") or (item.get("properties") or {}).get("lastModified")
        if isinstance(stamp, str):
            try:
                when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
            except ValueError:
                continue
            latest = max(latest, when.replace(tzinfo=timezone.utc))
    return latest


def list_handler(items: Callable[..., Sequence[dict]], metadata: str) -> Handler:
    """A list operation: ``items(service, request, **path_parameters)``
    renders every item, in a stable order; ``$filter``, paging and
    ``$select`` are applied here. ``metadata``: the odata.metadata entity
    set (``pools``, ``tasks``, ...)."""
    def handler(service: Service, request: Request, **path: str) -> Response:
        return list_response(request, service, items(service, request, **path), metadata)
    handler.__name__ = handler.__qualname__ = f"list_{items.__name__.strip('_')}"
    handler.__doc__, handler.__wrapped__ = items.__doc__, items  # its signature is items'
    return handler


def get_handler(one: Callable[..., tuple[dict, datetime | None]], metadata: str) -> Handler:
    """A get operation: ``one(service, request, **path_parameters)``
    renders the resource and says when it last changed (for its ``ETag``
    and ``Last-Modified``; None: no such headers); ``$select`` is applied
    here. ``metadata``: the odata.metadata entity set (``pools``, ...),
    answered as ``<the address the client used>/$metadata#<set>/@Element``."""
    def handler(service: Service, request: Request, **path: str) -> Response:
        body, changed = one(service, request, **path)
        body = {"odata.metadata": f"{request.base_url}/$metadata#{metadata}/@Element",
                **odata.select(body, request.query.get("$select"))}
        return json_response(200, body, stamps(changed) if changed is not None else None)
    handler.__name__ = handler.__qualname__ = f"get_{one.__name__.strip('_')}"
    handler.__doc__, handler.__wrapped__ = one.__doc__, one  # its signature is one's
    return handler
