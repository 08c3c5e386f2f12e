"""The review queue: texts that may be opt-outs, due within 10 business days (FCC 24-24)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify
from pydantic import StringConstraints
from sqlalchemy import select

from gateway import access, services
from gateway.db import transaction
from gateway.models import InboundMessage, Review
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor, requires
from gateway.web.context import runtime
from gateway.web.declare import Body, Cursor, Limit, declared, given_body, given_query, link
from gateway.web.shapes import Review as ReviewShape
from gateway.web.shapes import ReviewPage

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


class Queue(Body):
    status: Literal["open", "resolved"] | None = None
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


class Resolution(Body):
    resolution: Literal["opt_out", "wrong_number", "no_action"]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


@bp.get("")
@requires(*READ)
@declared(
    "The review queue, newest first",
    query=Queue,
    answer=ReviewPage,
    links={"ResolveFirst": link("reviews.resolve", review_id="$response.body#/items/0/id")},
)
@audited("reviews.list")
def index() -> Response:
    rt, f = runtime(), given_query(Queue)
    query = (
        select(Review, InboundMessage)
        .join(InboundMessage, InboundMessage.id == Review.inbound_id)
        .order_by(Review.id.desc())
    )
    if f.status is not None:
        query = query.where(Review.status == f.status)
    if (after := params.cursor(f.cursor)) is not None:
        query = query.where(Review.id < after)
    size, now = f.limit, rt.clock()
    with transaction(rt.sessions) as session:
        rows = [(r[0], r[1]) for r in session.execute(query.limit(size))]
    items = [review_json(review, inbound, now) for review, inbound in rows]
    touch(access.numbers_in(items, "number"))
    last = rows[-1][0].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})


@bp.post("/<int:review_id>")
@requires(*WRITE_CONSENT)
@declared("Resolve a review", body=Resolution, answer=ReviewShape, errors=(409,))
@audited("reviews.resolve")
def resolve(review_id: int) -> Response:
    rt = runtime()
    body = given_body(Resolution)
    now = rt.clock()
    with transaction(rt.sessions) as session:
        review = services.resolve_review(
            session,
            rt.rules,
            review_id,
            resolution=body.resolution,
            note=body.note or None,
            actor=str(current_actor()),
            now=now,
        )
        inbound = session.get(InboundMessage, review.inbound_id)
        assert inbound is not None
        touch([review.number])  # the answer shows the patient's text: a read
        return jsonify(review_json(review, inbound, now))
