"""The bodies of autoscale pools, autoscale runs and job schedules conform
to the vendored Batch spec (checked raw, not through SDK models, which
accept more than the spec)."""

from __future__ import annotations


import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from emulator_rig import client_of, new_id, start_emulator, vm_configuration, wait_for
from spec_check import problems


@pytest.fixture(scope="module")
def client():
    emulator = start_emulator()
    with client_of(emulator) as client:
        client.emulator = emulator
        yield client
    emulator.stop()


def raw(client, method: str, path: str, body=None):
    url = path + ("&" if "?" in path else "?") + "api-version=2025-06-01"
    try:
        return client.send_request(HttpRequest(method, url, json=body))
    except HttpResponseError as exc:
        return exc.response


def pool_body(client, **extra) -> dict:
    vm = vm_configuration(client)
    return {"id": new_id("body"), "vmSize": "standard_d2s_v3",
            "virtualMachineConfiguration": {
                "imageReference": vm.image_reference.as_dict(),
                "nodeAgentSKUId": vm.node_agent_sku_id}, **extra}


def test_autoscale_pool_and_run_bodies_conform(client):
    body = pool_body(client, enableAutoScale=True, autoScaleEvaluationInterval="PT5M",
                     autoScaleFormula="$TargetDedicatedNodes = 1; $x = $RunningTasks.Count();")
    assert raw(client, "POST", "/pools", body).status_code == 201
    pool = raw(client, "GET", f"/pools/{body['id']}").json()
    assert problems(pool, "BatchPool") == []
    assert pool["autoScaleRun"]["results"].startswith("$TargetDedicatedNodes=1;")
    assert pool["autoScaleEvaluationInterval"] == "PT5M"
    run = raw(client, "POST", f"/pools/{body['id']}/evaluateautoscale",
              {"autoScaleFormula": "$y = $CPUPercent.GetSample(TimeInterval_Minute, 50);"}).json()
    assert problems(run, "AutoScaleRun") == []
    assert problems(run["error"], "AutoScaleRunError") == []
    refused = raw(client, "POST", f"/pools/{body['id']}/evaluateautoscale",
                  {"autoScaleFormula": "$y = ;"})
    assert refused.status_code == 400 and problems(refused.json(), "BatchError") == []


def test_an_interval_below_five_minutes_needs_the_emulator_setting():
    emulator = start_emulator(min_autoscale_interval=10)
    try:
        with client_of(emulator) as client:
            body = pool_body(client, enableAutoScale=True, autoScaleEvaluationInterval="PT10S",
                             autoScaleFormula="$TargetDedicatedNodes = 0;")
            assert raw(client, "POST", "/pools", body).status_code == 201
            too_short = pool_body(client, enableAutoScale=True,
                                  autoScaleEvaluationInterval="PT9S",
                                  autoScaleFormula="$TargetDedicatedNodes = 0;")
            assert raw(client, "POST", "/pools", too_short).status_code == 400
            first = raw(client, "GET", f"/pools/{body['id']}").json()["autoScaleRun"]
            # 10 s of real time pass: the next evaluation runs with no clock advance
            wait_for(lambda: raw(client, "GET", f"/pools/{body['id']}").json()
                     ["autoScaleRun"]["timestamp"] != first["timestamp"],
                     "the next evaluation", timeout=20)
    finally:
        emulator.stop()


def test_job_schedule_bodies_conform(client):
    pool = pool_body(client, targetDedicatedNodes=1)
    assert raw(client, "POST", "/pools", pool).status_code == 201
    schedule_id = new_id("body")
    created = raw(client, "POST", "/jobschedules", {
        "id": schedule_id, "displayName": "hourly",
        "schedule": {"recurrenceInterval": "PT1H", "startWindow": "PT10M"},
        "jobSpecification": {"poolInfo": {"poolId": pool["id"]}, "priority": 5},
        "metadata": [{"name": "a", "value": "b"}]})
    assert created.status_code == 201
    wait_for(lambda: raw(client, "GET", f"/jobschedules/{schedule_id}").json()
             ["executionInfo"].get("recentJob"), "the first job")
    schedule = raw(client, "GET", f"/jobschedules/{schedule_id}").json()
    assert problems(schedule, "BatchJobSchedule") == []
    assert schedule["executionInfo"]["recentJob"]["id"] == f"{schedule_id}:job-1"
    assert problems(raw(client, "GET", "/jobschedules").json(),
                    "BatchJobScheduleListResult") == []
    jobs = raw(client, "GET", f"/jobschedules/{schedule_id}/jobs").json()
    assert problems(jobs, "BatchJobListResult") == []
    assert [j["id"] for j in jobs["value"]] == [f"{schedule_id}:job-1"]
    assert jobs["value"][0]["priority"] == 5
    missing = raw(client, "GET", "/jobschedules/none-such")
    assert missing.status_code == 404 and problems(missing.json(), "BatchError") == []


def test_route_rows_name_the_specs_operations():
    import inspect
    import re

    from topwords.backends.local.emulator import autoscale_routes, schedule_routes
    from topwords.backends.local.emulator.routes import ROUTES
    from spec_check import load_spec

    operations = load_spec()["operations"]
    mine = (autoscale_routes.__name__, schedule_routes.__name__)
    rows = [(r.method, r.template, r.operation, r.handler) for r in ROUTES
            if inspect.unwrap(r.handler).__module__ in mine]
    assert len(rows) == 14
    for method, path, operation, handler in rows:
        spec = operations[operation]
        assert spec["method"] == method, operation
        assert re.sub(r"\{\w+\}", "{}", spec["path"]) == "/" + re.sub(r"\{\w+\}", "{}", path)
        camel = [re.sub(r"_(\w)", lambda m: m.group(1).upper(), p)
                 for p in re.findall(r"\{(\w+)\}", path)]
        assert camel == spec["pathParameters"], operation
        assert callable(handler)
