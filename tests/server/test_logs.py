"""No log line from any part of the stack holds a full phone number (SPEC §8; issue 8,
finding 5): the masking itself, then everything the Procfile's web command printed."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys

import pytest

from gateway.logs import MaskNumbers, mask_numbers
from tests.server.conftest import admin_token
from tests.server.serve import read_answer, serve

NUMBER = "+12015550123"


@pytest.mark.parametrize(
    "written",
    [
        "+12015550123",
        "%2B12015550123",
        "%2b12015550123",
        "12015550123",
        "2015550123",
        "(201) 555-0123",
        "201-555-0123",
        "201.555.0123",
        "+1 (201) 555-0123",
        "%2B1+201+555+0123",
        "(201)+555-0123",
        "%28201%29%20555-0123",
        "%32%30%31%35%35%35%30%31%32%33",
        "%252B12015550123",  # percent-encoded twice
        "201-5550123",
        "201/555/0123",
        "201\t555\t0123",
        "201\u00a0555\u00a00123",
        "1-201-555-0123",
        "+1.201.555.0123",
    ],
)
def test_every_way_of_writing_a_number_is_masked_to_its_last_4(written: str) -> None:
    line = f'"GET /api/v1/consent/{written}/x?to={written}&n=1 HTTP/1.1" 401'
    assert mask_numbers(line) == '"GET /api/v1/consent/***0123/x?to=***0123&n=1 HTTP/1.1" 401'


@pytest.mark.parametrize(
    "line",
    [
        "[2026-11-24 18:00:00 +0000] [12345] [INFO] Booting worker with pid: 12345",
        '127.0.0.1 - - [24/Nov/2026:18:00:00 +0000] "GET /healthz HTTP/1.1" 200 31 "-" "curl/8"',
        "inbound SM0123456789abcdef0123456789abcdef journaled for replay",
        "2026-11-24 18:00:00,123 INFO gateway.outbound message msg_01JD2X3Y4Z5A6B7C8D9E0F1G2H",
        "replayed 12 journaled inbound texts from 10.200.30.4",
    ],
)
def test_lines_without_a_number_are_left_alone(line: str) -> None:
    assert mask_numbers(line) == line


def test_a_records_arguments_and_traceback_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.masking")
    log.addFilter(MaskNumbers())
    try:
        with caplog.at_level(logging.INFO, logger="tests.masking"):
            try:
                raise ValueError(f"not a phone number: {NUMBER}")
            except ValueError:
                log.exception("refused %s", {"to": "201-555-0123"})
    finally:
        log.filters.clear()
    written = caplog.text
    assert "***0123" in written and "0123" not in written.replace("***0123", "")


GUNICORN_AND_APP = """
import logging
from gunicorn.config import Config
from gateway.serving.logger import MaskedLogger

log = MaskedLogger(Config())
try:
    raise RuntimeError("worker timeout on +12015550123")
except RuntimeError:
    log.exception("Error handling request %s %s", "POST", "/api/v1/numbers/+12015550123/erase")
log.warning("Invalid request from ip=%s: %s", "127.0.0.1", "'GET /consent/2015550123'")
logging.getLogger("gateway.web.errors").error("refused %s", "(201) 555-0123")
"""


def test_gunicorns_error_lines_and_the_apps_own_are_masked() -> None:
    """What gunicorn writes when it aborts a request, and the application's loggers in the
    same process: one subprocess, as the server runs them."""
    run = subprocess.run(
        [sys.executable, "-c", GUNICORN_AND_APP], capture_output=True, text=True, timeout=60
    )
    printed = run.stdout + run.stderr
    assert run.returncode == 0, printed
    assert "Error handling request POST /api/v1/numbers/***0123/erase" in printed
    assert "RuntimeError: worker timeout on ***0123" in printed
    assert "'GET /consent/***0123'" in printed and "refused ***0123" in printed
    assert full_numbers(printed) == []


def full_numbers(text: str) -> list[str]:
    """Every place the test number appears whole, in any spelling."""
    squeezed = re.sub(r"%2[bB]|%20|%28|%29|(?<=\d)[\s().+\-]+(?=\d)", "", text)
    return [m.group() for m in re.finditer(r".{0,60}2015550123.{0,20}", squeezed)]


def test_nothing_the_web_server_prints_holds_a_full_number(database_url, tmp_path) -> None:
    token = admin_token(database_url)
    with serve(database_url, tmp_path, WEB_READ_TIMEOUT="2") as server:
        # A request that stalls mid-body until the server gives up on it.
        with server.connect() as sock:
            sock.sendall(
                f"POST /api/v1/numbers/{NUMBER}/erase HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 40\r\n\r\n{{".encode()
            )
            assert read_answer(sock).startswith(b"HTTP/1.1 408")
        # One that leaves mid-body.
        with server.connect() as sock:
            sock.sendall(
                b"POST /api/v1/numbers/%2B12015550123/erase HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 40\r\n\r\n{"
            )
        # Ordinary reads, with and without a token, the number in the path, query, referer.
        auth = {"Authorization": f"Bearer {token}", "Referer": "https://x/?n=(201) 555-0123"}
        assert server.request("GET", f"/api/v1/consent/{NUMBER}", headers=auth)[0] == 200
        assert server.request("GET", f"/api/v1/consent/{NUMBER}")[0] == 401
        query = "/api/v1/ledger/events?number=%2B12015550123"
        assert server.request("GET", query, headers=auth)[0] == 200
        # A request line gunicorn refuses, and logs.
        with server.connect() as sock:
            sock.sendall(f"GET /api/v1/consent/{NUMBER} HTTP/1.1 x\r\n\r\n".encode())
            assert read_answer(sock).startswith(b"HTTP/1.1 400")
        with server.connect() as sock:
            sock.sendall(f"GET /api/v1/consent/{NUMBER}\r\n\r\n".encode())
            assert read_answer(sock).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            read_answer(sock)
    printed = server.printed()
    assert full_numbers(printed) == []
    # The lines were written — masked, not missing.
    assert '/api/v1/consent/***0123 HTTP/1.1" 200' in printed
    assert '/api/v1/consent/***0123 HTTP/1.1" 401' in printed
    assert "408 for POST /api/v1/numbers/***0123/erase" in printed
