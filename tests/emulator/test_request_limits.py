"""Depth, length and version limits of what a Batch request may ask: JSON
bodies, ``$filter`` expressions and ``api-version``, over HTTP to a real
``BatchHttpServer`` and on the checks themselves."""

from __future__ import annotations

import http.client
import json
from contextlib import closing
from urllib.parse import quote

import pytest
from hypothesis import given, settings, strategies as st

from raw_http import V, get_status, send, serve, signed
from topwords.backends.local.emulator import odata
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.limits import MAX_JSON_DEPTH, check_json_depth
from topwords.backends.local.emulator.versions import API_VERSIONS, LATEST_API_VERSION

__all__ = ["serve"]  # the fixture, imported

# -- JSON and $filter depth -----------------------------------------------------------------------

@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 200_000])
def test_deeply_nested_json_is_400_not_500(serve, depth):
    server = serve()
    body = b"[" * depth + b"]" * depth
    reply = send(server, signed("POST", f"/pools?api-version={V}", body))
    assert reply.status == 400
    assert reply.error == ("InvalidRequestBody",
                           {"Reason": f"nested deeper than {MAX_JSON_DEPTH} levels"})


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b'"[[[{{{\\"]]]"' + b"}" * depth


def test_json_nested_to_the_limit_passes_the_depth_check():
    check_json_depth(nested(MAX_JSON_DEPTH))
    with pytest.raises(BatchApiError):
        check_json_depth(nested(MAX_JSON_DEPTH + 1))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="[]{}\"\\ab,:"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(alphabet="[]{}\"\\ab", max_size=4), inner, max_size=3),
    max_leaves=40)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=8))
def test_depth_check_refuses_exactly_documents_deeper_than_the_limit(value, limit):
    body = json.dumps(value).encode()
    try:
        check_json_depth(body, limit)
        refused = False
    except BatchApiError:
        refused = True
    assert refused == (depth_of(value) > limit)


def test_filter_nested_too_deep_or_too_long_is_400(serve):
    server = serve()
    deep = "(" * 40 + "osType eq 'linux'" + ")" * 40
    fine = "(" * 20 + "osType eq 'linux'" + ")" * 20
    long = " or ".join(["osType eq 'linux'"] * 500)
    with closing(http.client.HTTPConnection(*server.server_address, timeout=10)) as conn:
        results = {name: get_status(conn, f"/supportedimages?api-version={V}&$filter={quote(text)}")
                   for name, text in (("deep", deep), ("fine", fine), ("long", long))}
    assert results["fine"][0] == 200 and results["fine"][1]["value"]
    for name in ("deep", "long"):
        status, doc = results[name]
        assert (status, doc["code"]) == (400, "InvalidQueryParameterValue")


def test_compile_filter_never_recurses_without_bound():
    with pytest.raises(BatchApiError, match="InvalidQueryParameterValue") as deep:
        odata.compile_filter("(" * 4000 + "id eq 'a'" + ")" * 4000)
    assert "nested deeper than 32" in deep.value.values["Reason"]
    with pytest.raises(BatchApiError) as long:
        odata.compile_filter("id eq '" + "x" * odata.MAX_FILTER_LENGTH + "'")
    assert "longer than" in long.value.values["Reason"]
    assert len(long.value.values["QueryParameterValue"]) <= 256
    chain = " or ".join(f"id eq '{n}'" for n in range(500))  # under the length limit
    assert len(chain) <= odata.MAX_FILTER_LENGTH
    keep = odata.compile_filter(chain)
    assert keep({"id": "499"}) and not keep({"id": "500"})
    both = odata.compile_filter(" and ".join(["id ne 'x'"] * 500))
    assert both({"id": "y"}) and not both({"id": "x"})


# -- api-version ------------------------------------------------------------------------


def test_every_published_api_version_is_accepted(serve):
    server = serve()
    with closing(http.client.HTTPConnection(*server.server_address, timeout=10)) as conn:
        statuses = {v: get_status(conn, f"/pools?api-version={v}")[0] for v in API_VERSIONS}
    assert statuses == {v: 200 for v in API_VERSIONS}
    assert API_VERSIONS[0] == "2018-12-01.8.0" and LATEST_API_VERSION == "2025-06-01"
    assert len(API_VERSIONS) == len(set(API_VERSIONS)) == 13


@pytest.mark.parametrize("version", ["not-a-version", "2018-08-01.7.0", "2025-06-01.21.0",
                                     "2026-01-01", "2025-06-01 "])
def test_unknown_api_version_is_400_invalid_query_parameter_value(serve, version):
    server = serve()
    with closing(http.client.HTTPConnection(*server.server_address, timeout=10)) as conn:
        status, doc = get_status(conn, f"/pools?api-version={quote(version)}")
    values = {v["key"]: v["value"] for v in doc["values"]}
    assert (status, doc["code"]) == (400, "InvalidQueryParameterValue")
    assert values["QueryParameterName"] == "api-version"
    assert values["QueryParameterValue"] == version
    assert "2018-12-01.8.0" in values["Reason"]


def test_missing_api_version_is_still_400_missing_required_query_parameter(serve):
    server = serve()
    with closing(http.client.HTTPConnection(*server.server_address, timeout=10)) as conn:
        status, doc = get_status(conn, "/pools")
    assert (status, doc["code"]) == (400, "MissingRequiredQueryParameter")


@pytest.mark.node_runtimes("process")
@pytest.mark.parametrize("version", [API_VERSIONS[0], "2024-07-01.20.0"])
def test_real_emulator_answers_the_sdk_at_an_older_api_version(batch_emulator, version):
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.exceptions import HttpResponseError
    client = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
        batch_emulator.account_name, batch_emulator.account_key), api_version=version)
    with client:
        assert list(client.list_supported_images())
    unknown = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
        batch_emulator.account_name, batch_emulator.account_key), api_version="2018-08-01.7.0")
    with unknown, pytest.raises(HttpResponseError) as refused:
        list(unknown.list_supported_images())
    assert (refused.value.status_code, refused.value.error.code) == (
        400, "InvalidQueryParameterValue")

