"""HTTP/1.1 framing at the emulator's front door (h11's rules, the
emulator's Batch errors), driven with raw sockets: request smuggling
attempts and heads that HTTP/1.1 forbids are refused and their connection
closed; pipelined and HEAD requests keep their framing."""

from __future__ import annotations

import http.client
import io
import json
import socket

import pytest
from hypothesis import given, settings, strategies as st

from raw_http import V, answer, connect, head_bytes, send, serve, signed

__all__ = ["serve"]  # the fixture, imported

#: a request hidden in a body, for a server that frames it differently
SMUGGLED = b"GET /pools?api-version=" + V.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"


def assert_refused(reply, status: int) -> None:
    assert (reply.status, reply.closed) == (status, True)
    assert json.loads(reply.body)["message"]["lang"] == "en-US"


@pytest.mark.parametrize("transfer_encoding", ["chunked", "gzip, chunked", "xchunked"])
def test_content_length_with_transfer_encoding_is_refused_and_closes(serve,
                                                                     transfer_encoding):
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", length=len(SMUGGLED) + 5,
                  headers={"Transfer-Encoding": transfer_encoding})
    reply = send(server, data + b"0\r\n\r\n" + SMUGGLED)
    assert_refused(reply, 411)
    assert reply.error[0] == "MissingContentLengthHeader"


@pytest.mark.parametrize("line", [b"Content-Length : 2", b"Transfer-Encoding : chunked",
                                  b"Content-Length:\x0b2", b"X-Note: a\x0cb"])
def test_header_line_http11_forbids_is_400_and_closes(serve, line):
    """A space before the colon, a vertical tab or a form feed: a lenient
    parser could read another body length than h11 does."""
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", b"{}", length=None)
    data = data.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\n" + line + b"\r\n", 1)
    reply = send(server, data + SMUGGLED)
    assert_refused(reply, 400)
    assert reply.error[0] == "InvalidRequest"


@pytest.mark.parametrize("hosts", [[], ["127.0.0.1", "other.example"]])
def test_http11_request_without_exactly_one_host_is_400_and_closes(serve, hosts):
    server = serve()
    data = signed("GET", f"/pools?api-version={V}")
    data = data.replace(b"Host: 127.0.0.1\r\n",
                        b"".join(b"Host: " + h.encode() + b"\r\n" for h in hosts))
    assert_refused(send(server, data), 400)


def test_folded_content_length_is_400_and_closes(serve):
    """Obsolete line folding is unfolded (RFC 9112, 5.2): a Content-Length
    folded onto two lines becomes "2 7", which is no length."""
    server = serve()
    data = signed("POST", f"/pools?api-version={V}", b"{}")
    data = data.replace(b"Content-Length: 2\r\n", b"Content-Length: 2\r\n 7\r\n")
    assert_refused(send(server, data), 400)


def test_folded_header_inside_the_head_is_unfolded_and_served(serve):
    server = serve()
    data = signed("GET", f"/pools?api-version={V}",
                  headers={"client-request-id": "part-one",
                           "return-client-request-id": "true"})
    data = data.replace(b"part-one\r\n", b"part-one\r\n\tpart-two\r\n")
    reply = send(server, data)
    assert (reply.status, reply.closed) == (200, False)
    assert reply.headers["client-request-id"] == "part-one part-two"


@pytest.mark.parametrize("asked, echoed", [("true", True), ("True", True), ("false", False),
                                           (None, False)])
def test_client_request_id_is_echoed_only_when_return_client_request_id_is_true(
        serve, asked, echoed):
    server = serve()
    headers = {"client-request-id": "my-id"}
    if asked is not None:
        headers["return-client-request-id"] = asked
    reply = send(server, signed("GET", f"/pools?api-version={V}", headers=headers))
    assert reply.status == 200
    assert reply.headers.get("client-request-id") == ("my-id" if echoed else None)
    assert reply.headers["request-id"]


class _Answers(io.BufferedReader):
    """One buffered reader over a socket for answers that follow one
    another: ``http.client`` reads each, and closing one keeps it open."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(socket.SocketIO(sock, "rb"))

    def makefile(self, mode: str) -> _Answers:
        return self

    def close(self) -> None:
        pass

    def next(self) -> tuple[int, str]:
        response = http.client.HTTPResponse(self)
        response.begin()
        return response.status, json.loads(response.read())["code"]


def test_pipelined_requests_are_answered_in_order_on_one_connection(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(signed("POST", f"/pools?api-version={V}", b"[]")
                     + signed("GET", f"/pools/p1?api-version={V}")
                     + signed("DELETE", f"/pools/p2?api-version={V}"))
        answers = _Answers(sock)
        replies = [answers.next() for _ in range(3)]
        sock.sendall(signed("GET", f"/pools/p3?api-version={V}"))
        replies.append(answers.next())
    assert replies == [(400, "InvalidRequestBody")] + [(404, "PoolNotFound")] * 3


def test_head_answer_has_no_body_and_the_connection_serves_the_next(serve):
    server = serve()
    with connect(server) as sock:
        sock.sendall(signed("HEAD", f"/pools/p1?api-version={V}"))
        head = answer(sock, "HEAD")
        sock.sendall(signed("GET", f"/pools?api-version={V}"))
        after = answer(sock)
    assert (head.status, head.body, head.headers["Content-Length"]) == (404, b"", "0")
    assert head.headers["Server"].startswith("TopwordsBatchEmulator/")
    assert head.headers["Date"].endswith(" GMT")
    assert (after.status, json.loads(after.body)["value"]) == (200, [])


def test_http10_request_is_answered_and_closed(serve):
    server = serve()
    data = signed("GET", f"/pools?api-version={V}").replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n",
                                                           1)
    reply = send(server, data)
    assert (reply.status, reply.closed, reply.headers["Connection"]) == (200, True, "close")


def test_request_without_credentials_and_without_host_is_refused_on_framing(serve):
    server = serve()
    assert_refused(send(server, head_bytes("GET", "/pools", {}).replace(
        b"Host: 127.0.0.1\r\n", b"")), 400)


header_lines = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")) | st.tuples(
    st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Host", b"Expect", b"X-A",
                     b"Connection", b"content-length "]),
    st.sampled_from([b":", b": ", b" :", b":\t"]),
    st.binary(max_size=12)).map(b"".join), max_size=4)


def test_any_header_lines_get_a_batch_answer_never_a_crash(serve, caplog):
    server = serve()

    @settings(max_examples=150, deadline=None)
    @given(header_lines)
    def check(lines):
        data = signed("GET", f"/pools?api-version={V}")
        data = data.replace(b"\r\n\r\n", b"".join(b"\r\n" + line for line in lines)
                            + b"\r\n\r\n", 1)
        reply = send(server, data)
        assert reply.status in (200, 400, 401, 403, 411, 414, 417, 431, 505), reply.status
        if reply.status != 200:
            assert json.loads(reply.body)["code"]

    check()
    assert send(server, signed("GET", f"/pools?api-version={V}")).status == 200
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
