"""The review queue: texts that may be opt-outs, due within 10 business days (FCC 24-24)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from gateway import access, services
from gateway.db import transaction
from gateway.models import InboundMessage, Review
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor, requires
from gateway.web.context import runtime
from gateway.web.errors import FieldError

bp = Blueprint("reviews", __name__, url_prefix="/api/v1/reviews")


def review_json(review: Review, inbound: InboundMessage, now: Any) -> dict[str, Any]:
    return {
        "id": review.id,
        "inbound_sid": inbound.sid,
        "number": review.number,
        "text": inbound.body,
        "received_at": params.iso(review.received_at),
        "due_at": params.iso(review.due_at),
        "overdue": review.status == "open" and now > review.due_at,
        "status": review.status,
        "kind": review.kind,
        "why": review.why,
        "resolution": review.resolution,
        "note": review.note,
        "resolved_by": review.resolved_by,
        "resolved_at": params.iso(review.resolved_at),
        "events": review.event_ids,
    }


@bp.get("")
@requires(*READ)
@audited("reviews.list")
def index() -> Response:
    rt = runtime()
    query = (
        select(Review, InboundMessage)
        .join(InboundMessage, InboundMessage.id == Review.inbound_id)
        .order_by(Review.id.desc())
    )
    status = request.args.get("status")
    if status is not None:
        if status not in ("open", "resolved"):
            raise FieldError("invalid", "status is open or resolved", "status")
        query = query.where(Review.status == status)
    if (after := params.cursor()) is not None:
        query = query.where(Review.id < after)
    size, now = params.limit(), rt.clock()
    with transaction(rt.sessions) as session:
        rows = [(r[0], r[1]) for r in session.execute(query.limit(size))]
    items = [review_json(review, inbound, now) for review, inbound in rows]
    touch(access.numbers_in(items, "number"))
    last = rows[-1][0].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})


@bp.post("/<int:review_id>")
@requires(*WRITE_CONSENT)
def resolve(review_id: int) -> Response:
    rt = runtime()
    body = params.json_body()
    now = rt.clock()
    with transaction(rt.sessions) as session:
        review = services.resolve_review(
            session,
            rt.rules,
            review_id,
            resolution=str(body.get("resolution", "")),
            note=params.text(body, "note", required=False),
            actor=str(current_actor()),
            now=now,
        )
        inbound = session.get(InboundMessage, review.inbound_id)
        assert inbound is not None
        return jsonify(review_json(review, inbound, now))
