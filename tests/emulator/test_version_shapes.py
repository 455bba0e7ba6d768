"""Each api-version in its own shapes (``shapes.versioned``): one case per
difference of the table, both ways, plus the dispatcher applying it to a
request and its answer (no Docker: an engine stub)."""

from __future__ import annotations

import json

import pytest

from topwords.backends.local.emulator import routes
from topwords.backends.local.emulator.routing import Request, Service, json_response
from topwords.backends.local.emulator.shapes import versioned
from topwords.backends.local.emulator.shapes.versioned import (
    ADDED, RENAMED, request_body, request_query, response_body,
)
from topwords.backends.local.emulator.versions import API_VERSIONS, LATEST_API_VERSION

OLDEST = API_VERSIONS[0]

#: (operation, the version, the 2025-06-01 body, the same body in that version)
RESPONSES = [
    ("Pools_GetPool", "2018-12-01.8.0", {"id": "p", "taskSlotsPerNode": 2},
     {"id": "p", "maxTasksPerNode": 2}),
    ("Pools_GetPool", "2020-03-01.11.0", {"id": "p", "taskSlotsPerNode": 2},
     {"id": "p", "maxTasksPerNode": 2}),
    ("Pools_GetPool", "2020-09-01.12.0", {"id": "p", "taskSlotsPerNode": 2},
     {"id": "p", "taskSlotsPerNode": 2}),
    ("Pools_ListPools", "2018-12-01.8.0", {"value": [{"id": "p", "taskSlotsPerNode": 1}]},
     {"value": [{"id": "p", "maxTasksPerNode": 1}]}),
    ("Nodes_GetNode", "2020-03-01.11.0", {"id": "n", "runningTaskSlotsCount": 1},
     {"id": "n"}),
    ("Nodes_ListNodes", "2020-09-01.12.0", {"value": [{"id": "n", "runningTaskSlotsCount": 1}]},
     {"value": [{"id": "n", "runningTaskSlotsCount": 1}]}),
    ("Tasks_GetTask", "2018-12-01.8.0", {"id": "t", "requiredSlots": 1}, {"id": "t"}),
    ("Tasks_ListTasks", "2020-09-01.12.0", {"value": [{"id": "t", "requiredSlots": 1}]},
     {"value": [{"id": "t", "requiredSlots": 1}]}),
    ("Jobs_GetJob", "2020-09-01.12.0",
     {"id": "j", "maxParallelTasks": -1, "allowTaskPreemption": False}, {"id": "j"}),
    ("Jobs_GetJob", "2021-06-01.14.0",
     {"id": "j", "maxParallelTasks": -1, "allowTaskPreemption": False},
     {"id": "j", "maxParallelTasks": -1}),
    ("Jobs_ListJobs", "2022-01-01.15.0",
     {"value": [{"id": "j", "maxParallelTasks": -1, "allowTaskPreemption": False}]},
     {"value": [{"id": "j", "maxParallelTasks": -1, "allowTaskPreemption": False}]}),
    ("Jobs_GetJob", "2018-12-01.8.0",
     {"id": "j", "jobManagerTask": {"id": "m", "requiredSlots": 1},
      "poolInfo": {"autoPoolSpecification": {"pool": {"taskSlotsPerNode": 3}}}},
     {"id": "j", "jobManagerTask": {"id": "m"},
      "poolInfo": {"autoPoolSpecification": {"pool": {"maxTasksPerNode": 3}}}}),
    ("JobSchedules_GetJobSchedule", "2018-12-01.8.0",
     {"id": "s", "jobSpecification": {"maxParallelTasks": 2, "poolInfo": {
         "autoPoolSpecification": {"pool": {"taskSlotsPerNode": 3}}}}},
     {"id": "s", "jobSpecification": {"poolInfo": {
         "autoPoolSpecification": {"pool": {"maxTasksPerNode": 3}}}}}),
    ("Jobs_GetJobTaskCounts", "2020-03-01.11.0",
     {"taskCounts": {"active": 1}, "taskSlotCounts": {"active": 1}}, {"active": 1}),
    ("Jobs_GetJobTaskCounts", "2020-09-01.12.0",
     {"taskCounts": {"active": 1}, "taskSlotCounts": {"active": 1}},
     {"taskCounts": {"active": 1}, "taskSlotCounts": {"active": 1}}),
    ("Pools_ListPoolNodeCounts", "2023-11-01.18.0",
     {"value": [{"poolId": "p", "dedicated": {"idle": 1, "upgradingOS": 0, "deallocated": 0,
                                              "deallocating": 0},
                 "lowPriority": {"idle": 0, "upgradingOS": 0}}]},
     {"value": [{"poolId": "p", "dedicated": {"idle": 1}, "lowPriority": {"idle": 0}}]}),
    ("Pools_ListPoolNodeCounts", "2024-02-01.19.0",
     {"value": [{"poolId": "p", "dedicated": {"upgradingOS": 0, "deallocated": 0,
                                              "deallocating": 0}}]},
     {"value": [{"poolId": "p", "dedicated": {"upgradingOS": 0}}]}),
    ("Pools_ListPoolNodeCounts", "2024-07-01.20.0",
     {"value": [{"poolId": "p", "dedicated": {"deallocated": 0, "deallocating": 0}}]},
     {"value": [{"poolId": "p", "dedicated": {"deallocated": 0, "deallocating": 0}}]}),
]


