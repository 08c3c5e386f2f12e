"""Slow clients cannot take the web tier offline (issue 8, finding 2). The real server (the
Procfile's `web`) with fewer threads than slow clients: /healthz and a signed STOP are still
answered at once, while every slow client is still connected and still waiting."""

from __future__ import annotations

import socket
import threading

from sqlalchemy import text

from gateway.db import make_engine
from tests.conftest import PATIENT
from tests.server.serve import Server, read_answer, serve, signed_text, still_waiting

WORKERS, THREADS = 1, 2
SLOW = 10  # >= WORKERS * THREADS


def trickled_stop(server: Server, number: int) -> tuple[socket.socket, bytes]:
    """A signed STOP whose headers and first body bytes are sent; the rest is returned."""
    body, signature = signed_text("STOP", f"SM{number:032x}", f"+1405555{150 + number:04d}")
    head = (
        "POST /twilio/inbound HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = server.connect()
    sock.sendall(head.encode() + body[:5])
    return sock, body[5:]


def trickled_headers(server: Server) -> socket.socket:
    sock = server.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gate")
    return sock


def test_slow_clients_hold_no_thread_health_and_stop_are_answered(database_url, tmp_path):
    settings = {
        "WEB_CONCURRENCY": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "WEB_READ_TIMEOUT": "300",  # no slow client is cut off during the test
    }
    with serve(database_url, tmp_path, **settings) as server:
        bodies = [trickled_stop(server, n) for n in range(SLOW // 2)]
        headers = [trickled_headers(server) for _ in range(SLOW - SLOW // 2)]
        for sock, rest in bodies:  # slow, not gone: another byte each
            sock.sendall(rest[:1])
        for sock in headers:
            sock.sendall(b"w")

        status, _, health = server.request("GET", "/healthz")
        assert status == 200 and b'"ok"' in health
        status, _, reply = server.text("STOP", "SM" + "a" * 32, PATIENT)
        assert status == 200 and b"<Message>" in reply

        slow = [sock for sock, _ in bodies] + headers
        assert all(still_waiting(sock) for sock in slow), "a slow client was cut off"

        # A slow client that finishes is served like any other, its early bytes intact.
        first, rest = bodies[0]
        first.sendall(rest[1:])
        assert read_answer(first).startswith(b"HTTP/1.1 200")
        for sock in slow:
            sock.close()

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            revoked = connection.execute(
                text("SELECT DISTINCT number FROM consent_events WHERE action = 'revoke'")
            ).scalars()
            assert set(revoked) == {PATIENT, "+14055550150"}
    finally:
        engine.dispose()


def test_clients_that_never_close_do_not_stall_the_server(database_url, tmp_path):
    """gunicorn waits up to 2 s in its main loop for each closed connection's FIN: clients
    that take their answer and never close, a few a second, would stop it accepting anyone."""
    settings = {"WEB_CONCURRENCY": str(WORKERS), "WEB_THREADS": str(THREADS)}
    with serve(database_url, tmp_path, **settings) as server:
        silent: list[socket.socket] = []
        stop = threading.Event()

        def never_close() -> None:
            while len(silent) < 300 and not stop.wait(0.1):
                sock = server.connect()
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                silent.append(sock)

        attack = threading.Thread(target=never_close, daemon=True)
        attack.start()
        try:
            stop.wait(3)  # under way: a new one every 0.1 s
            for n in range(3):
                status, _, health = server.request("GET", "/healthz")
                assert status == 200 and b'"ok"' in health
                status, _, reply = server.text("STOP", f"SM{n:032x}", f"+120655501{42 + n}")
                assert status == 200 and b"<Message>" in reply
        finally:
            stop.set()
            attack.join(timeout=30)
            for sock in silent:
                sock.close()
