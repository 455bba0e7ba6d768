"""Batch REST operations that delete a task's or a node's files, take
nodes out of a pool, and reboot or reimage a node. Files are deleted below the directory the engine
names (``FileRoot.delete``: no link is followed; task code may have planted
them)."""

from __future__ import annotations

from datetime import datetime, timezone

from topwords.backends.local.batch_engine import DEALLOCATION_OPTIONS, StateConflict
from topwords.backends.local.files import FileRoot

from . import shapes
from .errors import BatchApiError, bad_value, missing, not_found
from .pool_routes import _node_root
from .routing import Request, Response, Service, engine_errors

#: the most nodes one remove-nodes request may name (Batch's limit)
MAX_REMOVE = 100


def _delete(request: Request, root: FileRoot | None, path: str) -> Response:
    recursive = request.query.get("recursive", "").lower() == "true"
    outcome = root.delete(path, recursive=recursive) if root is not None else "missing"
    if outcome == "missing":
        raise not_found("File", path)
    if outcome == "not-empty":
        raise BatchApiError(409, "DirectoryNotEmpty", "The specified directory is not empty; "
                            "delete it with recursive=true.", {"FilePath": path})
    return Response(200)


def delete_task_file(service: Service, request: Request, job_id: str, task_id: str,
                     path: str) -> Response:
    with engine_errors("Task", task_id, job_id):
        root = service.engine.task_dir(job_id, task_id)
    return _delete(request, root, path)


def delete_node_file(service: Service, request: Request, pool_id: str, node_id: str,
                     path: str) -> Response:
    return _delete(request, _node_root(service, pool_id, node_id), path)


def remove_nodes(service: Service, request: Request, pool_id: str) -> Response:
    body = shapes.require_object(request.json())
    nodes = body.get("nodeList")
    if nodes is None:
        raise missing("nodeList")
    if not isinstance(nodes, list) or not nodes \
            or not all(isinstance(n, str) and n for n in nodes):
        raise bad_value("nodeList", "must be a list of node ids")
    if len(nodes) > MAX_REMOVE:
        raise bad_value("nodeList", f"at most {MAX_REMOVE} nodes per request", len(nodes))
    option = str(body.get("nodeDeallocationOption") or "requeue").lower()
    if option not in DEALLOCATION_OPTIONS:
        raise bad_value("nodeDeallocationOption", "must be one of "
                        + ", ".join(DEALLOCATION_OPTIONS), option)
    timeout = body.get("resizeTimeout")
    if timeout:
        shapes.parse_duration(timeout, "resizeTimeout")
    with engine_errors("Pool", pool_id):
        known = {r.info.id for r in service.engine.node_records(pool_id)}
        unknown = [n for n in nodes if n not in known]
        if unknown:
            raise not_found("Node", unknown[0])
        service.engine.remove_nodes(pool_id, nodes, deallocation=option)
        record = service.engine.pool_record(pool_id)
    return Response(202, headers={**shapes.stamps(record.modified),
                                  "DataServiceId": request.url("pools", pool_id)})


def _restart(service: Service, request: Request, pool_id: str, node_id: str, *,
             option_name: str, reimage: bool) -> Response:
    body = request.json() or {}
    if not isinstance(body, dict):
        raise bad_value("value", "the body must be an object")
    option = str(body.get(option_name) or "requeue").lower()
    if option not in DEALLOCATION_OPTIONS:
        raise bad_value(option_name, "must be one of " + ", ".join(DEALLOCATION_OPTIONS),
                        option)
    with engine_errors("Pool", pool_id):
        if node_id not in {r.info.id for r in service.engine.node_records(pool_id)}:
            raise not_found("Node", node_id)
        try:
            service.engine.restart_node(pool_id, node_id, option=option, reimage=reimage)
        except StateConflict as exc:
            raise BatchApiError(409, exc.code, str(exc), {"NodeId": node_id}) from None
    return Response(202, headers={**shapes.stamps(datetime.now(timezone.utc)),
                                  "DataServiceId": request.url("pools", pool_id, "nodes",
                                                               node_id)})


def reboot_node(service: Service, request: Request, pool_id: str, node_id: str) -> Response:
    """The node's container (or process) restarts and its StartTask runs
    again; ``nodeRebootOption`` says what becomes of its running tasks."""
    return _restart(service, request, pool_id, node_id, option_name="nodeRebootOption",
                    reimage=False)


def reimage_node(service: Service, request: Request, pool_id: str, node_id: str) -> Response:
    """A reboot on an empty node directory (``nodeReimageOption``)."""
    return _restart(service, request, pool_id, node_id, option_name="nodeReimageOption",
                    reimage=True)


# -- what the emulator's nodes cannot do: remote logins --------------------------

_NO_REMOTE_LOGIN = ("The emulator's nodes take no remote logins: they are local containers "
                    "or processes with no SSH or RDP endpoint, so node user accounts and "
                    "remote login settings do not exist.")


def _refuse_remote_login(service: Service, pool_id: str, node_id: str) -> Response:
    """404 for a pool or node that does not exist, as the service; else the
    409 the service gives when the node cannot take the request."""
    _node_root(service, pool_id, node_id)
    raise BatchApiError(409, "OperationInvalidForCurrentState", _NO_REMOTE_LOGIN,
                        {"NodeId": node_id, "Reason": "remote login is not emulated"})


def create_node_user(service: Service, request: Request, pool_id: str,
                     node_id: str) -> Response:
    body = shapes.require_object(request.json())
    if not body.get("name"):
        raise missing("name")
    return _refuse_remote_login(service, pool_id, node_id)


def change_node_user(service: Service, request: Request, pool_id: str, node_id: str,
                     user_name: str) -> Response:
    """Replace (PUT) or delete a node user: none exists here."""
    _node_root(service, pool_id, node_id)
    raise BatchApiError(404, "NodeUserNotFound", "The specified node user does not exist. "
                        + _NO_REMOTE_LOGIN, {"UserName": user_name})


def remote_login_settings(service: Service, request: Request, pool_id: str,
                          node_id: str) -> Response:
    return _refuse_remote_login(service, pool_id, node_id)
