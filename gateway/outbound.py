"""Outbound messages: the outbox, the send-time decision, Twilio's answers (SPEC §6).

Takes the caller's session and never commits. The decision locks the number's row — the
same lock an inbound STOP takes — and keeps it while the message is handed to Twilio, so a
STOP committed before the decision always blocks it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway import decision, ledger, number_checks
from gateway.db import lock_timed_out
from gateway.domain import policy
from gateway.domain.consent import Action, Source, Status
from gateway.domain.keywords import KeywordRules
from gateway.domain.phone import mask
from gateway.domain.restriction import Text
from gateway.models import OutboundMessage, SendAttempt
from gateway.ports import CARRIER_BLOCK, INVALID_NUMBER, SendError, SmsSender
from gateway.services import Problem

log = logging.getLogger(__name__)

MAX_BODY = 1600  # Twilio's limit for one message, in characters
# Delivery states only move forward: a late "sent" never undoes "delivered".
RANK = {
    "queued": 0,
    "deferred": 0,
    "sending": 1,
    "unknown": 1,
    "dry_run": 2,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "blocked": 3,
}
TWILIO_STATES = {
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "read": "delivered",
}


@dataclass(frozen=True)
class Request:
    to: str
    category: str
    body: str
    actor: str
    send_at: dt.datetime | None = None
    sender: str | None = None
    template: str | None = None
    idempotency_key: str | None = None
    private_body: str | None = None  # the template's private text, filled in

    def digest(self) -> str:
        canonical = [
            self.to,
            self.category,
            self.body,
            self.send_at and self.send_at.isoformat(),
            self.sender,
            self.template,
        ]
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def new_id(now: dt.datetime) -> str:
    """msg_ + a ULID: 48 bits of milliseconds, 80 random bits, Crockford base32; sorts by time."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "msg_" + "".join(alphabet[(value >> shift) & 31] for shift in range(125, -1, -5))


def render(rules: KeywordRules, template: str, fields: dict[str, Any]) -> tuple[str, str]:
    """A template's text with its fields filled in, and its category."""
    found = rules.templates.get(template)
    if found is None:
        raise Problem(422, "unknown_template", f"no template named {template!r}", "template")
    missing = [name for name in found.fields if name not in fields]
    if missing:
        raise Problem(422, "missing_fields", f"fields missing: {', '.join(missing)}", "fields")
    return found.text.format(**{k: str(v) for k, v in fields.items()}), found.category


def render_private(rules: KeywordRules, template: str, fields: dict[str, Any]) -> str | None:
    """The template's private text filled in (its fields are the template's own, none PHI);
    None when it has none. Call after `render`, which checks the template and its fields."""
    found = rules.templates[template]
    if found.private_text is None:
        return None
    return found.private_text.format(**{k: str(fields[k]) for k in found.private_fields})


def caller_key(actor: str, key: str | None) -> str | None:
    """An idempotency key as stored: keys are the caller's own, so the same key from another
    token (or shell user) is another message."""
    if not key:
        return None
    return hashlib.sha256(f"{actor}\n{key}".encode()).hexdigest()


def compose(
    rules: KeywordRules,
    *,
    to: str,
    actor: str,
    body: str | None = None,
    category: str | None = None,
    template: str | None = None,
    fields: dict[str, Any] | None = None,
    send_at: dt.datetime | None = None,
    sender: str | None = None,
    idempotency_key: str | None = None,
) -> Request:
    """A message as staff ask for it (a body and its category, or a template and its
    fields), numbers already in E.164: the API, a batch item and a CSV row alike."""
    private = None
    if template is not None:
        if body is not None:
            raise Problem(422, "invalid", "send a template or a body, not both", "body")
        text, category_of = render(rules, template, fields or {})
        private = render_private(rules, template, fields or {})
        if category not in (None, category_of):
            raise Problem(
                422, "invalid_category", f"template {template} is {category_of}", "category"
            )
        category = category_of
    else:
        if body is None:
            raise Problem(422, "required", "body (or a template) is required", "body")
        if category is None:
            raise Problem(422, "required", "category is required", "category")
        if fields:
            raise Problem(422, "invalid", "fields go with a template", "fields")
        text = body
    return Request(
        to=to,
        category=category,
        body=text,
        actor=actor,
        send_at=send_at,
        sender=sender,
        template=template,
        idempotency_key=idempotency_key,
        private_body=private,
    )


