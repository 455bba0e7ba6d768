"""A program written for api-version 2018-12-01.8.0 (azure-batch 6's
bodies, sent raw through the SDK's signed pipeline) against the real
emulator: its pool's ``maxTasksPerNode`` is kept and answered under that
name, the properties that version did not have are not in its answers, and
its task counts are a bare TaskCounts; the same resources read at
2025-06-01 have the new shapes."""

from __future__ import annotations

from contextlib import suppress

import pytest
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from test_batch_client_conformance import new_id, ubuntu_image

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

OLD, LATEST = "2018-12-01.8.0", "2025-06-01"


@pytest.fixture
def client(batch_emulator):
    with BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
            batch_emulator.account_name, batch_emulator.account_key)) as client:
        yield client


def call(client: BatchClient, method: str, path: str, version: str, body=None,
         query: str = ""):
    response = client.send_request(HttpRequest(
        method, f"{{endpoint}}/{path}?api-version={version}{query}", json=body))
    assert response.status_code < 300, (response.status_code, response.text())
    return response.json() if response.content else None


def test_old_api_version_program_gets_its_own_shapes(client):
    image = ubuntu_image(client)
    pool_id, job_id = new_id("old-api-pool"), new_id("old-api-job")
    call(client, "POST", "pools", OLD, {
        "id": pool_id, "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 0,
        "maxTasksPerNode": 3, "virtualMachineConfiguration": {
            "imageReference": image.image_reference.as_dict(),
            "nodeAgentSKUId": image.node_agent_sku_id}})
    try:
        old_pool = call(client, "GET", f"pools/{pool_id}", OLD)
        assert old_pool["maxTasksPerNode"] == 3 and "taskSlotsPerNode" not in old_pool
        assert call(client, "GET", f"pools/{pool_id}", LATEST)["taskSlotsPerNode"] == 3
        selected = call(client, "GET", f"pools/{pool_id}", OLD, query="&$select=id,maxTasksPerNode")
        selected.pop("odata.metadata", None)
        assert selected == {"id": pool_id, "maxTasksPerNode": 3}
        listed = call(client, "GET", "pools", OLD, query=f"&$filter=id eq '{pool_id}'")
        assert [p["maxTasksPerNode"] for p in listed["value"]] == [3]

        call(client, "POST", "jobs", OLD, {"id": job_id, "poolInfo": {"poolId": pool_id}})
        call(client, "POST", f"jobs/{job_id}/tasks", OLD, {"id": "t1", "commandLine": "true"})
        job = call(client, "GET", f"jobs/{job_id}", OLD)
        assert not {"maxParallelTasks", "allowTaskPreemption"} & set(job)
        assert {"maxParallelTasks", "allowTaskPreemption"} <= set(
            call(client, "GET", f"jobs/{job_id}", LATEST))
        task = call(client, "GET", f"jobs/{job_id}/tasks/t1", OLD)
        assert task["id"] == "t1" and "requiredSlots" not in task
        assert call(client, "GET", f"jobs/{job_id}/tasks/t1", LATEST)["requiredSlots"] == 1
        counts = call(client, "GET", f"jobs/{job_id}/taskcounts", OLD)
        assert counts["active"] == 1 and "taskCounts" not in counts
        assert call(client, "GET", f"jobs/{job_id}/taskcounts", LATEST)[
            "taskSlotCounts"]["active"] == 1
    finally:
        for path in (f"jobs/{job_id}", f"pools/{pool_id}"):
            with suppress(HttpResponseError):  # a job the test did not get to make
                client.send_request(HttpRequest(
                    "DELETE", f"{{endpoint}}/{path}?api-version={LATEST}"))


def test_node_agent_skus_are_listed_only_at_the_versions_that_had_them(client):
    """GET /nodeagentskus (azure-batch 6-7's list_node_agent_skus) until
    2019-08-01.10.0 replaced it with /supportedimages; 501 after."""
    skus = call(client, "GET", "nodeagentskus", OLD)["value"]
    images = {i.node_agent_sku_id: i.image_reference for i in client.list_supported_images()}
    assert {s["id"] for s in skus} == set(images) and all(s["osType"] == "linux" for s in skus)
    for sku in skus:
        [ref] = sku["verifiedImageReferences"]
        assert (ref["publisher"], ref["offer"], ref["sku"]) == (
            images[sku["id"]].publisher, images[sku["id"]].offer, images[sku["id"]].sku)
    assert call(client, "GET", "nodeagentskus", "2019-06-01.9.0")["value"] == skus
    for version in ("2019-08-01.10.0", LATEST):
        with pytest.raises(HttpResponseError) as refused:  # the SDK raises on an error status
            client.send_request(HttpRequest(
                "GET", f"{{endpoint}}/nodeagentskus?api-version={version}"))
        assert refused.value.status_code == 501, version
