"""BatchCompute on the real azure-batch 15 client, without a network.

A scripted azure-core transport records every request (method, path, query,
headers, JSON body) and answers from routes set per test, so these tests
check the exact requests the SDK sends for our specs and how the answers
(and errors) come back through the Compute interface.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpResponse
from azure.core.utils import CaseInsensitiveDict

from topwords.backends.azure import batch_compute
from topwords.backends.azure.batch_compute import BatchCompute, connect
from topwords.backends.azure.batch_errors import BatchAuthError
from topwords.core.errors import (
    ComputeError, ConfigError, JobNotFound, PoolError, PoolNotFound, ResourceExists,
    StartTaskFailed, TaskNotFound, TopwordsError,
)
from topwords.core.model import (
    JobSpec, NodeState, OutputFile, PoolSpec, ResourceFile, StartTask, TaskConstraints,
    TaskCounts, TaskResult, TaskSpec, TaskState, UploadCondition,
)

KEY = base64.b64encode(b"not-a-real-key-" * 4).decode()
ENDPOINT = "https://acct.region.batch.azure.com"
READ_URL = "https://sa.blob.core.windows.net/in/a.txt?sv=2025-01-05&sp=r&sig=R3AD%2Bsig"
WRITE_URL = "https://sa.blob.core.windows.net/out?sv=2025-01-05&sp=cw&sig=WR1TE%2Bsig"
SECRETS = (KEY, "R3AD%2Bsig", "WR1TE%2Bsig", "R3AD+sig", "WR1TE+sig")


# -- the scripted transport ---------------------------------------------------------

@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    def text(self) -> str:
        """Everything the request carries, for secret scans."""
        return f"{self.method} {self.path} {self.query} {self.headers} {json.dumps(self.body)}"


Reply = tuple  # (status, JSON-able body | bytes, headers dict)


class ScriptedResponse(HttpResponse):
    def __init__(self, request, status: int, body: Any, headers: dict) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode() if body is not None else b""
            headers = {"content-type": "application/json;odata=minimalmetadata", **headers}
        self._request, self._status, self._content = request, status, body
        self._headers = CaseInsensitiveDict(headers)
        self._closed = False

    request = property(lambda self: self._request)
    status_code = property(lambda self: self._status)
    headers = property(lambda self: self._headers)
    reason = property(lambda self: "Scripted")
    content_type = property(lambda self: self._headers.get("content-type"))
    is_closed = property(lambda self: self._closed)
    is_stream_consumed = property(lambda self: False)
    encoding = property(lambda self: "utf-8")
    url = property(lambda self: self._request.url)
    content = property(lambda self: self._content)

    def text(self, encoding=None):
        return self._content.decode(encoding or "utf-8")

    def json(self):
        return json.loads(self._content) if self._content else None

    def raise_for_status(self):
        if self._status >= 400:
            raise HttpResponseError(response=self)

    def read(self):
        return self._content

    def iter_raw(self, **kwargs):
        yield self._content

    def iter_bytes(self, **kwargs):
        yield self._content

    def close(self):
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


class ScriptedTransport(HttpTransport):
    """Records each request as a :class:`Call` and answers ``responder(call)``."""

    def __init__(self, responder: Callable[[Call], Reply]) -> None:
        self.responder, self.calls, self.closed = responder, [], False
        self._lock = threading.Lock()  # the SDK's delete pollers run in threads

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        content = request.content
        body = json.loads(content) if content else None
        call = Call(request.method, unquote(parts.path), dict(parse_qsl(parts.query)),
                    dict(request.headers), body)
        with self._lock:
            self.calls.append(call)
        status, reply_body, headers = self.responder(call)
        return ScriptedResponse(request, status, reply_body, headers)

    def open(self):
        pass

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


def error(status: int, code: str, message: str = "It went wrong.", **values: str) -> Reply:
    body = {"code": code, "message": {"lang": "en-US",
                                      "value": f"{message}\nRequestId:r-1\nTime:2026-01-01"}}
    if values:
        body["values"] = [{"key": k, "value": v} for k, v in values.items()]
    return status, body, {}


class FakeBatch:
    """Routes ``(method, path)`` to replies. Several replies are used in turn
    (the last one repeats); a callable reply is called with the Call. An
    unrouted request gets 404 NotScripted."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list] = {}
        self.transport = ScriptedTransport(self._answer)

    def on(self, method: str, path: str, *replies) -> None:
        self.routes[(method, path)] = list(replies)

    def _answer(self, call: Call) -> Reply:
        replies = self.routes.get((call.method, call.path))
        if not replies:
            return error(404, "NotScripted", f"no route for {call.method} {call.path}")
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(call) if callable(reply) else reply

    def calls(self, method: str, path: str | None = None) -> list[Call]:
        return [c for c in self.transport.calls
                if c.method == method and (path is None or c.path == path)]