def submit(
    session: Session, rules: KeywordRules, request: Request, now: dt.datetime
) -> tuple[OutboundMessage, bool]:
    """Store the message as `queued`; the same Idempotency-Key returns the original."""
    validate(rules, request)
    digest = request.digest()
    if request.idempotency_key:
        existing = session.execute(
            select(OutboundMessage).where(
                OutboundMessage.idempotency_key == request.idempotency_key
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing.request_digest != digest:
                raise _conflict()
            return existing, False
    row = OutboundMessage(**_new_row(request, digest, now))
    session.add(row)
    session.flush()
    return row, True


def _conflict() -> Problem:
    return Problem(
        409, "idempotency_conflict", "this Idempotency-Key was used for a different message"
    )


def _new_row(request: Request, digest: str, now: dt.datetime) -> dict[str, Any]:
    message_id = new_id(now)
    return {
        "id": message_id,
        "to_number": request.to,
        "requested_sender": request.sender,
        "category": request.category,
        "body": request.body,
        "template": request.template,
        "private_body": request.private_body,
        "status": "queued",
        "send_at": request.send_at,
        "created_at": now,
        "updated_at": now,
        "enqueued_at": now,
        "created_by": request.actor,
        "idempotency_key": request.idempotency_key,
        "request_digest": digest,
        # Named before it exists: reconcile can tell whether it is live.
        "job_id": f"deliver-{message_id}",
    }


@dataclass(frozen=True)
class Submitted:
    """One message of a batch: stored now (`created`), or the original of a repeated key."""

    row: OutboundMessage
    created: bool


def submit_many(
    session: Session, rules: KeywordRules, requests: Sequence[Request], now: dt.datetime
) -> list[Submitted | Problem]:
    """Store a batch as `queued`, each message on its own: a refused one (its Problem, in its
    place) does not stop the others. One SELECT for the repeated keys and one multi-row
    INSERT, not a flush per message. A key repeated within the batch behaves as if the
    messages had come one after another."""
    results: list[Submitted | Problem] = []
    keys = {r.idempotency_key for r in requests if r.idempotency_key}
    known: dict[str, OutboundMessage] = {}
    if keys:
        query = select(OutboundMessage).where(OutboundMessage.idempotency_key.in_(keys))
        known = {row.idempotency_key or "": row for row in session.execute(query).scalars()}
    new_rows: list[dict[str, Any]] = []
    for request in requests:
        try:
            validate(rules, request)
        except Problem as problem:
            results.append(problem)
            continue
        digest = request.digest()
        original = known.get(request.idempotency_key or "")
        if original is not None:
            same = original.request_digest == digest
            results.append(Submitted(original, False) if same else _conflict())
            continue
        values = _new_row(request, digest, now)
        row = OutboundMessage(**values)  # not added: the INSERT below stores it
        if request.idempotency_key:
            known[request.idempotency_key] = row
        new_rows.append(values)
        results.append(Submitted(row, True))
    if new_rows:
        session.execute(insert(OutboundMessage), new_rows)
    return results


def validate(rules: KeywordRules, request: Request) -> None:
    """What the API and the console refuse before anything is stored."""
    if request.category not in rules.categories:
        known = ", ".join(rules.categories)
        raise Problem(422, "invalid_category", f"category must be one of: {known}", "category")
    if not request.body.strip():
        raise Problem(422, "invalid", "body must not be empty", "body")
    if len(request.body) > MAX_BODY:
        raise Problem(422, "body_too_long", f"body is over {MAX_BODY} characters", "body")
    if request.sender is not None:
        sender = rules.senders.get(request.sender)
        if sender is None or request.category not in sender.categories:
            raise Problem(
                422, "invalid_sender", f"sender is not configured for {request.category}", "sender"
            )


# The worker's statements, built once per process: building a statement costs more CPU than
# PostgreSQL spends running these (the cache only spares compiling it). Core on the tables
# where no unit of work is needed.
_MESSAGES = cast(Table, OutboundMessage.__table__)
_ATTEMPTS = cast(Table, SendAttempt.__table__)
CLAIM = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message_id"))
    .where(
        (_MESSAGES.c.status == "queued")
        | ((_MESSAGES.c.status == "deferred") & (_MESSAGES.c.until <= bindparam("now")))
    )
    .values(status="sending", updated_at=bindparam("now"))
    .returning(_MESSAGES.c.to_number, _MESSAGES.c.category)
)
_NUMBER_OF = select(OutboundMessage.to_number).where(OutboundMessage.id == bindparam("message_id"))
_LOCKED = (
    select(OutboundMessage)
    .where(OutboundMessage.id == bindparam("message_id"))
    .with_for_update()
    .execution_options(populate_existing=True)  # what the session held before is stale
)
# What a send changes on its message (_decided, the sender, the text): stored by one prebuilt
# UPDATE instead of the unit of work.
_SENT_COLUMNS = (
    "outcome",
    "reason",
    "consent_event_id",
    "decided_at",
    "until",
    "sent_text",
    "updated_at",
    "sender",
    "body",
    "private_body",
    "twilio_sid",
    "sent_at",
    "status",
)
_SENT_KEYS = frozenset(_SENT_COLUMNS)
_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message_id"))
    .values({name: bindparam(f"new_{name}") for name in _SENT_COLUMNS})
)
_ATTEMPT = insert(_ATTEMPTS).values(
    message_id=bindparam("message_id"), at=bindparam("at"), result=bindparam("result")
)
# PostgreSQL: both in one statement (one round trip), the UPDATE a CTE the INSERT reads.
_SENT_ROW = _SENT.returning(_MESSAGES.c.id).cte("sent")
SENT_WITH_ATTEMPT = insert(_ATTEMPTS).from_select(
    ["message_id", "at", "result"],
    select(
        _SENT_ROW.c.id,
        bindparam("at", type_=_ATTEMPTS.c.at.type),
        bindparam("result", type_=_ATTEMPTS.c.result.type),
    ),
)


