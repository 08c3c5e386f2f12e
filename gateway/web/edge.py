"""What every request meets first and every answer carries last (SPEC §8).

Before anything reads a body: a per-route size bound (413, from Content-Length, or as a
chunked body passes it). After every view: a request id, and headers that keep PHI out of
caches and other sites' frames.
"""

from __future__ import annotations

import io
import re
import uuid

from flask import Flask, Response, g, request

from gateway.web.errors import error

KB = 1024
# Twilio's webhooks are a few KB (a 1,600-character body and some fields); API bodies are a
# message, a consent event with its evidence, a review note. Imports go through the CLI. A
# batch of messages is the exception: 1,000 messages of 1,600 plain characters fit in 2 MB.
# The first prefix that matches is the route's bound.
LIMITS = (("/twilio/", 64 * KB), ("/api/v1/messages/batch", 2048 * KB), ("/api/", 256 * KB))
OTHER_LIMIT = 64 * KB
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def limit_for(path: str) -> int:
    for prefix, size in LIMITS:
        if path.startswith(prefix):
            return size
    return OTHER_LIMIT


def register(app: Flask) -> None:
    @app.before_request
    def _bounded_body() -> Response | None:
        size = limit_for(request.path)
        # Werkzeug stops a chunked body at this size (413) as it is read.
        request.max_content_length = size
        request.max_form_memory_size = size
        too_large = error(413, "too_large", f"the body is at most {size // KB} KB on this route")
        environ = request.environ
        if request.content_length is not None:
            return too_large if request.content_length > size else None
        if environ.get("wsgi.input_terminated"):
            # A chunked body: werkzeug would silently stop at the bound, so read one byte
            # more and refuse what is larger; what fits is handed on as a sized body.
            body = environ["wsgi.input"].read(size + 1)
            if len(body) > size:
                return too_large
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            request.__dict__.pop("content_length", None)
        return None

    @app.before_request
    def _request_id() -> None:
        given = request.headers.get("X-Request-Id", "")
        # A client's id is kept only if it is short and plain: it goes into logs and the
        # access log, where a forged newline or a megabyte would do harm.
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _protective_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Request-Id"] = g.get("request_id", "")
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        if not g.get("framing_allowed"):  # the opt-in form's embed names its own ancestors
            headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/docs/assets/"):
            headers["Cache-Control"] = "no-store"
        if "Content-Security-Policy" not in headers:
            html = response.mimetype == "text/html"
            headers["Content-Security-Policy"] = PAGE_POLICY if html else DATA_POLICY
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
