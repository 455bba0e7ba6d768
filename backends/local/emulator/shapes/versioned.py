"""Each api-version's own shapes: one table of the properties that were
added or renamed between the Batch API versions the emulator accepts, for
the bodies it serves, and the two functions that apply it.

The emulator's parsers and renderers speak 2025-06-01. A request sent at
an older ``api-version`` has its body translated to those names first
(:func:`request_body`: ``maxTasksPerNode`` -> ``taskSlotsPerNode``), and
its answer is translated back (:func:`response_body`: the version's names,
without the properties the version did not have yet, task counts as a bare
``TaskCounts`` before 2020-09-01.12.0, int64 numbers as JSON numbers before
2025-06-01; :func:`response_headers`: without the headers the version's
spec does not declare). Both are applied in one place, the dispatcher
(``routes.dispatch``).

The table was read off the specs in Azure/azure-rest-api-specs
(``specification/batch/data-plane/Microsoft.Batch/stable/<version>/BatchService.json``)
through the models generated from them (each msrest azure-batch release,
6.0.0 = 2018-12-01.8.0 ... 14.2.0 = 2024-02-01.19.0; azure-batch 15.0.0b2
= 2024-07-01.20.0) and the vendored 2025-06-01 spec (``../spec``).
Properties that 2025-06-01 removed
(``cloudServiceConfiguration``, ``certificateReferences``,
``applicationLicenses``, ``resourceTags``, ``targetNodeCommunicationMode``)
are not in the table: they are refused or echoed where the routes handle
them, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..versions import API_VERSIONS, LATEST_API_VERSION

__all__ = ["ADDED", "HEADERS_ADDED", "NUMBERS_AS_STRINGS", "OPERATIONS", "RENAMED", "Added",
           "AsString", "HeadersAdded", "Renamed", "request_body", "request_query",
           "response_body", "response_headers"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Renamed:
    """``kind``'s property ``new`` was called ``old`` up to and including
    api-version ``until``."""

    kind: str
    old: str
    new: str
    until: str


@dataclass(frozen=True)
class Added:
    """``kind``'s property ``name`` exists from api-version ``since`` on."""

    kind: str
    name: str
    since: str


RENAMED: tuple[Renamed, ...] = (
    Renamed("pool", "maxTasksPerNode", "taskSlotsPerNode", until="2020-03-01.11.0"),
)

ADDED: tuple[Added, ...] = (
    Added("node", "runningTaskSlotsCount", since="2020-09-01.12.0"),
    Added("task", "requiredSlots", since="2020-09-01.12.0"),
    Added("jobManagerTask", "requiredSlots", since="2020-09-01.12.0"),
    Added("job", "maxParallelTasks", since="2021-06-01.14.0"),
    Added("job", "allowTaskPreemption", since="2022-01-01.15.0"),
    Added("nodeCounts", "upgradingOS", since="2024-02-01.19.0"),
    # with the node deallocate and start operations
    Added("nodeCounts", "deallocated", since="2024-07-01.20.0"),
    Added("nodeCounts", "deallocating", since="2024-07-01.20.0"),
    # not in azure-batch 15.0.0b2's models (2024-07-01.20.0) yet
    Added("node", "ipv6Address", since="2025-06-01"),
)

@dataclass(frozen=True)
class AsString:
    """``kind``'s int64 property ``name`` is a JSON string (``"8"``) from
    api-version ``since`` on, a JSON number before."""

    kind: str
    name: str
    since: str


#: the TypeSpec rewrite (2025-06-01) writes int64 as strings; the swagger
#: specs before it (2024-02-01.19.0, 2022-10-01.16.0 read) say integer
NUMBERS_AS_STRINGS: tuple[AsString, ...] = (
    AsString("fileProperties", "contentLength", since="2025-06-01"),
)


@dataclass(frozen=True)
class HeadersAdded:
    """``operation``'s success answer declares ``headers`` from api-version
    ``since`` on (the emulator sends them at that version and later only)."""

    operation: str
    headers: frozenset[str]
    since: str


_STAMPS = frozenset({"ETag", "Last-Modified"})
#: read off the specs: 2025-06-01 declares ETag and Last-Modified on these,
#: 2024-02-01.19.0 and 2022-10-01.16.0 only request-id and client-request-id
HEADERS_ADDED: tuple[HeadersAdded, ...] = (
    HeadersAdded("Pools_ListPoolNodeCounts", _STAMPS, since="2025-06-01"),
    HeadersAdded("Jobs_GetJobTaskCounts", _STAMPS, since="2025-06-01"),
    HeadersAdded("Tasks_CreateTaskCollection", _STAMPS, since="2025-06-01"),
)

#: before this version, Jobs_GetJobTaskCounts answers a bare TaskCounts
#: (no ``taskCounts``/``taskSlotCounts`` wrapper, no slot counts)
TASK_SLOT_COUNTS_SINCE = "2020-09-01.12.0"

#: where objects of a kind sit inside another kind's body
_NESTED: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "job": ((("poolInfo", "autoPoolSpecification", "pool"), "pool"),
            (("jobManagerTask",), "jobManagerTask")),
    "schedule": ((("jobSpecification",), "job"),),
    "poolNodeCounts": ((("dedicated",), "nodeCounts"), (("lowPriority",), "nodeCounts")),
    "file": ((("properties",), "fileProperties"),),
}

