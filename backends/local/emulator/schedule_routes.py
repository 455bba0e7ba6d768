"""Batch REST operations on job schedules (create, get, exists, list,
replace, patch, disable, enable, terminate, delete) and the jobs of a
schedule. What a schedule does over time is in ``schedules``.

The route table (``routes``) names the handlers (and, for the list and get
operations, the renderers)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from . import shapes
from .errors import BatchApiError, bad_value, missing, unsupported
from .routing import Request, Response, Service
from .schedules import JobScheduleRecord, JobSchedules, job_spec_of
from .shapes.parse import require_object
from .shapes.schedule import schedule_config, schedule_json

_CREATE = {"id", "displayName", "schedule", "jobSpecification", "metadata"}
#: read-only properties a replace (PUT) body may carry (the SDK sends back what it got)
_READ_ONLY = {"url", "eTag", "lastModified", "creationTime", "state", "stateTransitionTime",
              "previousState", "previousStateTransitionTime", "executionInfo", "stats",
              "displayName", "id"}


def schedules_of(service: Service) -> JobSchedules:
    """The emulator's job schedules (made on first use)."""
    with service.lock:
        if service.schedules is None:
            service.schedules = JobSchedules(service)
        return service.schedules


def _metadata(body: dict) -> dict[str, str]:
    items = body.get("metadata") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_value("metadata", "must be a list of name/value pairs")
    return {str(i.get("name")): str(i.get("value") or "") for i in items}


def _job_specification(body: dict) -> dict:
    spec = body.get("jobSpecification")
    if spec is None:
        raise missing("jobSpecification")
    job_spec_of(spec, "check:job-1")  # refuse now what could never make a job
    return spec


def _json(service: Service, request: Request, record: JobScheduleRecord) -> dict:
    return schedule_json(record, request.url("jobschedules", record.id),
                         lambda job_id: request.url("jobs", job_id))


def _headers(record: JobScheduleRecord) -> dict[str, str]:
    return shapes.stamps(record.modified)


def create_schedule(service: Service, request: Request) -> Response:
    body = require_object(request.json())
    for name in body:
        if name not in _CREATE:
            raise unsupported(name, "not a job schedule property")
    job_schedule_id = body.get("id")
    if not isinstance(job_schedule_id, str) or not job_schedule_id:
        raise missing("id")
    shapes.job_spec({"id": job_schedule_id, "poolInfo": {"poolId": "p"}})  # a valid id
    if body.get("schedule") is None:
        raise missing("schedule")
    schedules = schedules_of(service)
    record = JobScheduleRecord(
        id=job_schedule_id, config=schedule_config(body["schedule"]),
        job_specification=_job_specification(body), created=_now(),
        display_name=body.get("displayName"), metadata=_metadata(body))
    schedules.add(record)
    url = request.url("jobschedules", job_schedule_id)
    return Response(201, headers={**_headers(record), "Location": url, "DataServiceId": url})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def schedules(service: Service, request: Request) -> list[dict]:
    found = schedules_of(service)
    with found.lock:
        return [_json(service, request, r) for r in found.all()]


def schedule(service: Service, request: Request, job_schedule_id: str):
    found = schedules_of(service)
    with found.lock:
        record = found.get(job_schedule_id)
        return _json(service, request, record), record.modified


def schedule_exists(service: Service, request: Request, job_schedule_id: str) -> Response:
    return Response(200, headers=_headers(schedules_of(service).get(job_schedule_id)))


def replace_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    """Everything changeable is replaced: what the body leaves out goes back
    to its default."""
    body = require_object(request.json())
    for name in body:
        if name not in _CREATE | _READ_ONLY:
            raise unsupported(name, "not a job schedule property")
    return _update(service, job_schedule_id, schedule=body.get("schedule") or {},
                   job_specification=_job_specification(body), metadata=_metadata(body))


def patch_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    """Only what the body names changes."""
    body = require_object(request.json())
    for name in body:
        if name not in ("schedule", "jobSpecification", "metadata"):
            raise unsupported(name, "only schedule, jobSpecification and metadata can be "
                              "updated")
    job_specification = _job_specification(body) if "jobSpecification" in body else None
    return _update(service, job_schedule_id, schedule=body.get("schedule"),
                   job_specification=job_specification,
                   metadata=_metadata(body) if "metadata" in body else None)


def _update(service: Service, job_schedule_id: str, *, schedule, job_specification,
            metadata) -> Response:
    """Changes apply to the jobs made from now on, as on the service."""
    config = schedule_config(schedule) if schedule is not None else None
    schedules = schedules_of(service)
    with schedules.lock:
        record = schedules.changeable(job_schedule_id)
        if config is not None:
            record.config = config
            schedules.reschedule(record, schedules.clock.now())
        if job_specification is not None:
            record.job_specification = job_specification
        if metadata is not None:
            record.metadata = metadata
        record.modified = _now()
        schedules.tick()
        return Response(200, headers=_headers(record))


def disable_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    schedules_of(service).set_state(job_schedule_id, "disabled")
    return Response(204)


def enable_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    schedules_of(service).set_state(job_schedule_id, "active")
    return Response(204)


def terminate_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    schedules = schedules_of(service)
    schedules.terminate(job_schedule_id)
    _wait(service, lambda: schedules.get(job_schedule_id).state != "terminating")
    return Response(202)


def delete_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    schedules = schedules_of(service)
    schedules.delete(job_schedule_id)
    _wait(service, lambda: _gone(schedules, job_schedule_id))
    return Response(202)


def _gone(schedules: JobSchedules, job_schedule_id: str) -> bool:
    try:
        schedules.get(job_schedule_id)
    except BatchApiError:
        return True
    return False


def _wait(service: Service, done) -> None:
    """Wait up to ``service.delete_grace`` for ``done()`` (as pool and job
    deletes do), so that the SDK's poller usually finds it on its first look."""
    deadline = time.monotonic() + service.delete_grace
    schedules = schedules_of(service)
    while time.monotonic() < deadline:
        schedules.tick()
        if done():
            return
        time.sleep(0.02)


def schedule_jobs(service: Service, request: Request, job_schedule_id: str) -> list[dict]:
    record = schedules_of(service).get(job_schedule_id)
    made = set(record.jobs)
    return [shapes.job_json(r, r.extras, request.url("jobs", r.spec.id))
            for r in service.engine.job_records() if r.spec.id in made]
