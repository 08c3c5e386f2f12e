"""An inbound text, from webhook parameters to ledger events and a reply (SPEC §5).

One pass in the caller's transaction, no queue: the STOP path never touches Redis.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway import ledger, opt_in
from gateway.domain import preference_link
from gateway.domain.calendar import add_business_days
from gateway.domain.consent import Action, Event, Source, Status, may_send, restorable
from gateway.domain.keywords import (
    Classification,
    Intent,
    KeywordRules,
    classify,
    compose_reply,
    scoped_categories,
)
from gateway.domain.phone import InvalidPhone, Phone, mask
from gateway.models import InboundMessage, OutboundMessage, Review
from gateway.preferences import Links

log = logging.getLogger(__name__)

REVIEW_BUSINESS_DAYS = 10  # FCC 24-24: honour a revocation within 10 business days
# Twilio delivers at most 1,600 characters; four times that leaves room for a carrier's
# concatenation oddities and still bounds what the row, the ledger's evidence and the
# classifier (which reads at most twice Twilio's limit) are handed. Longer is cut and noted.
MAX_BODY = 1600 * 4
NOTE_LENGTH = 200  # InboundMessage.note


@dataclass(frozen=True)
class Inbound:
    sid: str
    from_number: str
    to_number: str
    body: str
    opt_out_type: str | None = None
    received_at: dt.datetime | None = None  # set when replayed from the journal


def handle(
    session: Session,
    rules: KeywordRules,
    message: Inbound,
    now: dt.datetime,
    region: str,
    links: Links | None = None,
) -> InboundMessage:
    """Store, classify, apply, decide the reply. A retried MessageSid changes nothing.

    A journaled or backfilled text (received_at set) counts from when Twilio delivered it —
    the events occurred then — but is recorded now, and its reply is not recorded as sent:
    that moment has passed (the webhook answered Twilio with nothing).

    With `links` (PREFERENCE_LINKS on), a HELP reply that is sent ends with a new signed link
    to the patient's preference page; nothing else pays for it."""
    received = message.received_at or now
    seen = session.execute(select(InboundMessage).where(InboundMessage.sid == message.sid))
    if (row := seen.scalar_one_or_none()) is not None:
        return row
    length = len(message.body)
    if length > MAX_BODY:
        message = replace(message, body=message.body[:MAX_BODY])
    try:
        sender = Phone.parse(message.from_number, region).e164
        clinic = Phone.parse(message.to_number, region).e164
    except InvalidPhone:
        return _cut_noted(_store_unusable(session, message, received), length)
    asked = _question_pending(session, rules, sender, clinic, received)
    found = classify(message.body, rules, message.opt_out_type, asked.answers if asked else None)
    categories = scoped_categories(found, rules, clinic, received.date())
    row = _cut_noted(_store(session, message, sender, clinic, found, categories, received), length)
    if found.intent is Intent.ANSWER and asked is not None:
        row.answer, row.answer_to = found.answer, asked.message_id
    ledger.lock_number(session, sender, now)
    changed = _apply(session, rules, row, found, categories, now)
    confirmed = None
    if found.intent is Intent.OPT_IN:  # a YES may confirm a web form's double opt-in
        confirmed = opt_in.confirm(session, rules, row, tuple(e.category for e in changed), now)
        changed += confirmed.events if confirmed else ()
    row.event_ids = [e.id for e in changed]
    row.reply = _reply(session, rules, row, found, changed, now, confirmed)
    if row.reply and message.received_at is not None:
        row.reply = None
        _add_note(row, "late: no automatic reply was sent")
    if row.reply and links is not None and found.intent is Intent.HELP:
        row.reply = _with_link(session, rules, row, links, now)
    row.replied_at = now if row.reply else None
    if found.intent is Intent.REVIEW:
        _open_review(session, row, found, received)
    session.flush()
    log.info(
        "inbound %s from %s: %s %s events=%s reply=%s",
        message.sid,
        mask(sender),
        found.intent,
        ",".join(categories) or "-",
        len(changed),
        bool(row.reply),
    )
    return row


@dataclass(frozen=True)
class Question:
    """Our last text to the number asked a question: the answers it expects (SPEC §5.8)."""

    message_id: str
    answers: dict[str, str]


