"""Batch REST operations on jobs, tasks and task files."""

from __future__ import annotations

from topwords.core.model import TaskSpec

from . import odata, shapes
from .errors import BatchApiError, bad_value, error_body, unsupported
from .pool_routes import file_response
from .routing import (
    Request, Response, Service, engine_errors, json_response, list_response, route,
    wait_until_gone,
)

#: Batch's limits for one addtaskcollection request
MAX_TASKS_PER_REQUEST = 100


# -- jobs ----------------------------------------------------------------------

@route("POST", "jobs")
def create_job(service: Service, request: Request) -> Response:
    spec, echo = shapes.job_spec(shapes.require_object(request.json()))
    if service.schedules is not None and service.schedules.has(spec.id):
        raise BatchApiError(409, "JobScheduleWithSameIdExists", "A job schedule with the "
                            "specified job id exists; a job and a job schedule cannot have "
                            "the same id.", {"JobId": spec.id})
    with engine_errors("Job", spec.id):
        service.engine.create_job(spec, pool_must_exist=False)
        record = service.engine.job_record(spec.id)
    with service.lock:
        service.echo[("job", spec.id)] = echo
        service.task_echo[spec.id] = {}
    url = request.url("jobs", spec.id)
    return Response(201, headers={**shapes.stamps(record.created), "Location": url,
                                  "DataServiceId": url})


def _job_json(service: Service, request: Request, record) -> dict:
    job_id = record.spec.id
    return shapes.job_json(record, service.echo.get(("job", job_id), {}),
                           request.url("jobs", job_id))


@route("GET", "jobs")
def list_jobs(service: Service, request: Request) -> Response:
    items = [_job_json(service, request, r) for r in service.engine.job_records()]
    return list_response(request, service, items, "jobs")