def image(offer, sku, agent, *, verified=True):
    return {"imageReference": {"publisher": "canonical", "offer": offer, "sku": sku,
                               "version": "latest"},
            "nodeAgentSKUId": agent, "osType": "linux",
            "verificationType": "verified" if verified else "unverified"}


IMAGES = {"value": [
    image("ubuntu-22_04-lts", "server", "batch.node.ubuntu 22.04"),
    image("ubuntu-26_04-lts", "server", "batch.node.ubuntu 26.04", verified=False),
    image("ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04"),
]}


@pytest.fixture
def batch() -> FakeBatch:
    return FakeBatch()


@pytest.fixture
def compute(batch):
    with connect(ENDPOINT, AzureNamedKeyCredential("acct", KEY), transport=batch.transport,
                 retry_total=0) as compute:
        yield compute


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


def task_result(task_id: str, status: str = "success", code: str | None = None) -> dict:
    result = {"status": status, "taskId": task_id}
    if code:
        result["error"] = {"code": code, "message": {"lang": "en-US", "value": f"{code}."}}
    return result


def accept_all(call: Call) -> Reply:
    return 200, {"value": [task_result(t["id"]) for t in call.body["value"]]}, {}


# -- capabilities and connect -------------------------------------------------------

def test_connect_builds_batch_compute_with_azure_capabilities(compute):
    assert isinstance(compute, BatchCompute)
    assert (compute.name, compute.poll_interval, compute.max_poll_interval) == ("azure", 2.0, 15.0)
    assert compute.supports_task_dependencies and compute.supports_output_files


def test_close_closes_the_transport(batch):
    connect(ENDPOINT, AzureNamedKeyCredential("acct", KEY), transport=batch.transport).close()
    assert batch.transport.closed


# -- pools ------------------------------------------------------------------------

POOL_SPEC = PoolSpec(
    id="p1", node_count=2, spot_node_count=1, task_slots_per_node=3,
    start_task=StartTask(command_line="/bin/bash -c 'cp run.py $AZ_BATCH_NODE_SHARED_DIR'",
                         resource_files=(ResourceFile(http_url=READ_URL, file_path="run.py"),)),
    metadata={"topwords-run": "r1"})


def test_create_pool_spec_sends_pool_with_newest_verified_ubuntu_lts(batch, compute):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", (201, None, {}))
    compute.create_pool(POOL_SPEC)
    [call] = batch.calls("POST", "/pools")
    assert call.query["api-version"] == "2025-06-01"
    assert call.body == {
        "id": "p1", "vmSize": "standard_d2s_v3",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                               "sku": "server", "version": "latest"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
        "targetDedicatedNodes": 2, "targetLowPriorityNodes": 1, "taskSlotsPerNode": 3,
        "startTask": {
            "commandLine": POOL_SPEC.start_task.command_line,
            "resourceFiles": [{"httpUrl": READ_URL, "filePath": "run.py"}],
            "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}},
            "maxTaskRetryCount": 0, "waitForSuccess": True},
        "metadata": [{"name": "topwords-run", "value": "r1"}],
    }


