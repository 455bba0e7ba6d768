"""The addresses in answer bodies (odata.metadata, odata.nextLink, url)
are the address the client used (its ``Host`` header), not one the
emulator picked: a client on ``localhost`` and one on ``127.0.0.1`` each
get their own, in lists, gets and errors."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models as bm
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from emulator_rig import new_id, start_emulator

API = "api-version=2025-06-01"


@pytest.fixture(scope="module")
def emulator():
    emulator = start_emulator(page_size=1)
    yield emulator
    emulator.stop()


def client_at(emulator, host: str) -> BatchClient:
    port = emulator.batch_url.rsplit(":", 1)[1]
    return BatchClient(f"http://{host}:{port}", AzureNamedKeyCredential(
        emulator.account_name, emulator.account_key))


def raw(client: BatchClient, path: str):
    try:
        return client.send_request(HttpRequest("GET", f"/{path}?{API}"))
    except HttpResponseError as exc:
        return exc.response


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_odata_addresses_follow_the_host_the_client_used(emulator, host):
    with client_at(emulator, host) as client:
        port = emulator.batch_url.rsplit(":", 1)[1]
        origin = f"http://{host}:{port}/"
        for n in range(2):
            client.create_job(bm.BatchJobCreateOptions(
                id=new_id(f"host{n}"), pool_info=bm.BatchPoolInfo(pool_id="absent")))
        listed = raw(client, "jobs").json()
        assert listed["odata.metadata"] == origin + "$metadata#jobs"
        assert listed["odata.nextLink"].startswith(origin)
        job = raw(client, f"jobs/{listed['value'][0]['id']}").json()
        assert job["odata.metadata"] == origin + "$metadata#jobs/@Element"
        assert job["url"].startswith(origin)
        error = raw(client, "jobs/absent-job").json()
        assert error["code"] == "JobNotFound"
        assert error["odata.metadata"].startswith(origin + "$metadata#")
        assert len(list(client.list_jobs())) >= 2  # the SDK follows the nextLinks it got
