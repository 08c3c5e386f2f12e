"""The hosted opt-in form and its double opt-in (SPEC §10): what a submitted form records, the
confirmation it queues, and the patient's YES that turns a pending request into a grant.

Takes the caller's session, never commits; the caller enqueues the confirmation after the
commit (the outbox, as POST /api/v1/messages does).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway import ledger, outbound
from gateway.domain.consent import Action, Event, Source, Status, patient_revocation_in_force
from gateway.domain.keywords import (
    Disclosure,
    Intent,
    JoinRules,
    KeywordRules,
    form_disclosure,
    join_text,
)
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
    # Queued (enqueue it after the commit); None when the care category waits for the phone.
    confirmation: OutboundMessage | None


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


def submit(
    session: Session, rules: KeywordRules, form: Form, now: dt.datetime, texts_per_day: int = 5
) -> Submitted:
    """Record the care grants with the form's evidence; a ticked box becomes a grant or, when
    its category needs double opt-in, a request waiting for YES; queue the confirmation.

    A category whose revocation by the patient (or a wrong-number or reassigned revoke) is in
    force is not granted but waits for YES/START from the phone like double opt-in: anyone
    can type a number into the form, and only the patient lifts the patient's own STOP (SPEC
    §4). Then no confirmation is queued: the patient asked us to stop, and Twilio refuses
    texts to a number that texted STOP until it texts START (21610). What the visitor sees
    does not depend on any of this (web/public/join.py), nor on `texts_per_day`, the most
    confirmations one number gets from forms in 24 hours (past it: recorded, not texted)."""
    join = join_rules(rules)
    disclosures = shown(rules, form.language)
    checkboxes = {name: name in form.ticked for name in boxes(rules)}
    wanted = [*care_categories(rules), *(n for n in boxes(rules) if n in form.ticked)]
    # The number's lock first: a STOP arriving meanwhile is seen here or waits for us.
    ledger.lock_number(session, form.number, now)
    held = [n for n in wanted if n in join.double_opt_in or _lift_needed(session, form, n, now)]
    events = [
        record_consent(
            session,
            rules,
            number=form.number,
            category=name,
            action=Action.GRANT,
            source=Source.WEB_FORM,
            evidence={**_form_evidence(form, checkboxes), **_shown(disclosures[name])},
            actor=form.number,
            now=now,
        )
        for name in wanted
        if name not in held
    ]
    pending = tuple(
        name
        for name in held
        if ledger.current_status(session, form.number, name) is not Status.GRANTED
    )
    hours = dt.timedelta(hours=join.pending_hours)
    for name in pending:
        session.add(
            OptInRequest(
                number=form.number,
                category=name,
                form_event_id=events[0].id if events else None,
                form_evidence=_form_evidence(form, checkboxes),
                disclosure_version=disclosures[name].version,
                disclosure_sha256=disclosures[name].sha256,
                language=form.language,
                requested_at=now,
                expires_at=now + hours,
            )
        )
    granted = tuple(e.category for e in events)
    message = None
    if care_categories(rules)[0] not in granted:
        pass  # it waits for the phone's START: no text to a number that asked us to stop
    elif _texts_today(session, form, now) < texts_per_day:
        message = _confirmation(session, rules, form, granted, pending, now)
    else:
        log.warning("web form for %s: daily confirmation texts reached", mask(form.number))
    log.info("web form from %s: granted %s, pending %s", mask(form.number), granted, pending)
    return Submitted(tuple(events), pending, message)


def _texts_today(session: Session, form: Form, now: dt.datetime) -> int:
    """Confirmations queued to the number in the last 24 hours (to_number is indexed)."""
    query = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.to_number == form.number,
        OutboundMessage.created_by == ACTOR,
        OutboundMessage.created_at > now - dt.timedelta(hours=24),
    )
    return int(session.execute(query).scalar_one())


def _lift_needed(session: Session, form: Form, category: str, now: dt.datetime) -> bool:
    """The patient's own revocation of the category is in force: the form may not lift it."""
    history = ledger.history(session, form.number, category)
    return patient_revocation_in_force(history, now) is not None


