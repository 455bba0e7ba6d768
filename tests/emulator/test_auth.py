"""Shared-key checks of the Batch emulator against requests signed by
azure-batch's own ``BatchSharedKeyAuthPolicy`` (no server needed)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
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
#: when the requests below are signed, and the emulator's clock for checking them
SIGNED = "Tue, 25 Nov 2025 10:00:00 GMT"
NOW = datetime(2025, 11, 25, 10, 0, tzinfo=timezone.utc)


def signed(method: str = "GET", url: str = URL, body: dict | None = None,
           key: str = KEY) -> HttpRequest:
    """A request as the SDK's policy signs it."""
    request = HttpRequest(method, url, json=body,
                          headers={"ocp-date": SIGNED, "client-request-id": "abc"})
    policy = BatchSharedKeyAuthPolicy(AzureNamedKeyCredential(ACCOUNT, key))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return request


def target(request: HttpRequest) -> str:
    url = urlsplit(request.url)
    return url.path + (f"?{url.query}" if url.query else "")


def check(method: str, path: str, headers, now: datetime = NOW) -> str:
    return authenticate(method, path, dict(headers), ACCOUNTS, now=now)


def refused(method: str, path: str, headers, now: datetime = NOW) -> BatchApiError:
    with pytest.raises(BatchApiError) as info:
        check(method, path, headers, now)
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


# -- the signed date: present and within 15 minutes of the emulator's clock ---------

@pytest.mark.parametrize("skew", [timedelta(0), timedelta(minutes=14, seconds=59),
                                  -timedelta(minutes=14, seconds=59)])
def test_request_signed_within_15_minutes_of_the_clock_verifies(skew):
    request = signed()
    assert check("GET", target(request), request.headers, now=NOW + skew) == ACCOUNT


@pytest.mark.parametrize("skew", [timedelta(minutes=15, seconds=1), -timedelta(minutes=16),
                                  timedelta(days=365 * 24)])
def test_request_signed_longer_ago_or_ahead_than_15_minutes_is_refused(skew):
    request = signed()
    error = refused("GET", target(request), request.headers, now=NOW + skew)
    assert (error.status, error.code) == (403, "AuthenticationFailed")
    detail = error.values["AuthenticationErrorDetail"]
    assert "out of range" in detail and SIGNED in detail and "15 minutes" in detail


def sign_by_hand(method: str, path: str, headers: dict, content_length: str | None = None) -> dict:
    text = string_to_sign(method, path, headers, ACCOUNT, content_length=content_length)
    return {**headers, "Authorization": f"SharedKey {ACCOUNT}:{sign(KEY, text)}"}


def test_request_without_any_date_is_refused_even_when_signed():
    path = "/pools?api-version=2025-06-01"
    error = refused("GET", path, sign_by_hand("GET", path, {"client-request-id": "c"}))
    assert (error.status, error.code) == (403, "AuthenticationFailed")
    assert "no ocp-date (or Date) header" in error.values["AuthenticationErrorDetail"]


def test_date_header_counts_when_there_is_no_ocp_date():
    path = "/pools?api-version=2025-06-01"
    headers = sign_by_hand("GET", path, {"Date": SIGNED})
    assert check("GET", path, headers) == ACCOUNT
    assert refused("GET", path, headers, now=NOW + timedelta(hours=1)).status == 403


def test_ocp_date_wins_over_date():
    path = "/pools?api-version=2025-06-01"
    headers = sign_by_hand("GET", path, {"Date": "Mon, 01 Jan 2001 00:00:00 GMT",
                                         "ocp-date": SIGNED})
    assert check("GET", path, headers) == ACCOUNT


def test_unparseable_date_is_refused_without_echoing_the_signature():
    path = "/pools?api-version=2025-06-01"
    headers = sign_by_hand("GET", path, {"ocp-date": "yesterday"})
    error = refused("GET", path, headers)
    detail = error.values["AuthenticationErrorDetail"]
    assert "not an HTTP date" in detail
    assert headers["Authorization"].split(":")[1] not in str(error.values) + error.message


# -- content-length as real clients sign it --------------------------------------------

@pytest.mark.parametrize("signed_as", ["", "0"])
@pytest.mark.parametrize("sent", [None, "0"])
def test_bodyless_request_signed_with_empty_or_zero_content_length_verifies(signed_as, sent):
    """Node.js signs DELETE with an empty content-length and sends none;
    azure-batch 15 signs "0" and sends Content-Length: 0."""
    path = "/jobs/j1?api-version=2022-10-01.16.0"
    headers = {"ocp-date": SIGNED} if sent is None else {"ocp-date": SIGNED, "Content-Length": sent}
    assert check("DELETE", path, sign_by_hand("DELETE", path, headers, signed_as)) == ACCOUNT


def test_request_with_a_body_must_sign_the_content_length_it_sends():
    path = "/pools?api-version=2025-06-01"
    headers = {"ocp-date": SIGNED, "Content-Length": "17", "Content-Type": "application/json"}
    assert check("POST", path, sign_by_hand("POST", path, headers)) == ACCOUNT
    for other in ("", "0", "18"):
        assert refused("POST", path, sign_by_hand("POST", path, headers, other)).status == 403
