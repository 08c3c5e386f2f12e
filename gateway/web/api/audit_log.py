"""GET /api/v1/audit/access: the access log, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, Response, jsonify
from pydantic import StringConstraints

from gateway import access
from gateway.db import transaction
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import requires
from gateway.web.context import runtime
from gateway.web.declare import (
    Body,
    Cursor,
    Limit,
    Name,
    PhoneText,
    Timestamp,
    declared,
    given_query,
)
from gateway.web.shapes import AccessPage

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


class Filter(Body):
    actor: Annotated[str, StringConstraints(max_length=220)] | None = None
    action: Name | None = None
    number: PhoneText | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


@bp.get("/access")
@requires("admin", "auditor")
@declared("The access log: who read which numbers, newest first", query=Filter, answer=AccessPage)
@audited("audit.access")
def access_log() -> Response:
    rt, f = runtime(), given_query(Filter)
    number = f.number
    query = access.query(
        actor=f.actor,
        action=f.action,
        number=params.phone(number, "number", rt.settings.default_region) if number else None,
        since=f.since,
        until=f.until,
        after=params.cursor(f.cursor),
    )
    size = f.limit
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
        items = [access.as_json(session, row) for row in rows]
    # The log names numbers: reading it discloses them, and that read is logged too.
    touch(n for item in items if isinstance(item["numbers"], list) for n in item["numbers"])
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})