@route("GET", "jobs/{job_id}")
def get_job(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        record = service.engine.job_record(job_id)
    body = odata.select(_job_json(service, request, record), request.query.get("$select"))
    return json_response(200, body, shapes.stamps(record.created))


@route("PATCH", "jobs/{job_id}")
def update_job(service: Service, request: Request, job_id: str) -> Response:
    """Only ``onAllTasksComplete`` changes what runs; ``priority`` and
    ``allowTaskPreemption`` are kept."""
    body = shapes.require_object(request.json())
    for name in body:
        if name not in ("onAllTasksComplete", "priority", "allowTaskPreemption"):
            raise unsupported(name, "only onAllTasksComplete, priority and "
                              "allowTaskPreemption can be updated")
    with engine_errors("Job", job_id):
        record = service.engine.job_record(job_id)
        mode = str(body.get("onAllTasksComplete", "")).lower()
        if mode:
            if mode not in ("noaction", "terminatejob"):
                raise bad_value("onAllTasksComplete", "must be noaction or terminatejob", mode)
            service.engine.set_terminate_when_tasks_complete(job_id, mode == "terminatejob")
    with service.lock:
        echo = service.echo.setdefault(("job", job_id), {})
        echo.update({k: v for k, v in body.items() if k != "onAllTasksComplete"})
    return Response(200, headers=shapes.stamps(record.created))


@route("POST", "jobs/{job_id}/terminate")
def terminate_job(service: Service, request: Request, job_id: str) -> Response:
    body = request.json() or {}
    reason = (body.get("terminateReason") if isinstance(body, dict) else None) or "UserTerminate"
    with engine_errors("Job", job_id):
        service.engine.terminate_job(job_id, str(reason))
    return Response(202)


@route("DELETE", "jobs/{job_id}")
def delete_job(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        started = service.engine.start_deleting_job(job_id)
    if not started:
        raise BatchApiError(409, "JobBeingDeleted", "The specified job is already being "
                            "deleted.", {"JobId": job_id})
    wait_until_gone(service, lambda: service.engine.job_record(job_id))
    return Response(202)


@route("GET", "jobs/{job_id}/taskcounts")
def get_task_counts(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        records = service.engine.task_records(job_id)
    return json_response(200, shapes.task_counts_json(records))


# -- adding tasks ------------------------------------------------------------------

def _add_task(service: Service, request: Request, job_id: str, body) -> tuple[TaskSpec, object]:
    """Parse and add one task; returns its spec and creation time."""
    with engine_errors("Job", job_id):
        job = service.engine.job_record(job_id)
    job_echo = service.echo.get(("job", job_id), {})
    spec, echo = shapes.task_spec(body, common_env=shapes.common_environment(job_echo))
    if spec.depends_on and not job.spec.uses_task_dependencies:
        raise BatchApiError(400, "TaskDependenciesNotSpecifiedOnJob",
                            "The specified job does not have task dependencies enabled; "
                            "create it with usesTaskDependencies.",
                            {"JobId": job_id, "TaskId": spec.id})
    with engine_errors("Task", spec.id, job_id):
        service.engine.add_tasks(job_id, [spec])
        record = service.engine.task_record(job_id, spec.id)
    with service.lock:
        service.task_echo.setdefault(job_id, {})[spec.id] = echo
    return spec, record.created


@route("POST", "jobs/{job_id}/tasks")
def create_task(service: Service, request: Request, job_id: str) -> Response:
    spec, created = _add_task(service, request, job_id, shapes.require_object(request.json()))
    url = request.url("jobs", job_id, "tasks", spec.id)
    return Response(201, headers={**shapes.stamps(created), "Location": url, "DataServiceId": url})


@route("POST", "jobs/{job_id}/addtaskcollection")
def create_task_collection(service: Service, request: Request, job_id: str) -> Response:
    """Each task succeeds or fails on its own; failures are in the results."""
    tasks = shapes.require_object(request.json()).get("value")
    if not isinstance(tasks, list):
        raise bad_value("value", "must be a list of tasks")
    if len(tasks) > MAX_TASKS_PER_REQUEST:
        raise bad_value("value", f"at most {MAX_TASKS_PER_REQUEST} tasks per request",
                        len(tasks))
    with engine_errors("Job", job_id):
        service.engine.job_record(job_id)
    results = []
    for body in tasks:
        task_id = body.get("id") if isinstance(body, dict) else None
        try:
            spec, created = _add_task(service, request, job_id, body)
        except BatchApiError as exc:
            if exc.status in (404, 409) and exc.code.startswith("Job"):
                raise
            results.append({"status": "clienterror" if exc.status < 500 else "servererror",
                            "taskId": task_id, "error": error_body(exc)})
            continue
        results.append({"status": "success", "taskId": spec.id, "eTag": shapes.etag(created),
                        "lastModified": shapes.format_time(created),
                        "location": request.url("jobs", job_id, "tasks", spec.id)})
    return json_response(200, {"value": results})


# -- tasks and their files ------------------------------------------------------------

def _task_json(service: Service, request: Request, job_id: str, record) -> dict:
    task_id = record.spec.id
    node_url = None
    if record.info.node_id:
        node_url = request.url("pools", record.pool_id, "nodes", record.info.node_id)
    return shapes.task_json(record, service.task_echo.get(job_id, {}).get(task_id, {}),
                            request.url("jobs", job_id, "tasks", task_id), node_url)


@route("GET", "jobs/{job_id}/tasks")
def list_tasks(service: Service, request: Request, job_id: str) -> Response:
    with engine_errors("Job", job_id):
        records = service.engine.task_records(job_id)
    items = [_task_json(service, request, job_id, r) for r in records]
    return list_response(request, service, items, "tasks")


@route("GET", "jobs/{job_id}/tasks/{task_id}")
def get_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        record = service.engine.task_record(job_id, task_id)
    body = odata.select(_task_json(service, request, job_id, record),
                        request.query.get("$select"))
    return json_response(200, body, shapes.stamps(record.created))


@route("POST", "jobs/{job_id}/tasks/{task_id}/terminate")
def terminate_task(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        service.engine.terminate_task(job_id, task_id)
    return Response(204)


@route("GET", "jobs/{job_id}/tasks/{task_id}/files")
def list_task_files(service: Service, request: Request, job_id: str, task_id: str) -> Response:
    recursive = request.query.get("recursive", "").lower() == "true"
    with engine_errors("Task", task_id, job_id):
        entries = service.engine.list_task_files(job_id, task_id, recursive=recursive)
    base = request.url("jobs", job_id, "tasks", task_id, "files")
    items = [shapes.file_json(e, f"{base}/{e.name}") for e in entries]
    return list_response(request, service, items, "files")


@route("GET", "jobs/{job_id}/tasks/{task_id}/files/{path*}")
@route("HEAD", "jobs/{job_id}/tasks/{task_id}/files/{path*}")
def task_file(service: Service, request: Request, job_id: str, task_id: str,
              path: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        root = service.engine.task_dir(job_id, task_id)
    return file_response(request, root, path)