@dataclass(frozen=True)
class Claimed:
    """A message taken for one decision: what the worker needs of it before its locks."""

    id: str
    to_number: str
    category: str


def claim(session: Session, message_id: str, now: dt.datetime) -> Claimed | None:
    """Take the message for one decision; a second worker (or a duplicate job) gets None.
    One statement: the claim returns what the worker needs next, no second read."""
    params = {"message_id": message_id, "now": now}
    row = session.connection().execute(CLAIM, params).first()
    return None if row is None else Claimed(message_id, row.to_number, row.category)


@dataclass(frozen=True)
class Screening:
    """The reassigned-numbers rule for this delivery: marketing to a number not verified
    within `days` needs the check `check_id` (made by the worker before it took the lock)."""

    days: int
    check_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str
    until: dt.datetime | None = None
    retry: bool = False


def deliver(
    session: Session,
    rules: KeywordRules,
    sender: SmsSender,
    message_id: str,
    now: dt.datetime,
    *,
    final_try: bool = True,
    screening: Screening | None = None,
    number: str | None = None,
) -> Outcome:
    """Decide now, under the number's lock, and send if allowed. The message was claimed.
    Raises Busy, having decided and sent nothing, when a lock stays taken past the bound or
    the number needs a reassigned check this delivery did not make. `screening` None: no
    reassigned-numbers rule (callers other than the worker's job). `number`: the message's
    number, if the caller has it (its claim): it is not read again."""
    msg = _locked(session, message_id, now, number)
    if msg.status != "sending":
        return Outcome(msg.status, msg.reason or "")
    if msg.body is None:  # erased (a patient's request) before it could go
        return _finish(session, msg, "blocked", policy.Reason.ERASED, now)
    if msg.send_at is not None and msg.send_at > now:
        return _defer(
            session, msg, policy.Decision(policy.Outcome.DEFER, policy.Reason.OK, msg.send_at), now
        )
    decided = decision.decide(session, rules, msg, now)  # the rule the Send page previews
    if decided.outcome is policy.Outcome.BLOCK:
        return _block(session, msg, decided, now)
    if decided.outcome is policy.Outcome.DEFER:
        return _defer(session, msg, decided, now)
    if screening is not None and rules.categories[msg.category].requires_grant:
        try:
            screened = number_checks.screen(
                session, rules, msg, screening.check_id, now, screening.days
            )
        except number_checks.Unasked as exc:
            raise Busy(str(exc)) from None
        if screened.block is not None:
            return _block(session, msg, screened.block, now)
        if screened.failed is not None:
            return _unchecked(session, msg, screened.failed.evidence, now, final_try)
    return _send(session, rules, sender, msg, decided, now, final_try)


