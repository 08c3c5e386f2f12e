"""Is the number still the patient's? (FCC §64.1200(m), SPEC §10.) The checks on record, the
question a marketing message needs answered before it goes, and what an answer does.

The worker asks in three steps so that no lock is held while the provider answers:
`question` (a read), `ask` (the network call, no transaction), `record` (its own short
transaction: every query and answer is kept, whatever happens to the message next); then
`screen`, inside the locked send-time decision, applies the recorded answer. Takes the
caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session

from gateway import decision, ledger, preference_links
from gateway.domain import policy
from gateway.domain.consent import Action, Event, Source
from gateway.domain.keywords import KeywordRules
from gateway.domain.phone import mask
from gateway.domain.reassigned import (
    KNOWN_THEIRS,
    Outcome,
    asked_date,
    due,
    last_known,
    verdict,
)
from gateway.models import ConsentEventRow, NumberCheck, OutboundMessage
from gateway.ports import CheckError, ReassignedNumbers

log = logging.getLogger(__name__)

# Events that say nothing about who holds the number now: our own reassigned revoke, the
# carrier's report of a STOP (whoever holds the number sent it), and an admin's correction of a
# record (issue 10's amendments: staff fixing paperwork, not the patient in touch).
NOT_CONTACT = (Source.REASSIGNED.value, Source.CARRIER_BLOCK.value, "correction")
MAX_NOTE = 2000


def _from_the_join_form() -> ColumnElement[bool]:
    """The /join form's own events, marked by the `checkboxes` only its evidence carries
    (opt_in._evidence): anyone can type any number into it, so they show nothing about who
    holds the number. The patient's YES confirming it (sms_keyword) does, and so does the
    preference page (its link came to the phone)."""
    return and_(
        ConsentEventRow.source == Source.WEB_FORM.value,
        ConsentEventRow.evidence["checkboxes"].as_string().is_not(None),
    )


def last_verified(
    session: Session, number: str, *, excluding: int | None = None
) -> dt.datetime | None:
    """When the number was last known to be the patient's: its latest consent event (not the
    /join form's), a front-desk "verified", or a database answer "not reassigned" (a "no"
    keeps its date).
    `excluding`: a check to leave out (the one being applied)."""
    event_at = session.execute(
        select(func.max(ConsentEventRow.occurred_at)).where(
            ConsentEventRow.number == number,
            ConsentEventRow.source.not_in(NOT_CONTACT),
            not_(_from_the_join_form()),
        )
    ).scalar_one_or_none()
    theirs = NumberCheck.outcome.in_([o.value for o in KNOWN_THEIRS])
    query = select(func.max(NumberCheck.at)).where(NumberCheck.number == number, theirs)
    if excluding is not None:
        query = query.where(NumberCheck.id != excluding)
    check_at = session.execute(query).scalar_one_or_none()
    return last_known([event_at, check_at])


@dataclass(frozen=True)
class Question:
    number: str
    last_verified: dt.date  # the date asked about
    message_id: str


def question(
    session: Session, rules: KeywordRules, message_id: str, now: dt.datetime, days: int
) -> Question | None:
    """The check a claimed message needs before it may go, if any: marketing that would be
    sent now, to a number not verified within `days`. Read without a lock; `screen` asks the
    same under the lock."""
    msg = session.get(OutboundMessage, message_id)
    if msg is None or msg.status != "sending" or msg.body is None:
        return None
    if not rules.categories[msg.category].requires_grant:
        return None
    if msg.send_at is not None and msg.send_at > now:
        return None
    if decision.decide(session, rules, msg, now).outcome is not policy.Outcome.SEND:
        return None  # nothing would go: no paid question
    return _due(session, msg.to_number, msg.id, now, days)


def _due(
    session: Session,
    number: str,
    message_id: str,
    now: dt.datetime,
    days: int,
    excluding: int | None = None,
) -> Question | None:
    last = last_verified(session, number, excluding=excluding)
    return Question(number, asked_date(last), message_id) if due(last, now, days) else None


@dataclass(frozen=True)
class Asked:
    question: Question
    outcome: Outcome
    evidence: dict[str, Any]


def ask(numbers: ReassignedNumbers | None, q: Question) -> Asked:
    """The network call; no session, no lock. No provider (dry-run): skipped, and said so."""
    if numbers is None:
        return Asked(q, Outcome.SKIPPED, {"skipped": "dry-run: no Twilio credentials"})
    try:
        answer = numbers.check(q.number, q.last_verified)
    except CheckError as exc:
        evidence = {"error": str(exc)[:300], "code": exc.code, "permanent": exc.permanent}
        return Asked(q, Outcome.ERROR, evidence)
    return Asked(q, verdict(answer, q.last_verified), {"answer": dict(answer.raw)})


def record(session: Session, asked: Asked, now: dt.datetime) -> NumberCheck:
    """Keep the query and its answer (the safe-harbor defence). The message's claim is
    renewed: its worker is alive, only slowed by the question."""
    q = asked.question
    row = NumberCheck(
        number=q.number,
        at=now,
        outcome=asked.outcome.value,
        last_verified=q.last_verified,
        actor="worker",
        message_id=q.message_id,
        evidence=asked.evidence,
    )
    session.add(row)
    msg = session.get(OutboundMessage, q.message_id)
    if msg is not None and msg.status == "sending":
        msg.updated_at = now
    session.flush()
    log.info("number %s: reassigned check %s", mask(q.number), asked.outcome.value)
    return row


def verified(
    session: Session, number: str, *, staff: str, note: str | None, now: dt.datetime
) -> NumberCheck:
    """The front desk confirmed, with the patient, that the number is still theirs. Not a
    consent change: it only restarts the REASSIGNED_CHECK_DAYS clock."""
    row = NumberCheck(
        number=number,
        at=now,
        outcome=Outcome.VERIFIED.value,
        actor=staff,
        evidence={"note": note} if note else {},
    )
    session.add(row)
    session.flush()
    return row


def checks(session: Session, number: str, limit: int = 50) -> list[NumberCheck]:
    """The number's checks, newest first."""
    query = select(NumberCheck).where(NumberCheck.number == number)
    return list(session.execute(query.order_by(NumberCheck.id.desc()).limit(limit)).scalars())


