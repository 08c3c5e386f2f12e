"""GET /healthz (the database answers), /openapi.json (the API's contract) and /docs (the
contract to read and try, Swagger UI served from its package: no CDN)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from sqlalchemy import text

from gateway.web.context import runtime
from gateway.web.declare import declared
from gateway.web.errors import error
from gateway.web.shapes import Health

bp = Blueprint("health", __name__)
# Swagger UI 5 (it reads OpenAPI 3.1) as the swagger-ui-py wheel ships it; found, not imported.
_spec = find_spec("swagger_ui")
SWAGGER_UI = Path(*(_spec.submodule_search_locations or ["."])[:1]) / "static" if _spec else None
# Swagger UI's files and their media types: set here, not guessed from the machine's
# /etc/mime.types (which a fresh machine may lack), and declared so in /openapi.json.
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smsgate API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<main id="api"><noscript>The API is described at <a href="/openapi.json">/openapi.json</a>.
</noscript></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/start.js"></script>
</body>
</html>
"""
START = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#api",
  deepLinking: true, tryItOutEnabled: false, persistAuthorization: false});
"""


@bp.get("/healthz")
@declared("Liveness: the service runs and its database answers", answer=Health)
def healthz() -> Response:
    rt = runtime()
    try:
        with rt.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "unavailable", not a 500
        return error(503, "unavailable", "the database does not answer")
    return jsonify({"status": "ok", "dry_run": rt.settings.dry_run})


@bp.get("/openapi.json")
@declared("This document (OpenAPI 3.1)", answer=None)
def openapi() -> Response:
    return jsonify(current_app.extensions["smsgate.openapi"])


@bp.get("/docs")
@declared("The API to read and try (Swagger UI)", answer=None, media=("text/html",))
def docs() -> Response:
    return Response(DOCS_PAGE, mimetype="text/html")


@bp.get("/docs/assets/<asset>")
@declared("Swagger UI's files", answer=None, media=tuple(sorted(set(ASSETS.values()))))
def docs_asset(asset: str) -> Response:
    if asset == "start.js":
        return Response(START, mimetype="text/javascript")
    if asset not in ASSETS:
        return error(404, "not_found", f"no asset {asset}")
    if SWAGGER_UI is None:
        return error(404, "not_found", "Swagger UI is not installed")
    return send_from_directory(SWAGGER_UI, asset, max_age=86400, mimetype=ASSETS[asset])