def _unchecked(
    session: Session, msg: OutboundMessage, evidence: dict[str, Any], now: dt.datetime, final: bool
) -> Outcome:
    """The reassigned-numbers provider gave no answer: marketing is never sent on an unknown
    answer. Retried like Twilio's own refusals (RQ's Retry), then failed."""
    _record(
        session, msg, now, "error:reassigned_check", evidence.get("code"), evidence.get("error")
    )
    if evidence.get("permanent") or final:
        return _finish(session, msg, "failed", policy.Reason.PROVIDER_ERROR, now)
    msg.status, msg.updated_at = "queued", now
    session.flush()
    return Outcome("queued", "provider_error", retry=True)


class Busy(Exception):
    """A lock the decision needs stayed taken past the transaction's bound (lock_timeout):
    nothing was decided and nothing was sent; the message can be tried again later."""


def _locked(
    session: Session, message_id: str, now: dt.datetime, number: str | None
) -> OutboundMessage:
    """The number's lock (the one a STOP takes), then the message's own row. Every lock wait
    is here, before the send: once Twilio has the message nothing waits, so a send that left
    is always recorded. (A message's number never changes: it may be read before the lock.)"""
    try:
        by_id = {"message_id": message_id}
        if number is None:
            number = session.execute(_NUMBER_OF, by_id).scalar_one()
        ledger.lock_number(session, number, now)
        # Read under the lock: an erasure (or anything else) committed while we waited wins.
        msg = session.execute(_LOCKED, by_id).scalar_one()
    except DBAPIError as exc:
        if lock_timed_out(exc):
            raise Busy(f"message {message_id}: its number stayed locked") from None
        raise
    return msg


def retry_later(
    session: Session, message_id: str, at: dt.datetime, now: dt.datetime, *, claimed: bool
) -> str | None:
    """Name the job that will try the message again at `at` — giving back this job's claim
    (`claimed`: nothing was decided or sent) — or None if the message no longer waits to be
    sent. A `sending` message this job did not claim is another worker's: left alone. Read
    under its row lock: a worker deciding it now is waited for, never overwritten."""
    msg = session.get(OutboundMessage, message_id, with_for_update=True, populate_existing=True)
    assert msg is not None
    if msg.status not in ("queued", "deferred", "sending"):
        return None
    if msg.status == "sending":
        if not claimed:
            return None
        msg.status = "queued"
    msg.job_id, msg.updated_at = f"deliver-{message_id}-b{int(at.timestamp() * 1000)}", now
    session.flush()
    return msg.job_id


def give_back(session: Session, message_id: str, now: dt.datetime) -> bool:
    """This job's claim, given back after a failure before the send (nothing was decided or
    sent): `sending` is `queued` again, its job unchanged — RQ's retry of that job takes it
    up, and once it has none left, reconcile (a minute later), one job at a time. False if the
    message is no longer `sending`."""
    msg = session.get(OutboundMessage, message_id, with_for_update=True, populate_existing=True)
    if msg is None or msg.status != "sending":
        return False
    msg.status, msg.updated_at = "queued", now
    session.flush()
    return True


def choose_sender(rules: KeywordRules, msg: OutboundMessage) -> str | None:
    return decision.choose_sender(rules, msg.category, msg.requested_sender)


def _record(
    session: Session,
    msg: OutboundMessage,
    now: dt.datetime,
    result: str,
    code: int | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        SendAttempt(
            message_id=msg.id,
            at=now,
            result=result,
            error_code=code,
            detail=detail and detail[:300],
        )
    )


def _decided(msg: OutboundMessage, decision: policy.Decision, now: dt.datetime) -> None:
    msg.outcome, msg.reason = decision.outcome.value, decision.reason.value
    msg.consent_event_id, msg.decided_at, msg.until = decision.event_id, now, decision.until
    msg.sent_text = decision.text.value if decision.text else None
    msg.updated_at = now


def _finish(
    session: Session, msg: OutboundMessage, status: str, reason: policy.Reason, now: dt.datetime
) -> Outcome:
    """An end state: blocked, failed or unknown, with the reason recorded on the message."""
    msg.status, msg.outcome, msg.reason, msg.updated_at = status, status, reason.value, now
    msg.decided_at = msg.decided_at or now
    _record(session, msg, now, f"{status}:{reason.value}")
    session.flush()
    log.info("message %s to %s: %s (%s)", msg.id, mask(msg.to_number), status, reason.value)
    return Outcome(status, reason.value)


