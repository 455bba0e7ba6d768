"""What the emulator records of its answers when a test asks
(``recording``): one line per answer with its operation, api-version,
status, headers and JSON body as the client received them; nothing when
not asked; no secret (no request header, redacted passwords and SAS
signatures)."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from raw_http import V, send, serve, signed
from topwords.backends.local.emulator.recording import REDACTED, ResponseRecorder, redact

__all__ = ["serve"]  # the fixture, imported


def test_recorded_answers_name_operation_version_status_headers_and_body(serve, tmp_path):
    server = serve()
    server.recorder = ResponseRecorder(tmp_path / "answers.jsonl")
    reply = send(server, signed("GET", f"/pools?api-version={V}",
                                headers={"client-request-id": "c1",
                                         "return-client-request-id": "true"}))
    send(server, signed("HEAD", f"/pools/nope?api-version={V}"), method="HEAD")
    send(server, signed("GET", f"/certificates?api-version={V}"))
    listed, head, unserved = ResponseRecorder.read(tmp_path / "answers.jsonl")
    assert {k: listed[k] for k in ("method", "path", "route", "operation", "apiVersion",
                                   "askedClientRequestId", "status")} == {
        "method": "GET", "path": "/pools", "route": "pools", "operation": "Pools_ListPools",
        "apiVersion": V, "askedClientRequestId": True, "status": 200}
    assert listed["body"] == json.loads(reply.body) and listed["body"]["value"] == []
    assert listed["headers"]["request-id"] == reply.headers["request-id"]
    assert listed["headers"]["client-request-id"] == "c1"
    assert (head["operation"], head["status"], head["body"]) == ("Pools_PoolExists", 404, None)
    assert (unserved["route"], unserved["operation"], unserved["status"]) == (None, None, 501)
    assert unserved["body"]["code"] == "NotSupported"
    text = (tmp_path / "answers.jsonl").read_text()
    assert "SharedKey" not in text and "authorization" not in text.lower()


def test_nothing_is_recorded_once_the_recorder_is_gone(serve, tmp_path):
    server = serve()
    server.recorder = ResponseRecorder(tmp_path / "answers.jsonl")
    send(server, signed("GET", f"/pools?api-version={V}"))
    server.recorder = None
    send(server, signed("GET", f"/pools?api-version={V}"))
    assert len(ResponseRecorder.read(tmp_path / "answers.jsonl")) == 1


def test_redact_hides_passwords_keys_and_sas_signatures_keeping_the_shape():
    body = {"userAccounts": [{"name": "u", "password": "hunter2"}],
            "mountConfiguration": [{"azureBlobFileSystemConfiguration": {
                "accountKey": "k==", "sasKey": "sv=x&sig=abc"}}],
            "extensions": [{"protectedSettings": {"token": "t"}, "settings": {"a": 1}}],
            "resourceFiles": [{"httpUrl": "http://h/c/b?sv=2024&sig=s%2Bg%3D&se=1"}],
            "state": "active", "count": 3, "none": None}
    out = redact(body)
    assert out["userAccounts"] == [{"name": "u", "password": REDACTED}]
    assert out["mountConfiguration"][0]["azureBlobFileSystemConfiguration"] == {
        "accountKey": REDACTED, "sasKey": REDACTED}
    assert out["extensions"] == [{"protectedSettings": {}, "settings": {"a": 1}}]
    assert out["resourceFiles"][0]["httpUrl"] == f"http://h/c/b?sv=2024&sig={REDACTED}&se=1"
    assert (out["state"], out["count"], out["none"]) == ("active", 3, None)
    for secret in ("hunter2", "k==", "abc", "s%2Bg%3D", '"t"'):
        assert secret not in json.dumps(out)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["a", "password", "url"]), inner,
                                      max_size=3), max_leaves=12))
def test_redact_keeps_every_value_that_is_no_secret(value):
    def secret_free(v):
        if isinstance(v, dict):
            return all(k != "password" and secret_free(x) for k, x in v.items())
        if isinstance(v, list):
            return all(map(secret_free, v))
        return not (isinstance(v, str) and "sig=" in v.lower())
    if secret_free(value):
        assert redact(value) == value
