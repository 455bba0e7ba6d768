"""spec_check finds wrong shapes: types, required properties, enums,
undeclared properties, nested objects/arrays/maps, formats; and passes
bodies that conform."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from spec_check import load_spec, problems

TINY = {"definitions": {
    "Color": {"type": "string", "enum": ["red", "blue"]},
    "Leaf": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    "Thing": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"},
        "when": {"type": "string", "format": "date-time"},
        "took": {"type": "string", "format": "duration"},
        "size": {"type": "string", "format": "int64"},
        "ratio": {"type": "number"},
        "on": {"type": "boolean"},
        "color": {"$ref": "#/definitions/Color"},
        "leaves": {"type": "array", "items": {"$ref": "#/definitions/Leaf"}},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "maybe": {"type": "string", "x-nullable": True},
    }},
    "Derived": {"allOf": [{"$ref": "#/definitions/Leaf"}],
                "properties": {"extra": {"type": "string"}}},
}}

GOOD = {"id": "a", "when": "2025-11-25T10:00:00.1234567Z", "took": "PT1H30M", "size": "42",
        "ratio": 1, "on": False, "color": "red", "leaves": [{"n": 1}], "tags": {"k": "v"},
        "maybe": None, "odata.metadata": "https://x/$metadata#things/@Element"}


def test_problems_conforming_body_none():
    assert problems(GOOD, "Thing", TINY) == []


@pytest.mark.parametrize("change, expected", [
    ({"id": 3}, "$.id: int 3 where string is expected"),
    ({"on": "false"}, "$.on: str 'false' where boolean is expected"),
    ({"ratio": True}, "$.ratio: bool True where number is expected"),
    ({"color": "green"}, "$.color: 'green' is not one of ['red', 'blue']"),
    ({"leaves": [{"n": 1}, {"n": "2"}]}, "$.leaves[1].n: str '2' where integer is expected"),
    ({"leaves": [{}]}, "$.leaves[0]: required property 'n' is missing"),
    ({"leaves": {"n": 1}}, "$.leaves: dict {'n': 1} where array is expected"),
    ({"tags": {"k": 1}}, "$.tags.k: int 1 where string is expected"),
    ({"colour": "red"}, "$: property 'colour' is not in the definition"),
    ({"when": "25/11/2025"}, "$.when: '25/11/2025' is not an RFC 3339 date-time"),
    ({"took": "90 minutes"}, "$.took: '90 minutes' is not an ISO 8601 duration"),
    ({"size": 42}, "$.size: int 42 where string is expected"),
    ({"size": "4e2"}, "$.size: '4e2' is not an int64 written as a string"),
    ({"id": None}, "$.id: null where string is expected"),
])
def test_problems_wrong_shape_named_with_its_path(change, expected):
    assert problems({**GOOD, **change}, "Thing", TINY) == [expected]


def test_problems_missing_required_property_reported():
    body = {k: v for k, v in GOOD.items() if k != "id"}
    assert problems(body, "Thing", TINY) == ["$: required property 'id' is missing"]


def test_problems_all_of_parts_checked():
    assert problems({"extra": "x"}, "Derived", TINY) == ["$: required property 'n' is missing"]
    assert problems({"n": 1, "extra": "x"}, "Derived", TINY) == []


@given(st.fixed_dictionaries({k: st.integers(0, 10**6) for k in
                              ("active", "running", "completed", "succeeded", "failed")}),
       st.sampled_from(["active", "running", "completed", "succeeded", "failed"]))
def test_problems_task_counts_missing_one_count_names_exactly_it(counts, dropped):
    body = {"taskCounts": counts, "taskSlotCounts": counts}
    assert problems(body, "BatchTaskCountsResult") == []
    body["taskSlotCounts"] = {k: v for k, v in counts.items() if k != dropped}
    assert problems(body, "BatchTaskCountsResult") == [
        f"$.taskSlotCounts: required property {dropped!r} is missing"]


def test_problems_vendored_error_body_shape_checked():
    error = {"code": "PoolNotFound", "message": {"lang": "en-US", "value": "The pool..."},
             "values": [{"key": "PoolId", "value": "p"}]}
    assert problems(error, "BatchError") == []
    assert problems({**error, "message": "The pool..."}, "BatchError") == [
        "$.message: str 'The pool...' where object is expected"]


def test_load_spec_current_version_has_definitions():
    assert "BatchPool" in load_spec("2025-06-01")["definitions"]
