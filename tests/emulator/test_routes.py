"""The route table's dispatcher and shared handlers, on a real engine with
no nodes (the process runtime; no pool is created, so nothing starts):
requests go straight to ``routes.dispatch``, no HTTP, and every call the
handlers make into the engine is counted."""

from __future__ import annotations

import gc
import json
import time
from email.utils import parsedate_to_datetime

import pytest

from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.runtime import make_runtime
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.routes import ROUTES, dispatch
from topwords.backends.local.emulator.routing import Request, Service
from topwords.backends.local.emulator.versions import LATEST_API_VERSION


class Counting:
    """The engine, with every public call counted by name."""

    def __init__(self, engine: LocalBatchEngine) -> None:
        self._engine, self.calls = engine, []

    def __getattr__(self, name):
        found = getattr(self._engine, name)
        if name.startswith("_") or not callable(found):
            return found

        def counted(*args, **kwargs):
            self.calls.append(name)
            return found(*args, **kwargs)
        return counted


@pytest.fixture
def service(tmp_path):
    engine = LocalBatchEngine(runtime=make_runtime("process"), image="unused",
                              work_dir=tmp_path)
    yield Service(engine=Counting(engine), page_size=2)  # type: ignore[arg-type]
    engine.close()


def call(service: Service, method: str, path: str, body=None, **query: str):
    request = Request(method=method, segments=tuple(path.split("/")),
                      query={"api-version": LATEST_API_VERSION, **query}, headers={},
                      body=json.dumps(body).encode() if body is not None else b"",
                      base_url="http://127.0.0.1:1")
    try:
        response = dispatch(service, request)
    except BatchApiError as exc:
        return exc.status, {"code": exc.code, "values": exc.values}, {}
    return response.status, json.loads(response.body or b"null"), response.headers


def make_job(service: Service, job_id: str = "j", **extra) -> None:
    """A job on a pool that does not exist: its tasks never start."""
    status, _, _ = call(service, "POST", "jobs", {"id": job_id, "poolInfo": {"poolId": "p"},
                                                   **extra})
    assert status == 201


def test_add_task_collection_makes_one_call_into_the_engine(service):
    make_job(service)
    service.engine.calls.clear()
    tasks = [{"id": f"t{i}", "commandLine": "true"} for i in range(50)]
    status, body, _ = call(service, "POST", "jobs/j/addtaskcollection", {"value": tasks})
    assert status == 200
    assert [r["status"] for r in body["value"]] == ["success"] * 50
    assert service.engine.calls == ["add_task_collection"]


def test_add_task_collection_refuses_each_bad_task_on_its_own(service):
    make_job(service)
    tasks = [{"id": "a", "commandLine": "true"}, {"id": "a", "commandLine": "true"},
             {"id": "b"}, {"id": "c", "commandLine": "true", "dependsOn": {"taskIds": ["a"]}},
             {"id": "d", "commandLine": "true"}]
    status, body, _ = call(service, "POST", "jobs/j/addtaskcollection", {"value": tasks})
    assert status == 200
    outcome = [(r["taskId"], r["status"], r.get("error", {}).get("code"))
               for r in body["value"]]
    assert outcome == [("a", "success", None), ("a", "clienterror", "TaskExists"),
                       ("b", "clienterror", "MissingRequiredProperty"),
                       ("c", "clienterror", "TaskDependenciesNotSpecifiedOnJob"),
                       ("d", "success", None)]
    assert [t.id for t in service.engine.list_tasks("j")] == ["a", "d"]


def test_add_task_collection_to_a_missing_job_is_404_whatever_its_tasks(service):
    status, body, _ = call(service, "POST", "jobs/nope/addtaskcollection",
                           {"value": [{"id": "x"}]})
    assert (status, body["code"]) == (404, "JobNotFound")


def test_create_task_makes_one_call_into_the_engine(service):
    make_job(service)
    service.engine.calls.clear()
    status, _, headers = call(service, "POST", "jobs/j/tasks", {"id": "t", "commandLine": "x"})
    assert status == 201 and headers["ETag"].startswith("0x")
    assert service.engine.calls == ["add_task_collection"]


