"""The Batch emulator's HTTP front door, driven with raw sockets: what a
client without the key, a broken client or a hostile one (task code on the
same loopback) can make it do. The server is a real ``BatchHttpServer`` on
an engine stub that knows no pools or jobs (no Docker needed)."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import quote

import pytest
from hypothesis import given, settings, strategies as st

from topwords.backends.local.emulator import odata
from topwords.backends.local.emulator.auth import sign, string_to_sign
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.limits import MAX_JSON_DEPTH, check_json_depth
from topwords.backends.local.emulator.routing import Service
from topwords.backends.local.emulator.server import BatchHttpServer, Limits
from topwords.backends.local.emulator.versions import API_VERSIONS, LATEST_API_VERSION
from topwords.core.errors import JobNotFound, PoolNotFound

ACCOUNT = "frontdoor"
KEY = base64.b64encode(b"f" * 64).decode()
V = LATEST_API_VERSION


class NoPoolsNoJobs:
    """The engine calls the routes below make, on an empty account."""

    def pool_records(self):
        return []

    def job_records(self):
        return []

    def pool_record(self, pool_id):
        raise PoolNotFound(pool_id)

    def job_record(self, job_id):
        raise JobNotFound(job_id)

    def start_deleting_pool(self, pool_id):
        raise PoolNotFound(pool_id)


@pytest.fixture
def serve():
    """``serve(**limits)``: a started server; all are stopped at the end."""
    started = []

    def start(**limits) -> BatchHttpServer:
        server = BatchHttpServer(("127.0.0.1", 0), Service(engine=NoPoolsNoJobs()),
                                 {ACCOUNT: KEY}, Limits(**limits))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


def head_bytes(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def signed(method: str, path: str, body: bytes = b"", *, length: object = "auto",
           headers: dict[str, str] | None = None, key: str = KEY, date: str | None = "now",
           signed_length: str | None = None) -> bytes:
    """A request signed with the shared key.

    Args:
        length: the Content-Length header ("auto": the body's length for
            a body or a POST/PUT/PATCH; None: no header).
        signed_length: the content-length line signed (default: as sent).
    """
    headers = dict(headers or {})
    if date:
        headers["ocp-date"] = formatdate(usegmt=True) if date == "now" else date
    if length == "auto":
        length = len(body) if body or method in ("POST", "PUT", "PATCH") else None
    if length is not None:
        headers["Content-Length"] = str(length)
    text = string_to_sign(method, path, headers, ACCOUNT, content_length=signed_length)
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{sign(key, text)}"
    return head_bytes(method, path, headers) + body


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    closed: bool  # the server closed the connection after the answer
    seconds: float

    @property
    def error(self) -> tuple[str, dict[str, str]]:
        doc = json.loads(self.body)
        return doc["code"], {v["key"]: v["value"] for v in doc.get("values", [])}


def connect(server: BatchHttpServer) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=10)


def answer(sock: socket.socket, method: str = "GET", started: float | None = None) -> Reply:
    """Read one answer from ``sock``, then whether the server closed it."""
    started = started or time.monotonic()
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    seconds = time.monotonic() - started
    sock.settimeout(0.5)
    try:
        closed = sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except TimeoutError:
        closed = False
    return Reply(response.status, response.headers, body, closed, seconds)


def send(server: BatchHttpServer, data: bytes, method: str = "GET") -> Reply:
    """Send ``data`` on a new connection and read the answer."""
    with connect(server) as sock:
        started = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        return answer(sock, method, started)


def closed_within(sock: socket.socket, seconds: float) -> float:
    """How long until the server closes ``sock`` (fails after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return time.monotonic() - started


# -- 1. authentication comes before the body --------------------------------------------

@pytest.mark.parametrize("credentials", [None, "wrong key"])
def test_post_without_valid_credentials_is_refused_before_its_body_is_sent(serve, credentials):
    server = serve()
    if credentials is None:
        data = head_bytes("POST", f"/pools?api-version={V}", {"Content-Length": "500000"})
    else:
        other = base64.b64encode(b"o" * 64).decode()
        data = signed("POST", f"/pools?api-version={V}", length=500000, key=other)
    reply = send(server, data)  # the 500000 bytes are never sent
    assert reply.status == (401 if credentials is None else 403)
    assert reply.error[0] == "AuthenticationFailed"
    assert reply.closed and reply.seconds < 2
    assert reply.headers["Connection"] == "close"


def test_unauthenticated_endless_body_is_not_read(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(head_bytes("POST", f"/pools?api-version={V}",
                                {"Content-Length": str(10 ** 15)}))
        sent, chunk = 0, b"x" * 65536
        try:
            for _ in range(64 * 16):  # up to 64 MB: the server must stop taking it
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 16 * 1024 * 1024  # what the kernel's buffers hold, not what we offered


def test_error_answers_never_repeat_the_authorization_header(serve):
    server = serve()
    data = signed("GET", f"/pools?api-version={V}", key=base64.b64encode(b"o" * 64).decode())
    signature = data.split(b"Authorization: SharedKey frontdoor:")[1].split(b"\r\n")[0]
    wrong = send(server, data)
    bearer = send(server, head_bytes("GET", f"/pools?api-version={V}",
                                     {"Authorization": "Bearer secret-token-value"}))
    assert (wrong.status, bearer.status) == (403, 401)
    assert signature not in wrong.body and b"secret-token-value" not in bearer.body


def test_auth_failure_on_a_bodyless_request_keeps_the_connection(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(head_bytes("GET", f"/pools?api-version={V}", {}))
        first = answer(sock)
        sock.sendall(signed("GET", f"/pools?api-version={V}"))
        second = answer(sock)
    assert (first.status, first.closed, second.status) == (401, False, 200)


# -- 2. body framing and size --------------------------------------------------------------

@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "", "12, 13"])
def test_bad_content_length_is_400_invalid_header_value(serve, value):
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", length=value)
    reply = send(server, data)
    assert reply.status == 400
    assert reply.error == ("InvalidHeaderValue", {"HeaderName": "Content-Length",
                                                  "HeaderValue": value,
                                                  "Reason": "not a number of bytes"})
    assert reply.closed


def test_conflicting_repeated_content_length_is_refused(serve):
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", b"{}", length=2)
    data = data.replace(b"Content-Length: 2\r\n", b"Content-Length: 2\r\nContent-Length: 7\r\n")
    assert send(server, data).status == 400


def test_chunked_body_is_refused_with_411(serve):
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", length=None,
                  headers={"Transfer-Encoding": "chunked"})
    reply = send(server, data + b"2\r\n{}\r\n0\r\n\r\n")
    assert reply.status == 411
    assert reply.error[0] == "MissingContentLengthHeader"
    assert reply.closed


