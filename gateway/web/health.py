"""GET /healthz (the database answers) and GET /openapi.json (the API's contract)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from gateway.web.context import runtime
from gateway.web.errors import error
from gateway.web.openapi import document

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    rt = runtime()
    try:
        with rt.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "unavailable", not a 500
        return error(503, "unavailable", "the database does not answer")
    return jsonify({"status": "ok", "dry_run": rt.settings.dry_run})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
