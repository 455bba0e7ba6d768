"""Batch REST operations on jobs, tasks and task files: the handlers (and,
for list and get operations, the renderers) that the route table in
``routes`` names."""

from __future__ import annotations

from datetime import datetime, timezone

from topwords.core.model import TaskSpec

from . import shapes
from .errors import BatchApiError, bad_value, error_body, unsupported
from .pool_routes import file_response
from .routing import (
    Request, Response, Service, batch_error, engine_errors, json_response, wait_until_gone,
)

#: Batch's limits for one addtaskcollection request
MAX_TASKS_PER_REQUEST = 100


def _created(url: str, when) -> dict[str, str]:
    return {**shapes.stamps(when), "Location": url, "DataServiceId": url}


# -- jobs ----------------------------------------------------------------------

def create_job(service: Service, request: Request) -> Response:
    spec, echo = shapes.job_spec(shapes.require_object(request.json()))
    with engine_errors("Job", spec.id):
        service.engine.create_job(spec, pool_must_exist=False, extras=echo, exit_job_actions=(
            str(echo.get("onTaskFailure", "")).lower() == "performexitoptionsjobaction"))
        record = service.engine.job_record(spec.id)
    return Response(201, headers=_created(request.url("jobs", spec.id), record.modified))


def _job_json(service: Service, request: Request, record) -> dict:
    return shapes.job_json(record, record.extras, request.url("jobs", record.spec.id))


def jobs(service: Service, request: Request) -> list[dict]:
    return [_job_json(service, request, r) for r in service.engine.job_records()]


def job(service: Service, request: Request, job_id: str):
    with engine_errors("Job", job_id):
        record = service.engine.job_record(job_id)
    return _job_json(service, request, record), record.modified


def update_job(service: Service, request: Request, job_id: str) -> Response:
    """Only ``onAllTasksComplete`` changes what runs; ``priority`` and
    ``allowTaskPreemption`` are kept."""
    body = shapes.require_object(request.json())
    for name in body:
        if name not in ("onAllTasksComplete", "priority", "allowTaskPreemption"):
            raise unsupported(name, "only onAllTasksComplete, priority and "
                              "allowTaskPreemption can be updated")
    mode = str(body.get("onAllTasksComplete", "")).lower()
    if mode and mode not in ("noaction", "terminatejob"):
        raise bad_value("onAllTasksComplete", "must be noaction or terminatejob", mode)
    with engine_errors("Job", job_id):
        record = service.engine.update_job(
            job_id, terminate_when_tasks_complete=mode == "terminatejob" if mode else None,
            extras={k: v for k, v in body.items() if k != "onAllTasksComplete"})
    return Response(200, headers=shapes.stamps(record.modified))


def terminate_job(service: Service, request: Request, job_id: str) -> Response:
    body = request.json() or {}
    reason = (body.get("terminateReason") if isinstance(body, dict) else None) or "UserTerminate"
    with engine_errors("Job", job_id):
        service.engine.terminate_job(job_id, str(reason))
    return Response(202)


