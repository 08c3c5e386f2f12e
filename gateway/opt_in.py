"""The hosted opt-in form and its double opt-in (SPEC §10): what a submitted form records, the
confirmation it queues, and the patient's YES that turns a pending request into a grant.

Takes the caller's session, never commits; the caller enqueues the confirmation after the
commit (the outbox, as POST /api/v1/messages does).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger, outbound
from gateway.domain.consent import Action, Event, Source, Status
from gateway.domain.keywords import Disclosure, JoinRules, KeywordRules, form_disclosure, join_text
from gateway.domain.phone import mask
from gateway.models import InboundMessage, OptInRequest, OutboundMessage
from gateway.services import Problem, record_consent

log = logging.getLogger(__name__)
ACTOR = "web_form"  # who queued the confirmation text


@dataclass(frozen=True)
class Form:
    """One submitted form, as the browser sent it and as the page showed it."""

    number: str  # E.164
    language: str  # the page's language: the disclosures and the texts follow it
    page_url: str
    ip: str
    user_agent: str
    ticked: frozenset[str]  # the boxes (categories needing a grant) the patient ticked
    submitted_at: dt.datetime


@dataclass(frozen=True)
class Submitted:
    events: tuple[Event, ...]  # the grants recorded now
    pending: tuple[str, ...]  # categories waiting for the patient's YES
    confirmation: OutboundMessage  # queued; enqueue it after the commit


def join_rules(rules: KeywordRules) -> JoinRules:
    if rules.join is None:
        raise Problem(404, "not_found", "the opt-in form is not set up (keywords.yml join:)")
    return rules.join


def shown(rules: KeywordRules, language: str) -> dict[str, Disclosure]:
    """What the form shows, per category, in the page's language (the form's order)."""
    join = join_rules(rules)
    found = {
        name: form_disclosure(join, rules.disclosures, name, language, rules.default_language)
        for name in join.disclosures
    }
    return {name: d for name, d in found.items() if d is not None}


def care_categories(rules: KeywordRules) -> tuple[str, ...]:
    """Entering the number agrees to these (they need no grant: care messages)."""
    return tuple(n for n in join_rules(rules).disclosures if not rules.categories[n].requires_grant)


def boxes(rules: KeywordRules) -> tuple[str, ...]:
    """Each of these is a separate box, unchecked by default (express written consent)."""
    return tuple(n for n in join_rules(rules).disclosures if rules.categories[n].requires_grant)


def submit(session: Session, rules: KeywordRules, form: Form, now: dt.datetime) -> Submitted:
    """Record the care grants with the form's evidence; a ticked box becomes a grant or, when
    its category needs double opt-in, a request waiting for YES; queue the confirmation."""
    join = join_rules(rules)
    disclosures = shown(rules, form.language)
    checkboxes = {name: name in form.ticked for name in boxes(rules)}
    events: list[Event] = []
    wanted = [*care_categories(rules), *(n for n in boxes(rules) if n in form.ticked)]
    later: list[str] = []
    for name in wanted:
        if name in join.double_opt_in:
            later.append(name)
            continue
        evidence = _evidence(form, disclosures[name], checkboxes)
        events.append(
            record_consent(
                session,
                rules,
                number=form.number,
                category=name,
                action=Action.GRANT,
                source=Source.WEB_FORM,
                evidence=evidence,
                actor=form.number,
                now=now,
            )
        )
    assert events, "keywords.yml join: always offers a care category (keyword_file checks it)"
    pending = tuple(
        name
        for name in later
        if ledger.current_status(session, form.number, name) is not Status.GRANTED
    )
    hours = dt.timedelta(hours=join.pending_hours)
    for name in pending:
        session.add(
            OptInRequest(
                number=form.number,
                category=name,
                form_event_id=events[0].id,
                disclosure_version=disclosures[name].version,
                disclosure_sha256=disclosures[name].sha256,
                language=form.language,
                requested_at=now,
                expires_at=now + hours,
            )
        )
    granted = tuple(e.category for e in events)
    message = _confirmation(session, rules, form, granted, pending, now)
    log.info("web form from %s: granted %s, pending %s", mask(form.number), granted, pending)
    return Submitted(tuple(events), pending, message)


def _evidence(form: Form, disclosure: Disclosure, checkboxes: Mapping[str, bool]) -> dict[str, Any]:
    """SPEC §4's web-form evidence: the page, who sent it, the exact words shown, the boxes."""
    return {
        "page_url": form.page_url,
        "ip": form.ip,
        "user_agent": form.user_agent,
        "language": form.language,
        "disclosure_version": disclosure.version,
        "disclosure_sha256": disclosure.sha256,
        "checkboxes": dict(checkboxes),
        "marketing_checked": checkboxes.get("marketing", False),
        "checkbox_unchecked_by_default": True,
        "submitted_at": form.submitted_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def _confirmation(
    session: Session,
    rules: KeywordRules,
    form: Form,
    granted: tuple[str, ...],
    pending: tuple[str, ...],
    now: dt.datetime,
) -> OutboundMessage:
    """The CTIA opt-in confirmation, a care message, from a number that carries the care
    category and (so the patient's YES reaches it) the pending ones, where one does."""
    key = "confirmation_pending" if pending else "confirmation"
    body = join_text(rules, form.language, key, granted, pending)
    category = care_categories(rules)[0]
    needed = {category, *pending}
    sender = next((n for n, s in rules.senders.items() if needed <= set(s.categories)), None)
    request = outbound.Request(
        to=form.number, category=category, body=body, actor=ACTOR, sender=sender
    )
    row, _ = outbound.submit(session, rules, request, now)
    return row


# --- the patient's YES ----------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    events: tuple[Event, ...]
    language: str


def confirm(
    session: Session,
    rules: KeywordRules,
    text: InboundMessage,
    already: tuple[str, ...],
    now: dt.datetime,
) -> Confirmed | None:
    """A YES/START from a number with an unexpired request grants what the form asked for,
    naming the form's event; None when nothing is pending (today's START rule applies alone).

    One indexed read for the webhook: this number's open, unexpired requests."""
    if rules.join is None:
        return None
    open_requests = list(
        session.execute(
            select(OptInRequest)
            .where(
                OptInRequest.number == text.from_number,
                OptInRequest.expires_at > text.received_at,
                OptInRequest.confirmed_event_id.is_(None),
            )
            .order_by(OptInRequest.requested_at.desc(), OptInRequest.id.desc())
        ).scalars()
    )
    newest: dict[str, OptInRequest] = {}
    for request in open_requests:
        newest.setdefault(request.category, request)
    events: list[Event] = []
    for name, request in newest.items():
        if name in already or name not in rules.categories or _stopped_since(session, request):
            continue
        event = _grant(session, text, request, now)
        events.append(event)
        for same in open_requests:
            if same.category == name:
                same.confirmed_event_id = event.id
    if not events:
        return None
    return Confirmed(tuple(events), newest[events[0].category].language)


def _stopped_since(session: Session, request: OptInRequest) -> bool:
    """A revocation recorded after the form (a STOP) withdrew the request: a later YES
    restores only what START does. (Event ids order recording.)"""
    return any(
        e.action is Action.REVOKE and e.id > request.form_event_id
        for e in ledger.history(session, request.number, request.category)
    )


def _grant(
    session: Session, text: InboundMessage, request: OptInRequest, now: dt.datetime
) -> Event:
    return ledger.append(
        session,
        number=text.from_number,
        category=request.category,
        action=Action.GRANT,
        source=Source.SMS_KEYWORD,
        actor=text.from_number,
        occurred_at=text.received_at,
        evidence={
            "inbound_sid": text.sid,
            "text": text.body,
            "to": text.to_number,
            "rule": text.rule,
            "opt_out_type": text.opt_out_type,
            # Double opt-in: the form's event and the words it showed for this category.
            "confirms_form_event": request.form_event_id,
            "disclosure_version": request.disclosure_version,
            "disclosure_sha256": request.disclosure_sha256,
            "requested_at": request.requested_at.astimezone(dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        },
        now=now,
    )


def confirmed_text(rules: KeywordRules, confirmed: Confirmed) -> str:
    names = tuple(e.category for e in confirmed.events)
    return join_text(rules, confirmed.language, "confirmed", names, ())