def _block(
    session: Session, msg: OutboundMessage, decision: policy.Decision, now: dt.datetime
) -> Outcome:
    _decided(msg, decision, now)
    return _finish(session, msg, "blocked", decision.reason, now)


def _defer(
    session: Session, msg: OutboundMessage, decision: policy.Decision, now: dt.datetime
) -> Outcome:
    _decided(msg, decision, now)
    reason = "send_at" if decision.reason is policy.Reason.OK else decision.reason.value
    msg.status, msg.reason = "deferred", reason
    _record(session, msg, now, f"deferred:{reason}")
    session.flush()
    return Outcome("deferred", reason, decision.until)


def _send(
    session: Session,
    rules: KeywordRules,
    sender: SmsSender,
    msg: OutboundMessage,
    decision: policy.Decision,
    now: dt.datetime,
    final_try: bool,
) -> Outcome:
    _decided(msg, decision, now)
    msg.sender = choose_sender(rules, msg)
    if decision.text is Text.PRIVATE_TEXT:
        msg.body = msg.private_body  # HIPAA §164.522(b): the patient asked for no PHI by text
    assert msg.sender is not None and msg.body is not None
    if rules.categories[msg.category].requires_grant:
        msg.body = policy.with_opt_out_wording(msg.body)  # what was sent is what is kept
    try:
        sid = sender.send(to=msg.to_number, sender=msg.sender, body=msg.body)
    except SendError as exc:
        return _refused(session, rules, msg, exc, now, final_try)
    msg.twilio_sid, msg.sent_at = sid, now
    # One text went; only it is kept. Not before: a retry after a transient error must still
    # find the private text if the number is (or has become) restricted.
    msg.private_body = None
    msg.status = "dry_run" if sender.dry_run else "sent"
    _store_sent(session, msg, now)
    log.info("message %s to %s: %s", msg.id, mask(msg.to_number), msg.status)
    return Outcome(msg.status, "ok")


def _store_sent(session: Session, msg: OutboundMessage, now: dt.datetime) -> None:
    """A sent message and its attempt, as two prebuilt statements; the message then leaves
    the session (its row is written: a later read in this session loads it anew). A message
    with anything else changed (a reassigned check's summary), or a session with other
    changes pending, goes through the unit of work, as every other outcome does."""
    changed = {
        key
        for key, before in inspect(msg).committed_state.items()
        if key not in _SENT_KEYS and before != getattr(msg, key)
    }
    if changed or session.new or any(other is not msg for other in session.dirty):
        _record(session, msg, now, msg.status)
        session.flush()
        return
    connection = session.connection()
    values = {f"new_{name}": getattr(msg, name) for name in _SENT_COLUMNS}
    attempt = {"message_id": msg.id, "at": now, "result": msg.status}
    if connection.dialect.name == "postgresql":
        connection.execute(SENT_WITH_ATTEMPT, {**values, **attempt})
    else:
        connection.execute(_SENT, {"message_id": msg.id, **values})
        connection.execute(_ATTEMPT, attempt)
    session.expunge(msg)


def _refused(
    session: Session,
    rules: KeywordRules,
    msg: OutboundMessage,
    exc: SendError,
    now: dt.datetime,
    final_try: bool,
) -> Outcome:
    _record(session, msg, now, "error", exc.code, str(exc))
    if exc.code == CARRIER_BLOCK:
        msg.consent_event_id = _carrier_block(session, rules, msg, now) or msg.consent_event_id
        return _finish(session, msg, "blocked", policy.Reason.CARRIER_BLOCK, now)
    if exc.code in INVALID_NUMBER:
        return _finish(session, msg, "failed", policy.Reason.INVALID_NUMBER, now)
    if exc.unknown:
        return _finish(session, msg, "unknown", policy.Reason.PROVIDER_ERROR, now)
    if exc.permanent or final_try:
        return _finish(session, msg, "failed", policy.Reason.PROVIDER_ERROR, now)
    msg.status, msg.updated_at = "queued", now  # RQ's Retry takes it up again
    session.flush()
    return Outcome("queued", "provider_error", retry=True)


