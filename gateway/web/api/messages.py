"""POST /api/v1/messages (the outbox), GET one with its decision and attempts, GET a list."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway import access, outbound, proofs
from gateway.db import transaction
from gateway.models import OutboundMessage, SendAttempt
from gateway.services import Problem
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, current_actor, requires
from gateway.web.context import runtime
from gateway.web.errors import FieldError

log = logging.getLogger(__name__)
bp = Blueprint("messages", __name__, url_prefix="/api/v1/messages")
SEND = ("admin", "front_desk")
STATUSES = tuple(outbound.RANK)


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


def _request(body: dict[str, Any]) -> outbound.Request:
    rt = runtime()
    to = params.phone(body.get("to"), "to", rt.settings.default_region)
    sender = body.get("sender")
    if sender is not None:
        sender = params.phone(sender, "sender", rt.settings.default_region)
    template = body.get("template")
    if template is not None:
        fields = body.get("fields") or {}
        if not isinstance(template, str) or not isinstance(fields, dict):
            raise FieldError("invalid", "template is a name and fields an object", "template")
        text, category = outbound.render(rt.rules, template, fields)
    else:
        text, category = params.text(body, "body") or "", params.text(body, "category") or ""
    if template is not None and body.get("category") not in (None, category):
        raise FieldError("invalid_category", f"template {template} is {category}", "category")
    return outbound.Request(
        to=to,
        category=category,
        body=text,
        actor=str(current_actor()),
        send_at=params.timestamp(body.get("send_at"), "send_at"),
        sender=sender,
        template=template,
        idempotency_key=_idempotency_key(),
    )


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise FieldError("invalid", "Idempotency-Key is at most 200 characters", "Idempotency-Key")
    return key or None


@bp.post("")
@requires(*SEND)
def create() -> tuple[Response, int]:
    rt = runtime()
    message = _request(params.json_body())
    try:
        with transaction(rt.sessions) as session:
            row, created = outbound.submit(session, rt.rules, message, rt.clock())
    except IntegrityError:  # the same Idempotency-Key raced in from another request
        with transaction(rt.sessions) as session:
            row, created = outbound.submit(session, rt.rules, message, rt.clock())
    if created:
        _enqueue(row)
    return jsonify(message_json(row, [])), 202


def _enqueue(row: OutboundMessage) -> None:
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
@audited("messages.read")
def show(message_id: str) -> Response:
    with transaction(runtime().sessions) as session:
        msg = session.get(OutboundMessage, message_id)
        if msg is None:
            raise Problem(404, "not_found", f"no message {message_id}")
        attempts = outbound.attempts(session, msg.id)
        touch([msg.to_number])
        return jsonify(message_json(msg, attempts))


@bp.get("")
@requires(*READ)
@audited("messages.list")
def index() -> Response:
    rt = runtime()
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    if to := request.args.get("to"):
        query = query.where(
            OutboundMessage.to_number == params.phone(to, "to", rt.settings.default_region)
        )
    if status := request.args.get("status"):
        if status not in STATUSES:
            raise FieldError("invalid", f"status is one of {', '.join(STATUSES)}", "status")
        query = query.where(OutboundMessage.status == status)
    if category := request.args.get("category"):
        query = query.where(OutboundMessage.category == category)
    if since := params.timestamp(request.args.get("since"), "since"):
        query = query.where(OutboundMessage.created_at >= since)
    if until := params.timestamp(request.args.get("until"), "until"):
        query = query.where(OutboundMessage.created_at < until)
    if after := request.args.get("cursor"):
        query = query.where(OutboundMessage.id < params.text_cursor(after))
    size = params.limit()
    with transaction(rt.sessions) as session:
        rows = list(session.execute(query.limit(size)).scalars())
        items = [message_json(row, []) for row in rows]
    touch(access.numbers_in(items, "to"))
    cursor = params.encode_cursor(rows[-1].id) if len(rows) == size else None
    return jsonify({"items": items, "next_cursor": cursor})


@bp.get("/<message_id>/proof")
@requires("admin", "auditor")
@audited("messages.proof")
def proof(message_id: str) -> Response:
    rt = runtime()
    with transaction(rt.sessions) as session:
        msg = session.get(OutboundMessage, message_id)
        if msg is None:
            raise Problem(404, "not_found", f"no message {message_id}")
        touch([msg.to_number])
        attempts = outbound.attempts(session, msg.id)
        return jsonify(proofs.document(session, msg, message_json(msg, attempts), rt.clock()))
