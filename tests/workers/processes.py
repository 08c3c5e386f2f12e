"""Real processes for the tests that kill one: a worker (`python -m workers`), the web server
(gunicorn on the factory, as the Procfile runs it), and a fake Twilio REST API on loopback
that can hold one request unanswered — a send that is "in flight" for as long as the test
wants. Every wait here is bounded."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from gateway.adapters.twilio_sms import sign

ROOT = Path(__file__).resolve().parents[2]
TWILIO_ACCOUNT = "AC" + "3" * 32
TWILIO_TOKEN = "processes-auth-token"


@dataclass(frozen=True)
class Arrival:
    sid: str
    to: str
    sender: str
    body: str
    note: str | None  # what the `inspect` hook said when it arrived


class HangingTwilio:
    """Twilio's Messages endpoint. Each message gets a SID as it arrives (Twilio has it from
    then on); the first one to `hang_to` is never answered until `release()`."""

    def __init__(self, hang_to: str, inspect: Callable[[str], str | None] | None = None) -> None:
        self.arrivals: list[Arrival] = []
        self.hung = threading.Event()  # the held request has arrived
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self.hang_to, self.inspect = hang_to, inspect
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                sid, hold = stub.arrive(form)
                if hold:
                    stub._release.wait(timeout=60)
                    return  # the sender is gone by now; nothing to answer
                body = json.dumps({"sid": sid, "status": "queued", "to": form.get("To")})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def arrive(self, form: dict[str, str]) -> tuple[str, bool]:
        to = form.get("To", "")
        note = self.inspect(to) if self.inspect else None
        with self._lock:
            sid = f"SM{next(self._sids):032x}"
            self.arrivals.append(Arrival(sid, to, form.get("From", ""), form.get("Body", ""), note))
            hold = to == self.hang_to and not self.hung.is_set()
            if hold:
                self.hung.set()
        return sid, hold

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> HangingTwilio:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(
    database_url: str, redis_url: str, twilio_url: str, base_url: str, journal: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_URL": twilio_url,
        "PUBLIC_BASE_URL": base_url,
        "KEYWORDS_FILE": str(ROOT / "keywords.yml"),
        "JOURNAL_DIR": str(journal),
    }


class Processes:
    """Starts processes, remembers every one (and their children), ends them all at exit."""

    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self.env, self.logs = dict(env), logs
        self.started: list[subprocess.Popen[bytes]] = []
        self.strays: set[int] = set()
        self._names = itertools.count(1)

    def start(self, *argv: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"process-{next(self._names)}.log", "wb")  # noqa: SIM115
        environ = {**self.env, **env}
        process = subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=log, stderr=log)
        log.close()
        self.started.append(process)
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        return self.start(sys.executable, "-m", "workers")

    def web(self, port: int) -> subprocess.Popen[bytes]:
        """The Procfile's web command, as a platform runs it (PORT set; the venv on PATH)."""
        command = procfile()["web"]
        path = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        process = self.start(
            "sh", "-c", f"exec {command}", PORT=str(port), WEB_CONCURRENCY="2", PATH=path
        )
        until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "the web server")
        return process

    def children(self, pid: int) -> set[int]:
        found = set(children(pid))
        self.strays |= found
        return found

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.started:
            self.strays |= set(children(process.pid))
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for pid in self.strays:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Wait, bounded, for a condition; fail naming what never happened."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def signed_post(base_url: str, path: str, params: dict[str, str], timeout: float) -> Any:
    signature = sign(TWILIO_TOKEN, base_url + path, params)
    return requests.post(
        base_url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=timeout
    )