@pytest.mark.parametrize("length", [1024 * 1024, 10 ** 12])
def test_signed_body_of_1_mb_or_more_is_413_before_it_is_sent(serve, length):
    server = serve()
    reply = send(server, signed("POST", f"/jobs/j1/addtaskcollection?api-version={V}",
                                length=length))
    assert reply.status == 413
    assert reply.error == ("RequestBodyTooLarge", {"MaxLimit": str(1024 * 1024)})
    assert reply.closed and reply.seconds < 2


def test_body_just_under_1_mb_is_read_and_handled(serve):
    server = serve()
    body = json.dumps({"id": "p" * (1024 * 1024 - 20)}).encode()
    assert len(body) < 1024 * 1024
    reply = send(server, signed("POST", f"/pools?api-version={V}", body))
    assert reply.status == 400 and reply.error[0] != "RequestBodyTooLarge"
    assert not reply.closed


def test_post_without_content_length_has_no_body(serve):
    """RFC 9112: no Content-Length, no body; a body sent anyway is taken as
    the next request, which is malformed: 400 and closed."""
    server = serve()
    with connect(server) as sock:
        sock.sendall(signed("POST", f"/pools?api-version={V}", length=None))
        first = answer(sock)
        sock.sendall(b'{"id": "p1"}\r\n\r\n')
        second = answer(sock)
    assert (first.status, first.error[0]) == (400, "InvalidRequestBody")
    assert (second.status, second.closed) == (400, True)


@pytest.mark.parametrize("signed_length,sent_length", [("", None), ("0", None), ("0", 0),
                                                       ("", 0)])
def test_bodyless_delete_as_node_or_python_sign_it_is_authenticated(serve, signed_length,
                                                                    sent_length):
    server = serve()
    reply = send(server, signed("DELETE", "/pools/p1?api-version=2022-10-01.16.0",
                                length=sent_length, signed_length=signed_length))
    assert (reply.status, reply.error[0]) == (404, "PoolNotFound")


def test_expect_100_continue_is_answered_only_after_authentication(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(signed("POST", f"/pools?api-version={V}", length=2,
                            headers={"Expect": "100-continue"}))
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"[]")
        assert answer(sock).error[0] == "InvalidRequestBody"
    with connect(server) as sock:
        sock.sendall(head_bytes("POST", f"/pools?api-version={V}",
                                {"Content-Length": "2", "Expect": "100-continue"}))
        assert answer(sock).status == 401


# -- 3. depth limits -----------------------------------------------------------------------

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
        results = {}
        for name, text in (("deep", deep), ("fine", fine), ("long", long)):
            path = f"/supportedimages?api-version={V}&$filter={quote(text)}"
            conn.putrequest("GET", path, skip_host=True)
            for line in signed("GET", path).decode().split("\r\n")[1:]:
                if line:
                    conn.putheader(*line.split(": ", 1))
            conn.endheaders()
            response = conn.getresponse()
            results[name] = (response.status, json.loads(response.read()))
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


# -- 4. connections and threads ------------------------------------------------------------

