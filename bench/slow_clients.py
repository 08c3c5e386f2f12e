"""Signed STOPs answered while slow clients hold connections open, against the same server
with none, measured in the same run.

    .venv/bin/python bench/slow_clients.py [--slow 20] [--stops 200] [--command "gunicorn …"]

Starts the real server — the Procfile's `web` command — on loopback with its shipped
settings (WEB_CONCURRENCY workers × WEB_THREADS threads: 2 × 8 unless set). Baseline: --stops
signed STOPs to /twilio/inbound, one after another, each from its own number, and a GET
/healthz after every 10. Then --slow clients connect — half send a signed STOP's headers and
trickle its body a byte every 2 s, half trickle their headers — and the same is measured
while they stay connected: one the server cuts off (WEB_READ_TIMEOUT) is replaced at once.
Prints p50 and p99 of the STOP answers in both phases and their ratio, the answers that took
longer than Twilio's 15 s or never came, and whether /healthz stayed up. Uses DATABASE_URL
when set, else a fresh SQLite file. --command serves with another command (the old
sync-worker line, say) to compare.
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.adapters.twilio_sms import sign  # noqa: E402
from gateway.db import make_engine  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402

TOKEN, BASE = "bench-token", "https://gateway.bench.test"
CLINIC = "+12015550100"
TWILIO_WAIT = 15.0
WARM_UP = 40  # Twilio gives up on a webhook after 15 s
AREAS = (201, 305, 405, 206, 212, 312, 415, 503)  # each with the fictional 555-0100…0199


def numbers() -> list[str]:
    return [f"+1{area}555{line:04d}" for area in AREAS for line in range(101, 200)]


def signed_stop(sid: str, sender: str) -> tuple[bytes, str]:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": CLINIC}
    params["Body"] = "STOP"
    return urlencode(params).encode(), sign(TOKEN, f"{BASE}/twilio/inbound", params)


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise SystemExit("no web line in the Procfile")


def die_with_parent() -> None:
    """The server gets SIGTERM should this script die without stopping it (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    def __init__(self, command: str, database_url: str, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
            "KEYWORDS_FILE": str(ROOT / "keywords.yml"),
            "JOURNAL_DIR": str(folder / "journal"),
        }
        self.log = folder / "server.log"
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=folder,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + 60
        while not self.healthy(timeout=2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def healthy(self, timeout: float = TWILIO_WAIT) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=timeout)[0] == 200
        except OSError:
            return False

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = TWILIO_WAIT,
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


class SlowClients:
    """`count` connections that never finish a request, a byte every `every` seconds; one
    the server answers or closes is replaced by a new one."""

    def __init__(self, port: int, count: int, every: float = 2.0) -> None:
        self.port, self.every = port, every
        self.replaced = 0
        self.clients = [self._open(n) for n in range(count)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _open(self, n: int) -> tuple[socket.socket, bytes]:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=TWILIO_WAIT)
        if n % 2:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway")
            return sock, b"x" * 100_000  # headers that never end
        body, signature = signed_stop(f"SM{n:032x}", "+12065550150")
        sock.sendall(
            (
                "POST /twilio/inbound HTTP/1.1\r\nHost: gateway\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        return sock, body[:-1]  # never the last byte

    def _trickle(self) -> None:
        while not self._stop.wait(self.every):
            for n, (sock, rest) in enumerate(self.clients):
                if _answered_or_closed(sock) or not rest:
                    sock.close()
                    self.clients[n] = self._open(n)
                    self.replaced += 1
                    continue
                try:
                    sock.send(rest[:1])
                    self.clients[n] = (sock, rest[1:])
                except OSError:
                    pass  # replaced on the next round

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock, _ in self.clients:
            sock.close()


def _answered_or_closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(TWILIO_WAIT)


def measure(server: Server, senders: list[str], tag: str) -> dict[str, object]:
    took: list[float] = []
    failed = health_ok = health_all = 0
    for i, sender in enumerate(senders):
        body, signature = signed_stop(f"SM{tag}{i:031x}", sender)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        try:
            status, _ = server.request(
                "POST", "/twilio/inbound", body, {**form, "X-Twilio-Signature": signature}
            )
        except OSError:  # no answer within Twilio's 15 s
            status = 0
        if status == 200:
            took.append(time.perf_counter() - started)
        else:
            failed += 1
            if failed >= 5 and not took:
                break  # the server is not answering: five are enough to show it
        if i % 10 == 9:
            health_all += 1
            health_ok += server.healthy()
    took.sort()
    return {
        "p50": took[len(took) // 2] * 1000 if took else float("nan"),
        "p99": took[int(0.99 * (len(took) - 1))] * 1000 if took else float("nan"),
        "answered": len(took),
        "tried": i + 1,
        "failed": failed,
        "health": f"{health_ok}/{health_all}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--command", default=None, help="the web command (default: Procfile)")
    args = parser.parse_args()
    senders = numbers()
    if 2 * args.stops + WARM_UP > len(senders):
        raise SystemExit(f"--stops at most {(len(senders) - WARM_UP) // 2} (fictional numbers)")
    command = args.command or procfile_web()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        server = Server(command, url, Path(tmp))
        try:
            measure(server, senders[-WARM_UP:], "w")  # every worker and thread warmed up
            none = measure(server, senders[: args.stops], "a")
            slow = SlowClients(server.port, args.slow)
            try:
                time.sleep(3)  # connected, and a byte or two in
                loaded = measure(server, senders[args.stops : 2 * args.stops], "b")
                still = sum(not _answered_or_closed(sock) for sock, _ in slow.clients)
            finally:
                slow.close()
        finally:
            server.stop()
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    threads = os.environ.get("WEB_THREADS", "8")
    print(f"server: {command}")
    print(f"  (WEB_CONCURRENCY={workers}, WEB_THREADS={threads}; database {engine.dialect.name})")
    print(
        f"slow clients: {args.slow}, {still} connected at the end; "
        f"{slow.replaced} cut off by the server and replaced"
    )
    print(f"{'':24}{'p50 ms':>9}{'p99 ms':>9}{'answered':>10}{'failed':>8}{'/healthz':>10}")
    for name, row in (("no slow clients", none), (f"{args.slow} slow clients", loaded)):
        print(
            f"{name:24}{row['p50']:9.1f}{row['p99']:9.1f}"
            f"{row['answered']:>6}/{row['tried']:<3}{row['failed']:>8}{row['health']:>10}"
        )
    p50 = float(loaded["p50"]) / float(none["p50"])  # type: ignore[arg-type]
    p99 = float(loaded["p99"]) / float(none["p99"])  # type: ignore[arg-type]
    print(f"{'ratio slow / none':24}{p50:9.2f}{p99:9.2f}")


if __name__ == "__main__":
    main()