def test_create_pool_twice_lists_supported_images_once(batch):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", (201, None, {}))
    with connect(ENDPOINT, AzureNamedKeyCredential("acct", KEY), transport=batch.transport,
                 default_vm_size="standard_a1_v2") as compute:
        compute.create_pool(PoolSpec(id="p1"))
        compute.create_pool(PoolSpec(id="p2", image="canonical:ubuntu-22_04-lts:server"))
    first, second = batch.calls("POST", "/pools")
    assert len(batch.calls("GET", "/supportedimages")) == 1
    assert first.body["vmSize"] == second.body["vmSize"] == "standard_a1_v2"
    assert second.body["virtualMachineConfiguration"]["nodeAgentSKUId"] == "batch.node.ubuntu 22.04"


def test_create_pool_unsupported_image_raises_pool_error_without_creating(batch, compute):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    with pytest.raises(PoolError, match="not supported"):
        compute.create_pool(PoolSpec(id="p1", image="canonical:ubuntu-16_04:server"))
    assert not batch.calls("POST")


def test_create_pool_existing_raises_resource_exists(batch, compute):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", error(409, "PoolExists", "The specified pool already exists."))
    with pytest.raises(ResourceExists, match="PoolExists: The specified pool already exists"):
        compute.create_pool(POOL_SPEC)


@pytest.mark.parametrize("status, code", [(409, "PoolQuotaReached"),
                                          (400, "AccountCoreQuotaReached")])
def test_create_pool_quota_error_raises_pool_error_with_quota_hint(batch, compute, status, code):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", error(status, code, "The quota has been reached."))
    with pytest.raises(PoolError) as info:
        compute.create_pool(POOL_SPEC)
    assert not isinstance(info.value, ResourceExists)
    assert code in str(info.value) and "quota" in info.value.hint


def test_create_pool_invalid_value_message_names_property_without_sas(batch, compute):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", error(400, "InvalidPropertyValue", "The value is invalid.",
                                     PropertyName="httpUrl", PropertyValue=READ_URL))
    with pytest.raises(PoolError) as info:
        compute.create_pool(POOL_SPEC)
    text = str(info.value)
    assert "InvalidPropertyValue" in text and "PropertyName=httpUrl" in text
    assert not any(s in text for s in SECRETS) and "RequestId" not in text
    assert "check the value" in info.value.hint


POOL_JSON = {
    "id": "p1", "state": "active", "allocationState": "steady", "vmSize": "standard_d2s_v3",
    "virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                           "sku": "server", "version": "latest"},
        "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
    "targetDedicatedNodes": 2, "targetLowPriorityNodes": 0,
    "currentDedicatedNodes": 0, "currentLowPriorityNodes": 0, "taskSlotsPerNode": 1,
}


def test_get_pool_resize_errors_map_to_pool_info(batch, compute):
    errors = [{"code": "AccountCoreQuotaReached", "message": "Core quota reached"}]
    batch.on("GET", "/pools/p1", (200, dict(POOL_JSON, resizeErrors=errors), {}))
    info = compute.get_pool("p1")
    assert info.spec.image == "canonical:ubuntu-24_04-lts:server:latest"
    assert (info.spec.node_count, info.current_node_count) == (2, 0)
    assert info.resize_errors == ("AccountCoreQuotaReached: Core quota reached",)


def test_get_pool_missing_raises_pool_not_found(batch, compute):
    batch.on("GET", "/pools/nope", error(404, "PoolNotFound", "The specified pool does not exist."))
    with pytest.raises(PoolNotFound) as info:
        compute.get_pool("nope")
    assert isinstance(info.value, LookupError)


def test_get_pool_forbidden_raises_auth_error_with_key_hint(batch, compute):
    batch.on("GET", "/pools/p1", error(403, "AuthenticationFailed",
                                       "Server failed to authenticate the request."))
    with pytest.raises(BatchAuthError) as info:
        compute.get_pool("p1")
    assert isinstance(info.value, PermissionError) and isinstance(info.value, ComputeError)
    assert "AuthenticationFailed" in str(info.value) and "key" in info.value.hint
    assert KEY not in str(info.value) + info.value.hint


