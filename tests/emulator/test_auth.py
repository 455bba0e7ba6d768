"""Shared-key checks of the Batch emulator against requests signed by
azure-batch's own ``BatchSharedKeyAuthPolicy`` (no server needed)."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from topwords.backends.local.emulator.auth import authenticate, sign, string_to_sign
from topwords.backends.local.emulator.errors import BatchApiError

ACCOUNT = "localbatch"
KEY = base64.b64encode(b"k" * 64).decode()
ACCOUNTS = {ACCOUNT: KEY}
URL = "http://127.0.0.1:8080/jobs/job%201/tasks?api-version=2025-06-01&maxresults=5&$filter=state%20eq%20%27active%27"


def signed(method: str = "GET", url: str = URL, body: dict | None = None,
           key: str = KEY) -> HttpRequest:
    """A request as the SDK's policy signs it."""
    request = HttpRequest(method, url, json=body,
                          headers={"ocp-date": "Tue, 25 Nov 2025 10:00:00 GMT",
                                   "client-request-id": "abc"})
    policy = BatchSharedKeyAuthPolicy(AzureNamedKeyCredential(ACCOUNT, key))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return request


def target(request: HttpRequest) -> str:
    url = urlsplit(request.url)
    return url.path + (f"?{url.query}" if url.query else "")


def check(method: str, path: str, headers) -> str:
    return authenticate(method, path, dict(headers), ACCOUNTS)


def refused(method: str, path: str, headers) -> BatchApiError:
    with pytest.raises(BatchApiError) as info:
        check(method, path, headers)
    return info.value


@pytest.mark.parametrize("method,body", [("GET", None), ("HEAD", None), ("DELETE", None),
                                         ("POST", {"id": "t1", "commandLine": "echo ü"})])
def test_request_signed_by_the_sdk_verifies(method, body):
    request = signed(method, body=body)
    assert check(method, target(request), request.headers) == ACCOUNT


def test_tampered_method_fails():
    request = signed("GET")
    error = refused("DELETE", target(request), request.headers)
    assert (error.status, error.code) == (403, "AuthenticationFailed")


@pytest.mark.parametrize("change", [
    lambda t: t.replace("/jobs/job%201/", "/jobs/job%202/"),
    lambda t: t.replace("maxresults=5", "maxresults=6"),
    lambda t: t + "&timeOut=30",
])
def test_tampered_path_or_query_fails(change):
    request = signed()
    assert refused("GET", change(target(request)), request.headers).status == 403


@pytest.mark.parametrize("header,value", [("ocp-date", "Wed, 26 Nov 2025 10:00:00 GMT"),
                                          ("Content-Length", "999"),
                                          ("Content-Type", "text/plain"),
                                          ("ocp-range", "bytes=0-10")])
def test_tampered_signed_header_fails(header, value):
    request = signed("POST", body={"id": "t1"})
    headers = {**request.headers, header: value}
    assert refused("POST", target(request), headers).code == "AuthenticationFailed"


def test_unsigned_headers_may_change():
    request = signed()
    headers = {**request.headers, "User-Agent": "other", "Accept-Encoding": "gzip"}
    assert check("GET", target(request), headers) == ACCOUNT


def test_percent_encoding_of_query_values_does_not_matter():
    request = signed()
    path, _, query = target(request).partition("?")
    assert check("GET", f"{path}?{query.replace('%20', '+')}", request.headers) == ACCOUNT


def test_wrong_key_or_account_fails():
    other_key = base64.b64encode(b"x" * 64).decode()
    request = signed(key=other_key)
    assert refused("GET", target(request), request.headers).status == 403
    headers = {**signed().headers}
    headers["Authorization"] = headers["Authorization"].replace(ACCOUNT, "someone")
    assert refused("GET", target(signed()), headers).status == 403


@pytest.mark.parametrize("authorization,words", [
    (None, "no Authorization header"),
    ("Bearer eyJ0eXAi", "bearer token"),
    ("SharedKey nocolon", "not of the form"),
    ("SharedKey localbatch:not*base64", "MAC signature"),
])
def test_missing_bearer_or_malformed_credentials_are_refused(authorization, words):
    headers = {k: v for k, v in signed().headers.items() if k.lower() != "authorization"}
    if authorization:
        headers["Authorization"] = authorization
    error = refused("GET", target(signed()), headers)
    assert error.code == "AuthenticationFailed"
    assert error.status in (401, 403)
    assert words in error.values["AuthenticationErrorDetail"]
    assert "shared key" in error.values["AuthenticationErrorDetail"] or error.status == 403


def test_string_to_sign_layout():
    text = string_to_sign("POST", "/pools?api-version=2025-06-01&timeOut=30",
                          {"Content-Type": "application/json", "ocp-date": "D",
                           "client-request-id": "c", "Content-Length": ""}, "acct")
    assert text == ("POST\n\n\n0\n\napplication/json\n\n\n\n\n\n\n"
                    "ocp-date:D\n/acct/pools\napi-version:2025-06-01\ntimeOut:30")
    assert sign(KEY, text) == sign(KEY, text) != sign(base64.b64encode(b"y").decode(), text)
