"""GET /api/v1/audit/access: the access log, for auditors and admins."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gateway import access
from gateway.db import transaction
from gateway.web import params
from gateway.web.audit import audited
from gateway.web.auth import requires
from gateway.web.context import runtime

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


@bp.get("/access")
@requires("admin", "auditor")
@audited("audit.access")
def access_log() -> Response:
    rt, args = runtime(), request.args
    number = args.get("number")
    query = access.query(
        actor=args.get("actor") or None,
        action=args.get("action") or None,
        number=params.phone(number, "number", rt.settings.default_region) if number else None,
        since=params.timestamp(args.get("since"), "since"),
        until=params.timestamp(args.get("until"), "until"),
        after=params.cursor(),
    )
    size = params.limit()
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
        items = [access.as_json(session, row) for row in rows]
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})