def refused(
    session: Session,
    rules: KeywordRules,
    message_id: str,
    decision: policy.Decision,
    sender: str,
    body: str,
    exc: SendError,
    now: dt.datetime,
    final_try: bool,
) -> Outcome:
    """A send that another pass decided (`outbound_pipeline`) and Twilio refused: recorded on
    the message (locked by this transaction) as `_send` records its own refusals."""
    msg = session.execute(_LOCKED, {"message_id": message_id}).scalar_one()
    _decided(msg, decision, now)
    msg.sender, msg.body = sender, body
    return _refused(session, rules, msg, exc, now, final_try)


def _carrier_block(
    session: Session, rules: KeywordRules, msg: OutboundMessage, now: dt.datetime
) -> int | None:
    """21610: the patient texted STOP to this sender at the carrier; the ledger says the same,
    for every category the sender carries. Returns the event for the message's category."""
    assert msg.sender is not None
    found = None
    for category in rules.sender_categories(msg.sender):
        if ledger.current_status(session, msg.to_number, category) is Status.REVOKED:
            continue
        event = ledger.append(
            session,
            number=msg.to_number,
            category=category,
            action=Action.REVOKE,
            source=Source.CARRIER_BLOCK,
            actor="twilio",
            evidence={"error_code": CARRIER_BLOCK, "message_id": msg.id, "sender": msg.sender},
            now=now,
        )
        found = event.id if category == msg.category else found
    return found


# A callback that names no message we know is matched to one whose SID was never recorded
# only if that message was handed over (or claimed) within this window.
CALLBACK_WINDOW = dt.timedelta(days=1)
# A live worker takes its number's lock within its lock bound (5 s) of claiming a message, or
# gives the claim back. A `sending` message claimed longer ago than this, whose number's lock
# we hold, has no live worker: only then may a callback name it. A younger one may be a live
# worker between its claim and its lock, and a callback for some other message (a TwiML
# reply's, say) must not take it: the message would never be sent.
CLAIM_SETTLES = dt.timedelta(seconds=10)


def record_status(
    session: Session,
    sid: str,
    twilio_status: str,
    error_code: int | None,
    now: dt.datetime,
    *,
    to: str | None = None,
    sender: str | None = None,
    rules: KeywordRules | None = None,
) -> OutboundMessage | None:
    """A delivery callback. Never moves a message backwards (delivered stays delivered)."""
    msg = _by_sid(session, sid)
    if msg is None and to and sender:
        msg = _unnamed_for(session, rules, to, sender, sid, now)
    status = TWILIO_STATES.get(twilio_status)
    if msg is None or status is None:
        return msg
    # A Messaging Service reports the carrier's block in the callback, not when it takes the
    # message: the same revoke as the synchronous 21610, once per message (a repeated
    # callback, even after the patient's START, revokes nothing again).
    blocked = (
        error_code == CARRIER_BLOCK and rules is not None and not _blocked_before(session, msg)
    )
    msg.sender = msg.sender or (sender if blocked else None)
    if blocked and rules is not None and msg.sender:
        _carrier_block(session, rules, msg, now)
    if RANK[status] > RANK.get(msg.status, 0) or msg.status in ("unknown", "sending"):
        msg.status, msg.updated_at = status, now
    elif not blocked:
        return msg
    # The attempt records the callback, and with its 21610 marks the block as done.
    _record(session, msg, now, f"callback:{twilio_status}", error_code)
    session.flush()
    return msg


def _blocked_before(session: Session, msg: OutboundMessage) -> bool:
    """Whether this message's carrier block (21610) is already on record."""
    found = session.execute(
        select(SendAttempt.id).where(
            SendAttempt.message_id == msg.id, SendAttempt.error_code == CARRIER_BLOCK
        )
    ).first()
    return found is not None


def _by_sid(session: Session, sid: str) -> OutboundMessage | None:
    query = select(OutboundMessage).where(OutboundMessage.twilio_sid == sid).with_for_update()
    return session.execute(query).scalar_one_or_none()


