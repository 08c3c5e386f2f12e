"""POST /api/v1/messages (the outbox), GET one with its decision and attempts, GET a list."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import access, bulk, outbound, proofs
from gateway.db import transaction
from gateway.models import OutboundMessage, SendAttempt
from gateway.services import Problem
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, current_actor, requires
from gateway.web.context import runtime
from gateway.web.declare import (
    Body,
    Cursor,
    Limit,
    Name,
    PhoneText,
    Timestamp,
    ZonedTimestamp,
    declared,
    given_body,
    given_query,
    link,
)
from gateway.web.errors import FieldError
from gateway.web.shapes import BatchAnswer, Message, MessagePage, Proof

log = logging.getLogger(__name__)
bp = Blueprint("messages", __name__, url_prefix="/api/v1/messages")
SEND = ("admin", "front_desk")
MESSAGE_ID = re.compile(r"msg_[0-9A-Z]{26}")


def message_json(msg: OutboundMessage, attempts: list[SendAttempt]) -> dict[str, Any]:
    return {
        "id": msg.id,
        "to": msg.to_number,
        "sender": msg.sender or msg.requested_sender,
        "category": msg.category,
        "body": msg.body,
        "template": msg.template,
        "status": msg.status,
        "send_at": params.iso(msg.send_at),
        "created_at": params.iso(msg.created_at),
        "updated_at": params.iso(msg.updated_at),
        "decision": None
        if msg.decided_at is None
        else {
            "outcome": msg.outcome,
            "reason": msg.reason,
            "consent_event_id": msg.consent_event_id,
            "decided_at": params.iso(msg.decided_at),
            "until": params.iso(msg.until),
            # Which text went (or waits): "private_text" for a number with no PHI by text.
            "text": msg.sent_text,
            "reassigned_check": msg.reassigned_check,
        },
        "twilio_sid": msg.twilio_sid,
        "attempts": [
            {
                "at": params.iso(a.at),
                "result": a.result,
                "error_code": a.error_code,
                "detail": a.detail,
            }
            for a in attempts
        ],
    }


Status = Literal[
    "queued",
    "deferred",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "blocked",
    "dry_run",
    "unknown",
]
FieldValue = Annotated[str, StringConstraints(max_length=500)] | int | float
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the same key from the same token returns the first message (24 h+)",
    "schema": {"type": "string", "maxLength": 200},
}


class NewMessage(Body):
    to: PhoneText
    body: Annotated[str, StringConstraints(min_length=1, max_length=1600)] | None = None
    category: Name | None = None
    template: Name | None = None
    fields: dict[Annotated[str, StringConstraints(max_length=64)], FieldValue] = Field(
        default_factory=dict, max_length=50
    )
    send_at: ZonedTimestamp | None = None
    sender: PhoneText | None = None


IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BatchItem(NewMessage):
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="as the Idempotency-Key header, for this message"
    )


class NewBatch(Body):
    messages: list[BatchItem] = Field(min_length=1, max_length=bulk.MAX_BATCH)


class Listing(Body):
    to: PhoneText | None = None
    status: Status | None = None
    category: Name | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


def _message(session: Session, message_id: str) -> OutboundMessage:
    msg = None
    if MESSAGE_ID.fullmatch(message_id):
        msg = session.get(OutboundMessage, message_id)
    if msg is None:
        raise Problem(404, "not_found", f"no message {message_id}")
    return msg


def _request(body: NewMessage, idempotency_key: str | None) -> outbound.Request:
    rt = runtime()
    region = rt.settings.default_region
    return outbound.compose(
        rt.rules,
        to=params.phone(body.to, "to", region),
        actor=str(current_actor()),
        body=body.body,
        category=body.category,
        template=body.template,
        fields=dict(body.fields),
        send_at=body.send_at,
        sender=None if body.sender is None else params.phone(body.sender, "sender", region),
        idempotency_key=idempotency_key,
    )


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise FieldError("invalid", "Idempotency-Key is at most 200 characters", "Idempotency-Key")
    return _caller_key(key)


def _caller_key(key: str | None) -> str | None:
    """A batch item's key and the header share one space: the same key, the same message."""
    return outbound.caller_key(str(current_actor()), key)


