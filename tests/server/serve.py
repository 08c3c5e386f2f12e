"""The real web server, started by the Procfile's `web` command on a free loopback port, and
plain sockets to talk to it. Every wait is bounded; the process group is always killed."""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from gateway.adapters.twilio_sms import sign
from tests.conftest import AUTH_TOKEN, BASE_URL, CLINIC

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # the longest any one answer is waited for


def procfile(kind: str = "web") -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise LookupError(f"no {kind!r} line in the Procfile")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def printed(self) -> str:
        """Everything the server wrote, stdout and stderr."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        sock.settimeout(WAIT)
        return sock

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def text(self, body: str, sid: str, frm: str) -> tuple[int, dict[str, str], bytes]:
        """A patient's text through Twilio's signed webhook."""
        data, signature = signed_text(body, sid, frm)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        return self.request("POST", "/twilio/inbound", data, headers)

    def stop(self) -> None:
        """SIGTERM to the whole group (sh and gunicorn), SIGKILL if it is not gone soon."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        with contextlib.suppress(ProcessLookupError):  # workers, had the master died first
            os.killpg(self.process.pid, signal.SIGKILL)


def signed_text(body: str, sid: str, frm: str) -> tuple[bytes, str]:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": frm, "To": CLINIC}
    params["Body"] = body
    return urlencode(params).encode(), sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", params)


def die_with_parent() -> None:
    """The server gets SIGTERM if the test process dies before its teardown (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG; kept across exec


@contextmanager
def serve(database_url: str, folder: Path, **variables: str) -> Iterator[Server]:
    """Run the Procfile's web command, as a platform would, until the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "DATABASE_"))}
    env.pop("REDIS_URL", None)
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    port = free_port()
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PORT=str(port),
        DATABASE_URL=database_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=BASE_URL,
        KEYWORDS_FILE=str(ROOT / "keywords.yml"),
        JOURNAL_DIR=str(folder / "journal"),
        **variables,
    )
    log = folder / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {procfile('web')}"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, whatever it forked
            preexec_fn=die_with_parent,
        )
    server = Server(port, process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: Server, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited:\n{server.printed()}")
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer /healthz within {seconds} s")


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by WAIT)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def still_waiting(sock: socket.socket) -> bool:
    """The connection is open and the server has answered nothing on it."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)  # an answer, or b"" if closed
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(WAIT)
    return False
