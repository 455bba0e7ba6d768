"""spec_check's answer check (what tests/clients runs on every recorded
answer) finds each way an answer breaks the spec of its api-version: a
wrong body, a missing or malformed declared header, an undeclared header,
an undeclared status; and passes one that conforms, so a client test that
finds nothing has checked something."""

from __future__ import annotations

import pytest

from spec_check import answer_problems, answers_report, load_spec, operation_for

V = "2024-02-01.19.0"
STAMP = "Tue, 02 Dec 2025 10:00:00 GMT"
POOL = {"odata.metadata": "http://h/$metadata#pools/@Element", "id": "p", "url": "http://h/pools/p",
        "eTag": "0x8D", "lastModified": "2025-12-02T10:00:00.000000Z", "state": "active",
        "allocationState": "steady", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1,
        "currentDedicatedNodes": 1, "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04"},
            "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}
HEADERS = {"request-id": "0b5d1c9e-4e6f-4a52-9a3e-2f9d6b1c7a10", "ETag": "0x8D",
           "Last-Modified": STAMP, "Content-Type": "application/json;odata=minimalmetadata",
           "Content-Length": "100", "DataServiceVersion": "3.0"}


def got(**change) -> dict:
    return {"method": "GET", "path": "/pools/p", "route": "pools/{pool_id}",
            "operation": "Pools_GetPool", "apiVersion": V, "askedClientRequestId": False,
            "status": 200, "headers": dict(HEADERS), "body": dict(POOL), **change}


def test_answer_that_conforms_has_no_problem():
    assert answer_problems(got()) == []
    assert operation_for(load_spec(V), "GET", "pools/{pool_id}")[0] == "Pool_Get"


@pytest.mark.parametrize("change, expected", [
    ({"body": {**POOL, "state": "running"}},
     "Pool_Get GET /pools/p: $.state: 'running' is not one of ['active', 'deleting']"),
    ({"body": {**POOL, "taskSlotsPerNode": "2"}},
     "Pool_Get GET /pools/p: $.taskSlotsPerNode: str '2' where integer is expected"),
    ({"body": {**POOL, "nodes": []}},
     "Pool_Get GET /pools/p: $: property 'nodes' is not in the definition"),
    ({"body": None}, "Pool_Get GET /pools/p: no JSON body where CloudPool is declared for 200"),
    ({"headers": {k: v for k, v in HEADERS.items() if k != "ETag"}},
     "Pool_Get GET /pools/p: declared header 'etag' is missing"),
    ({"headers": {**HEADERS, "Last-Modified": "2025-12-02T10:00:00Z"}},
     "Pool_Get GET /pools/p: header 'last-modified': '2025-12-02T10:00:00Z' is not an RFC 1123 "
     "date"),
    ({"headers": {**HEADERS, "DataServiceId": "http://h/pools/p"}},
     "Pool_Get GET /pools/p: header 'dataserviceid' is not declared for 200"),
    ({"askedClientRequestId": True},
     "Pool_Get GET /pools/p: declared header 'client-request-id' is missing"),
    ({"status": 302}, "Pool_Get GET /pools/p: status 302 is not declared (declared: 200)"),
    ({"apiVersion": "2021-06-01.14.0"},
     "Pools_GetPool GET /pools/p: no spec vendored for api-version '2021-06-01.14.0'"),
])
def test_answer_breaking_the_spec_is_named_with_operation_and_path(change, expected):
    assert answer_problems(got(**change)) == [expected]


def test_error_answer_is_checked_against_the_error_body():
    error = {"odata.metadata": "m", "code": "PoolNotFound",
             "message": {"lang": "en-US", "value": "The specified pool does not exist."}}
    headers = {"request-id": HEADERS["request-id"], "Content-Type": "application/json"}
    assert answer_problems(got(status=404, headers=headers, body=error)) == []
    assert answer_problems(got(status=404, headers=headers, body={**error, "message": "x"})) == [
        "Pool_Get GET /pools/p: $.message: str 'x' where object is expected"]


def test_head_not_found_without_body_conforms_and_location_only_with_201():
    head = got(method="HEAD", status=404, headers={"request-id": HEADERS["request-id"]},
               body=None)
    assert answer_problems(head) == []
    created = got(method="POST", path="/pools", route="pools", status=201, body=None,
                  headers={**HEADERS, "DataServiceId": "d", "Location": "http://h/pools/p"})
    assert answer_problems(created) == []
    assert answer_problems({**created, "method": "HEAD", "path": "/pools/p",
                            "route": "pools/{pool_id}", "status": 200}) == [
        "Pool_Exists HEAD /pools/p: header 'dataserviceid' is not declared for 200",
        "Pool_Exists HEAD /pools/p: header 'location' is not declared for 200"]


def test_report_counts_the_bodies_checked_and_collects_every_problem():
    checked, found = answers_report([got(), got(body={**POOL, "state": "x"}),
                                     got(method="HEAD", body=None,
                                         headers={**HEADERS, "DataServiceId": "d"})])
    assert checked == 2 and len(found) == 2


def test_answer_is_checked_against_the_spec_of_its_own_api_version():
    # upgradePolicy is in CloudPool from 2024-02-01.19.0, not in 2022-10-01.16.0
    body = {**POOL, "upgradePolicy": {"mode": "manual"}}
    assert answer_problems(got(body=body)) == []
    assert answer_problems(got(body=body, apiVersion="2022-10-01.16.0")) == [
        "Pool_Get GET /pools/p: $: property 'upgradePolicy' is not in the definition"]
