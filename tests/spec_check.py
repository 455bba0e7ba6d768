"""Check JSON bodies against the vendored Batch spec (stdlib only).

``problems(body, "BatchPool")`` lists, as ``path: what`` lines, where a body
breaks its definition in ``backends/local/emulator/spec/batch-<version>.json``:
wrong JSON types, missing required properties, values outside an enum,
properties the definition does not declare (OData annotations such as
``odata.metadata`` excepted), ill-formed ``date-time``/``duration``/``int64``
strings, nested through objects, arrays and ``additionalProperties`` maps.
It is not a full JSON-schema validator; it is enough to catch wrong shapes.

``answer_problems(answer)`` checks one answer the emulator recorded
(``BatchEmulator.recording``) against the operation its method and path are
in the spec of the api-version the client sent: a status the operation
declares (or an error status with the error body), the body against the
definition declared for that status, every declared response header present
and well-formed, and no header the operation does not declare beyond
:data:`STANDARD_HEADERS`. Lines read ``<operationId> <METHOD> <path>: what``.

Used by the emulator suites and the client suites (tests/clients/), hence
here, on the tests' ``pythonpath``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

SPEC_DIR = Path(__file__).resolve().parents[1] / "backends/local/emulator/spec"
_JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float),
               "boolean": (bool,), "array": (list,), "object": (dict,)}
_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.I)
_DURATION = re.compile(r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")


@lru_cache(maxsize=None)
def load_spec(version: str = "2025-06-01") -> dict:
    """The vendored spec of one api-version."""
    return json.loads((SPEC_DIR / f"batch-{version}.json").read_text(encoding="utf-8"))


def problems(body: Any, definition: str, spec: dict | None = None) -> list[str]:
    """Every way ``body`` breaks ``definition`` (empty when it conforms)."""
    spec = spec if spec is not None else load_spec()
    out: list[str] = []
    _check(body, {"$ref": f"#/definitions/{definition}"}, spec["definitions"], "$", out)
    return out


def _format_problem(value: str, fmt: str | None) -> str | None:
    if fmt == "date-time" and not _DATE_TIME.match(value):
        return f"{value!r} is not an RFC 3339 date-time"
    elif fmt == "duration" and not _DURATION.match(value):
        return f"{value!r} is not an ISO 8601 duration"
    elif fmt == "int64" and not re.fullmatch(r"-?\d+", value):
        return f"{value!r} is not an int64 written as a string"
    return None


def _resolved(schema: dict, defs: dict) -> dict:
    """``schema`` with its ``$ref`` followed and its ``allOf`` parts merged in."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" not in schema:
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in map(lambda p: _resolved(p, defs), schema["allOf"]):
        merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
        merged["required"] = [*part.get("required", []), *merged.get("required", [])]
        merged.setdefault("type", part.get("type"))
    return merged


