"""PUT /jobs/{id} (replace a job's updatable properties): every updatable
property the body leaves out goes back to its default, as Batch does
(``priority`` 0, no metadata, ``onAllTasksComplete`` noaction, ...)."""

from __future__ import annotations

from . import shapes
from .errors import BatchApiError, bad_value, missing, unsupported
from .routing import Request, Response, Service, engine_errors, route

#: what a replace sets; every other property of the job stays
_UPDATABLE = ("poolInfo", "priority", "maxParallelTasks", "allowTaskPreemption", "constraints",
              "metadata", "onAllTasksComplete")


@route("PUT", "jobs/{job_id}")
def replace_job(service: Service, request: Request, job_id: str) -> Response:
    body = shapes.require_object(request.json())
    pool_info = body.get("poolInfo")
    if not isinstance(pool_info, dict):
        raise missing("poolInfo")
    if pool_info.get("autoPoolSpecification"):
        raise unsupported("poolInfo.autoPoolSpecification", "auto pools are not created")
    with engine_errors("Job", job_id):
        record = service.engine.job_record(job_id)
    if pool_info.get("poolId") != record.spec.pool_id:
        raise BatchApiError(409, "OperationInvalidForCurrentState",
                            "The specified operation is not valid for the current state of "
                            "the resource.", {"JobId": job_id, "Reason": "a job's pool can be "
                            "changed only while it is disabled, and the emulator does not "
                            "disable jobs"})
    if shapes.integer_value(body.get("maxParallelTasks", -1), "maxParallelTasks") != -1:
        raise unsupported("maxParallelTasks", "the number of parallel tasks is not limited")
    constraints = body.get("constraints") or {}
    limit = constraints.get("maxWallClockTime") if isinstance(constraints, dict) else None
    if limit and shapes.parse_duration(limit, "constraints.maxWallClockTime") is not None:
        raise unsupported("constraints.maxWallClockTime", "job wall-clock limits are not "
                          "enforced (task limits are)")
    mode = str(body.get("onAllTasksComplete") or "noaction").lower()
    if mode not in ("noaction", "terminatejob"):
        raise bad_value("onAllTasksComplete", "must be noaction or terminatejob", mode)
    priority = shapes.integer_value(body.get("priority", 0), "priority")
    with engine_errors("Job", job_id):
        service.engine.update_job(job_id, metadata=shapes.metadata_pairs(body),
                                  terminate_when_tasks_complete=mode == "terminatejob")
        record = service.engine.job_record(job_id)
    with service.lock:
        echo = service.echo.setdefault(("job", job_id), {})
        for name in _UPDATABLE:
            echo.pop(name, None)
        echo.update({"priority": priority,
                     "allowTaskPreemption": bool(body.get("allowTaskPreemption", False))})
        if constraints:
            echo["constraints"] = constraints
    url = request.url("jobs", job_id)
    return Response(200, headers={**shapes.stamps(record.created), "DataServiceId": url})
