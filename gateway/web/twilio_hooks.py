"""Twilio's webhooks. POST /twilio/inbound: a patient's text, answered with TwiML (SPEC §5)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import OperationalError

from gateway import inbound, journal, outbound
from gateway.adapters.twilio_sms import twiml, valid_signature
from gateway.db import transaction
from gateway.web.context import runtime
from gateway.web.errors import error

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")


def _signed() -> bool:
    settings = runtime().settings
    url = settings.public_base_url + request.full_path.rstrip("?")
    signature = request.headers.get("X-Twilio-Signature")
    return valid_signature(settings.twilio_auth_token, url, request.form, signature)


@bp.post("/inbound")
def receive() -> Response:
    if not _signed():
        return error(403, "bad_signature", "X-Twilio-Signature is missing or does not match")
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        return error(400, "malformed", "MessageSid is required", "MessageSid")
    message = inbound.Inbound(
        sid=sid,
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        body=form.get("Body", ""),
        opt_out_type=form.get("OptOutType") or None,
    )
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            row = inbound.handle(session, rt.rules, message, rt.clock(), rt.settings.default_region)
            reply = row.reply
    except OperationalError:
        # SPEC §9: a database outage never loses a STOP — journal it (fsync'd), replay later.
        journal.append(rt.settings.journal_dir, message, rt.clock())
        log.error("database unavailable: inbound %s journaled for replay", sid)
        reply = None
    return Response(twiml(reply), mimetype="application/xml")


@bp.post("/status")
def status() -> Response:
    """Delivery callbacks: recorded, never moving a message backwards."""
    if not _signed():
        return error(403, "bad_signature", "X-Twilio-Signature is missing or does not match")
    form = request.form
    sid, state = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus")
    if not sid or not state:
        return error(400, "malformed", "MessageSid and MessageStatus are required")
    code = form.get("ErrorCode")
    rt = runtime()
    with transaction(rt.sessions) as session:
        outbound.record_status(
            session, sid, state, int(code) if code and code.isdigit() else None, rt.clock()
        )
    return Response(status=204)
