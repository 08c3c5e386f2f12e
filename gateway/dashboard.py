"""What the dashboard shows: opt-outs and opt-ins per day, messages by outcome, the review
queue's age. Read-only aggregates; takes the caller's session and the clinic's clock and zone.

Days are the clinic's days (CLINIC_TIMEZONE), not UTC's: a STOP at 9 pm in New York belongs to
that evening, not to the next UTC day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models import ConsentEventRow, OutboundMessage, Review

DAYS = 30


@dataclass(frozen=True)
class Day:
    """One clinic-local day: how many numbers opted out of (revoked) or into (granted)
    anything. A STOP that revokes two categories is one opt-out: one patient asked once."""

    day: dt.date
    opt_outs: int
    opt_ins: int


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    kind: str  # sent, dry_run, blocked, deferred, failed, waiting, unknown, review: its colour


@dataclass(frozen=True)
class Queue:
    """The open reviews: FCC 24-24 gives staff 10 business days to honour an opt-out."""

    open: int
    overdue: int
    oldest: dt.datetime | None
    ages: list[Bar]


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def consent_by_day(
    session: Session, now: dt.datetime, tz: dt.tzinfo, days: int = DAYS
) -> list[Day]:
    """The last `days` clinic-local days up to today, oldest first, every day present."""
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=days - 1)
    query = select(ConsentEventRow.occurred_at, ConsentEventRow.action, ConsentEventRow.number)
    query = query.where(
        ConsentEventRow.occurred_at >= local_midnight(first, tz),
        ConsentEventRow.occurred_at < local_midnight(today + dt.timedelta(days=1), tz),
    )
    seen = {
        (at.astimezone(tz).date(), action, number)
        for at, action, number in session.execute(query.execution_options(yield_per=1000))
    }
    counts = Counter((day, action) for day, action, _ in seen)
    span = (first + dt.timedelta(days=i) for i in range(days))
    return [Day(d, counts[(d, "revoke")], counts[(d, "grant")]) for d in span]


# What a status means to the clinic, in the order the chart lists them.
KINDS = {
    "sent": ("sent", "Sent or delivered"),
    "delivered": ("sent", "Sent or delivered"),
    "dry_run": ("dry_run", "Dry run (not handed to Twilio)"),
    "blocked": ("blocked", "Blocked"),
    "deferred": ("deferred", "Deferred"),
    "failed": ("failed", "Failed"),
    "undelivered": ("failed", "Failed"),
    "queued": ("waiting", "Waiting to send"),
    "sending": ("waiting", "Waiting to send"),
    "unknown": ("unknown", "Unknown (no answer from Twilio)"),
}
ORDER = ("sent", "dry_run", "blocked", "deferred", "failed", "waiting", "unknown")
REASONS = {
    "no_consent": "no consent",
    "opted_out": "opted out",
    "no_sender": "no sender",
    "quiet_hours": "quiet hours",
    "frequency_cap": "frequency cap",
    "invalid_number": "invalid number",
    "carrier_block": "carrier block",
    "provider_error": "provider error",
    "erased": "erased",
    "reassigned": "reassigned",
    "restricted": "restricted",
    "send_at": "scheduled",
}


def messages_by_outcome(session: Session, now: dt.datetime, days: int = DAYS) -> list[Bar]:
    """Messages created in the last `days` days by where they stand now; blocked and
    deferred split by their reason (the question is always "why not sent?")."""
    query = (
        select(OutboundMessage.status, OutboundMessage.reason, func.count())
        .where(OutboundMessage.created_at >= now - dt.timedelta(days=days))
        .group_by(OutboundMessage.status, OutboundMessage.reason)
    )
    counts: Counter[tuple[str, str]] = Counter()
    for status, reason, n in session.execute(query):
        kind, label = KINDS.get(status, ("unknown", status))
        if kind in ("blocked", "deferred"):
            label = f"{label}: {REASONS.get(reason or '', reason or 'no reason')}"
        counts[(kind, label)] += n
    return [
        Bar(label, n, kind)
        for (kind, label), n in sorted(
            counts.items(), key=lambda i: (ORDER.index(i[0][0]), i[0][1])
        )
    ]


# Ages in whole days since the text arrived; the last bucket is past the 10 business days.
AGES = (
    (0, "Under 1 day"),
    (1, "1–2 days"),
    (3, "3–6 days"),
    (7, "7–13 days"),
    (14, "14 days or more"),
)


def review_queue(session: Session, now: dt.datetime) -> Queue:
    query = select(Review.received_at, Review.due_at).where(Review.status == "open")
    rows = session.execute(query).all()
    ages: Counter[str] = Counter()
    for received_at, _ in rows:
        waited = max((now - received_at).days, 0)
        ages[next(label for floor, label in reversed(AGES) if waited >= floor)] += 1
    return Queue(
        open=len(rows),
        overdue=sum(1 for _, due_at in rows if now > due_at),
        oldest=min((received_at for received_at, _ in rows), default=None),
        ages=[Bar(label, ages[label], "review") for _, label in AGES],
    )
