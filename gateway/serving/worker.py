"""gunicorn's threaded worker, with each request read whole by the main loop before a thread
takes it, and gunicorn's own error answers in the API's JSON shape (SPEC §9).

gthread gives a connection to a pool thread as soon as a byte of it arrives, and the thread
then reads the headers and the body with blocking reads that have no time limit: a client
that trickles a byte every few seconds holds its thread for as long as it likes, and as many
such clients as there are threads stop the server (gunicorn bounds only the wait for the
first byte). Here the main loop, which already watches every idle connection, reads each
request without blocking until it is whole (`framing`) — as a buffering proxy does — and
only then hands it to a thread, whose parser finds every byte already there. A slow client
costs a socket and the bytes it sent, never a thread; one not done within WEB_READ_TIMEOUT
gets a 408 and is closed.

Closing never waits in the main loop either: gunicorn lingers there up to 2 s for the
client's FIN after a `Connection: close` answer, so clients that never close stalled the
whole worker, 2 s each. Here the linger is one more socket the loop watches.

TLS is terminated in front of the server (README, deployment); were gunicorn given a
certificate, the handshake happens in the thread and this worker reads as gthread does.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.workers import gthread
from werkzeug.exceptions import default_exceptions

from gateway.serving import config
from gateway.serving.framing import Limits, Progress, Verdict, judge

RECEIVE = 64 * 1024
LINGER = 2.0  # gunicorn's: how long a closed connection waits for the client's FIN
LINGER_DRAIN = 64 * 1024


class Connection(gthread.TConn):  # type: ignore[misc]
    """A client connection; its request is read into `received` before a thread takes it."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any, linger: Any):
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.progress = Progress()  # how far `received` has been read (framing)
        self.deadline = 0.0
        self.continued = False  # "100 Continue" sent for the request being read
        self.whole = False  # read whole: the next enqueue goes to a thread
        self.drained = 0
        self._linger: Callable[[Connection], None] = linger

    def init(self) -> None:
        """In the thread, before parsing: hand the parser the bytes already read."""
        super().init()
        if self.received and not self.is_http2:
            self.parser.unreader.unread(bytes(self.received))
        self.received = bytearray()
        # What the thread still waits for on this socket (sending the answer) is bounded.
        self.sock.settimeout(config.READ_TIMEOUT)

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self._linger(self)
        else:
            super().close()