def delete_job(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        started = service.engine.start_deleting_job(job_id)
    if not started:
        raise BatchApiError(409, "JobBeingDeleted", "The specified job is already being "
                            "deleted.", {"JobId": job_id})
    wait_until_gone(service, lambda: service.engine.job_record(job_id))
    return Response(202)


def task_counts(service: Service, request: Request, job_id: str) -> Response:
    """Its ``ETag`` and ``Last-Modified``: the latest change of the job or
    of any of its tasks (the counts change with the tasks)."""
    with engine_errors("Job", job_id):
        job_changed = service.engine.job_record(job_id).modified
        records = service.engine.task_records(job_id)
    changed = max([job_changed] + [r.modified for r in records])
    return json_response(200, shapes.task_counts_json(records), shapes.stamps(changed))


# -- adding tasks ------------------------------------------------------------------

def _parse_tasks(bodies: list) -> list[tuple[TaskSpec, dict, object] | BatchApiError]:
    """Each task body as its spec, echo and exit conditions, or the error
    that refuses it."""
    parsed: list[tuple[TaskSpec, dict, object] | BatchApiError] = []
    for body in bodies:
        try:
            parsed.append((*shapes.task_spec(body), shapes.exit_conditions(body)))
        except BatchApiError as exc:
            parsed.append(exc)
    return parsed


def _add_tasks(service: Service, job_id: str, bodies: list, *, kind: str, ident: str):
    """Parse the task bodies and add the valid ones in one call into the
    engine. Returns per body, in order, ``(spec, record)`` or the
    ``BatchApiError`` that refused it; raises the job's errors (404, 409)
    with ``kind``/``ident`` naming what the request was about."""
    parsed = _parse_tasks(bodies)
    valid = [p for p in parsed if not isinstance(p, BatchApiError)]
    with engine_errors(kind, ident, job_id):
        added = iter(service.engine.add_task_collection(
            job_id, [spec for spec, _, _ in valid], [echo for _, echo, _ in valid],
            [exits for _, _, exits in valid]))
    results: list = []
    for item in parsed:
        if isinstance(item, BatchApiError):
            results.append(item)
            continue
        spec = item[0]
        outcome = next(added)
        if isinstance(outcome, Exception):
            error = batch_error(outcome, "Task", spec.id, job_id)
            if error is None:
                raise outcome
            results.append(error)
            continue
        results.append((spec, outcome))
    return results


def create_task(service: Service, request: Request, job_id: str) -> Response:
    body = shapes.require_object(request.json())
    task_id = body.get("id") if isinstance(body.get("id"), str) else ""
    [outcome] = _add_tasks(service, job_id, [body], kind="Task", ident=task_id)
    if isinstance(outcome, Exception):
        raise outcome
    spec, record = outcome
    return Response(201, headers=_created(request.url("jobs", job_id, "tasks", spec.id),
                                          record.modified))


def create_task_collection(service: Service, request: Request, job_id: str) -> Response:
    """Each task succeeds or fails on its own; failures are in the results.
    The answer's ``ETag`` and ``Last-Modified`` are the latest added task's
    (the time of the answer when none was added)."""
    tasks = shapes.require_object(request.json()).get("value")
    if not isinstance(tasks, list):
        raise bad_value("value", "must be a list of tasks")
    if len(tasks) > MAX_TASKS_PER_REQUEST:
        raise bad_value("value", f"at most {MAX_TASKS_PER_REQUEST} tasks per request",
                        len(tasks))
    results, latest = [], None
    for body, outcome in zip(tasks, _add_tasks(service, job_id, tasks, kind="Job",
                                               ident=job_id)):
        if isinstance(outcome, BatchApiError):
            task_id = body.get("id") if isinstance(body, dict) else None
            results.append({"status": "clienterror" if outcome.status < 500 else "servererror",
                            "taskId": task_id, "error": error_body(outcome)})
            continue
        spec, record = outcome
        latest = max(latest or record.modified, record.modified)
        results.append({"status": "success", "taskId": spec.id,
                        "eTag": shapes.etag(record.modified),
                        "lastModified": shapes.format_time(record.modified),
                        "location": request.url("jobs", job_id, "tasks", spec.id)})
    return json_response(200, {"value": results},
                         shapes.stamps(latest or datetime.now(timezone.utc)))


# -- tasks and their files ------------------------------------------------------------

def _task_json(service: Service, request: Request, job_id: str, record) -> dict:
    task_id = record.spec.id
    node_url = None
    if record.info.node_id:
        node_url = request.url("pools", record.pool_id, "nodes", record.info.node_id)
    return shapes.task_json(record, record.extras,
                            request.url("jobs", job_id, "tasks", task_id), node_url)


def tasks(service: Service, request: Request, job_id: str) -> list[dict]:
    with engine_errors("Job", job_id):
        records = service.engine.task_records(job_id)
    return [_task_json(service, request, job_id, r) for r in records]


def task(service: Service, request: Request, job_id: str, task_id: str):
    with engine_errors("Task", task_id, job_id):
        record = service.engine.task_record(job_id, task_id)
    return _task_json(service, request, job_id, record), record.modified


def terminate_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        service.engine.terminate_task(job_id, task_id)
    return Response(204)


def task_files(service: Service, request: Request, job_id: str, task_id: str) -> list[dict]:
    recursive = request.query.get("recursive", "").lower() == "true"
    with engine_errors("Task", task_id, job_id):
        entries = service.engine.list_task_files(job_id, task_id, recursive=recursive)
    base = request.url("jobs", job_id, "tasks", task_id, "files")
    return [shapes.file_json(e, f"{base}/{e.name}") for e in entries]


def task_file(service: Service, request: Request, job_id: str, task_id: str,
              path: str) -> Response:
    """GET (the bytes) or HEAD (the properties) of a task's file."""
    with engine_errors("Task", task_id, job_id):
        root = service.engine.task_dir(job_id, task_id)
    return file_response(request, root, path)