def test_dependency_rule_is_the_engines_and_answers_batchs_error(service):
    make_job(service)
    status, body, _ = call(service, "POST", "jobs/j/tasks",
                           {"id": "t", "commandLine": "x", "dependsOn": {"taskIds": ["a"]}})
    assert (status, body["code"]) == (400, "TaskDependenciesNotSpecifiedOnJob")
    assert body["values"] == {"JobId": "j", "TaskId": "t"}


def test_shared_list_handler_filters_pages_and_selects(service):
    for n in range(5):
        make_job(service, f"job{n}")
    status, body, _ = call(service, "GET", "jobs", **{"$filter": "startswith(id, 'job')",
                                                      "$select": "id,state"})
    assert status == 200
    assert body["value"] == [{"id": "job0", "state": "active"},
                             {"id": "job1", "state": "active"}]
    assert "%24skiptoken=2" in body["odata.nextLink"]


def test_shared_get_handler_selects_and_stamps(service):
    make_job(service)
    status, body, headers = call(service, "GET", "jobs/j", **{"$select": "id"})
    assert (status, body) == (200, {"id": "j", "odata.metadata":
                                    "http://127.0.0.1:1/$metadata#jobs/@Element"})
    assert headers["ETag"].startswith("0x") and headers["Last-Modified"].endswith("GMT")


@pytest.mark.parametrize("method,path", [("POST", "pools/p/nodes/n/disablescheduling"),
                                         ("GET", "jobs/j/jobpreparationandreleasetaskstatus"),
                                         ("GET", "nosuchthing")])
def test_unrouted_operation_is_501_naming_method_and_path(service, method, path):
    status, body, _ = call(service, method, path, {})
    assert (status, body["code"]) == (501, "NotSupported")
    assert service.engine.calls == []


def test_route_table_has_one_row_per_method_and_template():
    keys = [(r.method, r.template) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert all(callable(r.handler) for r in ROUTES)


def test_job_etag_and_last_modified_change_after_an_update(service):
    make_job(service)
    _, _, first = call(service, "GET", "jobs/j")
    time.sleep(0.002)
    status, _, updated = call(service, "PATCH", "jobs/j", {"priority": 7})
    _, body, after = call(service, "GET", "jobs/j")
    assert status == 200 and body["priority"] == 7
    assert updated["ETag"] == after["ETag"] != first["ETag"]
    assert body["eTag"] == after["ETag"] and body["lastModified"] > body["creationTime"]
    assert parsedate_to_datetime(after["Last-Modified"]) >= \
        parsedate_to_datetime(first["Last-Modified"])


def test_task_etag_changes_when_the_task_changes(service):
    make_job(service)
    _, _, created = call(service, "POST", "jobs/j/tasks", {"id": "t", "commandLine": "true"})
    assert call(service, "POST", "jobs/j/tasks/t/terminate")[0] == 204
    _, body, after = call(service, "GET", "jobs/j/tasks/t")
    assert body["state"] == "completed" and after["ETag"] != created["ETag"]


def _marked(marker: str) -> int:
    """How many live lists hold ``marker`` (extras the emulator was given)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is list and marker in o)


def test_nothing_of_a_deleted_job_or_pool_is_kept(service):
    """No side store: the Service keeps no state per resource, and once a
    job or pool is deleted nothing it was given (its extras) is alive."""
    before = dict(vars(service))
    for n in range(10):
        make_job(service, f"j{n}", tags=[f"job-marker-{n}"])
        tasks = [{"id": "t", "commandLine": "true", "tags": [f"task-marker-{n}"]}]
        assert call(service, "POST", f"jobs/j{n}/addtaskcollection", {"value": tasks})[0] == 200
    del tasks  # this test's own copy of the last body
    assert call(service, "POST", "pools", {
        "id": "p", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1,
        "tags": ["pool-marker"], "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                               "sku": "server"}, "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
    })[0] == 201
    assert _marked("job-marker-3") == 1 and _marked("task-marker-3") == 1
    assert _marked("pool-marker") == 1
    for n in range(10):
        assert call(service, "DELETE", f"jobs/j{n}")[0] == 202
    assert call(service, "DELETE", "pools/p")[0] == 202
    service.engine.wait_for_deletions(30)
    assert call(service, "GET", "jobs")[1]["value"] == []
    assert call(service, "GET", "pools")[1]["value"] == []
    assert vars(service) == before
    assert [_marked(f"job-marker-{n}") + _marked(f"task-marker-{n}") for n in range(10)] == \
        [0] * 10
    assert _marked("pool-marker") == 0
