"""GET /api/v1/inbound: received texts with what they meant and what they did."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify
from pydantic import Field
from sqlalchemy import select

from gateway import access
from gateway.db import transaction
from gateway.models import InboundMessage
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, requires
from gateway.web.context import runtime
from gateway.web.declare import Body, Cursor, Limit, PhoneText, Timestamp, declared, given_query
from gateway.web.shapes import InboundPage

bp = Blueprint("inbound", __name__, url_prefix="/api/v1/inbound")


def inbound_json(row: InboundMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "sid": row.sid,
        "from": row.from_number,
        "to": row.to_number,
        "body": row.body,
        "received_at": params.iso(row.received_at),
        "intent": row.intent,
        "categories": row.categories,
        "language": row.language,
        "rule": row.rule,
        "reply": row.reply,
        "replied_at": params.iso(row.replied_at),
        "opt_out_type": row.opt_out_type,
        "events": row.event_ids,
        "answer": row.answer,  # the meaning of a reply to our question ("confirm"), or null
        "answer_to": row.answer_to,  # the id of the message that asked
    }


class Filter(Body):
    from_: PhoneText | None = Field(None, alias="from")
    intent: Literal["opt_out", "opt_in", "help", "review", "none", "answer"] | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


@bp.get("")
@requires(*READ)
@declared(
    "Received texts, newest first, with what they meant and did", query=Filter, answer=InboundPage
)
@audited("inbound.list")
def index() -> Response:
    rt, f = runtime(), given_query(Filter)
    query = select(InboundMessage).order_by(InboundMessage.id.desc())
    if f.from_:
        number = params.phone(f.from_, "from", rt.settings.default_region)
        query = query.where(InboundMessage.from_number == number)
    if f.intent:
        query = query.where(InboundMessage.intent == f.intent)
    if f.since:
        query = query.where(InboundMessage.received_at >= f.since)
    if f.until:
        query = query.where(InboundMessage.received_at < f.until)
    if (after := params.cursor(f.cursor)) is not None:
        query = query.where(InboundMessage.id < after)
    size = f.limit
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
    items = [inbound_json(row) for row in rows]
    touch(access.numbers_in(items, "from"))
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})