#: operation -> (kind of its request body, kind of its response body);
#: a kind ending in ``[]`` is a ``{"value": [...]}`` of that kind
OPERATIONS: Mapping[str, tuple[str | None, str | None]] = {
    "Pools_CreatePool": ("pool", None),
    "Pools_GetPool": (None, "pool"), "Pools_ListPools": (None, "pool[]"),
    "Pools_ListPoolNodeCounts": (None, "poolNodeCounts[]"),
    "Nodes_GetNode": (None, "node"), "Nodes_ListNodes": (None, "node[]"),
    "Jobs_CreateJob": ("job", None), "Jobs_UpdateJob": ("job", None),
    "Jobs_ReplaceJob": ("job", None),
    "Jobs_GetJob": (None, "job"), "Jobs_ListJobs": (None, "job[]"),
    "Jobs_ListJobsFromSchedule": (None, "job[]"),
    "Jobs_GetJobTaskCounts": (None, "taskCounts"),
    "Tasks_CreateTask": ("task", None), "Tasks_CreateTaskCollection": ("task[]", None),
    "Tasks_GetTask": (None, "task"), "Tasks_ListTasks": (None, "task[]"),
    "JobSchedules_CreateJobSchedule": ("schedule", None),
    "JobSchedules_ReplaceJobSchedule": ("schedule", None),
    "JobSchedules_UpdateJobSchedule": ("schedule", None),
    "JobSchedules_GetJobSchedule": (None, "schedule"),
    "JobSchedules_ListJobSchedules": (None, "schedule[]"),
    "Tasks_ListTaskFiles": (None, "file[]"), "Nodes_ListNodeFiles": (None, "file[]"),
}

_ORDER = {version: index for index, version in enumerate(API_VERSIONS)}


def _before(version: str, other: str) -> bool:
    return _ORDER[version] < _ORDER[other]


def request_body(operation: str, version: str, body: Any) -> Any:
    """A request body sent at ``version`` in the 2025-06-01 names the
    parsers read (``body``: the parsed JSON; it is not changed)."""
    kind = OPERATIONS.get(operation, (None, None))[0]
    if kind is None or version == LATEST_API_VERSION:
        return body
    return _walk(kind, body, lambda k, obj: _to_latest(k, version, obj))


def response_body(operation: str, version: str, body: Any) -> Any:
    """A 2025-06-01 response body in ``version``'s shapes."""
    kind = OPERATIONS.get(operation, (None, None))[1]
    if kind is None or version == LATEST_API_VERSION:
        return body
    if kind == "taskCounts":
        if _before(version, TASK_SLOT_COUNTS_SINCE) and isinstance(body, dict):
            return body.get("taskCounts", body)
        return body
    return _walk(kind, body, lambda k, obj: _to_version(k, version, obj))


def response_headers(operation: str, version: str, headers: Mapping[str, str]) -> dict[str, str]:
    """A 2025-06-01 answer's headers without those ``version`` does not
    declare for ``operation``."""
    drop = {name.lower() for rule in HEADERS_ADDED
            if rule.operation == operation and _before(version, rule.since)
            for name in rule.headers}
    return {name: value for name, value in headers.items() if name.lower() not in drop}


def request_query(operation: str, version: str, query: Mapping[str, str]) -> dict[str, str]:
    """``$select`` and ``$filter`` of a list or get at ``version`` in the
    2025-06-01 names (``maxTasksPerNode`` -> ``taskSlotsPerNode``)."""
    kind = OPERATIONS.get(operation, (None, None))[1]
    query = dict(query)
    if kind is None or version == LATEST_API_VERSION:
        return query
    kind = kind.removesuffix("[]")
    for rule in RENAMED:
        if rule.kind == kind and not _before(rule.until, version):
            for name in ("$select", "$filter"):
                if name in query:
                    query[name] = re.sub(rf"\b{rule.old}\b", rule.new, query[name])
    return query


def _to_latest(kind: str, version: str, obj: Json) -> Json:
    for rule in RENAMED:
        if rule.kind == kind and rule.old in obj and not _before(rule.until, version):
            obj[rule.new] = obj.pop(rule.old)
    return obj


def _to_version(kind: str, version: str, obj: Json) -> Json:
    for number in NUMBERS_AS_STRINGS:
        value = obj.get(number.name)
        if number.kind == kind and _before(version, number.since) and isinstance(value, str) \
                and value.lstrip("-").isdigit():
            obj[number.name] = int(value)
    for rule in ADDED:
        if rule.kind == kind and _before(version, rule.since):
            obj.pop(rule.name, None)
    for rule in RENAMED:
        if rule.kind == kind and rule.new in obj and not _before(rule.until, version):
            obj[rule.old] = obj.pop(rule.new)
    return obj


def _walk(kind: str, body: Any, change: Callable[[str, Json], Json]) -> Any:
    """A copy of ``body`` (of ``kind``) with ``change`` applied to it and to
    every object of a kind nested in it."""
    if kind.endswith("[]"):
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            return body
        return {**body, "value": [_walk(kind[:-2], item, change) for item in body["value"]]}
    if not isinstance(body, dict):
        return body
    obj = change(kind, dict(body))
    for path, inner in _NESTED.get(kind, ()):
        obj = _replace(obj, path, inner, change)
    return obj


def _replace(obj: Json, path: tuple[str, ...], kind: str,
             change: Callable[[str, Json], Json]) -> Json:
    head, rest = path[0], path[1:]
    value = obj.get(head)
    if not isinstance(value, dict):
        return obj
    new = _replace(dict(value), rest, kind, change) if rest else _walk(kind, value, change)
    return {**obj, head: new}
