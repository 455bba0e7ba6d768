"""Every served operation answers with the response headers its spec
operation declares: the route table is walked, each route is called for
real (HTTP, shared-key signed, through azure-batch 15's pipeline) on an
emulator with process nodes, and its answer's headers are checked against
the vendored spec's (``backends/local/emulator/spec/``). ``client-request-id``
is declared everywhere but answered only when ``return-client-request-id``
is true, as Batch does; these calls ask for it.

A route without a recipe here fails the walk (add one when you add a route)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Callable

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from topwords.backends.local.emulator.routes import ROUTES

from emulator_rig import new_id, vm_configuration, wait_for

SPEC = json.loads((Path(__file__).resolve().parents[2] / "backends/local/emulator/spec"
                   / "batch-2025-06-01.json").read_text(encoding="utf-8"))["operations"]
API = "api-version=2025-06-01"
FORMULA = "$TargetDedicatedNodes = 0;"


class World:
    """What the recipes call: one pool with one node, a job with a task that
    has run (its files), a job schedule; fresh ones for operations that end
    or change what they touch."""

    def __init__(self, client) -> None:
        self.client = client
        self.image = vm_configuration(client)
        self.pool = self.new_pool(nodes=1)
        wait_for(lambda: [n for n in client.list_nodes(self.pool)
                          if n.state == bm.BatchNodeState.IDLE], "an idle node")
        self.node = next(iter(client.list_nodes(self.pool))).id
        self.job = self.new_job(self.pool)
        client.create_task(self.job, bm.BatchTaskCreateOptions(
            id="ran", command_line="/bin/sh -c 'echo hello'"))
        wait_for(lambda: client.get_task(self.job, "ran").state == bm.BatchTaskState.COMPLETED,
                 "the task to complete")
        self.node_file = next(f.name for f in client.list_node_files(
            self.pool, self.node, recursive=True) if not f.is_directory)
        self.schedule = self.new_schedule()

    def new_pool(self, nodes: int = 0) -> str:
        pool_id = new_id("hdr")
        self.client.create_pool(bm.BatchPoolCreateOptions(
            id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=nodes,
            virtual_machine_configuration=self.image))
        return pool_id

    def autoscale_pool(self) -> str:
        pool_id = self.new_pool()
        self.client.enable_pool_auto_scale(pool_id, bm.BatchPoolEnableAutoScaleOptions(
            auto_scale_formula=FORMULA))
        return pool_id

    def disabled_job(self) -> str:
        job_id = self.new_job()
        self.client.begin_disable_job(job_id, bm.BatchJobDisableOptions(
            disable_tasks="requeue"), polling_interval=0.1).result()
        return job_id

    def new_job(self, pool_id: str = "absent") -> str:
        job_id = new_id("hdr")
        self.client.create_job(bm.BatchJobCreateOptions(
            id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
        return job_id

    def active_task(self) -> tuple[str, str]:
        job_id = self.new_job()
        self.client.create_task(job_id, bm.BatchTaskCreateOptions(id="t", command_line="true"))
        return job_id, "t"

    def idle_node(self) -> tuple[str, str]:
        """A fresh pool's one idle node (for reboot, reimage, remove)."""
        pool_id = self.new_pool(nodes=1)
        [node] = wait_for(lambda: [n for n in self.client.list_nodes(pool_id)
                                   if n.state == bm.BatchNodeState.IDLE], "an idle node")
        return pool_id, node.id

    def ran_task(self, script: str = "echo hello") -> tuple[str, str, str]:
        """A new job's task that has completed on the world's pool: job,
        task, its directory on the node."""
        job_id = self.new_job(self.pool)
        self.client.create_task(job_id, bm.BatchTaskCreateOptions(
            id="t", command_line=f"/bin/sh -c '{script}'"))
        task = wait_for(lambda: (t := self.client.get_task(job_id, "t")).state
                        == bm.BatchTaskState.COMPLETED and t, "the task to complete")
        return job_id, "t", task.node_info.task_root_directory

    def new_schedule(self, state: str = "active") -> str:
        schedule_id = new_id("hdr")
        self.client.create_job_schedule(bm.BatchJobScheduleCreateOptions(
            id=schedule_id, schedule=bm.BatchJobScheduleConfiguration(),
            job_specification=bm.BatchJobSpecification(
                pool_info=bm.BatchPoolInfo(pool_id=self.pool))))
        if state == "disabled":
            self.client.disable_job_schedule(schedule_id)
        return schedule_id


def _job_spec(w: World) -> dict:
    return {"poolInfo": {"poolId": w.pool}}


