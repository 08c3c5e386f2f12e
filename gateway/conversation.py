"""One patient's conversation with the clinic, as the patient simulator shows it: the patient's
texts (with what each did to the ledger), the automatic replies, and every message the clinic
queued for the number (with its decision), in time order. Takes the caller's session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import ConsentEventRow, InboundMessage, OutboundMessage

LIMIT = 100  # the newest texts and messages of each kind; a phone scrolls no further back
# Still moving: the simulator's page refreshes itself while a message is in one of these.
MOVING = frozenset({"queued", "sending"})


@dataclass(frozen=True)
class Change:
    """A ledger event one text caused."""

    event_id: int
    action: str  # grant | revoke
    category: str


@dataclass(frozen=True)
class Bubble:
    at: dt.datetime
    side: Literal["patient", "clinic"]
    kind: Literal["text", "reply", "message"]
    body: str | None  # None once erased (a patient's request, or retention)
    clinic: str | None  # the clinic number it went to or came from
    seq: str = ""  # orders bubbles of one instant: a text's id, a message's (time-sorted) id
    # A patient's text: how it was read and what it changed.
    intent: str | None = None
    rule: str | None = None
    changes: tuple[Change, ...] = ()
    # A message the clinic queued: its category, status and decision.
    message_id: str | None = None
    category: str | None = None
    status: str | None = None
    outcome: str | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = None
    until: dt.datetime | None = None
    notes: tuple[str, ...] = field(default=())


def conversation(session: Session, patient: str, limit: int = LIMIT) -> list[Bubble]:
    texts = list(
        session.execute(
            select(InboundMessage)
            .where(InboundMessage.from_number == patient)
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
            .limit(limit)
        ).scalars()
    )
    messages = session.execute(
        select(OutboundMessage)
        .where(OutboundMessage.to_number == patient)
        .order_by(OutboundMessage.id.desc())  # msg_ + ULID: sorts by time
        .limit(limit)
    ).scalars()
    changes = _changes(session, [i for t in texts for i in t.event_ids])
    bubbles = [b for t in texts for b in _from_text(t, changes)]
    bubbles += [_from_message(m) for m in messages]
    return sorted(bubbles, key=_in_order)[-limit:]


def _in_order(bubble: Bubble) -> tuple[dt.datetime, bool, str, bool]:
    """By time; within one instant, texts in the order they came, each before its reply,
    then the clinic's messages in the order they were queued."""
    return (bubble.at, bubble.kind == "message", bubble.seq, bubble.kind == "reply")


def moving(bubbles: Iterable[Bubble]) -> bool:
    """Is a message still on its way to a decision (queued, or being sent)?"""
    return any(b.status in MOVING for b in bubbles if b.kind == "message")


def _changes(session: Session, ids: list[int]) -> dict[int, Change]:
    if not ids:
        return {}
    rows = session.execute(select(ConsentEventRow).where(ConsentEventRow.id.in_(ids))).scalars()
    return {r.id: Change(r.id, r.action, r.category) for r in rows}


def _from_text(text: InboundMessage, changes: dict[int, Change]) -> list[Bubble]:
    found = tuple(changes[i] for i in text.event_ids if i in changes)
    bubbles = [
        Bubble(
            at=text.received_at,
            side="patient",
            kind="text",
            body=text.body,
            clinic=text.to_number,
            seq=f"{text.id:012d}",
            intent=text.intent,
            rule=text.rule,
            changes=found,
            notes=(text.note,) if text.note else (),
        )
    ]
    if text.reply:
        at = text.replied_at or text.received_at
        bubbles.append(Bubble(at, "clinic", "reply", text.reply, text.to_number, f"{text.id:012d}"))
    return bubbles


def _from_message(message: OutboundMessage) -> Bubble:
    return Bubble(
        at=message.created_at,
        side="clinic",
        kind="message",
        body=message.body,
        clinic=message.sender or message.requested_sender,
        seq=message.id,
        message_id=message.id,
        category=message.category,
        status=message.status,
        outcome=message.outcome,
        reason=message.reason,
        decided_at=message.decided_at,
        until=message.until,
    )