def test_get_pool_unreachable_raises_compute_error_with_url_hint(compute, batch):
    def refuse(call):
        raise ServiceRequestError("Connection refused")
    batch.transport.responder = refuse
    with pytest.raises(ComputeError) as info:
        compute.get_pool("p1")
    assert "cannot reach Batch" in str(info.value)
    assert "TOPWORDS_BATCH_URL" in info.value.hint


def test_get_pool_server_error_raises_compute_error_with_code(batch, compute):
    batch.on("GET", "/pools/p1", error(500, "InternalError", "Server error."))
    with pytest.raises(ComputeError, match="reading pool p1 failed: InternalError: Server error"):
        compute.get_pool("p1")


def test_list_nodes_start_task_failed_node_carries_stderr_tail(batch, compute):
    nodes = [{"id": "n1", "state": "idle"},
             {"id": "n2", "state": "starttaskfailed",
              "startTaskInfo": {"state": "completed", "exitCode": 7, "retryCount": 0}}]
    batch.on("GET", "/pools/p1/nodes", (200, {"value": nodes}, {}))
    stderr = ("x" * 5000 + "\ncannot find the thing\n").encode()
    batch.on("GET", "/pools/p1/nodes/n2/files/startup/stderr.txt", (200, stderr, {}))
    idle, failed = compute.list_nodes("p1")
    assert (idle.state, idle.start_task_stderr) == (NodeState.IDLE, "")
    assert (failed.state, failed.start_task_exit_code) == (NodeState.START_TASK_FAILED, 7)
    assert failed.start_task_stderr.endswith("cannot find the thing\n")
    assert len(failed.start_task_stderr) == batch_compute.STDERR_TAIL
    assert len(batch.calls("GET", "/pools/p1/nodes/n2/files/startup/stderr.txt")) == 1


def test_list_nodes_unreadable_stderr_is_ignored(batch, compute):
    nodes = [{"id": "n1", "state": "starttaskfailed", "startTaskInfo": {"exitCode": 1}}]
    batch.on("GET", "/pools/p1/nodes", (200, {"value": nodes}, {}))
    batch.on("GET", "/pools/p1/nodes/n1/files/startup/stderr.txt",
             error(409, "NodeNotReady", "The node is not ready."))
    [node] = compute.list_nodes("p1")
    assert node.start_task_stderr == ""


def test_list_nodes_missing_pool_raises_pool_not_found(batch, compute):
    batch.on("GET", "/pools/nope/nodes", error(404, "PoolNotFound"))
    with pytest.raises(PoolNotFound):
        compute.list_nodes("nope")


@pytest.mark.parametrize("reply", [(202, None, {}), error(404, "PoolNotFound"),
                                   error(409, "PoolBeingDeleted")])
def test_delete_pool_accepted_missing_or_deleting_returns_without_waiting(batch, compute, reply):
    batch.on("DELETE", "/pools/p1", reply)
    batch.on("GET", "/pools/p1", (200, dict(POOL_JSON, state="deleting"), {}))
    compute.delete_pool("p1")  # the SDK poller would see "deleting" forever
    assert len(batch.calls("DELETE", "/pools/p1")) == 1


def test_delete_pool_other_conflict_raises_pool_error(batch, compute):
    batch.on("DELETE", "/pools/p1", error(409, "OperationNotAllowed", "Not now."))
    with pytest.raises(PoolError, match="OperationNotAllowed"):
        compute.delete_pool("p1")


# -- jobs -------------------------------------------------------------------------

def test_create_job_spec_sends_pool_dependencies_and_termination(batch, compute):
    batch.on("GET", "/pools/p1", (200, {"id": "p1"}, {}))
    batch.on("POST", "/jobs", (201, None, {}))
    compute.create_job(JobSpec(id="j1", pool_id="p1", uses_task_dependencies=True,
                               terminate_when_tasks_complete=True, metadata={"k": "v"}))
    [call] = batch.calls("POST", "/jobs")
    assert call.body == {"id": "j1", "poolInfo": {"poolId": "p1"}, "usesTaskDependencies": True,
                         "onAllTasksComplete": "terminatejob",
                         "metadata": [{"name": "k", "value": "v"}]}