#: operation -> (its path with ids, its body) for one successful call
RECIPES: dict[str, Callable[[World], tuple[str, object]]] = {
    "Pools_ListSupportedImages": lambda w: ("supportedimages", None),
    "Pools_CreatePool": lambda w: ("pools", {
        "id": new_id("hdr"), "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 0,
        "virtualMachineConfiguration": w.image.as_dict()}),
    "Pools_ListPools": lambda w: ("pools", None),
    "Pools_GetPool": lambda w: (f"pools/{w.pool}", None),
    "Pools_PoolExists": lambda w: (f"pools/{w.pool}", None),
    "Pools_DeletePool": lambda w: (f"pools/{w.new_pool()}", None),
    "Pools_UpdatePool": lambda w: (f"pools/{w.pool}",
                                   {"metadata": [{"name": "k", "value": "v"}]}),
    "Pools_ReplacePoolProperties": lambda w: (f"pools/{w.new_pool()}/updateproperties", {
        "certificateReferences": [], "applicationPackageReferences": [], "metadata": []}),
    "Pools_ResizePool": lambda w: (f"pools/{w.pool}/resize", {"targetDedicatedNodes": 1}),
    "Pools_StopPoolResize": lambda w: (f"pools/{w.pool}/stopresize", None),
    "Pools_ListPoolNodeCounts": lambda w: ("nodecounts", None),
    "Pools_EnablePoolAutoScale": lambda w: (f"pools/{w.new_pool()}/enableautoscale",
                                            {"autoScaleFormula": FORMULA}),
    "Pools_DisablePoolAutoScale": lambda w: (f"pools/{w.autoscale_pool()}/disableautoscale",
                                             None),
    "Pools_EvaluatePoolAutoScale": lambda w: (f"pools/{w.autoscale_pool()}/evaluateautoscale",
                                              {"autoScaleFormula": FORMULA}),
    "Nodes_ListNodes": lambda w: (f"pools/{w.pool}/nodes", None),
    "Nodes_GetNode": lambda w: (f"pools/{w.pool}/nodes/{w.node}", None),
    "Nodes_ListNodeFiles": lambda w: (f"pools/{w.pool}/nodes/{w.node}/files", None),
    "Nodes_GetNodeFile": lambda w: (f"pools/{w.pool}/nodes/{w.node}/files/{w.node_file}",
                                    None),
    "Nodes_GetNodeFileProperties": lambda w: (
        f"pools/{w.pool}/nodes/{w.node}/files/{w.node_file}", None),
    "Jobs_CreateJob": lambda w: ("jobs", {"id": new_id("hdr"), **_job_spec(w)}),
    "Jobs_ListJobs": lambda w: ("jobs", None),
    "Jobs_GetJob": lambda w: (f"jobs/{w.job}", None),
    "Jobs_UpdateJob": lambda w: (f"jobs/{w.new_job()}", {"priority": 1}),
    "Jobs_ReplaceJob": lambda w: (f"jobs/{w.new_job()}", {"poolInfo": {"poolId": "absent"}}),
    "Jobs_TerminateJob": lambda w: (f"jobs/{w.new_job()}/terminate", None),
    "Jobs_DeleteJob": lambda w: (f"jobs/{w.new_job()}", None),
    "Jobs_GetJobTaskCounts": lambda w: (f"jobs/{w.job}/taskcounts", None),
    "Tasks_CreateTask": lambda w: (f"jobs/{w.new_job()}/tasks",
                                   {"id": "t", "commandLine": "true"}),
    "Tasks_CreateTaskCollection": lambda w: (f"jobs/{w.new_job()}/addtaskcollection",
                                             {"value": [{"id": "t", "commandLine": "true"}]}),
    "Tasks_ListTasks": lambda w: (f"jobs/{w.job}/tasks", None),
    "Tasks_GetTask": lambda w: (f"jobs/{w.job}/tasks/ran", None),
    "Tasks_TerminateTask": lambda w: ("jobs/{}/tasks/{}/terminate".format(*w.active_task()),
                                      None),
    "Tasks_ListTaskFiles": lambda w: (f"jobs/{w.job}/tasks/ran/files", None),
    "Tasks_GetTaskFile": lambda w: (f"jobs/{w.job}/tasks/ran/files/stdout.txt", None),
    "Tasks_GetTaskFileProperties": lambda w: (f"jobs/{w.job}/tasks/ran/files/stdout.txt",
                                              None),
    "JobSchedules_CreateJobSchedule": lambda w: ("jobschedules", {
        "id": new_id("hdr"), "schedule": {}, "jobSpecification": _job_spec(w)}),
    "JobSchedules_ListJobSchedules": lambda w: ("jobschedules", None),
    "JobSchedules_GetJobSchedule": lambda w: (f"jobschedules/{w.schedule}", None),
    "JobSchedules_JobScheduleExists": lambda w: (f"jobschedules/{w.schedule}", None),
    "JobSchedules_ReplaceJobSchedule": lambda w: (f"jobschedules/{w.new_schedule()}", {
        "schedule": {}, "jobSpecification": _job_spec(w)}),
    "JobSchedules_UpdateJobSchedule": lambda w: (f"jobschedules/{w.new_schedule()}",
                                                 {"metadata": [{"name": "k", "value": "v"}]}),
    "JobSchedules_DisableJobSchedule": lambda w: (f"jobschedules/{w.new_schedule()}/disable",
                                                  None),
    "JobSchedules_EnableJobSchedule": lambda w: (
        f"jobschedules/{w.new_schedule('disabled')}/enable", None),
    "JobSchedules_TerminateJobSchedule": lambda w: (
        f"jobschedules/{w.new_schedule()}/terminate", None),
    "JobSchedules_DeleteJobSchedule": lambda w: (f"jobschedules/{w.new_schedule()}", None),
    "Jobs_ListJobsFromSchedule": lambda w: (f"jobschedules/{w.schedule}/jobs", None),
    "Pools_RemoveNodes": lambda w: ("pools/{}/removenodes".format(w.idle_node()[0]), {
        "nodeList": ["node-0"]}),
    "Nodes_RebootNode": lambda w: ("pools/{}/nodes/{}/reboot".format(*w.idle_node()), None),
    "Nodes_ReimageNode": lambda w: ("pools/{}/nodes/{}/reimage".format(*w.idle_node()), None),
    "Nodes_DeleteNodeFile": lambda w: (
        f"pools/{w.pool}/nodes/{w.node}/files/" + w.ran_task()[2] + "/stdout.txt", None),
    "Jobs_DisableJob": lambda w: (f"jobs/{w.new_job()}/disable", {"disableTasks": "requeue"}),
    "Jobs_EnableJob": lambda w: (f"jobs/{w.disabled_job()}/enable", None),
    "Tasks_ReplaceTask": lambda w: ("jobs/{}/tasks/{}".format(*w.active_task()), {
        "constraints": {"maxTaskRetryCount": 1}}),
    "Tasks_DeleteTask": lambda w: ("jobs/{}/tasks/{}".format(*w.active_task()), None),
    "Tasks_ReactivateTask": lambda w: (
        "jobs/{}/tasks/{}/reactivate".format(*w.ran_task("exit 1")[:2]), None),
    "Tasks_DeleteTaskFile": lambda w: (
        "jobs/{}/tasks/{}/files/stdout.txt".format(*w.ran_task()[:2]), None),
    "Applications_ListApplications": lambda w: ("applications", None),
    "Pools_ListPoolUsageMetrics": lambda w: ("poolusagemetrics", None),
}