class BufferingWorker(gthread.ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: deque[Connection] = deque()  # by deadline: all get the same time
        self.lingering: deque[Connection] = deque()
        line = self.cfg.limit_request_line or config.MAX_HEAD
        self.limits = Limits(line=line, head=config.MAX_HEAD, body=config.MAX_BODY)

    # -- every request is read in the main loop first

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        server = listener.getsockname()
        self.enqueue_req(Connection(self.cfg, sock, addr, server, self._linger))

    def enqueue_req(self, conn: Connection) -> None:
        """Every way to a thread passes here, in the main loop: a new connection, a kept-alive
        one that became readable, bytes pipelined behind the last request."""
        if conn.whole or self.cfg.is_ssl:
            conn.whole = False
            super().enqueue_req(conn)
            return
        if conn.parser is not None:
            conn.received += conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + config.READ_TIMEOUT
        conn.continued = False
        conn.progress = Progress()  # a new request: its bytes are read once, as they come
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._receive, conn))
        if conn.received:
            self._judge(conn)

    def _receive(self, conn: Connection, _sock: Any) -> None:
        data = _recv(conn.sock, RECEIVE)
        if data is None:
            return
        if not data:  # the client left before its request was whole
            self._forget(conn, self.reading)
            self.nr_conns -= 1
            util.close(conn.sock)
            return
        conn.received += data
        self._judge(conn)

    def _judge(self, conn: Connection) -> None:
        verdict = judge(conn.received, self.limits, conn.progress)
        if verdict is Verdict.WAIT:
            return
        if verdict is Verdict.CONTINUE:
            if not conn.continued:
                conn.continued = True
                _send(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self._forget(conn, self.reading)
        if verdict is Verdict.HEAD_TOO_LARGE:
            self._refuse(conn, 431, f"header section over {self.limits.head} bytes")
        elif verdict is Verdict.BODY_TOO_LARGE:
            self._refuse(conn, 413, f"body over {self.limits.body} bytes")
        else:  # whole, or for gunicorn's parser to refuse
            if verdict is Verdict.PARSE:
                # gunicorn's parser says precisely what is wrong, from the bytes here; it must
                # never wait on the client for more, or a trickle would hold its thread.
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RD)
            conn.whole = conn.data_ready = True
            self.enqueue_req(conn)

    def handle_request(self, req: Any, conn: Connection) -> Any:
        if conn.continued:
            req._expected_100_continue = False  # this loop already said "100 Continue"
        return super().handle_request(req, conn)

    # -- bounded: a request not whole in time, a closing connection

    def murder_pending(self) -> None:
        """Called by gthread's loop at least once a second."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].deadline <= now:
            conn = self.reading[0]
            self._forget(conn, self.reading)
            self._refuse(conn, 408, f"not whole within {config.READ_TIMEOUT} s")
        while self.lingering and self.lingering[0].deadline <= now:
            conn = self.lingering[0]
            self._forget(conn, self.lingering)
            util.close(conn.sock)

    def _refuse(self, conn: Connection, status: int, why: str) -> None:
        self.log.warning(
            "%d for %s from %s: %s", status, _first_line(conn.received), _ip(conn.client), why
        )
        self.nr_conns -= 1
        conn.received = bytearray()  # nothing of it is needed while the socket lingers
        _send(conn.sock, answer(status, self.cfg))
        self._linger(conn)

    def _linger(self, conn: Connection) -> None:
        """Close as RFC 9112 §9.6 asks — send FIN, read until the client's — without waiting:
        the socket joins those the loop watches, closed at its FIN or after LINGER."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            util.close(conn.sock)
            return
        conn.deadline = time.monotonic() + LINGER
        conn.drained = 0
        try:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (KeyError, ValueError, OSError):
            util.close(conn.sock)
            return
        self.lingering.append(conn)

    def _drain(self, conn: Connection, _sock: Any) -> None:
        data = _recv(conn.sock, 4096)
        if data is None:
            return
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_DRAIN:
            self._forget(conn, self.lingering)
            util.close(conn.sock)

    def _forget(self, conn: Connection, queue: deque[Connection]) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(ValueError):
            queue.remove(conn)

    # -- gunicorn's own refusals, in JSON

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        page = _Page()
        super().handle_error(req, page, addr, exc)  # logs it and picks the status
        try:
            util.write_nonblock(client, answer(page.status, self.cfg))
        except Exception:
            self.log.debug("Failed to send error message.")


class _Page:
    """Takes the HTML page gunicorn writes for an error, to read its status."""

    status = 500

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        parts = data.split(b" ", 2)
        if len(parts) > 1 and parts[1].isdigit():
            self.status = int(parts[1])


def answer(status: int, cfg: Any) -> bytes:
    """A whole HTTP answer: `{"error": {"code", "message"}}`, codes named as
    gateway.web.errors names werkzeug's, messages that never echo the request."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    known = default_exceptions.get(status)
    code = (known().name if known else reason).lower().replace(" ", "_")
    code = {400: "malformed", 413: "too_large", 500: "internal"}.get(status, code)
    body = json.dumps({"error": {"code": code, "message": _message(status, cfg)}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _message(status: int, cfg: Any) -> str:
    messages = {
        400: "the request line or a header field is malformed",
        403: "the request is forbidden",
        408: f"the request was not received whole within {config.READ_TIMEOUT} s",
        413: f"the request body is larger than {config.MAX_BODY} bytes",
        414: f"the request line is longer than {cfg.limit_request_line} bytes",
        417: "the only expectation understood is 100-continue",
        431: (
            f"too many or too large header fields (at most {cfg.limit_request_fields} "
            f"fields of {cfg.limit_request_field_size} bytes, {config.MAX_HEAD} in all)"
        ),
        500: "an unexpected error occurred; it has been logged",
        501: "the only transfer coding understood is chunked",
    }
    if status in messages:
        return messages[status]
    known = default_exceptions.get(status)
    return str(known().description) if known else "the request was refused"


def _recv(sock: socket.socket, size: int) -> bytes | None:
    """What a non-blocking read gives: bytes, b"" at the client's end, None for nothing yet."""
    try:
        return sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.send(data)  # a short answer into an empty buffer; never waits


def _first_line(received: bytes | bytearray) -> str:
    line = bytes(received[:200]).split(b"\r\n", 1)[0]
    return line.decode("latin-1").encode("unicode_escape").decode("ascii") or "(nothing)"


def _ip(client: Any) -> str:
    return str(client[0]) if isinstance(client, tuple) else str(client or "-")