def test_set_terminate_when_tasks_complete_patches_the_job(batch, compute):
    batch.on("PATCH", "/jobs/j1", (200, None, {}))
    compute.set_terminate_when_tasks_complete("j1")
    [call] = batch.calls("PATCH", "/jobs/j1")
    assert call.body == {"onAllTasksComplete": "terminatejob"}


def test_create_job_missing_pool_raises_pool_not_found_without_creating(batch, compute):
    batch.on("GET", "/pools/nope", error(404, "PoolNotFound"))
    with pytest.raises(PoolNotFound):
        compute.create_job(JobSpec(id="j1", pool_id="nope"))
    assert not batch.calls("POST")


def test_create_job_existing_raises_resource_exists(batch, compute):
    batch.on("GET", "/pools/p1", (200, {"id": "p1"}, {}))
    batch.on("POST", "/jobs", error(409, "JobExists", "The specified job already exists."))
    with pytest.raises(ResourceExists, match="JobExists"):
        compute.create_job(JobSpec(id="j1", pool_id="p1"))


@pytest.mark.parametrize("reply", [(202, None, {}), error(404, "JobNotFound"),
                                   error(409, "JobBeingDeleted")])
def test_delete_job_accepted_missing_or_deleting_is_a_no_op(batch, compute, reply):
    batch.on("DELETE", "/jobs/j1", reply)
    compute.delete_job("j1")
    assert len(batch.calls("DELETE", "/jobs/j1")) == 1


# -- tasks ------------------------------------------------------------------------

def full_task(task_id: str = "t1") -> TaskSpec:
    return TaskSpec(
        id=task_id, command_line="python3 $AZ_BATCH_NODE_SHARED_DIR/run.py a.txt",
        resource_files=(ResourceFile(http_url=READ_URL, file_path="a.txt"),),
        output_files=(OutputFile(file_pattern="wd/*.out", container_url=WRITE_URL,
                                 path="results", upload_condition=UploadCondition.TASK_SUCCESS),),
        environment={"OUTPUT_URL": WRITE_URL},
        constraints=TaskConstraints(max_task_retry_count=2, max_wall_clock_time=900),
        depends_on=("t0",))


def test_add_tasks_full_spec_sends_task_body_with_urls_untouched(batch, compute):
    batch.on("POST", "/jobs/j1/addtaskcollection", accept_all)
    compute.add_tasks("j1", [full_task()])
    [call] = batch.calls("POST", "/jobs/j1/addtaskcollection")
    assert call.body == {"value": [{
        "id": "t1", "commandLine": "python3 $AZ_BATCH_NODE_SHARED_DIR/run.py a.txt",
        "resourceFiles": [{"httpUrl": READ_URL, "filePath": "a.txt"}],
        "outputFiles": [{"filePattern": "wd/*.out",
                         "destination": {"container": {"containerUrl": WRITE_URL,
                                                       "path": "results"}},
                         "uploadOptions": {"uploadCondition": "tasksuccess"}}],
        "environmentSettings": [{"name": "OUTPUT_URL", "value": WRITE_URL}],
        "constraints": {"maxWallClockTime": "PT15M00S", "maxTaskRetryCount": 2},
        "dependsOn": {"taskIds": ["t0"]},
        "userIdentity": {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}},
    }]}


def test_add_tasks_250_tasks_sends_three_ordered_requests_of_at_most_100(batch, compute):
    batch.on("POST", "/jobs/j1/addtaskcollection", accept_all)
    compute.add_tasks("j1", [TaskSpec(id=f"t{i}", command_line="true") for i in range(250)])
    sent = [[t["id"] for t in c.body["value"]] for c in batch.calls("POST")]
    assert [len(ids) for ids in sent] == [100, 100, 50]
    assert sum(sent, []) == [f"t{i}" for i in range(250)]


