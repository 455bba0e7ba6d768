"""scripts/batch_spec.py turns a BatchService.json into the vendored subset:
operations with their parameters, codes and headers; only reachable,
prose-free schemas; one clear line for input it cannot read."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "batch_spec.py"
_spec = importlib.util.spec_from_file_location("batch_spec", SCRIPT)
batch_spec = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(batch_spec)

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Azure Batch", "version": "2099-01-01.99.0"},
    "parameters": {
        "ApiVersion": {"name": "api-version", "in": "query", "required": True, "type": "string",
                       "description": "The API version."},
        "Timeout": {"name": "timeout", "in": "query", "required": False, "type": "integer"},
    },
    "paths": {
        "/pools/{poolId}": {
            "parameters": [{"name": "poolId", "in": "path", "required": True, "type": "string"}],
            "get": {
                "operationId": "Pool_Get", "description": "Gets a pool.",
                "parameters": [{"$ref": "#/parameters/ApiVersion"},
                               {"$ref": "#/parameters/Timeout"},
                               {"name": "If-Match", "in": "header", "type": "string"}],
                "responses": {
                    "200": {"schema": {"$ref": "#/definitions/Pool"},
                            "headers": {"ETag": {"type": "string", "description": "x"},
                                        "Last-Modified": {"type": "string",
                                                          "format": "date-time-rfc1123"}}},
                    "default": {"schema": {"$ref": "#/definitions/Error"}}},
                "x-ms-examples": {"a": {"$ref": "./examples/a.json"}},
            },
            "patch": {
                "operationId": "Pool_Patch", "consumes": ["application/json"],
                "parameters": [{"$ref": "#/parameters/ApiVersion"},
                               {"name": "body", "in": "body", "required": True,
                                "schema": {"$ref": "#/definitions/PoolPatch"}}],
                "responses": {"200": {"headers": {"DataServiceId": {"type": "string"}}},
                              "default": {"schema": {"$ref": "#/definitions/Error"}}},
            },
        },
    },
    "definitions": {
        "Pool": {"type": "object", "description": "A pool.", "required": ["id"],
                 "properties": {"id": {"type": "string", "readOnly": True},
                                "state": {"$ref": "#/definitions/State", "readOnly": True},
                                "meta": {"type": "array", "items": {"$ref": "#/definitions/Meta"}},
                                "tags": {"type": "object",
                                         "additionalProperties": {"type": "string"}}}},
        "State": {"type": "string", "enum": ["active", "deleting"],
                  "x-ms-enum": {"name": "PoolState", "modelAsString": False,
                                "values": [{"value": "active", "description": "x"}]}},
        "Meta": {"type": "object", "properties": {"name": {"type": "string", "example": "n"}}},
        "PoolPatch": {"type": "object", "properties": {"meta": {"$ref": "#/definitions/Meta"}}},
        "Error": {"type": "object", "properties": {"code": {"type": "string"}}},
        "Unused": {"type": "object", "properties": {}},
    },
}


def vendored(doc=SWAGGER) -> dict:
    return batch_spec.vendor(doc, batch_spec.source_of(doc, "abc123", None))


def test_vendor_operation_records_method_path_codes_headers_and_parameters():
    op = vendored()["operations"]["Pool_Get"]
    assert (op["method"], op["path"], op["successCodes"]) == ("GET", "/pools/{poolId}", [200])
    assert op["responses"]["200"] == {"body": "Pool", "headers": {
        "ETag": {"type": "string"}, "Last-Modified": {"type": "string",
                                                      "format": "date-time-rfc1123"}}}
    assert op["queryParameters"] == {"api-version": True, "timeout": False}
    assert op["headerParameters"] == {"If-Match": False}
    assert op["pathParameters"] == ["poolId"]
    assert (op["requestBody"], op["errorBody"]) == (None, "Error")


def test_vendor_request_body_and_consumes_recorded():
    op = vendored()["operations"]["Pool_Patch"]
    assert op["requestBody"] == {"definition": "PoolPatch", "required": True}
    assert op["consumes"] == ["application/json"]
    assert op["responses"]["200"] == {"body": None, "headers": {"DataServiceId": {"type": "string"}}}


@pytest.mark.parametrize("schema", [{"type": "file"}, {"type": "object", "format": "file"}],
                         ids=["swagger-file", "older-batch-specs"])
def test_vendor_file_download_body_recorded_as_file(schema):
    doc = json.loads(json.dumps(SWAGGER))
    doc["paths"]["/pools/{poolId}"]["get"]["responses"]["200"]["schema"] = schema
    assert vendored(doc)["operations"]["Pool_Get"]["responses"]["200"]["body"] == "file"


def test_vendor_definitions_reachable_only_and_without_prose():
    doc = vendored()
    assert sorted(doc["definitions"]) == ["Error", "Meta", "Pool", "PoolPatch", "State"]
    assert doc["definitions"]["Pool"] == {
        "type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "readOnly": True},
            "state": {"$ref": "#/definitions/State", "readOnly": True},
            "meta": {"type": "array", "items": {"$ref": "#/definitions/Meta"}},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}}}}
    assert doc["definitions"]["State"]["x-ms-enum"] == {"name": "PoolState",
                                                        "modelAsString": False}
    text = json.dumps([doc["definitions"], doc["operations"]])
    assert "description" not in text and "example" not in text


def test_source_of_cites_repo_path_and_commit():
    assert batch_spec.source_of(SWAGGER, "abc123", None) == (
        "Azure/azure-rest-api-specs specification/batch/data-plane/Microsoft.Batch/stable/"
        "2099-01-01.99.0/BatchService.json at commit abc123")
    typespec = {**SWAGGER, "info": {**SWAGGER["info"], "x-typespec-generated": [{}]}}
    assert "/Azure.Batch/stable/" in batch_spec.source_of(typespec, "abc123", None)


def test_main_writes_batch_version_file(tmp_path):
    src = tmp_path / "BatchService.json"
    src.write_text(json.dumps(SWAGGER))
    assert batch_spec.main(["--commit", "abc123", "--out-dir", str(tmp_path), str(src)]) == 0
    written = json.loads((tmp_path / "batch-2099-01-01.99.0.json").read_text())
    assert written["operationCount"] == 2 and written["apiVersion"] == "2099-01-01.99.0"


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d["definitions"].pop("Meta"), "$ref to a missing definition 'Meta'"),
    (lambda d: d["parameters"].pop("Timeout"), "parameter $ref '#/parameters/Timeout'"),
    (lambda d: d["paths"]["/pools/{poolId}"]["get"]["responses"].pop("200"), "no 2xx response"),
    (lambda d: d.pop("info"), "no info.version"),
])
def test_main_bad_spec_one_line_exit_2(tmp_path, capsys, breakage, message):
    doc = json.loads(json.dumps(SWAGGER))
    breakage(doc)
    src = tmp_path / "BatchService.json"
    src.write_text(json.dumps(doc))
    assert batch_spec.main(["--commit", "c", "--out-dir", str(tmp_path), str(src)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_main_without_commit_refuses(tmp_path, capsys):
    src = tmp_path / "BatchService.json"
    src.write_text(json.dumps(SWAGGER))
    assert batch_spec.main(["--out-dir", str(tmp_path), str(src)]) == 2
    assert "--commit is required" in capsys.readouterr().err