#: served operations that cannot succeed on an emulated account (it has no
#: applications): their error answer is checked for request-id and
#: client-request-id only (the spec declares no error headers)
ERROR_ONLY = {
    "Applications_GetApplication": lambda w: ("applications/none", None),
    # the nodes take no remote logins (see node_ops_routes): 409 / 404
    "Nodes_CreateNodeUser": lambda w: (f"pools/{w.pool}/nodes/{w.node}/users",
                                       {"name": "alice"}),
    "Nodes_ReplaceNodeUser": lambda w: (f"pools/{w.pool}/nodes/{w.node}/users/alice",
                                        {"password": "x"}),
    "Nodes_DeleteNodeUser": lambda w: (f"pools/{w.pool}/nodes/{w.node}/users/alice", None),
    "Nodes_GetNodeRemoteLoginSettings": lambda w: (
        f"pools/{w.pool}/nodes/{w.node}/remoteloginsettings", None),
}


@pytest.fixture(scope="module")
def world(client) -> World:
    return World(client)


def send(client, method: str, path: str, body, **headers: str):
    url = f"/{path}?{API}"
    request = HttpRequest(method, url, json=body if body is not None else None,
                          headers=headers)
    if method == "POST" and body is None:
        request = HttpRequest(method, url, json={}, headers=headers)
    try:
        return client.send_request(request, stream=True)  # file bodies are bytes
    except HttpResponseError as exc:
        assert exc.response is not None, exc
        return exc.response


def test_every_route_has_a_recipe():
    assert {r.operation for r in ROUTES} == set(RECIPES) | set(ERROR_ONLY)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_served_operation_answers_the_headers_its_spec_declares(client, world, route):
    recipe = RECIPES.get(route.operation) or ERROR_ONLY[route.operation]
    path, body = recipe(world)
    asked_id = str(uuid.uuid4())
    response = send(client, route.method, path, body, **{
        "client-request-id": asked_id, "return-client-request-id": "true"})
    spec = SPEC[route.operation]
    if route.operation in ERROR_ONLY:
        assert response.status_code >= 400
        declared = {"request-id", "client-request-id"}
    else:
        assert response.status_code in spec["successCodes"], (response.status_code,
                                                              response.text()[:300])
        declared = set(spec["responses"][str(response.status_code)].get("headers", {}))
    have = {name.lower() for name, value in response.headers.items() if value}
    missing = sorted(h for h in declared if h.lower() not in have)
    assert missing == [], f"{route.operation} {response.status_code} lacks {missing}"
    assert response.headers["client-request-id"] == asked_id


@pytest.mark.parametrize("asked", [None, "false"])
def test_client_request_id_is_answered_only_when_asked(client, world, asked):
    headers = {"client-request-id": str(uuid.uuid4())}
    if asked is not None:
        headers["return-client-request-id"] = asked
    response = send(client, "GET", f"jobs/{world.job}", None, **headers)
    assert response.status_code == 200
    assert response.headers.get("request-id")
    assert "client-request-id" not in {k.lower() for k in response.headers}
