"""Batch REST operations on job schedules (create, get, exists, list,
replace, patch, disable, enable, terminate, delete) and the jobs of a
schedule. The schedules live in the engine (``BatchEngine``'s job schedule
methods; what a schedule does over time is ``backends.local.job_schedules``):
these handlers only parse, call one engine method and render.

The route table (``routes``) names the handlers (and, for the list and get
operations, the renderers)."""

from __future__ import annotations

import time

from topwords.backends.local.batch_engine import JobScheduleNotFound
from topwords.backends.local.records import JobScheduleRecord, JobTemplate

from . import shapes
from .errors import bad_value, missing, unsupported
from .routing import Request, Response, Service, engine_errors
from .shapes.parse import require_object
from .shapes.schedule import schedule_config, schedule_json

_CREATE = {"id", "displayName", "schedule", "jobSpecification", "metadata"}
#: read-only properties a replace (PUT) body may carry (the SDK sends back what it got)
_READ_ONLY = {"url", "eTag", "lastModified", "creationTime", "state", "stateTransitionTime",
              "previousState", "previousStateTransitionTime", "executionInfo", "stats",
              "displayName", "id"}
_KIND = "JobSchedule"


def _metadata(body: dict) -> dict[str, str]:
    items = body.get("metadata") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_value("metadata", "must be a list of name/value pairs")
    return {str(i.get("name")): str(i.get("value") or "") for i in items}


def _template(body: dict) -> tuple[JobTemplate, dict]:
    """The job template of a body's ``jobSpecification`` (400 if it could
    never make a job) and the specification as given."""
    given = body.get("jobSpecification")
    if given is None:
        raise missing("jobSpecification")
    if not isinstance(given, dict):
        raise bad_value("jobSpecification", "must be an object")
    spec, echo = shapes.job_spec({**given, "id": "placeholder"})
    return JobTemplate(spec=spec, extras=echo), given


def _json(request: Request, record: JobScheduleRecord) -> dict:
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
    config = schedule_config(body["schedule"])
    template, given = _template(body)
    with engine_errors(_KIND, job_schedule_id):
        record = service.engine.create_job_schedule(
            job_schedule_id, config, template, metadata=_metadata(body),
            extras={"jobSpecification": given, "displayName": body.get("displayName")})
    url = request.url("jobschedules", job_schedule_id)
    return Response(201, headers={**_headers(record), "Location": url, "DataServiceId": url})


def schedules(service: Service, request: Request) -> list[dict]:
    return [_json(request, r) for r in service.engine.job_schedule_records()]


def _record(service: Service, job_schedule_id: str) -> JobScheduleRecord:
    with engine_errors(_KIND, job_schedule_id):
        return service.engine.job_schedule_record(job_schedule_id)


def schedule(service: Service, request: Request, job_schedule_id: str):
    record = _record(service, job_schedule_id)
    return _json(request, record), record.modified


def schedule_exists(service: Service, request: Request, job_schedule_id: str) -> Response:
    return Response(200, headers=_headers(_record(service, job_schedule_id)))


def replace_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    """Everything changeable is replaced: what the body leaves out goes back
    to its default."""
    body = require_object(request.json())
    for name in body:
        if name not in _CREATE | _READ_ONLY:
            raise unsupported(name, "not a job schedule property")
    template, given = _template(body)
    return _update(service, job_schedule_id, config=schedule_config(body.get("schedule") or {}),
                   template=template, given=given, metadata=_metadata(body))


def patch_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    """Only what the body names changes."""
    body = require_object(request.json())
    for name in body:
        if name not in ("schedule", "jobSpecification", "metadata"):
            raise unsupported(name, "only schedule, jobSpecification and metadata can be "
                              "updated")
    template, given = _template(body) if "jobSpecification" in body else (None, None)
    config = schedule_config(body["schedule"]) if body.get("schedule") is not None else None
    return _update(service, job_schedule_id, config=config, template=template, given=given,
                   metadata=_metadata(body) if "metadata" in body else None)


def _update(service: Service, job_schedule_id: str, *, config, template, given,
            metadata) -> Response:
    """Changes apply to the jobs made from now on, as on the service."""
    with engine_errors(_KIND, job_schedule_id):
        record = service.engine.update_job_schedule(
            job_schedule_id, config=config, template=template, metadata=metadata,
            extras={"jobSpecification": given} if given is not None else None)
    return Response(200, headers=_headers(record))


def disable_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    with engine_errors(_KIND, job_schedule_id):
        service.engine.disable_job_schedule(job_schedule_id)
    return Response(204)


def enable_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    with engine_errors(_KIND, job_schedule_id):
        service.engine.enable_job_schedule(job_schedule_id)
    return Response(204)


def terminate_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    with engine_errors(_KIND, job_schedule_id):
        service.engine.terminate_job_schedule(job_schedule_id)
    _wait(service, job_schedule_id, lambda record: record.state != "terminating")
    return Response(202)


def delete_schedule(service: Service, request: Request, job_schedule_id: str) -> Response:
    with engine_errors(_KIND, job_schedule_id):
        service.engine.start_deleting_job_schedule(job_schedule_id)
    _wait(service, job_schedule_id, lambda record: False)  # until it is gone
    return Response(202)


def _wait(service: Service, job_schedule_id: str, done) -> None:
    """Wait up to ``service.delete_grace`` for ``done(record)`` or for the
    schedule to be gone (as pool and job deletes do), so that the SDK's
    poller usually finds it on its first look."""
    deadline = time.monotonic() + service.delete_grace
    while time.monotonic() < deadline:
        try:
            if done(service.engine.job_schedule_record(job_schedule_id)):
                return
        except JobScheduleNotFound:
            return
        time.sleep(0.02)


def schedule_jobs(service: Service, request: Request, job_schedule_id: str) -> list[dict]:
    made = set(_record(service, job_schedule_id).jobs)
    return [shapes.job_json(r, r.extras, request.url("jobs", r.spec.id))
            for r in service.engine.job_records() if r.spec.id in made]