def test_add_tasks_no_tasks_sends_nothing(batch, compute):
    compute.add_tasks("j1", [])
    assert not batch.transport.calls


def test_add_tasks_too_large_chunk_is_halved(batch, compute):
    batch.on("POST", "/jobs/j1/addtaskcollection",
             error(413, "RequestBodyTooLarge", "The request body is too large."), accept_all)
    compute.add_tasks("j1", [TaskSpec(id=f"t{i}", command_line="true") for i in range(100)])
    sizes = [len(c.body["value"]) for c in batch.calls("POST")]
    assert sizes == [100, 50, 50]


def test_add_tasks_server_errors_resubmit_only_failed_tasks(batch, compute, no_sleep):
    first = (200, {"value": [task_result("a"), task_result("b", "servererror", "ServerBusy")]},
             {})
    batch.on("POST", "/jobs/j1/addtaskcollection", first, accept_all)
    compute.add_tasks("j1", [TaskSpec(id=i, command_line="true") for i in "ab"])
    sent = [[t["id"] for t in c.body["value"]] for c in batch.calls("POST")]
    assert sent == [["a", "b"], ["b"]]


def test_add_tasks_persistent_server_errors_raise_compute_error(batch, compute, no_sleep):
    batch.on("POST", "/jobs/j1/addtaskcollection",
             lambda c: (200, {"value": [task_result("a", "servererror", "ServerBusy")]}, {}))
    with pytest.raises(ComputeError, match="server errors"):
        compute.add_tasks("j1", [TaskSpec(id="a", command_line="true")])
    assert len(batch.calls("POST")) == batch_compute.SERVER_ERROR_RETRIES + 1


def test_add_tasks_existing_task_raises_resource_exists(batch, compute):
    batch.on("POST", "/jobs/j1/addtaskcollection",
             (200, {"value": [task_result("dup", "clienterror", "TaskExists")]}, {}))
    with pytest.raises(ResourceExists, match="dup.*TaskExists"):
        compute.add_tasks("j1", [TaskSpec(id="dup", command_line="true")])


def test_add_tasks_same_id_twice_raises_resource_exists_before_sending(batch, compute):
    with pytest.raises(ResourceExists, match="t1"):
        compute.add_tasks("j1", [TaskSpec(id="t1", command_line="a"),
                                 TaskSpec(id="t1", command_line="b")])
    assert not batch.transport.calls


def test_add_tasks_dependencies_on_plain_job_raise_config_error(batch, compute):
    batch.on("POST", "/jobs/j1/addtaskcollection",
             (200, {"value": [task_result("a", "clienterror",
                                          "TaskDependenciesNotSpecifiedOnJob")]}, {}))
    with pytest.raises(ConfigError) as info:
        compute.add_tasks("j1", [TaskSpec(id="a", command_line="true", depends_on=("b",))])
    assert "uses_task_dependencies" in info.value.hint


def test_add_tasks_missing_job_raises_job_not_found(batch, compute):
    batch.on("POST", "/jobs/nope/addtaskcollection",
             error(404, "JobNotFound", "The specified job does not exist."))
    with pytest.raises(JobNotFound) as info:
        compute.add_tasks("nope", [TaskSpec(id="a", command_line="true")])
    assert isinstance(info.value, LookupError)
    assert "JobNotFound: The specified job does not exist" in str(info.value)


def test_list_tasks_follows_next_link_and_maps_results(batch, compute):
    page2 = f"{ENDPOINT}/jobs/j1/tasks?api-version=2025-06-01&$skiptoken=2"
    done = {"id": "b", "state": "completed",
            "executionInfo": {"exitCode": 0, "result": "success", "retryCount": 1,
                              "requeueCount": 0},
            "nodeInfo": {"nodeId": "n1"}}
    batch.on("GET", "/jobs/j1/tasks",
             (200, {"value": [{"id": "a", "state": "running"}], "odata.nextLink": page2}, {}),
             (200, {"value": [done]}, {}))
    a, b = compute.list_tasks("j1")
    assert (a.id, a.state, a.result) == ("a", TaskState.RUNNING, None)
    assert (b.id, b.result, b.retry_count, b.node_id) == ("b", TaskResult.SUCCESS, 1, "n1")
    assert batch.calls("GET")[1].query["$skiptoken"] == "2"


