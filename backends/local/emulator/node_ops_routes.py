"""Batch REST operations that delete a task's or a node's files and take
nodes out of a pool. Files are deleted below the directory the engine
names (``FileRoot.delete``: no link is followed; task code may have planted
them)."""

from __future__ import annotations

from topwords.backends.local.batch_engine import DEALLOCATION_OPTIONS
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
