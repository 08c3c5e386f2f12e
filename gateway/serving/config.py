"""gunicorn's settings for the web tier: `gunicorn -c python:gateway.serving.config …` (the
Procfile's `web`). Read from the environment at start-up; the README's table lists them."""

from __future__ import annotations

import os

from gateway.web.edge import LIMITS


class ServingError(ValueError):
    """A web-tier variable is malformed; the message names it."""


def _whole(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise ServingError(f"{name} must be a whole number (1 or more), got {raw!r}")
    return int(raw)


# How long a client has to send a whole request (line, headers and body); also the longest a
# thread waits on a client's socket while answering. A request is read by the worker's main
# loop, so a slow client holds a socket and its bytes so far, never a thread; past this it
# gets a 408 and is closed. Twilio and API clients send a request in milliseconds.
READ_TIMEOUT = _whole("WEB_READ_TIMEOUT", 10)
# The largest request body the server reads: the largest any route takes (a batch of messages,
# 2 MB; the rest of the API 256 KB, Twilio's webhooks 64 KB, checked by the app). Larger is a
# 413 before any of it is read, and a connection holds at most this much while its request
# arrives.
MAX_BODY = max(size for _, size in LIMITS)
MAX_HEAD = 64 * 1024

bind = [f"0.0.0.0:{_whole('PORT', 8000)}"]
workers = _whole("WEB_CONCURRENCY", 2)
threads = _whole("WEB_THREADS", 8)
worker_class = "gateway.serving.worker.BufferingWorker"
logger_class = "gateway.serving.logger.MaskedLogger"
accesslog = "-"  # to stdout, masked
errorlog = "-"  # to stderr, masked
# gunicorn's control socket (gunicornc) would let any local user resize or stop the server,
# at one path ($HOME/.gunicorn) shared by every instance on the machine.
control_socket_disable = True
