"""The catalogue cannot drift: every ``BatchClient`` method of azure-batch 15
is sent (through a transport that only records the request) and classified
by the route table as served (a route whose handler takes the path's
parameters) or refused (501 NotSupported, listed in ``NOT_EMULATED``); the
table, the refused list, the spec and the README's generated block must all
agree."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

azure_batch = pytest.importorskip("azure.batch")

from azure.batch import BatchClient  # noqa: E402
from azure.core.credentials import AzureNamedKeyCredential  # noqa: E402
from azure.core.pipeline.transport import HttpTransport  # noqa: E402

from topwords.backends.local.emulator import catalogue  # noqa: E402
from topwords.backends.local.emulator.errors import BatchApiError  # noqa: E402
from topwords.backends.local.emulator.routes import NOT_EMULATED, ROUTES, dispatch  # noqa: E402
from topwords.backends.local.emulator.routing import Request, Service  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"
#: BatchClient methods that send no operation of their own
NOT_OPERATIONS = {"close", "send_request"}
#: methods built on another operation (azure-batch's own helpers)
HELPERS = {"create_tasks": "Tasks_CreateTaskCollection"}


class _Sent(Exception):
    """Raised by the transport: the request was recorded, nothing is sent."""


class RecordingTransport(HttpTransport):
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request, **kwargs):
        self.sent.append((request.method, urlsplit(request.url).path))
        raise _Sent()


def _arguments(method) -> list:
    """Values for a method's positional parameters: an id for each string,
    a small body for each model (an empty one would be sent without a
    content type, which the SDK refuses), one task for a list of tasks."""
    values = []
    for param in list(inspect.signature(method).parameters.values())[1:]:
        if param.kind is not param.POSITIONAL_OR_KEYWORD:
            break
        if param.annotation is str:
            values.append(f"{param.name}1")
        elif "List" in str(param.annotation):
            values.append([{"id": "t1", "commandLine": "true"}])
        else:
            values.append({"id": "x1"})
    return values


def _sdk_requests() -> dict[str, tuple[str, str]]:
    """BatchClient method name -> the (method, path) of the request it sends."""
    transport = RecordingTransport()
    client = BatchClient("http://127.0.0.1:9", AzureNamedKeyCredential("a", "a2V5"),
                         transport=transport)
    sent = {}
    for name, method in inspect.getmembers(BatchClient, inspect.isfunction):
        if name.startswith("_") or name in NOT_OPERATIONS:
            continue
        transport.sent.clear()
        try:
            result = method(client, *_arguments(method))
            if hasattr(result, "by_page"):
                next(iter(result))
        except Exception:  # _Sent, or the SDK's wrapping of it (create_tasks)
            pass
        assert len(transport.sent) == 1, f"{name} sent {transport.sent}"
        sent[name] = (transport.sent[0][0], unquote(transport.sent[0][1]))
    client.close()
    return sent


SDK_REQUESTS = _sdk_requests()
SPEC_OPERATIONS = catalogue.spec_operations()


def spec_operation(method: str, path: str) -> str | None:
    """The spec operation that ``method path`` is (None: none)."""
    for name, (op_method, template) in SPEC_OPERATIONS.items():
        if op_method == method and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            return name
    return None


def route_for(method: str, path: str):
    matches = [(r, p) for r in ROUTES if (p := r.match(method, path.lstrip("/"))) is not None]
    return matches[0] if matches else (None, None)


def test_every_batch_client_method_was_recorded():
    assert len(SDK_REQUESTS) >= 70  # azure-batch 15.1: 73 (72 operations + create_tasks)


@pytest.mark.parametrize("name", sorted(SDK_REQUESTS))
def test_batch_client_method_is_served_by_its_route_or_refused(name):
    method, path = SDK_REQUESTS[name]
    operation = spec_operation(method, path)
    assert operation is not None, f"{name}: {method} {path} is no operation of the spec"
    if name in HELPERS:
        assert operation == HELPERS[name]
    served, refused = operation in {r.operation for r in ROUTES}, operation in NOT_EMULATED
    assert served != refused, f"{operation} is {'both' if served else 'neither'} routed " \
                              "and refused"
    route, params = route_for(method, path)
    if refused:
        assert route is None, f"{operation} is refused but {route} serves it"
        request = Request(method=method, segments=tuple(s for s in path.split("/") if s),
                          query={"api-version": "2025-06-01"}, headers={}, body=b"",
                          base_url="http://127.0.0.1:9")
        with pytest.raises(BatchApiError) as refusal:
            dispatch(Service(engine=None), request)  # type: ignore[arg-type]
        assert (refusal.value.status, refusal.value.code) == (501, "NotSupported")
        assert f"{method} {path}" in refusal.value.message
        return
    assert route is not None and route.operation == operation, \
        f"{name}: {method} {path} reaches {route and route.operation}, not {operation}"
    signature = inspect.signature(route.handler)  # a list/get handler: its renderer's
    signature.bind(None, None, **params)  # raises TypeError if the handler cannot take them


def test_every_route_and_refusal_is_a_spec_operation_reached_by_the_sdk():
    reached = {spec_operation(*request) for request in SDK_REQUESTS.values()}
    routed = [r.operation for r in ROUTES]
    assert len(set(NOT_EMULATED)) == len(NOT_EMULATED)
    assert set(routed) | set(NOT_EMULATED) == set(SPEC_OPERATIONS) == reached
    assert not set(routed) & set(NOT_EMULATED)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_route_template_is_its_operations_spec_path(route):
    method, path = SPEC_OPERATIONS[route.operation]
    assert route.method == method
    spec_shape = re.sub(r"\{\w+\}", "{}", path.lstrip("/"))
    assert re.sub(r"\{\w+\*?\}", "{}", route.template) == spec_shape
    assert callable(route.handler)


def test_catalogue_counts_match_the_table():
    ops = catalogue.operations()
    assert sum(op.served for op in ops) == len({r.operation for r in ROUTES})
    assert sum(not op.served for op in ops) == len(NOT_EMULATED)
    block = catalogue.markdown()
    assert f"{len(ROUTES)} of the {len(ops)} operations" in block
    assert f"**Not emulated operations:** {len(NOT_EMULATED)};" in block


def test_readme_block_is_the_catalogues_output():
    block = catalogue.readme_block(README.read_text(encoding="utf-8"))
    assert block is not None, "README.md has no generated emulator catalogue"
    assert block == catalogue.markdown(), "regenerate it: python -m " \
        "topwords.backends.local.emulator.catalogue --markdown"


def test_catalogue_script_prints_the_block():
    done = subprocess.run([sys.executable, "-m", "topwords.backends.local.emulator.catalogue",
                           "--markdown"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == catalogue.markdown()
