"""Every API error is `{"error": {"code", "message", "field"?}}` with its status (SPEC §9).
Domain and service errors become HTTP here, in one place; nothing reaches a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from gateway.domain.phone import InvalidPhone
from gateway.services import Problem

log = logging.getLogger(__name__)


def error(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict[str, str] = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    return response


class FieldError(Problem):
    """Bad input in one named field: 422."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(422, code, message, field)


def _for_a_person() -> bool:
    """A browser asking for a page (not the API, not Twilio) gets an HTML error page."""
    path = request.path
    if path.startswith(("/api/", "/twilio/", "/openapi", "/docs", "/healthz")):
        return False
    return request.accept_mimetypes.accept_html


def _page(exc: HTTPException) -> Response:
    status = exc.code or 500
    titles = {
        404: "Page not found",
        405: "Not allowed here",
        413: "Too large",
        500: "Something went wrong",
    }
    body = render_template(
        "console/error.html",
        title=titles.get(status, exc.name or "Error"),
        message=exc.description or "",
    )
    response = Response(body, status=status, mimetype="text/html")
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return error(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(InvalidPhone)
    def _phone(exc: InvalidPhone) -> Response:
        return error(422, "invalid_phone", str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if _for_a_person():
            return _page(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        code = {400: "malformed", 413: "too_large"}.get(exc.code or 500, code)
        response = error(exc.code or 500, code, exc.description or code)
        for name, value in exc.get_headers():
            if name.lower() in ("allow", "retry-after"):  # 405 names the methods it takes
                response.headers[name] = value
        return response

    @app.errorhandler(UnicodeDecodeError)
    def _undecodable(exc: UnicodeDecodeError) -> Response:
        return error(400, "malformed", "the request is not valid UTF-8")

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return error(503, "unavailable", "the database is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        if _for_a_person():
            return _page(InternalServerError("Something went wrong; it has been logged."))
        return error(500, "internal", "an unexpected error occurred; it has been logged")
