"""What the front desk looks up: a number's consent and its texts both ways, the outbox, the
review queue. Reads only; takes the caller's session and never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.consent import Event, Status, may_send, status_of
from gateway.domain.keywords import KeywordRules
from gateway.domain.restriction import NO_PHI_BY_TEXT
from gateway.models import InboundMessage, OutboundMessage, Review

RECENT = 20  # texts each way on a number's page


@dataclass(frozen=True)
class Consent:
    """One category's state for a number, and the event that set it."""

    category: str
    status: Status
    may_send: bool
    requires_grant: bool
    event: Event | None


def consent_of(session: Session, rules: KeywordRules, number: str) -> list[Consent]:
    in_force = ledger.current(session, number)
    found = []
    for name, rule in rules.categories.items():
        event = in_force.get(name)
        status = status_of(event)
        found.append(
            Consent(name, status, may_send(status, rule.requires_grant), rule.requires_grant, event)
        )
    return found


def restriction_of(session: Session, number: str) -> Event | None:
    """The number's no_phi_by_text event in force (HIPAA §164.522(b)), if any."""
    return ledger.current(session, number).get(NO_PHI_BY_TEXT)


def recent_inbound(session: Session, number: str, limit: int = RECENT) -> list[InboundMessage]:
    query = (
        select(InboundMessage)
        .where(InboundMessage.from_number == number)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
    )
    return list(session.execute(query.limit(limit)).scalars())


def recent_outbound(session: Session, number: str, limit: int = RECENT) -> list[OutboundMessage]:
    query = (
        select(OutboundMessage)
        .where(OutboundMessage.to_number == number)
        .order_by(OutboundMessage.id.desc())
    )
    return list(session.execute(query.limit(limit)).scalars())


@dataclass(frozen=True)
class Outbox:
    """Filters of the outbox page; `before` is the last id of the previous page."""

    status: str | None = None
    reason: str | None = None
    category: str | None = None
    to: str | None = None
    before: str | None = None


def outbox(session: Session, f: Outbox, limit: int) -> list[OutboundMessage]:
    """Newest first (ids sort by time); a page is stable while new messages arrive."""
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    for column, value in (
        (OutboundMessage.status, f.status),
        (OutboundMessage.reason, f.reason),
        (OutboundMessage.category, f.category),
        (OutboundMessage.to_number, f.to),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.before is not None:
        query = query.where(OutboundMessage.id < f.before)
    return list(session.execute(query.limit(limit)).scalars())


@dataclass(frozen=True)
class Queued:
    review: Review
    inbound: InboundMessage
    overdue: bool


def review_queue(
    session: Session, *, status: str, now: dt.datetime, offset: int, limit: int
) -> list[Queued]:
    """Open items by due date, the most urgent first; resolved ones, the latest first."""
    query = (
        select(Review, InboundMessage)
        .join(InboundMessage, InboundMessage.id == Review.inbound_id)
        .where(Review.status == status)
    )
    if status == "open":
        query = query.order_by(Review.due_at, Review.id)
    else:
        query = query.order_by(Review.resolved_at.desc(), Review.id.desc())
    rows = session.execute(query.offset(offset).limit(limit))
    return [
        Queued(review, inbound, review.status == "open" and now > review.due_at)
        for review, inbound in rows
    ]
