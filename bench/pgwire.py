"""A loopback relay in front of PostgreSQL that counts what its clients send: statements and
round trips, read from the wire protocol. The benches point a server at it for a short,
untimed counting pass; nothing in the app is changed or told.

A statement is a simple-protocol Query ('Q': BEGIN, COMMIT, psycopg's own) or an
extended-protocol Execute ('E': every parametrised statement SQLAlchemy sends); a round trip
is a Query or a Sync ('S', which ends each extended-protocol exchange). So a pool's pre-ping,
psycopg's BEGIN and the COMMIT are counted like the INSERT they surround.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.engine import make_url

# Untyped requests a client may send before its startup message (SSL, GSSAPI encryption).
_NEGOTIATION = {80877103, 80877104}


class StatementCounter:
    """Listens on a free loopback port and relays every connection to `upstream`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, database_url: str) -> str:
        """`database_url` through this relay (in clear text: the relay reads the messages)."""
        parsed = make_url(database_url)
        query = {**parsed.query, "sslmode": "disable", "gssencmode": "disable"}
        return parsed.set(host="127.0.0.1", port=self.port, query=query).render_as_string(
            hide_password=False
        )

    def snapshot(self) -> tuple[int, int]:
        """(statements, round trips) sent so far by every client."""
        with self._lock:
            return self.counts["Q"] + self.counts["E"], self.counts["Q"] + self.counts["S"]

    def __enter__(self) -> StatementCounter:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._listener.close()  # the accept loop ends; open relays end with their clients

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for target in (self._to_server, self._to_client):
                threading.Thread(target=target, args=(client, server), daemon=True).start()

    def _to_client(self, client: socket.socket, server: socket.socket) -> None:
        _pump(server, client, lambda _: None)

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        pending = bytearray()
        typed = False

        def read(chunk: bytes) -> None:
            nonlocal typed
            pending.extend(chunk)
            while True:
                if not typed:
                    if len(pending) < 8:
                        return
                    (length,) = struct.unpack("!I", pending[:4])
                    if len(pending) < length:
                        return
                    (code,) = struct.unpack("!I", pending[4:8])
                    typed = code not in _NEGOTIATION  # the startup message came
                    del pending[:length]
                    continue
                if len(pending) < 5:
                    return
                (length,) = struct.unpack("!I", pending[1:5])
                if len(pending) < 1 + length:
                    return
                kind = chr(pending[0])
                del pending[: 1 + length]
                with self._lock:
                    self.counts[kind] += 1

        _pump(client, server, read)


def _pump(source: socket.socket, sink: socket.socket, seen: Callable[[bytes], None]) -> None:
    try:
        while chunk := source.recv(65536):
            seen(chunk)
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