def test_task_counts_pending_tasks_reads_job_task_counts(batch, compute):
    counts = {"taskCounts": {"active": 1, "running": 2, "completed": 3, "succeeded": 2,
                             "failed": 1},
              "taskSlotCounts": {"active": 1, "running": 2, "completed": 3, "succeeded": 2,
                                 "failed": 1}}
    batch.on("GET", "/jobs/j1/taskcounts", (200, counts, {}))
    assert compute.task_counts("j1") == TaskCounts(active=1, running=2, completed=3,
                                                   succeeded=2, failed=1)
    assert not batch.calls("GET", "/jobs/j1/tasks")


def test_task_counts_lagging_zero_counts_are_checked_by_listing(batch, compute):
    batch.on("GET", "/jobs/j1/taskcounts", counts())
    batch.on("GET", "/jobs/j1/tasks", (200, {"value": [{"id": "a", "state": "active"}]}, {}))
    assert compute.task_counts("j1") == TaskCounts(active=1)


def test_read_task_file_returns_bytes(batch, compute):
    batch.on("GET", "/jobs/j1/tasks/t1/files/wd/out.txt", (200, b"hello\n", {}))
    assert compute.read_task_file("j1", "t1", "wd/out.txt") == b"hello\n"


@pytest.mark.parametrize("code", ["TaskNotFound", "FileNotFound"])
def test_read_task_file_missing_raises_task_not_found(batch, compute, code):
    batch.on("GET", "/jobs/j1/tasks/t1/files/stdout.txt", error(404, code))
    with pytest.raises(TaskNotFound):
        compute.read_task_file("j1", "t1", "stdout.txt")


# -- secrets ------------------------------------------------------------------------

def test_requests_carry_no_key_and_sas_urls_unchanged(batch, compute):
    batch.on("GET", "/supportedimages", (200, IMAGES, {}))
    batch.on("POST", "/pools", (201, None, {}))
    batch.on("GET", "/pools/p1", (200, POOL_JSON, {}))
    batch.on("POST", "/jobs", (201, None, {}))
    batch.on("POST", "/jobs/j1/addtaskcollection", accept_all)
    compute.create_pool(POOL_SPEC)
    compute.create_job(JobSpec(id="j1", pool_id="p1"))
    compute.add_tasks("j1", [full_task()])
    calls = batch.transport.calls
    assert len(calls) == 5
    for call in calls:
        assert KEY not in call.text()
        scheme, signature = call.headers["Authorization"].split(" ")
        assert scheme == "SharedKey" and signature.startswith("acct:")
    task = batch.calls("POST", "/jobs/j1/addtaskcollection")[0].body["value"][0]
    assert task["resourceFiles"][0]["httpUrl"] == READ_URL
    assert task["outputFiles"][0]["destination"]["container"]["containerUrl"] == WRITE_URL


def test_errors_never_show_sas_signatures_or_authorization_values(batch, compute):
    batch.on("GET", "/pools/p1",
             error(400, "InvalidHeaderValue", f"Bad value near {READ_URL} and {WRITE_URL}",
                   HeaderName="Authorization", HeaderValue="SharedKey acct:S1GNATURE=",
                   Token="Bearer eyJ0eXAi.T0KEN"))
    with pytest.raises(TopwordsError) as info:
        compute.get_pool("p1")
    text = f"{info.value} {info.value.hint}"
    assert "InvalidHeaderValue" in text and "HeaderName=Authorization" in text
    assert not any(s in text for s in SECRETS + ("S1GNATURE", "T0KEN"))


