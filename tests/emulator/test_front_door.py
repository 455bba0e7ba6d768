"""The Batch emulator's HTTP front door, driven with raw sockets: what a
client without the key, a broken client or a hostile one (task code on the
same loopback) can make it do."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import pytest

from raw_http import V, answer, closed_within, connect, head_bytes, send, serve, signed

__all__ = ["serve"]  # the fixture, imported

# -- authentication comes before the body --------------------------------------------

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


# -- body framing and size --------------------------------------------------------------

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


# -- connections, threads and time ------------------------------------------------------------

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


# -- the signed date, over the wire -----------------------------------------------------

@pytest.mark.parametrize("date,words", [(None, "no ocp-date"),
                                        ("Mon, 01 Jan 2001 00:00:00 GMT", "out of range")])
def test_request_signed_without_a_date_or_long_ago_is_403(serve, date, words):
    server = serve()
    reply = send(server, signed("GET", f"/pools?api-version={V}", date=date))
    code, values = reply.error
    assert (reply.status, code) == (403, "AuthenticationFailed")
    assert words in values["AuthenticationErrorDetail"]


# -- the session's real emulator (on process nodes + Azurite) ----------------------------------

@pytest.mark.node_runtimes("process")
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