@pytest.mark.parametrize("operation, version, latest, expected", RESPONSES)
def test_response_in_an_older_version_has_its_names_and_only_its_properties(
        operation, version, latest, expected):
    before = json.dumps(latest)
    assert response_body(operation, version, latest) == expected
    assert json.dumps(latest) == before  # the handler's body is not changed


#: (operation, version, the body as sent, the body in 2025-06-01's names)
REQUESTS = [
    ("Pools_CreatePool", "2018-12-01.8.0", {"id": "p", "maxTasksPerNode": 4},
     {"id": "p", "taskSlotsPerNode": 4}),
    ("Pools_CreatePool", "2020-03-01.11.0", {"id": "p", "maxTasksPerNode": 4},
     {"id": "p", "taskSlotsPerNode": 4}),
    # maxTasksPerNode is not a property from 2020-09-01.12.0 on: left as sent
    ("Pools_CreatePool", "2020-09-01.12.0", {"id": "p", "maxTasksPerNode": 4},
     {"id": "p", "maxTasksPerNode": 4}),
    ("Jobs_CreateJob", "2019-08-01.10.0",
     {"id": "j", "poolInfo": {"autoPoolSpecification": {"pool": {"maxTasksPerNode": 2}}}},
     {"id": "j", "poolInfo": {"autoPoolSpecification": {"pool": {"taskSlotsPerNode": 2}}}}),
    ("JobSchedules_CreateJobSchedule", "2018-12-01.8.0",
     {"id": "s", "jobSpecification": {"poolInfo": {"autoPoolSpecification": {
         "pool": {"maxTasksPerNode": 2}}}}},
     {"id": "s", "jobSpecification": {"poolInfo": {"autoPoolSpecification": {
         "pool": {"taskSlotsPerNode": 2}}}}}),
    ("Tasks_CreateTaskCollection", "2018-12-01.8.0", {"value": [{"id": "t"}]},
     {"value": [{"id": "t"}]}),
]


@pytest.mark.parametrize("operation, version, sent, expected", REQUESTS)
def test_request_in_an_older_version_is_read_in_the_latest_names(
        operation, version, sent, expected):
    assert request_body(operation, version, sent) == expected


def test_latest_version_is_passed_through_unchanged():
    body = {"id": "p", "taskSlotsPerNode": 2, "maxTasksPerNode": 9}
    assert response_body("Pools_GetPool", LATEST_API_VERSION, body) is body
    assert request_body("Pools_CreatePool", LATEST_API_VERSION, body) is body


def test_select_and_filter_of_an_old_version_use_the_latest_names():
    query = request_query("Pools_ListPools", OLDEST,
                          {"$select": "id,maxTasksPerNode", "$filter": "maxTasksPerNode eq 2"})
    assert query == {"$select": "id,taskSlotsPerNode", "$filter": "taskSlotsPerNode eq 2"}
    assert request_query("Pools_ListPools", "2020-09-01.12.0",
                         {"$select": "maxTasksPerNode"}) == {"$select": "maxTasksPerNode"}


