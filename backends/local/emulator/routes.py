"""The Batch REST emulator's route table: every operation it serves, as
(method, path template, operation, handler), and every operation of the
Batch API it refuses (501 NotSupported, naming the method and path).

This table is the one place that says what is emulated: the dispatcher
reads it, the catalogue (``catalogue``, the README's lists) is generated
from it, and ``tests/emulator/test_catalogue.py`` checks it against every
``BatchClient`` method of azure-batch 15. Operation names are the Batch REST
spec's operationIds (``backends/local/emulator/spec/``). To emulate an
operation: write its handler (for a list or a get, a renderer passed to
``list_handler``/``get_handler``), add its row here and take its name out
of ``NOT_EMULATED``; its conditional request headers and the response
headers its spec declares are then handled by ``conditions`` (and checked
by ``tests/emulator/test_declared_headers.py``, which needs a recipe for it).
"""

from __future__ import annotations

import dataclasses
import json

from . import account_routes as account
from . import conditions
from . import autoscale_routes as autoscale
from . import job_ops_routes as job_ops
from . import job_replace_routes as job_replace
from . import job_routes as jobs
from . import node_ops_routes as node_ops
from . import pool_admin_routes as pool_admin
from . import pool_routes as pools
from . import schedule_routes as schedules
from .errors import BatchApiError
from .legacy_routes import LegacyRoute, legacy_route, node_agent_skus
from .routing import Request, Response, Route, Service, get_handler, list_handler
from .shapes import versioned
from .versions import LATEST_API_VERSION, check_api_version

__all__ = ["LEGACY_ROUTES", "NOT_EMULATED", "ROUTES", "dispatch"]

