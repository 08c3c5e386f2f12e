"""Erasure of message text: a patient's request (SPEC §7) and the retention purge.

Message bodies (and their private texts) and inbound texts are set to NULL. Consent events
are the legal record and are kept; on a patient's request their free-text evidence fields are
replaced by their digests (gateway.domain.chain.erase_text), so the hash chain still verifies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.chain import erase_text
from gateway.models import ConsentEventRow, Erasure, InboundMessage, OutboundMessage, Review

PENDING = ("queued", "deferred", "sending")  # still to be sent: their text is needed


def erase_number(session: Session, number: str, actor: str, now: dt.datetime) -> Erasure:
    """Everything textual held about one number, gone; the erasure itself recorded."""
    ledger.lock_number(session, number, now)
    counts = {
        "pending_cancelled": _cancel_pending(session, number, now),
        "outbound_bodies": _null(
            session, OutboundMessage.body, OutboundMessage.to_number == number
        ),
        "private_texts": _null(
            session, OutboundMessage.private_body, OutboundMessage.to_number == number
        ),
        "inbound_texts": _null(session, InboundMessage.body, InboundMessage.from_number == number),
        "review_notes": _null(session, Review.note, Review.number == number),
        "request_digests": _null(
            session, OutboundMessage.request_digest, OutboundMessage.to_number == number
        ),
        "event_evidence": _erase_evidence(session, ConsentEventRow.number == number),
    }
    erasure = Erasure(number=number, at=now, actor=actor, reason="patient_request", counts=counts)
    session.add(erasure)
    session.flush()
    return erasure


def _cancel_pending(session: Session, number: str, now: dt.datetime) -> int:
    """A message not yet sent loses its text with the rest: it is blocked, never sent blank."""
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.to_number == number, OutboundMessage.status.in_(PENDING))
        .values(
            status="blocked", outcome="blocked", reason="erased", decided_at=now, updated_at=now
        )
    )
    return int(getattr(result, "rowcount", 0))


def _null(session: Session, column: Any, *where: Any) -> int:
    table = column.class_
    result = session.execute(
        update(table).where(*where, column.is_not(None)).values({column: None})
    )
    return int(getattr(result, "rowcount", 0))


def _erase_evidence(session: Session, *where: Any) -> int:
    rows = session.execute(select(ConsentEventRow).where(*where))
    changed = 0
    for row in rows.scalars():
        erased = erase_text(row.evidence)
        if erased != row.evidence:
            row.evidence, changed = erased, changed + 1
            # The column's type writes the new text canonical, whatever the old one was.
            row.evidence_canonical = True
    session.flush()
    return changed


def purge_older_than(session: Session, now: dt.datetime, days: int, actor: str) -> Erasure:
    """Retention: bodies and inbound texts older than `days` erased the same way as on a
    patient's request — including the copies in consent events' evidence. The events
    themselves are never purged (kept at least six years) and the chain still verifies."""
    cutoff = now - dt.timedelta(days=days)
    counts = {
        "outbound_bodies": _null(
            session,
            OutboundMessage.body,
            OutboundMessage.created_at < cutoff,
            OutboundMessage.status.not_in(PENDING),
        ),
        # A message that was never sent (blocked, failed) may still hold its private text.
        "private_texts": _null(
            session,
            OutboundMessage.private_body,
            OutboundMessage.created_at < cutoff,
            OutboundMessage.status.not_in(PENDING),
        ),
        "inbound_texts": _null(session, InboundMessage.body, InboundMessage.received_at < cutoff),
        "event_evidence": _erase_evidence(session, ConsentEventRow.occurred_at < cutoff),
        "cutoff": cutoff.isoformat(),
    }
    erasure = Erasure(number=None, at=now, actor=actor, reason="retention", counts=counts)
    session.add(erasure)
    session.flush()
    return erasure
