"""GET /api/v1/inbound: received texts with what they meant and what they did."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from gateway import access
from gateway.db import transaction
from gateway.models import InboundMessage
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, requires
from gateway.web.context import runtime
from gateway.web.errors import FieldError

bp = Blueprint("inbound", __name__, url_prefix="/api/v1/inbound")

INTENTS = ("opt_out", "opt_in", "help", "review", "none", "answer")


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


@bp.get("")
@requires(*READ)
@audited("inbound.list")
def index() -> Response:
    rt = runtime()
    query = select(InboundMessage).order_by(InboundMessage.id.desc())
    if sender := request.args.get("from"):
        number = params.phone(sender, "from", rt.settings.default_region)
        query = query.where(InboundMessage.from_number == number)
    if intent := request.args.get("intent"):
        if intent not in INTENTS:
            raise FieldError("invalid", f"intent is one of {', '.join(INTENTS)}", "intent")
        query = query.where(InboundMessage.intent == intent)
    if since := params.timestamp(request.args.get("since"), "since"):
        query = query.where(InboundMessage.received_at >= since)
    if until := params.timestamp(request.args.get("until"), "until"):
        query = query.where(InboundMessage.received_at < until)
    if (after := params.cursor()) is not None:
        query = query.where(InboundMessage.id < after)
    size = params.limit()
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
    items = [inbound_json(row) for row in rows]
    touch(access.numbers_in(items, "from"))
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})
