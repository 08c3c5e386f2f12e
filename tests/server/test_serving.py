"""The real server (the Procfile's `web`) over raw sockets: gunicorn's own refusals are the
API's JSON error shape (SPEC §9), and reading each request whole before a thread takes it
keeps HTTP/1.1 intact — keep-alive, pipelining, 100-continue, chunked bodies."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PATIENT
from tests.server.conftest import database_for
from tests.server.serve import Server, read_answer, serve, signed_text

HEADERS_120 = b"".join(b"X-Field-%d: 1\r\n" % i for i in range(120))


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("server")
    with serve(database_for(request, folder), folder, WEB_READ_TIMEOUT="2") as running:
        yield running


def exchange(server: Server, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with server.connect() as sock:
        sock.sendall(raw)
        return parse(read_answer(sock))


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"GET /healthz HTTP/1.1 and more\r\nHost: x\r\n\r\n", 400, "malformed"),
        (b"GET /api/v1/consent/+12015550123\r\n\r\n", 400, "malformed"),
        (b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed"),
        (b"GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "malformed"),
        (b"GET /healthz HTTP/1.1\nHost: x\n\n", 400, "malformed"),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_uri_too_long"),
        (b"GET / HTTP/1.1\r\n" + HEADERS_120 + b"\r\n", 431, "request_header_fields_too_large"),
        (
            b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (
            b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, "too_large"),
        (
            b"POST /twilio/inbound HTTP/1.1\r\nContent-Length: 90\r\n\r\nBody=ST",
            408,
            "request_timeout",
        ),
        (b"GET /hea", 408, "request_timeout"),
    ],
    ids=[
        "junk-after-version",
        "no-version",
        "bad-method",
        "bad-field-name",
        "bare-LF",
        "line-too-long",
        "too-many-fields",
        "field-too-large",
        "header-section-too-large",
        "body-too-large",
        "body-stalled",
        "line-stalled",
    ],
)
def test_the_servers_own_refusals_are_json_errors(
    server: Server, raw: bytes, status: int, code: str
) -> None:
    got, fields, body = exchange(server, raw)
    assert got == status
    assert fields["content-type"] == "application/json"
    assert int(fields["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    assert "12015550123" not in error["message"]  # a refusal never echoes the request


def test_kept_alive_connections_serve_one_request_after_another(server: Server) -> None:
    with server.connect() as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b'"ok"' not in answer:
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")


def test_pipelined_requests_are_each_answered(server: Server) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(one + one + last)
        assert read_answer(sock).count(b"HTTP/1.1 200 OK") == 3


def test_a_client_expecting_100_continue_is_asked_for_its_body(server: Server) -> None:
    body, signature = signed_text("STOP", "SM" + "c" * 32, PATIENT)
    head = (
        "POST /twilio/inbound HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with server.connect() as sock:
        sock.sendall(head.encode())
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_answer(sock)
    assert answer.count(b"100 Continue") <= 1  # gunicorn does not ask a second time
    status, _, reply = parse(answer.split(b"HTTP/1.1 100 Continue\r\n\r\n")[-1])
    assert status == 200 and b"<Message>" in reply


def test_a_chunked_body_is_read_whole(server: Server) -> None:
    body, signature = signed_text("STOP", "SM" + "d" * 32, "+13055550142")
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    raw = (
        b"POST /twilio/inbound HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        b"X-Twilio-Signature: " + signature.encode() + b"\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    status, _, reply = exchange(server, raw)
    assert status == 200 and b"<Message>" in reply


@pytest.mark.parametrize(
    ("path", "size", "limit_kb"),
    [("/api/v1/messages", 300 * 1024, 256), ("/twilio/inbound", 100 * 1024, 64)],
)
def test_each_route_refuses_a_body_past_its_own_bound_before_reading_it(
    server: Server, path: str, size: int, limit_kb: int
) -> None:
    """Each route has its own bound, decided from the Content-Length before the token, the
    signature or the body is read: a JSON 413 (the server's own for the largest)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, fields, body = exchange(server, head + b"x" * size)
    assert status == 413 and fields["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "too_large"
    assert f"{limit_kb} KB" in error["message"] or str(limit_kb * 1024) in error["message"]


def test_a_chunked_body_past_a_routes_bound_is_refused_not_cut(server: Server) -> None:
    chunk = b"x" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(80))  # 320 KB
    raw = (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    status, _, body = exchange(server, raw)
    assert status == 413 and json.loads(body)["error"]["code"] == "too_large"


TRICKLED = [
    b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nab",  # a coding gunicorn takes, we do not
    b"Transfer-Encoding: chunked\r\n\r\n5;" + b"a" * 1100,  # a long chunk extension, unfinished
    b"Transfer-Encoding: chunked\r\n\r\n00000000000000000ffff\r\nab",  # 21 hex digits
]


@pytest.mark.parametrize("rest", TRICKLED, ids=["coding", "extension", "digits"])
def test_a_request_the_framing_cannot_finish_never_holds_a_thread(
    request: pytest.FixtureRequest, tmp_path, rest: bytes
) -> None:
    """More unfinished requests than threads, each of a shape the main loop hands to
    gunicorn's parser: the parser gets only what arrived (never waits on the client), so
    the threads stay free and /healthz is answered at once."""
    variables = {"WEB_CONCURRENCY": "1", "WEB_THREADS": "2", "WEB_READ_TIMEOUT": "30"}
    with serve(database_for(request, tmp_path), tmp_path, **variables) as server:
        held = []
        try:
            for _ in range(4):
                sock = server.connect()
                sock.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n" + rest)
                held.append(sock)
            with server.connect() as probe:
                probe.settimeout(5)
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert parse(read_answer(probe))[0] == 200
        finally:
            for sock in held:
                sock.close()
