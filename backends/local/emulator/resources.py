"""The resource a request is about, found from its route's path
parameters: its URL path and when it last changed (its ``ETag`` and
``Last-Modified``), for conditional requests (``conditions``) and for the
headers the spec declares on an answer (:func:`complete_headers`).

The change times are the engine's records' (``modified``), a job
schedule's record's, a node's (its allocation and StartTask runs) or a
file's (its listing entry; links are never followed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from topwords.core.errors import JobNotFound, PoolNotFound, TaskNotFound

from ..batch_engine import JobScheduleNotFound
from . import declared, shapes
from .errors import BatchApiError
from .routing import Request, Response, Service

__all__ = ["Resource", "complete_headers", "node_changed", "resource_of"]

_ABSENT = (PoolNotFound, JobNotFound, TaskNotFound, JobScheduleNotFound, BatchApiError)


@dataclass(frozen=True)
class Resource:
    """``segments``: its URL path; ``modified``: its last change."""

    segments: tuple[str, ...]
    modified: datetime


def node_changed(record) -> datetime:
    """A node's last known change: its allocation or its StartTask's last
    start or end."""
    run = record.start_task
    times = [record.allocated] + ([run.start_time, run.end_time] if run else [])
    return max(t for t in times if t is not None)


def resource_of(service: Service, params: Mapping[str, str]) -> Resource | None:
    """The resource a route's path parameters name (a file, task, node,
    job schedule, job or pool, the most specific first); None when they name
    none or it does not exist (its handler answers the 404)."""
    try:
        return _lookup(service, params)
    except _ABSENT:
        return None


def _lookup(service: Service, p: Mapping[str, str]) -> Resource | None:
    engine = service.engine
    if "job_id" in p and "task_id" in p:
        owner = ("jobs", p["job_id"], "tasks", p["task_id"])
        if "path" in p:
            return _file(engine.task_dir(p["job_id"], p["task_id"]), owner, p["path"])
        return Resource(owner, engine.task_record(p["job_id"], p["task_id"]).modified)
    if "pool_id" in p and "node_id" in p:
        owner = ("pools", p["pool_id"], "nodes", p["node_id"])
        if "path" in p:
            return _file(engine.node_dir(p["pool_id"], p["node_id"]), owner, p["path"])
        for record in engine.node_records(p["pool_id"]):
            if record.info.id == p["node_id"]:
                return Resource(owner, node_changed(record))
        return None
    if "job_schedule_id" in p:
        record = engine.job_schedule_record(p["job_schedule_id"])
        return Resource(("jobschedules", p["job_schedule_id"]), record.modified)
    if "job_id" in p:
        return Resource(("jobs", p["job_id"]), engine.job_record(p["job_id"]).modified)
    if "pool_id" in p:
        return Resource(("pools", p["pool_id"]), engine.pool_record(p["pool_id"]).modified)
    return None


def _file(root, owner: tuple[str, ...], path: str) -> Resource | None:
    entry = root.entry(path) if root is not None else None
    return Resource(owner + ("files", path), entry.modified) if entry is not None else None


def complete_headers(service: Service, request: Request, operation: str,
                     params: Mapping[str, str], response: Response) -> Response:
    """Add the ``ETag``, ``Last-Modified`` and ``DataServiceId`` headers
    that the spec declares for ``operation``'s answer and its handler left
    out, from the resource the path names (as it is now, after the change).
    Headers the handler set are kept."""
    wanted = declared.response_headers(operation, response.status)
    missing = {"ETag", "Last-Modified", "DataServiceId"} & wanted - set(response.headers)
    if not missing:
        return response
    resource = resource_of(service, params)
    if resource is None:
        return response
    found = {**shapes.stamps(resource.modified), "DataServiceId": request.url(*resource.segments)}
    response.headers.update({name: found[name] for name in missing})
    return response