class Unasked(Exception):
    """Under the lock the number needs a check the worker did not make (the state moved
    between the look and the lock): nothing was decided; ask and try again."""


@dataclass(frozen=True)
class Screened:
    block: policy.Decision | None = None  # the number changed hands: block, not send
    failed: NumberCheck | None = None  # the provider gave no answer: marketing waits


def screen(
    session: Session,
    rules: KeywordRules,
    msg: OutboundMessage,
    check_id: int | None,
    now: dt.datetime,
    days: int,
) -> Screened:
    """Under the number's lock, for marketing the rule would send: apply the recorded answer.
    Raises Unasked when a check is due and this message's was not made for it."""
    q = _due(session, msg.to_number, msg.id, now, days, excluding=check_id)
    if q is None:
        msg.reassigned_check = None
        return Screened()
    row = session.get(NumberCheck, check_id) if check_id is not None else None
    if row is None or row.message_id != msg.id or row.last_verified != q.last_verified:
        raise Unasked(f"message {msg.id}: its number needs a reassigned check")
    msg.reassigned_check = summary(row)
    outcome = Outcome(row.outcome)
    if outcome is Outcome.ERROR:
        return Screened(failed=row)
    if outcome is Outcome.REASSIGNED:
        events = revoke_everything(session, rules, msg, row, now)
        event_id = next((e.id for e in events if e.category == msg.category), None)
        block = policy.Decision(policy.Outcome.BLOCK, policy.Reason.REASSIGNED, event_id=event_id)
        return Screened(block=block)
    return Screened()


def revoke_everything(
    session: Session, rules: KeywordRules, msg: OutboundMessage, row: NumberCheck, now: dt.datetime
) -> list[Event]:
    """Every category, even one already revoked: a STOP of the previous holder's would
    otherwise be the latest revoke, and the new holder's START would restore that holder's
    consent. The answer and the check's id are the evidence."""
    evidence = {
        "check_id": row.id,
        "asked_about": row.last_verified.isoformat() if row.last_verified else None,
        "answer": row.evidence.get("answer"),
        "message_id": msg.id,
    }
    events = [
        ledger.append(
            session,
            number=msg.to_number,
            category=category,
            action=Action.REVOKE,
            source=Source.REASSIGNED,
            actor="reassigned-numbers-database",
            evidence=evidence,
            now=now,
        )
        for category in rules.categories
    ]
    # A preference link texted to the previous holder must not change the new holder's texts.
    preference_links.revoke_links(session, msg.to_number, now)
    log.warning("number %s was reassigned: every category revoked", mask(msg.to_number))
    return events


def summary(row: NumberCheck) -> dict[str, Any]:
    """The check as a message's decision shows it."""
    return {
        "id": row.id,
        "outcome": row.outcome,
        "ran": row.outcome != Outcome.SKIPPED.value,
        "asked_at": row.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "last_verified": row.last_verified.isoformat() if row.last_verified else None,
    }
