"""``conditions.check``, the rules of Batch's conditional request headers,
on one resource (no HTTP, no engine), and ``conditions.serve``'s one step
of check and change (the dispatcher on an engine with no nodes)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from topwords.backends.local.emulator import declared
from topwords.backends.local.emulator.conditions import check
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.resources import Resource
from topwords.backends.local.emulator.routes import dispatch
from topwords.backends.local.emulator.routing import Request, Service
from topwords.backends.local.emulator.versions import LATEST_API_VERSION
from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.runtime import make_runtime
from topwords.backends.local.emulator.shapes import etag, http_date

CHANGED = datetime(2026, 5, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)
RESOURCE = Resource(("jobs", "j"), CHANGED)
TAG = etag(CHANGED)
BEFORE, AT = http_date(CHANGED - timedelta(seconds=1)), http_date(CHANGED)


def outcome(method: str = "GET", **headers: str):
    """``None`` (answer it), 304, or the error's status and code."""
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    request = Request(method=method, segments=("jobs", "j"), query={}, headers=headers,
                      body=b"", base_url="http://h")
    try:
        answer = check(request, RESOURCE, set(headers))
    except BatchApiError as exc:
        return exc.status, exc.code
    return answer.status if answer is not None else None


@pytest.mark.parametrize("headers,expected", [
    ({"if_match": TAG}, None),
    ({"if_match": f'"{TAG}"'}, None),
    ({"if_match": f"0x1, {TAG}"}, None),
    ({"if_match": "*"}, None),
    ({"if_match": "0x1"}, (412, "ConditionNotMet")),
    ({"if_unmodified_since": AT}, None),
    ({"if_unmodified_since": BEFORE}, (412, "ConditionNotMet")),
    ({"if_match": TAG, "if_unmodified_since": BEFORE}, None),  # If-Match wins
    ({"if_none_match": TAG}, 304),
    ({"if_none_match": "*"}, 304),
    ({"if_none_match": "0x1"}, None),
    ({"if_modified_since": AT}, 304),
    ({"if_modified_since": BEFORE}, None),
    ({"if_none_match": "0x1", "if_modified_since": AT}, None),  # If-None-Match wins
    ({"if_match": "0x1", "if_none_match": TAG}, (412, "ConditionNotMet")),
    ({"if_modified_since": "yesterday"}, (400, "InvalidHeaderValue")),
])
def test_get_conditions(headers, expected):
    assert outcome("GET", **headers) == expected


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "POST"])
def test_a_not_modified_change_is_412_not_304(method):
    assert outcome(method, if_none_match=TAG) == (412, "ConditionNotMet")
    assert outcome(method, if_modified_since=AT) == (412, "ConditionNotMet")
    assert outcome(method, if_match=TAG) is None


def test_head_not_modified_is_304():
    assert outcome("HEAD", if_none_match=TAG) == 304


def test_declared_conditions_are_the_specs():
    assert declared.conditions("Jobs_UpdateJob") == set(declared.CONDITION_HEADERS)
    assert declared.conditions("Tasks_GetTaskFile") == {"if-modified-since",
                                                        "if-unmodified-since"}
    assert declared.conditions("Nodes_GetNode") == set()
    assert "DataServiceId" in declared.response_headers("Tasks_GetTask", 200)


class SlowUpdates:
    """An engine whose job updates take a while (a wide window between a
    writer's check and its change)."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def update_job(self, *args, **kwargs):
        time.sleep(0.3)
        return self._engine.update_job(*args, **kwargs)


def test_concurrent_writers_with_one_etag_exactly_one_wins(tmp_path):
    """Check and change are one step: of two writers that send the same
    If-Match at once, the second is checked after the first has changed
    the job."""
    engine = LocalBatchEngine(runtime=make_runtime("process"), image="unused",
                              work_dir=tmp_path)
    service = Service(engine=SlowUpdates(engine))  # type: ignore[arg-type]
    try:
        def send(method: str, path: str, body=None, **headers: str):
            request = Request(method=method, segments=tuple(path.split("/")),
                              query={"api-version": LATEST_API_VERSION}, headers=headers,
                              body=json.dumps(body).encode() if body is not None else b"",
                              base_url="http://h")
            try:
                return dispatch(service, request)
            except BatchApiError as exc:
                return exc
        assert send("POST", "jobs", {"id": "j", "poolInfo": {"poolId": "p"}}).status == 201
        tag = send("GET", "jobs/j").headers["ETag"]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda n: send("PATCH", "jobs/j", {"priority": n},
                                                   **{"if-match": tag}), [1, 2]))
        assert sorted(a.status for a in answers) == [200, 412]
    finally:
        engine.close()
