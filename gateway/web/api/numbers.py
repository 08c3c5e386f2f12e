"""A patient's rights over one number: everything held (export), erasure, and the accounting
of who read the number's records (disclosures), SPEC §7; and whether the number is still the
patient's: its reassigned-number checks and the front desk's "verified", SPEC §10."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, Response, jsonify
from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import access, erasure, ledger, number_checks, outbound
from gateway.db import transaction
from gateway.domain.consent import status_of
from gateway.exports import event_record
from gateway.models import Erasure, InboundMessage, NumberCheck, OutboundMessage, Review
from gateway.web import params
from gateway.web.api.inbound import inbound_json
from gateway.web.api.messages import message_json
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor, requires
from gateway.web.context import runtime
from gateway.web.declare import Body, Cursor, Limit, declared, given_body, given_query
from gateway.web.shapes import Disclosures, Erased, HeldAbout, NumberChecks, Verified

bp = Blueprint("numbers", __name__, url_prefix="/api/v1/numbers")
AUDIT = ("admin", "auditor")


def _number(number: str) -> str:
    e164 = params.phone(number, "number", runtime().settings.default_region)
    touch([e164])
    return e164


class Page(Body):
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


@bp.get("/<path:number>/export")
@requires(*AUDIT)
@declared("Everything held about a number (HIPAA access and portability)", answer=HeldAbout)
@audited("numbers.export")
def export(number: str) -> Response:
    e164, rt = _number(number), runtime()
    with transaction(rt.sessions) as session:
        return jsonify(held_about(session, e164, params.iso(rt.clock())))


def held_about(session: Session, number: str, now: str | None) -> dict[str, Any]:
    in_force = ledger.current(session, number)
    events = session.execute(ledger.events_query(ledger.EventFilter(number=number))).scalars()
    inbound = session.execute(
        select(InboundMessage)
        .where(InboundMessage.from_number == number)
        .order_by(InboundMessage.id)
    ).scalars()
    messages = session.execute(
        select(OutboundMessage)
        .where(OutboundMessage.to_number == number)
        .order_by(OutboundMessage.id)
    ).scalars()
    reviews = session.execute(select(Review).where(Review.number == number)).scalars()
    erasures = session.execute(select(Erasure).where(Erasure.number == number)).scalars()
    return {
        "number": number,
        "generated_at": now,
        "consent": {
            c: {"status": status_of(e).value, "event_id": e.id} for c, e in in_force.items()
        },
        "events": [event_record(row) for row in events],
        "inbound": [inbound_json(row) for row in inbound],
        "messages": [message_json(m, outbound.attempts(session, m.id)) for m in messages],
        "reviews": [
            {
                "id": r.id,
                "received_at": params.iso(r.received_at),
                "status": r.status,
                "resolution": r.resolution,
                "note": r.note,
            }
            for r in reviews
        ],
        "erasures": [
            {"at": params.iso(e.at), "actor": e.actor, "counts": e.counts} for e in erasures
        ],
        "checks": [check_json(c) for c in number_checks.checks(session, number, limit=10_000)],
    }


@bp.post("/<path:number>/erase")
@requires("admin")
@declared("Erase a number's texts; its consent events are kept", answer=Erased)
@audited("numbers.erase")
def erase(number: str) -> Response:
    e164, rt = _number(number), runtime()
    with transaction(rt.sessions) as session:
        done = erasure.erase_number(session, e164, str(current_actor()), rt.clock())
        return jsonify(
            {
                "erasure": {
                    "id": done.id,
                    "number": e164,
                    "at": params.iso(done.at),
                    "actor": done.actor,
                    "counts": done.counts,
                }
            }
        )


@bp.get("/<path:number>/disclosures")
@requires(*AUDIT)
@declared(
    "Who read this number's records: the accounting of disclosures", query=Page, answer=Disclosures
)
@audited("numbers.disclosures")
def disclosures(number: str) -> Response:
    f = given_query(Page)
    e164, size, after = _number(number), f.limit, params.cursor(f.cursor)
    with transaction(runtime().sessions) as session:
        rows = list(session.execute(access.query(number=e164, after=after).limit(size)).scalars())
        items = [access.as_json(session, row) for row in rows]
    # Each entry names the other numbers that read touched: showing them is a read too.
    touch(n for item in items if isinstance(item["numbers"], list) for n in item["numbers"])
    last = rows[-1].id if rows else None
    return jsonify(
        {"number": e164, "items": items, "next_cursor": params.next_cursor(items, size, last)}
    )


def check_json(row: NumberCheck) -> dict[str, Any]:
    return {
        **number_checks.summary(row),
        "number": row.number,
        "actor": row.actor,
        "message_id": row.message_id,
        "evidence": row.evidence,
    }


class NewVerified(Body):
    note: Annotated[str, StringConstraints(max_length=number_checks.MAX_NOTE)] | None = None


@bp.post("/<path:number>/verified")
@requires(*WRITE_CONSENT)
@declared(
    "The patient confirmed the number is still theirs (restarts REASSIGNED_CHECK_DAYS)",
    body=NewVerified,
    answer=Verified,
    status=201,
)
def verified(number: str) -> tuple[Response, int]:
    e164, rt = _number(number), runtime()
    body = given_body(NewVerified)
    with transaction(rt.sessions) as session:
        row = number_checks.verified(
            session, e164, staff=str(current_actor()), note=body.note, now=rt.clock()
        )
        return jsonify({"check": check_json(row)}), 201


@bp.get("/<path:number>/checks")
@requires(*READ)
@declared(
    "Whether the number is still the patient's: every reassigned-number query, its answer, "
    "and each front-desk verification, newest first",
    answer=NumberChecks,
)
@audited("numbers.checks")
def checks(number: str) -> Response:
    e164, rt = _number(number), runtime()
    with transaction(rt.sessions) as session:
        last = number_checks.last_verified(session, e164)
        items = [check_json(c) for c in number_checks.checks(session, e164, limit=500)]
    return jsonify({"number": e164, "last_verified": params.iso(last), "items": items})