_SCHEDULE = "jobschedules/{job_schedule_id}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "supportedimages", "Pools_ListSupportedImages",
          list_handler(pools.supported_images, "supportedimages")),
    # pools
    Route("POST", "pools", "Pools_CreatePool", pools.create_pool),
    Route("GET", "pools", "Pools_ListPools", list_handler(pools.pools, "pools")),
    Route("GET", "pools/{pool_id}", "Pools_GetPool", get_handler(pools.pool, "pools")),
    Route("HEAD", "pools/{pool_id}", "Pools_PoolExists", pools.pool_exists),
    Route("DELETE", "pools/{pool_id}", "Pools_DeletePool", pools.delete_pool),
    Route("PATCH", "pools/{pool_id}", "Pools_UpdatePool", pool_admin.update_pool),
    Route("POST", "pools/{pool_id}/updateproperties", "Pools_ReplacePoolProperties",
          pool_admin.replace_pool_properties),
    Route("POST", "pools/{pool_id}/resize", "Pools_ResizePool", pool_admin.resize_pool),
    Route("POST", "pools/{pool_id}/removenodes", "Pools_RemoveNodes", node_ops.remove_nodes),
    Route("POST", "pools/{pool_id}/stopresize", "Pools_StopPoolResize",
          pool_admin.stop_resize_pool),
    Route("GET", "nodecounts", "Pools_ListPoolNodeCounts",
          list_handler(pool_admin.pool_node_counts, "poolnodecounts")),
    Route("POST", "pools/{pool_id}/enableautoscale", "Pools_EnablePoolAutoScale",
          autoscale.enable_autoscale),
    Route("POST", "pools/{pool_id}/disableautoscale", "Pools_DisablePoolAutoScale",
          autoscale.disable_autoscale),
    Route("POST", "pools/{pool_id}/evaluateautoscale", "Pools_EvaluatePoolAutoScale",
          autoscale.evaluate_autoscale),
    # nodes and their files
    Route("GET", "pools/{pool_id}/nodes", "Nodes_ListNodes", list_handler(pools.nodes, "nodes")),
    Route("GET", "pools/{pool_id}/nodes/{node_id}", "Nodes_GetNode",
          get_handler(pools.node, "nodes")),
    Route("POST", "pools/{pool_id}/nodes/{node_id}/reboot", "Nodes_RebootNode",
          node_ops.reboot_node),
    Route("POST", "pools/{pool_id}/nodes/{node_id}/reimage", "Nodes_ReimageNode",
          node_ops.reimage_node),
    Route("POST", "pools/{pool_id}/nodes/{node_id}/users", "Nodes_CreateNodeUser",
          node_ops.create_node_user),
    Route("PUT", "pools/{pool_id}/nodes/{node_id}/users/{user_name}", "Nodes_ReplaceNodeUser",
          node_ops.change_node_user),
    Route("DELETE", "pools/{pool_id}/nodes/{node_id}/users/{user_name}",
          "Nodes_DeleteNodeUser", node_ops.change_node_user),
    Route("GET", "pools/{pool_id}/nodes/{node_id}/remoteloginsettings",
          "Nodes_GetNodeRemoteLoginSettings", node_ops.remote_login_settings),
    Route("GET", "pools/{pool_id}/nodes/{node_id}/files", "Nodes_ListNodeFiles",
          list_handler(pools.node_files, "files")),
    Route("GET", "pools/{pool_id}/nodes/{node_id}/files/{path*}", "Nodes_GetNodeFile",
          pools.node_file),
    Route("HEAD", "pools/{pool_id}/nodes/{node_id}/files/{path*}",
          "Nodes_GetNodeFileProperties", pools.node_file),
    Route("DELETE", "pools/{pool_id}/nodes/{node_id}/files/{path*}", "Nodes_DeleteNodeFile",
          node_ops.delete_node_file),
    # jobs
    Route("POST", "jobs", "Jobs_CreateJob", jobs.create_job),
    Route("GET", "jobs", "Jobs_ListJobs", list_handler(jobs.jobs, "jobs")),
    Route("GET", "jobs/{job_id}", "Jobs_GetJob", get_handler(jobs.job, "jobs")),
    Route("PATCH", "jobs/{job_id}", "Jobs_UpdateJob", jobs.update_job),
    Route("PUT", "jobs/{job_id}", "Jobs_ReplaceJob", job_replace.replace_job),
    Route("POST", "jobs/{job_id}/terminate", "Jobs_TerminateJob", jobs.terminate_job),
    Route("POST", "jobs/{job_id}/disable", "Jobs_DisableJob", job_ops.disable_job),
    Route("POST", "jobs/{job_id}/enable", "Jobs_EnableJob", job_ops.enable_job),
    Route("DELETE", "jobs/{job_id}", "Jobs_DeleteJob", jobs.delete_job),
    Route("GET", "jobs/{job_id}/taskcounts", "Jobs_GetJobTaskCounts", jobs.task_counts),
    # tasks and their files
    Route("POST", "jobs/{job_id}/tasks", "Tasks_CreateTask", jobs.create_task),
    Route("POST", "jobs/{job_id}/addtaskcollection", "Tasks_CreateTaskCollection",
          jobs.create_task_collection),
    Route("GET", "jobs/{job_id}/tasks", "Tasks_ListTasks", list_handler(jobs.tasks, "tasks")),
    Route("GET", "jobs/{job_id}/tasks/{task_id}", "Tasks_GetTask", get_handler(jobs.task, "tasks")),
    Route("PUT", "jobs/{job_id}/tasks/{task_id}", "Tasks_ReplaceTask", job_ops.replace_task),
    Route("DELETE", "jobs/{job_id}/tasks/{task_id}", "Tasks_DeleteTask", job_ops.delete_task),
    Route("POST", "jobs/{job_id}/tasks/{task_id}/terminate", "Tasks_TerminateTask",
          jobs.terminate_task),
    Route("POST", "jobs/{job_id}/tasks/{task_id}/reactivate", "Tasks_ReactivateTask",
          job_ops.reactivate_task),
    Route("GET", "jobs/{job_id}/tasks/{task_id}/files", "Tasks_ListTaskFiles",
          list_handler(jobs.task_files, "files")),
    Route("GET", "jobs/{job_id}/tasks/{task_id}/files/{path*}", "Tasks_GetTaskFile",
          jobs.task_file),
    Route("HEAD", "jobs/{job_id}/tasks/{task_id}/files/{path*}", "Tasks_GetTaskFileProperties",
          jobs.task_file),
    Route("DELETE", "jobs/{job_id}/tasks/{task_id}/files/{path*}", "Tasks_DeleteTaskFile",
          node_ops.delete_task_file),
    # job schedules (kept and run by the engine: see backends.local.job_schedules)
    Route("POST", "jobschedules", "JobSchedules_CreateJobSchedule", schedules.create_schedule),
    Route("GET", "jobschedules", "JobSchedules_ListJobSchedules",
          list_handler(schedules.schedules, "jobschedules")),
    Route("GET", _SCHEDULE, "JobSchedules_GetJobSchedule",
          get_handler(schedules.schedule, "jobschedules")),
    Route("HEAD", _SCHEDULE, "JobSchedules_JobScheduleExists", schedules.schedule_exists),
    Route("PUT", _SCHEDULE, "JobSchedules_ReplaceJobSchedule", schedules.replace_schedule),
    Route("PATCH", _SCHEDULE, "JobSchedules_UpdateJobSchedule", schedules.patch_schedule),
    Route("POST", _SCHEDULE + "/disable", "JobSchedules_DisableJobSchedule",
          schedules.disable_schedule),
    Route("POST", _SCHEDULE + "/enable", "JobSchedules_EnableJobSchedule",
          schedules.enable_schedule),
    Route("POST", _SCHEDULE + "/terminate", "JobSchedules_TerminateJobSchedule",
          schedules.terminate_schedule),
    Route("DELETE", _SCHEDULE, "JobSchedules_DeleteJobSchedule", schedules.delete_schedule),
    Route("GET", _SCHEDULE + "/jobs", "Jobs_ListJobsFromSchedule",
          list_handler(schedules.schedule_jobs, "jobs")),
    # what an emulated account does not have: empty lists
    Route("GET", "applications", "Applications_ListApplications",
          list_handler(account.applications, "applications")),
    Route("GET", "applications/{application_id}", "Applications_GetApplication",
          get_handler(account.application, "applications")),
    Route("GET", "poolusagemetrics", "Pools_ListPoolUsageMetrics",
          list_handler(account.pool_usage_metrics, "poolusagemetrics")),
)