def _form_evidence(form: Form, checkboxes: Mapping[str, bool]) -> dict[str, Any]:
    """SPEC §4's web-form evidence: the page, who sent it, the boxes. `checkboxes` marks the
    /join form's own events (number_checks.last_verified leaves them out)."""
    return {
        "page_url": form.page_url,
        "ip": form.ip,
        "user_agent": form.user_agent,
        "language": form.language,
        "checkboxes": dict(checkboxes),
        "marketing_checked": checkboxes.get("marketing", False),
        "checkbox_unchecked_by_default": True,
        "submitted_at": form.submitted_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def _shown(disclosure: Disclosure) -> dict[str, Any]:
    """The exact words shown for the category."""
    return {"disclosure_version": disclosure.version, "disclosure_sha256": disclosure.sha256}


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
    sender = _carrying(rules, {category, *pending})
    # Its private text is its body: it carries no health details, so a patient who asked for
    # none by text (no_phi_by_text) still gets it and can finish the double opt-in.
    request = outbound.Request(
        to=form.number, category=category, body=body, actor=ACTOR, sender=sender, private_body=body
    )
    row, _ = outbound.submit(session, rules, request, now)
    return row


def _carrying(rules: KeywordRules, categories: set[str]) -> str | None:
    return next((n for n, s in rules.senders.items() if categories <= set(s.categories)), None)


def start_number(rules: KeywordRules, asked: Iterable[str]) -> str | None:
    """The clinic number to text START (or YES) to for what a form asked: the one carrying the
    care category and the asked ones where one does, else one carrying the care category."""
    care = care_categories(rules)[0]
    return _carrying(rules, {care, *asked}) or _carrying(rules, {care})


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
    Only the categories the number it was sent to carries, as START's `sender` scope: a YES to
    the care number confirms no marketing.

    Two indexed reads, on the YES path only: this number's open, unexpired requests, and its
    opt-out texts since the oldest of them (a STOP withdraws a request)."""
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
    carried = rules.sender_categories(text.to_number)
    newest: dict[str, OptInRequest] = {}
    for request in open_requests:
        if request.category in carried and request.category in rules.categories:
            newest.setdefault(request.category, request)
    stops = _opt_outs_since(session, text, [r.requested_at for r in newest.values()])
    events: list[Event] = []
    for name, request in newest.items():
        if name in already or _withdrawn(session, request, stops):
            continue
        event = _grant(session, text, request, now)
        events.append(event)
        for same in open_requests:
            if same.category == name:
                same.confirmed_event_id = event.id
    if not events:
        return None
    return Confirmed(tuple(events), newest[events[0].category].language)


def _opt_outs_since(
    session: Session, text: InboundMessage, since: list[dt.datetime]
) -> list[tuple[dt.datetime, list[str]]]:
    """The number's opt-out texts (when, and what each scoped) from the oldest request on.

    Read here, at YES time, rather than marking requests on the STOP path: a STOP to an
    already revoked category records no event, and the STOP path stays as it is."""
    if not since:
        return []
    rows = session.execute(
        select(InboundMessage.received_at, InboundMessage.categories).where(
            InboundMessage.from_number == text.from_number,
            InboundMessage.intent == Intent.OPT_OUT.value,
            InboundMessage.received_at >= min(since),
            InboundMessage.id != text.id,
        )
    )
    return [(row.received_at, list(row.categories or [])) for row in rows]


def _withdrawn(
    session: Session, request: OptInRequest, stops: list[tuple[dt.datetime, list[str]]]
) -> bool:
    """The patient's STOP after the form (any opt-out text scoping the category, or any
    revocation recorded since) withdrew the request: a later YES restores only what START
    does. A STOP at the same instant as the form counts as after it."""
    if any(
        at >= request.requested_at and (request.category in scoped or not scoped)
        for at, scoped in stops
    ):
        return True
    return any(
        e.action is Action.REVOKE and e.recorded_at >= request.requested_at
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
            # Double opt-in: the form (its care grant, if it made one, and its evidence) and
            # the words it showed for this category.
            "confirms_form_event": request.form_event_id,
            "form": request.form_evidence,
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