def test_refused_task_message_names_property_without_sas(batch, compute):
    refused = task_result("t1", "clienterror", "InvalidPropertyValue")
    refused["error"]["values"] = [{"key": "PropertyName", "value": "httpUrl"},
                                  {"key": "PropertyValue", "value": READ_URL}]
    batch.on("POST", "/jobs/j1/addtaskcollection", (200, {"value": [refused]}, {}))
    with pytest.raises(ConfigError) as info:
        compute.add_tasks("j1", [full_task()])
    text = str(info.value)
    assert "task t1" in text and "PropertyName=httpUrl" in text
    assert not any(s in text for s in SECRETS)


# -- waits (base class, over this backend) ------------------------------------------

def counts(active=0, running=0, completed=0, succeeded=0, failed=0) -> Reply:
    values = dict(active=active, running=running, completed=completed, succeeded=succeeded,
                  failed=failed)
    return 200, {"taskCounts": values, "taskSlotCounts": values}, {}


def test_wait_for_tasks_polls_counts_until_done_and_lists_tasks(batch, compute, no_sleep):
    batch.on("GET", "/jobs/j1/taskcounts", counts(running=2), counts(running=1, completed=1,
             succeeded=1), counts(completed=2, succeeded=1, failed=1))
    tasks = [{"id": "a", "state": "completed", "executionInfo": {"exitCode": 0,
                                                                 "result": "success"}},
             {"id": "b", "state": "completed", "executionInfo": {"exitCode": 1,
                                                                 "result": "failure"}}]
    batch.on("GET", "/jobs/j1/tasks", (200, {"value": tasks}, {}))
    seen = []
    done = compute.wait_for_tasks("j1", "p1", timeout=60, on_progress=seen.append)
    assert [t.succeeded for t in done] == [True, False]
    assert [c.completed for c in seen] == [0, 1, 2]
    assert len(no_sleep) == 2 and not batch.calls("GET", "/pools/p1")


def test_wait_for_tasks_lagging_counts_do_not_end_the_wait_early(batch, compute, no_sleep):
    batch.on("GET", "/jobs/j1/taskcounts", counts(), counts(completed=1, succeeded=1))
    running = {"id": "a", "state": "running"}
    done = {"id": "a", "state": "completed", "executionInfo": {"exitCode": 0,
                                                               "result": "success"}}
    batch.on("GET", "/jobs/j1/tasks", (200, {"value": [running]}, {}),
             (200, {"value": [done]}, {}))
    [task] = compute.wait_for_tasks("j1", "p1", timeout=60)
    assert task.state is TaskState.COMPLETED and len(no_sleep) == 1


def test_wait_for_tasks_start_task_failed_node_fails_fast(batch, compute, no_sleep):
    batch.on("GET", "/jobs/j1/taskcounts", counts(active=1))
    batch.on("GET", "/pools/p1", (200, dict(POOL_JSON, currentDedicatedNodes=1), {}))
    batch.on("GET", "/pools/p1/nodes", (200, {"value": [
        {"id": "n1", "state": "starttaskfailed",
         "startTaskInfo": {"state": "completed", "exitCode": 7, "retryCount": 0}}]}, {}))
    batch.on("GET", "/pools/p1/nodes/n1/files/startup/stderr.txt",
             (200, b"cannot find the thing\n", {}))
    with pytest.raises(StartTaskFailed) as info:
        compute.wait_for_tasks("j1", "p1", timeout=60)
    assert (info.value.node_id, info.value.exit_code) == ("n1", 7)
    assert "cannot find the thing" in info.value.stderr_tail
    assert not no_sleep


def test_wait_for_tasks_quota_resize_error_fails_fast(batch, compute, no_sleep):
    errors = [{"code": "AccountCoreQuotaReached", "message": "Core quota reached"}]
    batch.on("GET", "/jobs/j1/taskcounts", counts(active=1))
    batch.on("GET", "/pools/p1", (200, dict(POOL_JSON, resizeErrors=errors), {}))
    with pytest.raises(PoolError, match="AccountCoreQuotaReached"):
        compute.wait_for_tasks("j1", "p1", timeout=60)
