"""Check JSON bodies against the vendored Batch spec (stdlib only).

``problems(body, "BatchPool")`` lists, as ``path: what`` lines, where a body
breaks its definition in ``backends/local/emulator/spec/batch-<version>.json``:
wrong JSON types, missing required properties, values outside an enum,
properties the definition does not declare (OData annotations such as
``odata.metadata`` excepted), ill-formed ``date-time``/``duration``/``int64``
strings, nested through objects, arrays and ``additionalProperties`` maps.
It is not a full JSON-schema validator; it is enough to catch wrong shapes.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parents[2] / "backends/local/emulator/spec"
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