#: the Batch operations (spec operationIds) that answer 501 NotSupported
#: operations of older api-versions only (see ``legacy_routes``), each served
#: before the version that dropped it
LEGACY_ROUTES: tuple[LegacyRoute, ...] = (
    LegacyRoute(Route("GET", "nodeagentskus", "Account_ListNodeAgentSkus",
                      list_handler(node_agent_skus, "nodeagentskus")),
                until="2019-08-01.10.0"),
)

NOT_EMULATED: tuple[str, ...] = (
    "Jobs_ListJobPreparationAndReleaseTaskStatus",
    "Nodes_DeallocateNode", "Nodes_DisableNodeScheduling", "Nodes_EnableNodeScheduling",
    "Nodes_GetNodeExtension", "Nodes_ListNodeExtensions", "Nodes_StartNode",
    "Nodes_UploadNodeLogs",
    "Tasks_ListSubTasks",
)


def dispatch(service: Service, request: Request) -> Response:
    """Answer a request with its route's handler (after the conditional
    headers its operation declares, with the response headers it declares:
    see ``conditions``), or a Batch-style error (501 NotSupported for a
    method and path no route serves). A request at an older api-version is
    read, and answered, in that version's shapes (``shapes.versioned``);
    the operations only older versions had are ``legacy_routes``'."""
    version = check_api_version(request.query.get("api-version"))
    path = "/".join(request.segments)
    for route in ROUTES:
        params = route.match(request.method, path)
        if params is not None:
            if version == LATEST_API_VERSION:
                return conditions.serve(service, request, route, params)
            response = conditions.serve(service, _in_latest(route.operation, version, request),
                                        route, params)
            return _in_version(route.operation, version, response)
    legacy = legacy_route(LEGACY_ROUTES, request.method, path, version)
    if legacy is not None:  # an operation of that version only: its own shapes already
        route, params = legacy
        return route.handler(service, request, **params)
    raise BatchApiError(501, "NotSupported",
                        f"The Batch emulator does not support {request.method} /{path}.",
                        {"Reason": "operation not emulated; see the README's list of what "
                                   "the emulator supports"})


def _in_latest(operation: str, version: str, request: Request) -> Request:
    """A request sent at an older ``version`` in the 2025-06-01 names the
    handlers read (see ``shapes.versioned``)."""
    query = versioned.request_query(operation, version, request.query)
    body = request.body
    if body and versioned.OPERATIONS.get(operation, (None, None))[0]:
        try:
            parsed = request.json()
        except BatchApiError:
            parsed = None  # the handler refuses it, as at any version
        if parsed is not None:
            body = json.dumps(versioned.request_body(operation, version, parsed)).encode()
    return dataclasses.replace(request, query=query, body=body)


def _in_version(operation: str, version: str, response: Response) -> Response:
    """A 2025-06-01 answer in the shapes of ``version``."""
    response = dataclasses.replace(
        response, headers=versioned.response_headers(operation, version, response.headers))
    if not response.body or versioned.OPERATIONS.get(operation, (None, None))[1] is None:
        return response
    body = versioned.response_body(operation, version, json.loads(response.body))
    return dataclasses.replace(response, body=json.dumps(body).encode("utf-8"))
