"""Batch REST operations on supported images, pools, compute nodes and node
files: the handlers (and, for list and get operations, the renderers) that
the route table in ``routes`` names."""

from __future__ import annotations

from topwords.backends.local.files import FileRoot
from topwords.core.errors import PoolNotFound

from . import shapes
from .errors import BatchApiError, not_found
from .images import image_index, supported_images_json
from .resources import node_changed
from .routing import Request, Response, Service, engine_errors, wait_until_gone


def _created(url: str, when) -> dict[str, str]:
    return {**shapes.stamps(when), "Location": url, "DataServiceId": url}


def supported_images(service: Service, request: Request) -> list[dict]:
    return supported_images_json()


def create_pool(service: Service, request: Request) -> Response:
    body = shapes.require_object(request.json())
    from .autoscale_routes import create_autoscale_pool, wants_autoscale
    if wants_autoscale(body):
        return create_autoscale_pool(service, request, body)
    body.pop("enableAutoScale", None)  # false
    try:
        spec, echo = shapes.pool_spec(body, images=image_index(), max_nodes=service.max_nodes)
    except BatchApiError:
        _refuse_existing(service, body.get("id"))  # 409 PoolExists wins, as in Batch
        raise
    with engine_errors("Pool", spec.id):
        service.engine.create_pool(spec, extras=echo)
        record = service.engine.pool_record(spec.id)
    return Response(201, headers=_created(request.url("pools", spec.id), record.modified))


def _refuse_existing(service: Service, pool_id: object) -> None:
    """409 PoolExists if the pool exists: Batch answers it before it checks
    the body."""
    if isinstance(pool_id, str) and pool_id:
        try:
            service.engine.pool_record(pool_id)
        except PoolNotFound:
            return
        raise BatchApiError(409, "PoolExists", "The specified pool already exists.",
                            {"PoolId": pool_id})


def _pool_json(service: Service, request: Request, record) -> dict:
    return shapes.pool_json(record, record.extras, request.url("pools", record.info.spec.id))


def pools(service: Service, request: Request) -> list[dict]:
    return [_pool_json(service, request, r) for r in service.engine.pool_records()]


def pool(service: Service, request: Request, pool_id: str):
    with engine_errors("Pool", pool_id):
        record = service.engine.pool_record(pool_id)
    return _pool_json(service, request, record), record.modified


def pool_exists(service: Service, request: Request, pool_id: str) -> Response:
    with engine_errors("Pool", pool_id):
        record = service.engine.pool_record(pool_id)
    return Response(200, headers=shapes.stamps(record.modified))


def delete_pool(service: Service, request: Request, pool_id: str) -> Response:
    with engine_errors("Pool", pool_id):
        started = service.engine.start_deleting_pool(pool_id)
    if not started:
        raise BatchApiError(409, "PoolBeingDeleted", "The specified pool has been marked for "
                            "deletion and is being reclaimed.", {"PoolId": pool_id})
    wait_until_gone(service, lambda: service.engine.pool_record(pool_id))
    return Response(202)


def _node_json(request: Request, pool_id: str, record, pool) -> dict:
    spec = pool.info.spec
    start = shapes.start_task_json(spec.start_task, pool.extras)
    image = pool.extras.get("virtualMachineConfiguration", {}).get("imageReference")
    return shapes.node_json(record, url=request.url("pools", pool_id, "nodes", record.info.id),
                            vm_size=spec.vm_size, is_dedicated=record.dedicated,
                            start_task=start, image_reference=image)


def _nodes(service: Service, pool_id: str):
    with engine_errors("Pool", pool_id):
        return service.engine.pool_record(pool_id), service.engine.node_records(pool_id)


def nodes(service: Service, request: Request, pool_id: str) -> list[dict]:
    pool, records = _nodes(service, pool_id)
    return [_node_json(request, pool_id, r, pool) for r in records]


def node(service: Service, request: Request, pool_id: str, node_id: str):
    pool, records = _nodes(service, pool_id)
    for record in records:
        if record.info.id == node_id:
            return _node_json(request, pool_id, record, pool), node_changed(record)
    raise not_found("Node", node_id)


def _node_root(service: Service, pool_id: str, node_id: str) -> FileRoot:
    with engine_errors("Pool", pool_id):
        root = service.engine.node_dir(pool_id, node_id)
    if root is None:
        raise not_found("Node", node_id)
    return root


def node_files(service: Service, request: Request, pool_id: str, node_id: str) -> list[dict]:
    root = _node_root(service, pool_id, node_id)
    recursive = request.query.get("recursive", "").lower() == "true"
    base = request.url("pools", pool_id, "nodes", node_id, "files")
    return [shapes.file_json(e, f"{base}/{e.name}") for e in root.list(recursive=recursive)]


def node_file(service: Service, request: Request, pool_id: str, node_id: str,
              path: str) -> Response:
    """GET (the bytes) or HEAD (the properties) of a node's file."""
    root = _node_root(service, pool_id, node_id)
    return file_response(request, root, path)


def file_response(request: Request, root: FileRoot | None, rel_path: str) -> Response:
    """GET (the bytes) or HEAD (the properties) of a file below ``root``,
    with the headers azure-batch reads. An ``ocp-range: bytes=a-b`` header
    selects part of the file. Links are never followed (404)."""
    entry = root.entry(rel_path) if root is not None else None
    if entry is None or (request.method == "GET" and entry.is_directory):
        raise not_found("File", rel_path)
    headers = {"ocp-creation-time": shapes.http_date(entry.created),
               "ocp-batch-file-isdirectory": str(entry.is_directory).lower(),
               "ocp-batch-file-url": request.base_url + "/" + "/".join(request.segments),
               "ocp-batch-file-mode": shapes.file_mode(entry),
               "Last-Modified": shapes.http_date(entry.modified),
               "ETag": shapes.etag(entry.modified),
               "Content-Type": "application/octet-stream"}
    if request.method == "HEAD":
        headers["Content-Length"] = str(entry.size)
        return Response(200, headers=headers)
    start, end = _range(request.headers.get("ocp-range", ""))
    data = root.read(rel_path, start=start, end=end)
    if data is None:
        raise not_found("File", rel_path)
    return Response(200, data, headers)


def _range(wanted: str) -> tuple[int, int | None]:
    """``bytes=a-b`` as ``(a, b + 1)``; no header: the whole file."""
    if not wanted.startswith("bytes="):
        return 0, None
    first, _, last = wanted[6:].partition("-")
    try:
        start, end = int(first or 0), int(last) + 1 if last else None
    except ValueError:
        start = end = -1
    if start < 0 or (end is not None and end < start):
        raise BatchApiError(400, "InvalidHeaderValue", "The ocp-range header is not of the "
                            "form bytes=start-end.", {"HeaderName": "ocp-range"})
    return start, end
