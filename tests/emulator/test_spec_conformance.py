"""Raw emulator responses (as azure-batch 15 receives them) against the
2025-06-01 JSON schemas vendored in backends/local/emulator/spec/."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from spec_check import problems

#: the wire shapes do not depend on what a node is: process nodes (fast tier)
pytestmark = [pytest.mark.node_runtimes("process")]

API = "api-version=2025-06-01"
WAIT = 60.0


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Raw:
    """GET/POST through the SDK's pipeline (signing included), no models."""

    def __init__(self, client) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body=None):
        url = path + ("&" if "?" in path else "?") + API
        try:
            return self.client.send_request(HttpRequest(method, url, json=body))
        except HttpResponseError as exc:  # the SDK raises on 4xx; we want the body
            return exc.response


def wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in time"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def raw(batch_client):
    return Raw(batch_client)


@pytest.fixture(scope="module")
def workload(raw):
    """A one-node pool, a job, a task that succeeds and one that fails."""
    images = raw("GET", "/supportedimages").json()["value"]
    image = max((i for i in images if i["nodeAgentSKUId"].startswith("batch.node.ubuntu")),
                key=lambda i: i["nodeAgentSKUId"])
    pool_id, job_id = new_id("pool"), new_id("job")
    assert raw("POST", "/pools", {
        "id": pool_id, "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1,
        "virtualMachineConfiguration": {"imageReference": image["imageReference"],
                                        "nodeAgentSKUId": image["nodeAgentSKUId"]},
        "startTask": {"commandLine": "/bin/sh -c true", "waitForSuccess": True}}).status_code == 201
    assert raw("POST", "/jobs", {"id": job_id, "poolInfo": {"poolId": pool_id}}).status_code == 201
    added = raw("POST", f"/jobs/{job_id}/addtaskcollection", {"value": [
        {"id": "ok", "commandLine": "/bin/sh -c 'echo hi'"},
        {"id": "bad", "commandLine": "/bin/sh -c 'exit 3'"}]})
    assert added.status_code == 200
    wait(lambda: all(t["state"] == "completed"
                     for t in raw("GET", f"/jobs/{job_id}/tasks").json()["value"]), "tasks")
    yield {"pool": pool_id, "job": job_id, "added": added.json()}
    raw("DELETE", f"/jobs/{job_id}")
    raw("DELETE", f"/pools/{pool_id}")


def test_supported_images_body_conforms(raw):
    assert problems(raw("GET", "/supportedimages").json(),
                    "BatchAccountListSupportedImagesResult") == []


def test_pool_bodies_conform(raw, workload):
    pool = workload["pool"]
    assert problems(raw("GET", f"/pools/{pool}").json(), "BatchPool") == []
    listed = raw("GET", f"/pools?$filter=id eq '{pool}'").json()
    assert [p["id"] for p in listed["value"]] == [pool]
    assert problems(listed, "BatchPoolListResult") == []


def test_job_and_task_bodies_conform(raw, workload):
    job = workload["job"]
    assert problems(raw("GET", f"/jobs/{job}").json(), "BatchJob") == []
    assert problems(workload["added"], "BatchCreateTaskCollectionResult") == []
    for task in ("ok", "bad"):
        assert problems(raw("GET", f"/jobs/{job}/tasks/{task}").json(), "BatchTask") == []
    assert problems(raw("GET", f"/jobs/{job}/tasks").json(), "BatchTaskListResult") == []
    assert problems(raw("GET", f"/jobs/{job}/taskcounts").json(), "BatchTaskCountsResult") == []


def test_task_file_list_body_conforms(raw, workload):
    listing = raw("GET", f"/jobs/{workload['job']}/tasks/ok/files?recursive=true").json()
    assert any(f["name"].endswith("stdout.txt") for f in listing["value"])
    assert problems(listing, "BatchNodeFileListResult") == []


def test_error_body_conforms(raw):
    response = raw("GET", f"/pools/{new_id('missing')}")
    assert response.status_code == 404
    assert problems(response.json(), "BatchError") == []


def test_node_body_conforms(raw, workload):
    nodes = raw("GET", f"/pools/{workload['pool']}/nodes").json()
    node = raw("GET", f"/pools/{workload['pool']}/nodes/{nodes['value'][0]['id']}").json()
    assert problems(nodes, "BatchNodeListResult") + problems(node, "BatchNode") == []