def _question_pending(
    session: Session, rules: KeywordRules, number: str, clinic: str, received: dt.datetime
) -> Question | None:
    """The latest message we sent this number from `clinic` within the answer window, when its
    template asks for answers ("Reply C to confirm or NO to cancel")."""
    if not asks_questions(rules):
        return None
    since = received - dt.timedelta(hours=rules.answer_window_hours)
    latest = session.execute(
        select(OutboundMessage.id, OutboundMessage.template, OutboundMessage.sender)
        .where(
            OutboundMessage.to_number == number,
            OutboundMessage.sent_at >= since,
            OutboundMessage.sent_at <= received,
        )
        .order_by(OutboundMessage.sent_at.desc(), OutboundMessage.id.desc())
        .limit(1)
    ).first()
    found = (latest.id, latest.template, latest.sender) if latest is not None else None
    return question_of(rules, clinic, found)


def asks_questions(rules: KeywordRules) -> bool:
    return any(t.answers for t in rules.templates.values())


def question_of(
    rules: KeywordRules, clinic: str, latest: tuple[str, str | None, str | None] | None
) -> Question | None:
    """The question our latest message (id, template, sender) to the number asked, if any."""
    if latest is None:
        return None
    message_id, template_name, sender = latest
    if sender not in (clinic, None) or template_name is None:
        return None
    template = rules.templates.get(template_name)
    if template is None or not template.answers:
        return None
    return Question(message_id, dict(template.answers))


def store_if_new(
    session: Session, rules: KeywordRules, message: Inbound, now: dt.datetime, region: str
) -> bool:
    """Backfill and replay: handle the text unless its MessageSid is already stored."""
    seen = session.execute(select(InboundMessage.id).where(InboundMessage.sid == message.sid))
    if seen.first() is not None:
        return False
    handle(session, rules, message, now, region)
    return True


def _store(
    session: Session,
    message: Inbound,
    sender: str,
    clinic: str,
    found: Classification,
    categories: tuple[str, ...],
    now: dt.datetime,
) -> InboundMessage:
    row = InboundMessage(
        sid=message.sid,
        from_number=sender,
        to_number=clinic,
        body=message.body,
        opt_out_type=message.opt_out_type,
        received_at=now,
        intent=found.intent.value,
        categories=list(categories),
        language=found.language,
        rule=found.rule,
        event_ids=[],
    )
    session.add(row)
    session.flush()
    return row


def _cut_noted(row: InboundMessage, length: int) -> InboundMessage:
    """A text longer than MAX_BODY is kept cut, and says so: on the row, and in the log (its
    length, never its words)."""
    if length > MAX_BODY:
        _add_note(row, f"truncated: {length} characters received, the first {MAX_BODY} kept")
        log.warning(
            "inbound %s from %s: %d characters, over Twilio's 1600; the first %d kept",
            row.sid,
            mask(row.from_number),
            length,
            MAX_BODY,
        )
    return row


def _add_note(row: InboundMessage, note: str) -> None:
    row.note = note if not row.note else f"{row.note}; {note}"[:NOTE_LENGTH]


def _store_unusable(session: Session, message: Inbound, now: dt.datetime) -> InboundMessage:
    """SPEC §3: an unparsable number on a webhook is recorded and ignored, never a 500."""
    row = InboundMessage(
        sid=message.sid,
        from_number=message.from_number[:40],
        to_number=message.to_number[:40],
        body=message.body,
        opt_out_type=message.opt_out_type,
        received_at=now,
        intent=Intent.NONE.value,
        categories=[],
        language="",
        rule="invalid_phone",
        event_ids=[],
        note="invalid_phone",
    )
    session.add(row)
    session.flush()
    log.warning("inbound %s from an invalid number %s: ignored", message.sid, mask(row.from_number))
    return row


def _apply(
    session: Session,
    rules: KeywordRules,
    row: InboundMessage,
    found: Classification,
    categories: tuple[str, ...],
    now: dt.datetime,
) -> list[Event]:
    if found.intent is Intent.OPT_OUT:
        todo = [
            c
            for c in categories
            if ledger.current_status(session, row.from_number, c) is not Status.REVOKED
        ]
        return [_record(session, row, c, Action.REVOKE, now) for c in todo]
    if found.intent is Intent.OPT_IN:
        todo = [
            c
            for c in categories
            if restorable(
                ledger.history(session, row.from_number, c), rules.categories[c].requires_grant
            )
        ]
        return [_record(session, row, c, Action.GRANT, now) for c in todo]
    return []