def test_300_half_open_connections_hold_no_threads_and_requests_are_still_served(serve):
    server = serve()
    assert send(server, signed("GET", f"/pools?api-version={V}")).status == 200
    before = threading.active_count()
    half_open = []
    try:
        for n in range(300):
            sock = connect(server)
            sock.sendall(b"GET /pools?api-version=" if n % 2 else b"")
            half_open.append(sock)
        time.sleep(0.5)  # let the server accept them all
        during = threading.active_count()
        reply = send(server, signed("GET", f"/pools?api-version={V}"))
    finally:
        for sock in half_open:
            sock.close()
    assert during - before <= 1, (before, during)
    assert reply.status == 200 and reply.seconds < 2


def test_connections_over_the_limit_are_answered_503_server_busy(serve):
    server = serve(max_connections=4)
    held = [connect(server) for _ in range(4)]
    time.sleep(0.2)
    busy = send(server, signed("GET", f"/pools?api-version={V}"))
    for sock in held:
        sock.close()
    time.sleep(0.2)
    served = send(server, signed("GET", f"/pools?api-version={V}"))
    assert (busy.status, busy.error[0], busy.closed) == (503, "ServerBusy", True)
    assert busy.headers["Retry-After"] == "1" and busy.seconds < 2
    assert served.status == 200


def test_idle_connection_is_closed_after_the_idle_timeout(serve):
    server = serve(idle_timeout=0.5)
    with connect(server) as sock:
        assert 0.3 < closed_within(sock, 5) < 2


def test_headers_trickled_in_are_cut_off_at_the_head_timeout(serve):
    server = serve(head_timeout=0.6)
    with connect(server) as sock:
        sock.sendall(b"GET /pools?api-version=2025-06-01 HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            for _ in range(40):  # one header byte every 0.1 s, for up to 4 s
                sock.sendall(b"X")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        elapsed = time.monotonic() - started + closed_within(sock, 5)
    assert elapsed < 2


def test_body_trickled_in_is_cut_off_at_the_body_timeout(serve):
    server = serve(body_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(signed("POST", f"/pools?api-version={V}", length=100) + b"{")
        assert closed_within(sock, 5) < 2


def test_keep_alive_connection_serves_one_request_after_another(serve):
    server = serve()
    with connect(server) as sock:
        replies = []
        for _ in range(3):
            sock.sendall(signed("GET", f"/pools?api-version={V}"))
            replies.append(answer(sock))
    assert [(r.status, r.closed) for r in replies[:2]] == [(200, False), (200, False)]


def test_shutdown_closes_open_connections_and_returns(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        server.shutdown()
        assert time.monotonic() - started < 2
        assert closed_within(sock, 2) < 2


# -- malformed heads: a Batch error, never a 500 ---------------------------------------------

@pytest.mark.parametrize("data,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET pools HTTP/1.1\r\n\r\n", 400),
    (b"GET /pools HTTP/2.0\r\n\r\n", 505),
    (b"GET /pools HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
    (b"GET /pools HTTP/1.1\r\nX: a\rInjected: b\r\n\r\n", 400),
    (b"GET /pools HTTP/1.1\r\n folded: header\r\n\r\n", 400),
    (b"GET /pools HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /pools HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
])
def test_malformed_request_head_is_a_batch_error_and_closes(serve, data, status):
    server = serve()
    reply = send(server, data)
    assert reply.status == status and reply.closed
    assert json.loads(reply.body)["message"]["lang"] == "en-US"


# -- 5. the signed date, over the wire -----------------------------------------------------

@pytest.mark.parametrize("date,words", [(None, "no ocp-date"),
                                        ("Mon, 01 Jan 2001 00:00:00 GMT", "out of range")])
def test_request_signed_without_a_date_or_long_ago_is_403(serve, date, words):
    server = serve()
    reply = send(server, signed("GET", f"/pools?api-version={V}", date=date))
    code, values = reply.error
    assert (reply.status, code) == (403, "AuthenticationFailed")
    assert words in values["AuthenticationErrorDetail"]


# -- 7. api-version ------------------------------------------------------------------------

def get_status(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict]:
    conn.putrequest("GET", path, skip_host=True)
    for line in signed("GET", path).decode().split("\r\n")[1:]:
        if line:
            conn.putheader(*line.split(": ", 1))
    conn.endheaders()
    response = conn.getresponse()
    return response.status, json.loads(response.read())


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


# -- the session's real emulator (Docker + Azurite) ---------------------------------------------

@pytest.mark.docker
@pytest.mark.azurite
def test_real_emulator_serves_the_sdk_while_300_half_open_connections_wait(batch_emulator,
                                                                          batch_client):
    list(batch_client.list_supported_images())
    before = threading.active_count()
    address = batch_emulator.batch_url.removeprefix("http://").split(":")
    half_open = []
    try:
        for _ in range(300):
            half_open.append(socket.create_connection((address[0], int(address[1])), 10))
        time.sleep(0.5)
        during = threading.active_count()
        started = time.monotonic()
        images = list(batch_client.list_supported_images())
        seconds = time.monotonic() - started
    finally:
        for sock in half_open:
            sock.close()
    assert during - before <= 1, (before, during)
    assert images and seconds < 5


@pytest.mark.docker
@pytest.mark.azurite
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
