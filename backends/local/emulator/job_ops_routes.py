"""Batch REST operations that change jobs and tasks after they were created:
disable and enable a job, update (PUT), delete and reactivate a task. The
engine does the work (``BatchEngine.disable_job`` ... ``reactivate_task``);
these handlers parse, call it once and answer as the service does."""

from __future__ import annotations

from . import shapes
from .errors import bad_value, missing, unsupported
from .routing import Request, Response, Service, engine_errors

#: Batch's ``disableTasks`` values, as the spec spells them
_DISABLE_TASKS = ("requeue", "terminate", "wait")


def _changed(request: Request, when, *segments: str) -> dict[str, str]:
    return {**shapes.stamps(when), "DataServiceId": request.url(*segments)}


def disable_job(service: Service, request: Request, job_id: str) -> Response:
    body = shapes.require_object(request.json())
    if "disableTasks" not in body:
        raise missing("disableTasks")
    option = body["disableTasks"]
    if not isinstance(option, str) or option.lower() not in _DISABLE_TASKS:
        raise bad_value("disableTasks", "must be requeue, terminate or wait", option)
    with engine_errors("Job", job_id):
        record = service.engine.disable_job(job_id, option.lower())
    return Response(202, headers=_changed(request, record.modified, "jobs", job_id))


def enable_job(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        record = service.engine.enable_job(job_id)
    return Response(202, headers=_changed(request, record.modified, "jobs", job_id))


def replace_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    """Only ``constraints`` can change (Batch's BatchTaskUpdateOptions);
    ``retentionTime`` is kept and shown (task directories here go with their
    job or node, not after it)."""
    body = shapes.require_object(request.json())
    for name in body:
        if name != "constraints":
            raise unsupported(name, "only constraints can be updated")
    constraints = body.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise bad_value("constraints", "must be an object")
    changes: dict = {}
    if constraints.get("maxTaskRetryCount") is not None:
        retries = shapes.integer_value(constraints["maxTaskRetryCount"],
                                       "constraints.maxTaskRetryCount")
        if retries == -1:
            raise unsupported("constraints.maxTaskRetryCount",
                              "unlimited retries are not supported")
        if retries < 0:
            raise bad_value("constraints.maxTaskRetryCount", "must be -1 or more", retries)
        changes["max_task_retry_count"] = retries
    if constraints.get("maxWallClockTime") is not None:
        changes["max_wall_clock_time"] = shapes.parse_duration(
            constraints["maxWallClockTime"], "constraints.maxWallClockTime")
    extras = {}
    if constraints.get("retentionTime") is not None:
        shapes.parse_duration(constraints["retentionTime"], "constraints.retentionTime")
        extras["constraints"] = {"retentionTime": constraints["retentionTime"]}
    with engine_errors("Task", task_id, job_id):
        record = service.engine.update_task(job_id, task_id, extras=extras, **changes)
    return Response(200, headers=_changed(request, record.modified,
                                          "jobs", job_id, "tasks", task_id))


def delete_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        service.engine.delete_task(job_id, task_id)
    return Response(200)


def reactivate_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        record = service.engine.reactivate_task(job_id, task_id)
    return Response(204, headers=_changed(request, record.modified,
                                          "jobs", job_id, "tasks", task_id))