def _unnamed_for(
    session: Session,
    rules: KeywordRules | None,
    to: str,
    sender: str,
    sid: str,
    now: dt.datetime,
) -> OutboundMessage | None:
    """Twilio names a message whose SID we never stored: one that timed out after leaving
    (`unknown`), or one whose worker died while Twilio answered (still `sending`). The oldest
    such message to that number from that sender, handed over within CALLBACK_WINDOW.

    Taken under the number's lock, the one a worker holds while it sends: a message still
    being sent by a live worker is never taken here — that worker stores its SID before it
    lets go, and the second look by SID finds it."""
    settled = (OutboundMessage.status == "unknown") | (
        (OutboundMessage.status == "sending") & (OutboundMessage.updated_at <= now - CLAIM_SETTLES)
    )
    query = (
        select(OutboundMessage)
        .where(
            settled,
            OutboundMessage.twilio_sid.is_(None),
            OutboundMessage.to_number == to,
            OutboundMessage.updated_at >= now - CALLBACK_WINDOW,
        )
        .order_by(OutboundMessage.updated_at, OutboundMessage.id)
    )
    if session.execute(query.with_only_columns(OutboundMessage.id).limit(1)).first() is None:
        return None  # nothing of ours: no lock taken, no number recorded
    ledger.lock_number(session, to, now)
    found = _by_sid(session, sid)
    if found is not None:
        return found
    for msg in session.execute(query.with_for_update()).scalars():
        chosen = msg.sender or (choose_sender(rules, msg) if rules else msg.requested_sender)
        if chosen == sender:
            msg.twilio_sid, msg.sender = sid, chosen
            msg.sent_at = msg.sent_at or msg.decided_at or msg.updated_at  # about when it left
            detail = f"Twilio's callback named it while {msg.status}: its SID was never stored"
            _record(session, msg, now, "named_by_callback", detail=detail)
            log.warning("message %s to %s: %s", msg.id, mask(to), detail)
            return msg
    return None


def unsettled_claim(session: Session, to: str, now: dt.datetime) -> dt.datetime | None:
    """When the youngest `sending` message to `to` with no SID settles (see CLAIM_SETTLES),
    or None if there is none: a callback naming no message may be waiting for it."""
    claimed = session.execute(
        select(func.max(OutboundMessage.updated_at)).where(
            OutboundMessage.status == "sending",
            OutboundMessage.twilio_sid.is_(None),
            OutboundMessage.to_number == to,
            OutboundMessage.updated_at > now - CLAIM_SETTLES,
        )
    ).scalar_one_or_none()
    return None if claimed is None else claimed + CLAIM_SETTLES


def left_behind(
    session: Session,
    *,
    queued_before: dt.datetime,
    deferred_due_before: dt.datetime | None,
    claimed_before: dt.datetime,
) -> list[OutboundMessage]:
    """Messages a lost job or a dead worker may have left: queued since before
    `queued_before`; deferred and due before `deferred_due_before` (None: every deferred
    one); `sending`, claimed before `claimed_before`. Locked; rows someone holds (a worker
    sending right now) are skipped, never waited for."""
    deferred = OutboundMessage.status == "deferred"
    if deferred_due_before is not None:
        deferred = deferred & (OutboundMessage.until < deferred_due_before)
    query = (
        select(OutboundMessage)
        .where(
            ((OutboundMessage.status == "queued") & (OutboundMessage.updated_at < queued_before))
            | deferred
            | (
                (OutboundMessage.status == "sending")
                & (OutboundMessage.updated_at < claimed_before)
            )
        )
        .order_by(OutboundMessage.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query).scalars())


def worker_lost(session: Session, msg: OutboundMessage, now: dt.datetime) -> None:
    """Claimed, and its worker is gone: it may or may not have reached Twilio, so it is never
    resent blindly. `unknown`, for staff to see; Twilio's callback names it if it went."""
    msg.status, msg.reason, msg.updated_at = "unknown", policy.Reason.PROVIDER_ERROR.value, now
    _record(session, msg, now, "unknown:worker_lost", detail="its worker stopped mid-decision")
    session.flush()
    log.warning("message %s to %s: its worker was lost; unknown", msg.id, mask(msg.to_number))


def schedule_job_id(session: Session, message_id: str, until: dt.datetime) -> str:
    """The job that will take a deferred message up again, named on the row before it exists
    (a lost job is then found missing by reconcile)."""
    msg = session.get(OutboundMessage, message_id)
    assert msg is not None
    msg.job_id = f"deliver-{message_id}-at{int(until.timestamp())}"
    return msg.job_id


def attempts(session: Session, message_id: str) -> list[SendAttempt]:
    query = select(SendAttempt).where(SendAttempt.message_id == message_id)
    return list(session.execute(query.order_by(SendAttempt.id)).scalars())
