"""Batch REST operations that change a pool after it was created: update
(PATCH: the properties given replace theirs), update properties (POST
updateproperties: the whole updatable set is replaced), resize and stop
resize, and the account's node counts per pool.

As on Batch, a new StartTask runs on nodes that join or reboot from then
on, not on the nodes the pool has.
"""

from __future__ import annotations

from topwords.backends.local.engine import KEEP
from topwords.backends.local.pool_resize import DEALLOCATION_OPTIONS
from topwords.core.model import NodeState

from . import shapes
from .errors import bad_value, missing, unsupported
from .routing import Request, Response, Service, engine_errors, list_response, route

#: PATCH /pools/{id} properties that would change what the pool's nodes
#: are: Batch takes them only for a pool with no nodes; the emulator not at all
_FIXED = ("vmSize", "virtualMachineConfiguration", "taskSlotsPerNode", "networkConfiguration",
          "mountConfiguration", "userAccounts", "upgradePolicy", "taskSchedulingPolicy",
          "enableInterNodeCommunication", "resourceTags", "targetNodeCommunicationMode")

#: Batch's node states -> BatchNodeCounts property names
_COUNT_NAMES = ("creating", "idle", "offline", "preempted", "rebooting", "reimaging", "running",
                "starting", "startTaskFailed", "leavingPool", "unknown", "unusable",
                "waitingForStartTask", "deallocated", "deallocating", "upgradingOS")


def _changed(service: Service, request: Request, pool_id: str, status: int) -> Response:
    with engine_errors("Pool", pool_id):
        record = service.engine.pool_record(pool_id)
    url = request.url("pools", pool_id)
    return Response(status, headers={**shapes.stamps(record.created), "DataServiceId": url})


def _start_task(service: Service, pool_id: str, body) -> object:
    """The StartTask of an update body (None: removed) and its echo kept."""
    if body is None or body == {}:
        echo = None
        start = None
    else:
        start, echo = shapes.start_task_spec(body)
    with service.lock:
        pool_echo = service.echo.setdefault(("pool", pool_id), {})
        pool_echo.pop("startTask", None)
        if echo is not None:
            pool_echo["startTask"] = echo
    return start


def _refuse_packages(body: dict, *names: str) -> None:
    for name in names:
        if body.get(name):
            raise unsupported(name, "there are no application packages or certificates")


@route("PATCH", "pools/{pool_id}")
def update_pool(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    for name in _FIXED:
        if name in body:
            raise unsupported(name, "the emulator does not change a pool's nodes after it "
                              "was created; create a new pool")
    _refuse_packages(body, "applicationPackageReferences", "certificateReferences")
    with engine_errors("Pool", pool_id):
        service.engine.pool_record(pool_id)
    metadata = shapes.metadata_pairs(body) if "metadata" in body else None
    start = _start_task(service, pool_id, body["startTask"]) if "startTask" in body else KEEP
    with engine_errors("Pool", pool_id):
        service.engine.update_pool(pool_id, start_task=start, metadata=metadata)
    if "displayName" in body:
        with service.lock:
            service.echo.setdefault(("pool", pool_id), {})["displayName"] = body["displayName"]
    return _changed(service, request, pool_id, 200)


@route("POST", "pools/{pool_id}/updateproperties")
def replace_pool_properties(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    for name in ("metadata", "applicationPackageReferences"):
        if body.get(name) is None:
            raise missing(name)
    _refuse_packages(body, "applicationPackageReferences", "certificateReferences")
    with engine_errors("Pool", pool_id):
        service.engine.pool_record(pool_id)
    metadata = shapes.metadata_pairs(body)
    start = _start_task(service, pool_id, body.get("startTask"))
    with engine_errors("Pool", pool_id):
        service.engine.update_pool(pool_id, start_task=start, metadata=metadata)
    return _changed(service, request, pool_id, 204)


@route("POST", "pools/{pool_id}/resize")
def resize_pool(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    dedicated = shapes.integer_value(body.get("targetDedicatedNodes") or 0,
                                     "targetDedicatedNodes")
    spot = shapes.integer_value(body.get("targetLowPriorityNodes") or 0,
                                "targetLowPriorityNodes")
    for name, value in (("targetDedicatedNodes", dedicated), ("targetLowPriorityNodes", spot)):
        if value < 0:
            raise bad_value(name, "must be 0 or more", value)
    if dedicated + spot > service.max_nodes:
        raise bad_value("targetDedicatedNodes", f"the emulator runs at most "
                        f"{service.max_nodes} nodes per pool", dedicated + spot)
    option = str(body.get("nodeDeallocationOption") or "requeue").lower()
    if option not in DEALLOCATION_OPTIONS:
        raise bad_value("nodeDeallocationOption", "must be one of "
                        + ", ".join(DEALLOCATION_OPTIONS), option)
    timeout = body.get("resizeTimeout")
    if timeout:
        shapes.parse_duration(timeout, "resizeTimeout")
    with engine_errors("Pool", pool_id):
        service.engine.resize_pool(pool_id, dedicated, spot, deallocation=option)
    if timeout:
        with service.lock:
            service.echo.setdefault(("pool", pool_id), {})["resizeTimeout"] = timeout
    return _changed(service, request, pool_id, 202)


@route("POST", "pools/{pool_id}/stopresize")
def stop_resize_pool(service: Service, request: Request, pool_id: str) -> Response:
    with engine_errors("Pool", pool_id):
        service.engine.stop_resizing_pool(pool_id)
    return _changed(service, request, pool_id, 202)


def _counts(states: list[NodeState]) -> dict[str, int]:
    counts = dict.fromkeys(_COUNT_NAMES, 0)
    by_value = {name.lower(): name for name in _COUNT_NAMES}
    for state in states:
        counts[by_value[state.value]] += 1
    counts["total"] = len(states)
    return counts


@route("GET", "nodecounts")
def list_pool_node_counts(service: Service, request: Request) -> Response:
    items = []
    for record in service.engine.pool_records():
        pool_id = record.info.spec.id
        try:
            nodes = service.engine.node_records(pool_id)
        except Exception:  # deleted meanwhile
            continue
        items.append({"poolId": pool_id,
                      "dedicated": _counts([n.info.state for n in nodes if n.dedicated]),
                      "lowPriority": _counts([n.info.state for n in nodes if not n.dedicated])})
    return list_response(request, service, items, "poolnodecounts")