def _check(value: Any, schema: dict, defs: dict, path: str, out: list[str]) -> None:
    schema = _resolved(schema, defs)
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if value is None:
        if not schema.get("x-nullable"):
            out.append(f"{path}: null where {kind or 'a value'} is expected")
        return
    if kind in _JSON_TYPES and (not isinstance(value, _JSON_TYPES[kind])
                                or (isinstance(value, bool) and kind != "boolean")):
        out.append(f"{path}: {type(value).__name__} {value!r:.60} where {kind} is expected")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and (bad := _format_problem(value, schema.get("format"))):
        out.append(f"{path}: {bad}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], defs, f"{path}[{index}]", out)
    if isinstance(value, dict):
        _check_object(value, schema, defs, path, out)


def _check_object(value: dict, schema: dict, defs: dict, path: str, out: list[str]) -> None:
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            out.append(f"{path}: required property {name!r} is missing")
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        if name in props:
            _check(item, props[name], defs, f"{path}.{name}", out)
        elif isinstance(extra, dict):
            _check(item, extra, defs, f"{path}.{name}", out)
        elif extra is not True and props and not name.startswith("odata."):
            out.append(f"{path}: property {name!r} is not in the definition")


# -- answers as a client received them -------------------------------------------------

#: headers any answer may carry without its operation declaring them: HTTP's
#: own framing and metadata (RFC 9110/9112), the two every operation of the
#: spec declares for its successes (``request-id``, ``client-request-id``;
#: its ``default`` error response declares none), ``DataServiceVersion`` (the
#: OData protocol version the Batch service sends on every answer) and
#: ``Retry-After`` (with 503 ServerBusy); with 201 Created also ``Location``
#: (RFC 9110 section 15.3.2: the created resource), see :data:`CREATED_HEADERS`
STANDARD_HEADERS = frozenset({"content-type", "content-length", "date", "server", "connection",
                              "keep-alive", "transfer-encoding", "request-id",
                              "client-request-id", "dataserviceversion", "retry-after"})
CREATED_HEADERS = frozenset({"location"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_RFC1123 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                      r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


def route_key(path: str) -> str:
    """A path template with its parameters blanked: ``pools/{}/nodes``."""
    return re.sub(r"\{\w+\*?\}", "{}", path.strip("/"))


def operation_for(spec: dict, method: str, route: str) -> tuple[str, dict] | None:
    """The spec's (operationId, operation) for ``method`` on the emulator
    route template ``route`` (``pools/{pool_id}``), or None."""
    found = [(op_id, op) for op_id, op in spec["operations"].items()
             if op["method"] == method and route_key(op["path"]) == route_key(route)]
    return found[0] if len(found) == 1 else None


def response_schema(op: dict, status: int) -> tuple[Any, dict] | None:
    """The body (a definition name, ``"file"`` or None) and the headers
    ``op`` declares for ``status``; its error body and no headers for an
    error status it does not list; None for any other status."""
    declared = op["responses"].get(str(status))
    if declared is not None:
        return declared["body"], declared["headers"]
    if status >= 400:
        return op["errorBody"], {}
    return None


def _header_problem(value: str, declared: dict) -> str | None:
    kind, fmt = declared.get("type"), declared.get("format")
    if fmt == "uuid" and not _UUID.match(value):
        return f"{value!r} is not a uuid"
    if fmt in ("date-time-rfc1123", "date-time-rfc7231") and not _RFC1123.match(value):
        return f"{value!r} is not an RFC 1123 date"
    if (kind == "integer" or fmt == "int64") and not re.fullmatch(r"\d+", value):
        return f"{value!r} is not an integer"
    if kind == "boolean" and value not in ("true", "false", "True", "False"):
        return f"{value!r} is not a boolean"
    return None


def answer_problems(answer: dict) -> list[str]:
    """Every way one recorded answer breaks the spec of its api-version."""
    where = f"{answer['operation'] or '-'} {answer['method']} {answer['path']}"
    try:
        spec = load_spec(answer["apiVersion"])
    except (OSError, TypeError):
        return [f"{where}: no spec vendored for api-version {answer['apiVersion']!r}"]
    found = operation_for(spec, answer["method"], answer["route"] or answer["path"])
    if found is None:
        if answer["status"] >= 400:  # a path no route serves: an error body still
            return [f"{where}: {p}" for p in problems(answer["body"], "BatchError", spec)]
        return [f"{where}: no operation of {spec['apiVersion']} serves this method and path"]
    op_id, op = found
    where = f"{op_id} {answer['method']} {answer['path']}"
    declared = response_schema(op, answer["status"])
    if declared is None:
        return [f"{where}: status {answer['status']} is not declared "
                f"(declared: {', '.join(sorted(op['responses']))})"]
    body, headers = declared
    out = [f"{where}: {p}" for p in _body_problems(answer, body, spec)]
    out += [f"{where}: {p}" for p in _headers_problems(answer, headers)]
    return out


def _body_problems(answer: dict, body: Any, spec: dict) -> list[str]:
    got, status = answer["body"], answer["status"]
    if isinstance(body, str) and body != "file":
        if got is None:
            return [f"no JSON body where {body} is declared for {status}"]
        return problems(got, body, spec)
    if isinstance(body, dict):  # an inline schema
        out: list[str] = []
        _check(got, body["schema"], spec["definitions"], "$", out)
        return out
    if body is None and got is not None:
        return [f"a JSON body where the spec declares none for {status}"]
    return []


def _headers_problems(answer: dict, declared: dict) -> list[str]:
    sent = {name.lower(): value for name, value in answer["headers"].items()}
    wanted = {name.lower(): spec for name, spec in declared.items()}
    out = []
    for name, spec in sorted(wanted.items()):
        if name == "client-request-id" and not answer["askedClientRequestId"]:
            continue  # returned only when return-client-request-id is true
        if name not in sent:
            out.append(f"declared header {name!r} is missing")
        elif bad := _header_problem(sent[name], spec):
            out.append(f"header {name!r}: {bad}")
    allowed = STANDARD_HEADERS | (CREATED_HEADERS if answer["status"] == 201 else frozenset())
    for name in sorted(set(sent) - set(wanted) - allowed):
        out.append(f"header {name!r} is not declared for {answer['status']}")
    return out


def answers_report(answers: Iterable[dict]) -> tuple[int, list[str]]:
    """(how many JSON bodies were checked against a definition, every problem)."""
    checked, out = 0, []
    for answer in answers:
        out += answer_problems(answer)
        checked += answer["body"] is not None
    return checked, out
