"""Twilio's webhooks. POST /twilio/inbound: a patient's text, answered with TwiML (SPEC §5)."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway import inbound, journal, outbound
from gateway.adapters.twilio_sms import twiml, valid_signature
from gateway.db import transaction
from gateway.web.context import runtime
from gateway.web.errors import error

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")
INBOUND_LOCK_TIMEOUT = dt.timedelta(seconds=5)


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
        reply = _handle(message)
    except OperationalError:
        # SPEC §9: a database outage (or a lock held past the limit) never loses a STOP —
        # journal it (fsync'd) and answer Twilio now; it is replayed when the database answers.
        journal.append(rt.settings.journal_dir, message, rt.clock())
        log.error("database unavailable: inbound %s journaled for replay", sid)
        return Response(twiml(None), mimetype="application/xml")
    _replay_journal()
    return Response(twiml(reply), mimetype="application/xml")


def _handle(message: inbound.Inbound) -> str | None:
    rt = runtime()
    with transaction(rt.sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Twilio gives up after 15 s: rather than wait behind a long lock, journal.
            timeout = int(INBOUND_LOCK_TIMEOUT.total_seconds() * 1000)
            session.execute(text(f"SET LOCAL lock_timeout = {timeout}"))
        row = inbound.handle(session, rt.rules, message, rt.clock(), rt.settings.default_region)
        return row.reply


def _replay_journal() -> None:
    """The database answers again: take up whatever was journaled meanwhile."""
    rt = runtime()
    if not journal.pending(rt.settings.journal_dir):
        return
    try:
        count = journal.replay(rt.settings.journal_dir, _replayed)
        log.warning("replayed %d journaled inbound texts", count)
    except Exception:  # the journal stays; the next request or `smsgate inbound replay` retries
        log.exception("journal replay failed; will retry")


def _replayed(message: inbound.Inbound) -> None:
    rt = runtime()
    with transaction(rt.sessions) as session:
        inbound.store_if_new(session, rt.rules, message, rt.clock(), rt.settings.default_region)


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