@bp.post("")
@requires(*SEND)
@declared(
    "Queue a message (202); the worker decides at send time",
    body=NewMessage,
    answer=Message,
    status=202,
    headers=(IDEMPOTENCY_KEY,),
    links={
        "GetMessage": link("messages.show", message_id="$response.body#/id"),
        "ProveMessage": link("messages.proof", message_id="$response.body#/id"),
    },
    errors=(409,),
)
def create() -> tuple[Response, int]:
    row = queue_message(_request(given_body(NewMessage), _idempotency_key()))
    return jsonify(message_json(row, [])), 202


@bp.post("/batch")
@requires(*SEND)
@declared(
    "Queue up to 1,000 messages (202); each is answered on its own, in the batch's order",
    body=NewBatch,
    answer=BatchAnswer,
    status=202,
)
def create_batch() -> tuple[Response, int]:
    """A refused message (a bad number, a reused key) does not stop the others; a body that
    breaks the documented shape is refused whole (422 naming messages.N.field)."""
    items = given_body(NewBatch).messages
    answers: list[dict[str, Any]] = []
    requests: list[outbound.Request] = []
    for index, item in enumerate(items):
        try:
            requests.append(_request(item, _caller_key(item.idempotency_key)))
            answers.append({"index": index})
        except Problem as problem:
            answers.append(_refused(index, problem))
    results = iter(bulk.queue_many(runtime(), requests).results)
    for answer in answers:
        if "status" in answer:
            continue
        result = next(results)
        if isinstance(result, Problem):
            answer.update(_refused(answer["index"], result))
        else:
            answer.update(status=202, message=message_json(result.row, []), error=None)
    return jsonify({"items": answers}), 202


def _refused(index: int, problem: Problem) -> dict[str, Any]:
    error = {"code": problem.code, "message": problem.message}
    if problem.field:
        error["field"] = problem.field
    return {"index": index, "status": problem.status, "message": None, "error": error}


def queue_message(message: outbound.Request) -> OutboundMessage:
    """Store the message, commit, then enqueue it: the API's and the console's Send."""
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            row, created = outbound.submit(session, rt.rules, message, rt.clock())
    except IntegrityError:  # the same Idempotency-Key raced in from another request
        with transaction(rt.sessions) as session:
            row, created = outbound.submit(session, rt.rules, message, rt.clock())
    if created:
        enqueue(row)
    return row


def enqueue(row: OutboundMessage) -> None:
    """After the commit (outbox): a Redis outage loses nothing, reconcile enqueues it later."""
    queue = runtime().queue
    if queue is None:
        return
    try:
        queue.deliver(row.id, row.job_id or f"deliver-{row.id}")
    except Exception as exc:  # Redis down: the committed row waits for `smsgate reconcile`
        log.error("could not enqueue %s (%s): reconcile will", row.id, type(exc).__name__)


@bp.get("/<message_id>")
@requires(*READ)
@declared("A message, its decision and its attempts", answer=Message)
@audited("messages.read")
def show(message_id: str) -> Response:
    with transaction(runtime().sessions) as session:
        msg = _message(session, message_id)
        attempts = outbound.attempts(session, msg.id)
        touch([msg.to_number])
        return jsonify(message_json(msg, attempts))


@bp.get("")
@requires(*READ)
@declared("Messages, newest first", query=Listing, answer=MessagePage)
@audited("messages.list")
def index() -> Response:
    rt, f = runtime(), given_query(Listing)
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    if f.to:
        number = params.phone(f.to, "to", rt.settings.default_region)
        query = query.where(OutboundMessage.to_number == number)
    if f.status:
        query = query.where(OutboundMessage.status == f.status)
    if f.category:
        query = query.where(OutboundMessage.category == f.category)
    if f.since:
        query = query.where(OutboundMessage.created_at >= f.since)
    if f.until:
        query = query.where(OutboundMessage.created_at < f.until)
    if f.cursor:
        query = query.where(OutboundMessage.id < params.text_cursor(f.cursor))
    size = f.limit
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
        items = [message_json(row, []) for row in rows]
    touch(access.numbers_in(items, "to"))
    cursor = params.encode_cursor(rows[-1].id) if len(rows) == size else None
    return jsonify({"items": items, "next_cursor": cursor})


@bp.get("/<message_id>/proof")
@requires("admin", "auditor")
@declared("The proof: the decision and the consent events in force at it", answer=Proof)
@audited("messages.proof")
def proof(message_id: str) -> Response:
    rt = runtime()
    with transaction(rt.sessions) as session:
        msg = _message(session, message_id)
        touch([msg.to_number])
        attempts = outbound.attempts(session, msg.id)
        return jsonify(proofs.document(session, msg, message_json(msg, attempts), rt.clock()))
