"""The vendored Batch spec subsets (backends/local/emulator/spec/) hold what
later steps rely on: every operation has a method, a path and a success code,
every ``$ref`` resolves inside the file, and the operations the emulator
serves are there with the status codes its handlers answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from topwords.backends.local import emulator
from topwords.backends.local.emulator.routes import ROUTES

SPEC_DIR = Path(emulator.__file__).resolve().parent / "spec"
SPEC_FILES = sorted(SPEC_DIR.glob("batch-*.json"))
HTTP_METHODS = {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"}

#: (method, emulator route) -> (operationId, the status code its handler answers);
#: read off the handlers (kept apart from the route table, to check it)
SERVED = {
    ("GET", "supportedimages"): ("Pools_ListSupportedImages", 200),
    ("POST", "pools"): ("Pools_CreatePool", 201),
    ("GET", "pools"): ("Pools_ListPools", 200),
    ("GET", "pools/{}"): ("Pools_GetPool", 200),
    ("HEAD", "pools/{}"): ("Pools_PoolExists", 200),
    ("DELETE", "pools/{}"): ("Pools_DeletePool", 202),
    ("GET", "pools/{}/nodes"): ("Nodes_ListNodes", 200),
    ("GET", "pools/{}/nodes/{}"): ("Nodes_GetNode", 200),
    ("GET", "pools/{}/nodes/{}/files"): ("Nodes_ListNodeFiles", 200),
    ("GET", "pools/{}/nodes/{}/files/{}"): ("Nodes_GetNodeFile", 200),
    ("HEAD", "pools/{}/nodes/{}/files/{}"): ("Nodes_GetNodeFileProperties", 200),
    ("POST", "jobs"): ("Jobs_CreateJob", 201),
    ("GET", "jobs"): ("Jobs_ListJobs", 200),
    ("GET", "jobs/{}"): ("Jobs_GetJob", 200),
    ("PATCH", "jobs/{}"): ("Jobs_UpdateJob", 200),
    ("POST", "jobs/{}/terminate"): ("Jobs_TerminateJob", 202),
    ("DELETE", "jobs/{}"): ("Jobs_DeleteJob", 202),
    ("GET", "jobs/{}/taskcounts"): ("Jobs_GetJobTaskCounts", 200),
    ("POST", "jobs/{}/tasks"): ("Tasks_CreateTask", 201),
    ("POST", "jobs/{}/addtaskcollection"): ("Tasks_CreateTaskCollection", 200),
    ("GET", "jobs/{}/tasks"): ("Tasks_ListTasks", 200),
    ("GET", "jobs/{}/tasks/{}"): ("Tasks_GetTask", 200),
    ("POST", "jobs/{}/tasks/{}/terminate"): ("Tasks_TerminateTask", 204),
    ("GET", "jobs/{}/tasks/{}/files"): ("Tasks_ListTaskFiles", 200),
    ("GET", "jobs/{}/tasks/{}/files/{}"): ("Tasks_GetTaskFile", 200),
    ("HEAD", "jobs/{}/tasks/{}/files/{}"): ("Tasks_GetTaskFileProperties", 200),
    ("PATCH", "pools/{}"): ("Pools_UpdatePool", 200),
    ("POST", "pools/{}/updateproperties"): ("Pools_ReplacePoolProperties", 204),
    ("POST", "pools/{}/resize"): ("Pools_ResizePool", 202),
    ("POST", "pools/{}/stopresize"): ("Pools_StopPoolResize", 202),
    ("GET", "nodecounts"): ("Pools_ListPoolNodeCounts", 200),
    ("PUT", "jobs/{}"): ("Jobs_ReplaceJob", 200),
    ("GET", "applications"): ("Applications_ListApplications", 200),
    ("GET", "applications/{}"): ("Applications_GetApplication", 200),
    ("GET", "poolusagemetrics"): ("Pools_ListPoolUsageMetrics", 200),
    ("POST", "pools/{}/enableautoscale"): ("Pools_EnablePoolAutoScale", 200),
    ("POST", "pools/{}/disableautoscale"): ("Pools_DisablePoolAutoScale", 200),
    ("POST", "pools/{}/evaluateautoscale"): ("Pools_EvaluatePoolAutoScale", 200),
    ("POST", "jobschedules"): ("JobSchedules_CreateJobSchedule", 201),
    ("GET", "jobschedules"): ("JobSchedules_ListJobSchedules", 200),
    ("GET", "jobschedules/{}"): ("JobSchedules_GetJobSchedule", 200),
    ("HEAD", "jobschedules/{}"): ("JobSchedules_JobScheduleExists", 200),
    ("PUT", "jobschedules/{}"): ("JobSchedules_ReplaceJobSchedule", 200),
    ("PATCH", "jobschedules/{}"): ("JobSchedules_UpdateJobSchedule", 200),
    ("POST", "jobschedules/{}/disable"): ("JobSchedules_DisableJobSchedule", 204),
    ("POST", "jobschedules/{}/enable"): ("JobSchedules_EnableJobSchedule", 204),
    ("POST", "jobschedules/{}/terminate"): ("JobSchedules_TerminateJobSchedule", 202),
    ("DELETE", "jobschedules/{}"): ("JobSchedules_DeleteJobSchedule", 202),
    ("GET", "jobschedules/{}/jobs"): ("Jobs_ListJobsFromSchedule", 200),
    ("POST", "jobs/{}/disable"): ("Jobs_DisableJob", 202),
    ("POST", "jobs/{}/enable"): ("Jobs_EnableJob", 202),
    ("PUT", "jobs/{}/tasks/{}"): ("Tasks_ReplaceTask", 200),
    ("DELETE", "jobs/{}/tasks/{}"): ("Tasks_DeleteTask", 200),
    ("POST", "jobs/{}/tasks/{}/reactivate"): ("Tasks_ReactivateTask", 204),
    ("DELETE", "jobs/{}/tasks/{}/files/{}"): ("Tasks_DeleteTaskFile", 200),
    ("DELETE", "pools/{}/nodes/{}/files/{}"): ("Nodes_DeleteNodeFile", 200),
    ("POST", "pools/{}/removenodes"): ("Pools_RemoveNodes", 202),
    ("POST", "pools/{}/nodes/{}/reboot"): ("Nodes_RebootNode", 202),
    ("POST", "pools/{}/nodes/{}/reimage"): ("Nodes_ReimageNode", 202),
    # these refuse after the lookups (409 / 404: remote login is not emulated)
    ("POST", "pools/{}/nodes/{}/users"): ("Nodes_CreateNodeUser", 201),
    ("PUT", "pools/{}/nodes/{}/users/{}"): ("Nodes_ReplaceNodeUser", 200),
    ("DELETE", "pools/{}/nodes/{}/users/{}"): ("Nodes_DeleteNodeUser", 200),
    ("GET", "pools/{}/nodes/{}/remoteloginsettings"): ("Nodes_GetNodeRemoteLoginSettings", 200),
}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def spec_path_key(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path.lstrip("/"))


def route_key(template: str) -> str:
    return re.sub(r"\{\w+\*?\}", "{}", template)


def refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def body_names(op: dict) -> list[str]:
    bodies = [op["errorBody"], (op["requestBody"] or {}).get("definition")]
    bodies += [response["body"] for response in op["responses"].values()]
    return [b for b in bodies if isinstance(b, str) and b != "file"]


def test_spec_dir_has_the_current_version_vendored():
    assert SPEC_DIR / "batch-2025-06-01.json" in SPEC_FILES


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_vendored_spec_every_operation_has_method_path_and_success_code(path):
    spec = load(path)
    assert spec["operationCount"] == len(spec["operations"]) > 0
    assert spec["source"].startswith("Azure/azure-rest-api-specs specification/batch/")
    assert f"/{spec['apiVersion']}/" in spec["source"] and " at commit " in spec["source"]
    for op_id, op in spec["operations"].items():
        assert op["method"] in HTTP_METHODS, op_id
        assert op["path"].startswith("/"), op_id
        assert op["successCodes"] and all(200 <= c < 300 for c in op["successCodes"]), op_id
        assert all(str(c) in op["responses"] for c in op["successCodes"]), op_id
        assert op["queryParameters"].get("api-version") is True, op_id
        assert set(re.findall(r"\{(\w+)\}", op["path"])) == set(op["pathParameters"]), op_id


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_vendored_spec_every_ref_resolves_inside_the_file(path):
    spec = load(path)
    definitions = spec["definitions"]
    for ref in refs(definitions):
        assert ref.startswith("#/definitions/") and ref.split("/")[-1] in definitions, ref
    for op_id, op in spec["operations"].items():
        for name in body_names(op):
            assert name in definitions, f"{op_id}: {name}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_vendored_spec_keeps_only_reachable_definitions_without_prose(path):
    spec = load(path)
    reached: set[str] = set()
    todo = [n for op in spec["operations"].values() for n in body_names(op)]
    todo += [r.split("/")[-1] for op in spec["operations"].values() for r in refs(op)]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += [r.split("/")[-1] for r in refs(spec["definitions"][name])]
    assert reached == set(spec["definitions"])
    assert '"description"' not in path.read_text(encoding="utf-8")


def test_emulator_routes_are_exactly_the_served_table():
    served = {(r.method, route_key(r.template)): r.operation for r in ROUTES}
    assert served == {key: op_id for key, (op_id, _) in SERVED.items()}
    assert len(SERVED) == 63


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_vendored_spec_has_every_served_operation_with_the_code_the_handler_answers(path):
    spec = load(path)
    by_route = {(op["method"], spec_path_key(op["path"])): (op_id, op)
                for op_id, op in spec["operations"].items()}
    for (method, route), (op_id, code) in SERVED.items():
        # older versions name operations differently (Pool_Get, not Pools_GetPool):
        # the method and path are what the emulator serves
        assert (method, route) in by_route, f"{method} {route} ({op_id}) missing from {path.name}"
        spec_id, op = by_route[(method, route)]
        if spec["apiVersion"] == "2025-06-01":
            assert spec_id == op_id
        assert code in op["successCodes"], f"{spec_id}: handler answers {code}"
