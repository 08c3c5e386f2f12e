"""A stand-in for Twilio's REST API on loopback, for tests and benchmarks that run real
worker processes (the `responses` fake only reaches this process). TWILIO_API_URL points the
SDK here. It answers 201 to every message and records what arrived and when."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Arrival:
    to: str
    body: str
    at: float  # time.monotonic() when the request arrived
    note: str | None  # what the `inspect` hook said about it, if anything


class TwilioStub:
    def __init__(self, inspect: Callable[[str], str | None] | None = None) -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self.inspect = inspect
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stub.record(form)
                with stub._lock:
                    sid = f"SM{next(stub._sids):032x}"
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

    def record(self, form: dict[str, str]) -> None:
        at = time.monotonic()
        to = form.get("To", "")
        note = self.inspect(to) if self.inspect else None
        with self._lock:
            self.arrivals.append(Arrival(to, form.get("Body", ""), at, note))

    def __enter__(self) -> TwilioStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