def _record(
    session: Session, row: InboundMessage, category: str, action: Action, now: dt.datetime
) -> Event:
    return ledger.append(
        session,
        number=row.from_number,
        category=category,
        action=action,
        source=Source.SMS_KEYWORD,
        actor=row.from_number,
        occurred_at=row.received_at,
        evidence=keyword_evidence(row.sid, row.body, row.to_number, row.rule, row.opt_out_type),
        now=now,
    )


def keyword_evidence(
    sid: str, body: str | None, to: str, rule: str, opt_out_type: str | None
) -> dict[str, Any]:
    """What a keyword's consent event keeps of the text that made it."""
    return {"inbound_sid": sid, "text": body, "to": to, "rule": rule, "opt_out_type": opt_out_type}


def _reply(
    session: Session,
    rules: KeywordRules,
    row: InboundMessage,
    found: Classification,
    changed: list[Event],
    now: dt.datetime,
    confirmed: opt_in.Confirmed | None = None,
) -> str | None:
    text, note = decide_reply(
        rules,
        row.to_number,
        found,
        tuple(e.category for e in changed),
        lambda name: ledger.current_status(session, row.from_number, name),
        lambda: _replies_last_hour(session, row.from_number, now),
        confirmed,
    )
    if note:
        _add_note(row, note)
    return text


def decide_reply(
    rules: KeywordRules,
    to_number: str,
    found: Classification,
    changed: tuple[str, ...],
    status: Callable[[str], Status],
    replies_last_hour: Callable[[], int],
    confirmed: opt_in.Confirmed | None = None,
) -> tuple[str | None, str | None]:
    """The automatic reply, and a note when one was owed but not sent: `changed` are the
    categories this text changed, `status` a category's state after it, `replies_last_hour`
    asked only when the cap may apply."""
    if found.intent is Intent.OPT_IN and not changed:
        return None, None  # "YES" to a reminder is not an opt-in, and gets no confirmation
    continuing = tuple(
        name
        for name, rule in rules.categories.items()
        if may_send(status(name), rule.requires_grant)
    )
    text = (
        opt_in.confirmed_text(rules, confirmed)
        if confirmed is not None
        else compose_reply(rules, found.language, found.intent, changed, continuing)
    )
    if text is None:
        return None, None
    sender = rules.senders.get(to_number)
    if sender is not None and sender.carrier_replies and found.standard:
        return None, None  # the carrier (or Advanced Opt-Out) answers the standard keywords
    if found.intent is Intent.OPT_OUT and changed:
        # The one confirmation of a new opt-out is owed whatever came before (FCC
        # §64.1200(a)(12)); no loop runs through it, since an opt-out already in force has no
        # reply at all (compose_reply above) and the START that would re-arm it stays capped.
        return text, None
    if replies_last_hour() >= rules.reply_cap_per_hour:
        return None, "reply_cap"  # auto-responder loops: a number of replies per hour at most
    return text, None


def _with_link(
    session: Session, rules: KeywordRules, row: InboundMessage, links: Links, now: dt.datetime
) -> str:
    language = row.language if row.language in rules.replies else rules.default_language
    link = links.issue(session, row.from_number, language, row.sid, now)
    return f"{row.reply} {preference_link.lead(language, link)}"


def _replies_last_hour(session: Session, number: str, now: dt.datetime) -> int:
    query = select(func.count(InboundMessage.id)).where(
        InboundMessage.from_number == number,
        InboundMessage.replied_at >= now - dt.timedelta(hours=1),
    )
    return int(session.execute(query).scalar_one())


def review_due(received_at: dt.datetime) -> dt.datetime:
    due = add_business_days(received_at.date(), REVIEW_BUSINESS_DAYS)
    return dt.datetime.combine(due, dt.time(23, 59, 59), tzinfo=dt.UTC)


def _open_review(
    session: Session, row: InboundMessage, found: Classification, now: dt.datetime
) -> None:
    session.add(
        Review(
            inbound_id=row.id,
            number=row.from_number,
            received_at=now,
            due_at=review_due(now),
            status="open",
            kind=found.review or "opt_out",
            why=found.why[:200] or None,
            event_ids=[],
        )
    )
