#!/usr/bin/env python3
"""Vendor a small, self-contained subset of a Batch data-plane REST spec.

Reads one or more local copies of ``BatchService.json`` (swagger 2.0, from
Azure/azure-rest-api-specs ``specification/batch/data-plane/``; this script
never downloads anything) and writes, per api-version,
``backends/local/emulator/spec/batch-<version>.json`` with:

- ``operations``: operationId -> method, path template, success codes, the
  response headers each declared status code lists (names as declared), the
  query/header/path parameter names (name -> required), the request-body and
  response-body definitions, and the error-body definition;
- ``definitions``: the JSON schemas reachable from those bodies, ``$ref``\\ s
  pointing inside the file, with descriptions, examples and client-naming
  extensions dropped.

Usage::

    python scripts/batch_spec.py --commit SHA [--repo-path PATH] \\
        [--out-dir DIR] BatchService.json [...]

``--repo-path`` (one input only) overrides the path cited as the source; by
default it is the spec repo's usual place for that version. An input that
carries ``x-transcribed-from`` (a stripped transcription) cites what it says.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterable

REPO = "Azure/azure-rest-api-specs"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "backends/local/emulator/spec"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
#: schema keywords kept in the vendored definitions (everything else is dropped)
KEEP = ("type", "format", "enum", "required", "readOnly", "x-nullable", "discriminator",
        "x-ms-discriminator-value")
NESTED = ("items", "additionalProperties")


class SpecError(Exception):
    """The input is not a spec this script can read (one clear line)."""


def _local_ref(ref: str, kind: str) -> str:
    prefix = f"#/{kind}/"
    if not ref.startswith(prefix):
        raise SpecError(f"unsupported $ref {ref!r} (only {prefix}... refs are followed)")
    return ref[len(prefix):]


def strip_schema(schema: Any, wanted: set[str]) -> Any:
    """The schema without prose; each ``$ref`` it holds is added to ``wanted``."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = _local_ref(schema["$ref"], "definitions")
        wanted.add(name)
        out: dict[str, Any] = {"$ref": f"#/definitions/{name}"}
        if schema.get("readOnly"):
            out["readOnly"] = True
        return out
    out = {key: schema[key] for key in KEEP if key in schema}
    if "x-ms-enum" in schema:
        enum = schema["x-ms-enum"]
        out["x-ms-enum"] = {k: enum[k] for k in ("name", "modelAsString") if k in enum}
    for key in NESTED:
        if isinstance(schema.get(key), dict):
            out[key] = strip_schema(schema[key], wanted)
    if "properties" in schema:
        out["properties"] = {name: strip_schema(sub, wanted)
                             for name, sub in schema["properties"].items()}
    if "allOf" in schema:
        out["allOf"] = [strip_schema(sub, wanted) for sub in schema["allOf"]]
    return out


def _parameter(doc: dict, param: dict) -> dict:
    if "$ref" in param:
        name = _local_ref(param["$ref"], "parameters")
        try:
            return doc["parameters"][name]
        except KeyError:
            raise SpecError(f"parameter $ref {param['$ref']!r} does not resolve") from None
    return param