def test_every_rule_names_an_accepted_version_and_a_kind_an_operation_serves():
    kinds = {k.removesuffix("[]") for pair in versioned.OPERATIONS.values() for k in pair if k}
    kinds |= {inner for nested in versioned._NESTED.values() for _, inner in nested}
    for rule in RENAMED:
        assert rule.until in API_VERSIONS and rule.kind in kinds
    for rule in ADDED:
        assert rule.since in API_VERSIONS and rule.kind in kinds
    for number in versioned.NUMBERS_AS_STRINGS:
        assert number.since in API_VERSIONS and number.kind in kinds
    served = {route.operation for route in routes.ROUTES}
    assert set(versioned.OPERATIONS) <= served
    for added in versioned.HEADERS_ADDED:
        assert added.since in API_VERSIONS and added.operation in served


def test_file_content_length_is_a_number_before_2025_and_a_string_from_it():
    files = {"value": [{"name": "stdout.txt", "isDirectory": False,
                        "properties": {"contentLength": "8", "lastModified": "t"}}]}
    old = versioned.response_body("Tasks_ListTaskFiles", "2024-02-01.19.0", files)
    assert old["value"][0]["properties"]["contentLength"] == 8
    assert versioned.response_body("Nodes_ListNodeFiles", "2022-10-01.16.0",
                                   files)["value"][0]["properties"]["contentLength"] == 8
    assert versioned.response_body("Tasks_ListTaskFiles", LATEST_API_VERSION, files) == files
    assert files["value"][0]["properties"]["contentLength"] == "8"  # the input is not changed


@pytest.mark.parametrize("operation", ["Pools_ListPoolNodeCounts", "Jobs_GetJobTaskCounts",
                                       "Tasks_CreateTaskCollection"])
def test_stamps_only_from_the_version_that_declares_them(operation):
    headers = {"ETag": "0x1", "Last-Modified": "Tue, 02 Dec 2025 10:00:00 GMT",
               "Content-Type": "application/json"}
    assert versioned.response_headers(operation, "2024-02-01.19.0", headers) == {
        "Content-Type": "application/json"}
    assert versioned.response_headers(operation, LATEST_API_VERSION, headers) == headers
    assert versioned.response_headers("Pools_GetPool", "2024-02-01.19.0", headers) == headers


# -- through the dispatcher ------------------------------------------------------------

class Echo:
    """An engine stub: what the handlers below call."""


def _request(method: str, path: str, version: str, body: object = None,
             query: dict | None = None) -> Request:
    return Request(method=method, segments=tuple(path.split("/")),
                   query={"api-version": version, **(query or {})}, headers={},
                   body=json.dumps(body).encode() if body is not None else b"",
                   base_url="http://127.0.0.1:1")


def test_dispatch_translates_the_request_and_the_answer_of_an_old_version(monkeypatch):
    seen = {}

    def create_pool(service, request):
        seen["body"] = request.json()
        return json_response(201, None)

    def get_pool(service, request, pool_id):
        seen["query"] = dict(request.query)
        return json_response(200, {"id": pool_id, "taskSlotsPerNode": 4, "url": "u"})

    handlers = {"Pools_CreatePool": create_pool, "Pools_GetPool": get_pool}
    table = tuple(routes.Route(r.method, r.template, r.operation,
                               handlers.get(r.operation, r.handler)) for r in routes.ROUTES)
    monkeypatch.setattr(routes, "ROUTES", table)
    # the conditional and declared headers are conditions' (tested on their own)
    monkeypatch.setattr(routes.conditions, "serve",
                        lambda service, request, route, params: route.handler(
                            service, request, **params))
    service = Service(engine=Echo())
    routes.dispatch(service, _request("POST", "pools", OLDEST, {"id": "p", "maxTasksPerNode": 4}))
    assert seen["body"] == {"id": "p", "taskSlotsPerNode": 4}
    answer = routes.dispatch(service, _request("GET", "pools/p", OLDEST,
                                               query={"$select": "id,maxTasksPerNode"}))
    assert seen["query"]["$select"] == "id,taskSlotsPerNode"
    assert json.loads(answer.body) == {"id": "p", "maxTasksPerNode": 4, "url": "u"}
    latest = routes.dispatch(service, _request("GET", "pools/p", LATEST_API_VERSION))
    assert json.loads(latest.body)["taskSlotsPerNode"] == 4