def _body(schema: Any, wanted: set[str]) -> Any:
    """A body as a definition name, ``"file"``, an inline schema or None."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        name = _local_ref(schema["$ref"], "definitions")
        wanted.add(name)
        return name
    if schema.get("type") == "file" or schema.get("format") == "file":
        return "file"  # swagger 2.0 "type: file", or the older specs' "type: object, format: file"
    return {"schema": strip_schema(schema, wanted)}


def operation(doc: dict, method: str, path: str, op: dict, shared: list,
              wanted: set[str]) -> dict:
    """The vendored record of one operation."""
    params: dict[str, dict[str, bool]] = {"query": {}, "header": {}, "path": {}}
    request_body = None
    for raw in [*shared, *op.get("parameters", [])]:
        param = _parameter(doc, raw)
        where = param.get("in")
        if where == "body":
            body = _body(param.get("schema"), wanted)
            request_body = {"definition": body, "required": bool(param.get("required"))}
        elif where in params:
            params[where][param["name"]] = bool(param.get("required"))
        elif where == "formData":
            params.setdefault("formData", {})[param["name"]] = bool(param.get("required"))
    responses: dict[str, dict] = {}
    error_body = None
    for code, response in op.get("responses", {}).items():
        body = _body(response.get("schema"), wanted)
        if code == "default":
            error_body = body
            continue
        headers = {name: {k: spec[k] for k in ("type", "format") if k in spec}
                   for name, spec in (response.get("headers") or {}).items()}
        responses[code] = {"body": body, "headers": headers}
    success = sorted(int(code) for code in responses if code.isdigit() and code.startswith("2"))
    if not success:
        raise SpecError(f"{op.get('operationId')} declares no 2xx response")
    record = {"method": method.upper(), "path": path, "successCodes": success,
              "responses": responses, "errorBody": error_body,
              "queryParameters": params["query"], "headerParameters": params["header"],
              "pathParameters": sorted(params["path"]), "requestBody": request_body}
    if "formData" in params:
        record["formParameters"] = params["formData"]
    for key in ("consumes", "produces"):
        if key in op:
            record[key] = op[key]
    if "x-ms-pageable" in op:
        record["nextLinkName"] = op["x-ms-pageable"].get("nextLinkName")
    return record


def reachable_definitions(doc: dict, wanted: set[str]) -> dict[str, Any]:
    """Every definition reachable from ``wanted``, stripped."""
    source = doc.get("definitions", {})
    out: dict[str, Any] = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name not in source:
            raise SpecError(f"$ref to a missing definition {name!r}")
        found: set[str] = set()
        out[name] = strip_schema(source[name], found)
        todo.extend(sorted(found - set(out)))
    return dict(sorted(out.items()))


def source_of(doc: dict, commit: str | None, repo_path: str | None) -> str:
    """``REPO <path> at commit <sha>`` for the input."""
    if not isinstance(doc, dict):
        raise SpecError("the top level is not a JSON object: not a BatchService.json")
    transcribed = doc.get("x-transcribed-from")
    if transcribed:
        note = f" ({transcribed['note']})" if transcribed.get("note") else ""
        return f"{transcribed['repo']} {transcribed['path']} at commit {transcribed['commit']}{note}"
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    version = info.get("version")
    if not version:
        raise SpecError("no info.version: not a swagger 2.0 BatchService.json")
    if not commit:
        raise SpecError("--commit is required: cite the spec repo commit the file was read at")
    if not repo_path:
        tree = "Azure.Batch" if "x-typespec-generated" in info else "Microsoft.Batch"
        repo_path = f"specification/batch/data-plane/{tree}/stable/{version}/BatchService.json"
    return f"{REPO} {repo_path} at commit {commit}"


def vendor(doc: dict, source: str) -> dict:
    """The vendored document for one parsed ``BatchService.json``."""
    try:
        version = doc["info"]["version"]
    except (KeyError, TypeError):
        raise SpecError("no info.version: not a swagger 2.0 BatchService.json") from None
    wanted: set[str] = set()
    operations: dict[str, dict] = {}
    for section in ("paths", "x-ms-paths"):
        for path, item in sorted((doc.get(section) or {}).items()):
            shared = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    op = item[method]
                    op_id = op.get("operationId") or f"{method.upper()} {path}"
                    if op_id in operations:
                        raise SpecError(f"operationId {op_id} is declared twice")
                    operations[op_id] = operation(doc, method, path, op, shared, wanted)
    if not operations:
        raise SpecError("no operations found under paths")
    return {"apiVersion": version, "source": source,
            "generatedBy": "scripts/batch_spec.py (descriptions and examples dropped)",
            "operationCount": len(operations),
            "operations": dict(sorted(operations.items())),
            "definitions": reachable_definitions(doc, wanted)}


def write(vendored: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"batch-{vendored['apiVersion']}.json"
    target.write_text(json.dumps(vendored, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return target


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="+", type=Path, help="local BatchService.json files")
    parser.add_argument("--commit", help="the spec repo commit the files were read at")
    parser.add_argument("--repo-path", help="the file's path in the spec repo (one input only)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.repo_path and len(args.specs) > 1:
        parser.error("--repo-path names one file; give one input with it")
    try:
        for path in args.specs:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise SpecError(f"cannot read {path}: {exc.strerror}") from None
            except ValueError as exc:
                raise SpecError(f"{path} is not JSON: {exc}") from None
            vendored = vendor(doc, source_of(doc, args.commit, args.repo_path))
            target = write(vendored, args.out_dir)
            print(f"{target}: {vendored['operationCount']} operations, "
                  f"{len(vendored['definitions'])} definitions, {target.stat().st_size} bytes")
    except SpecError as exc:
        print(f"batch_spec: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
