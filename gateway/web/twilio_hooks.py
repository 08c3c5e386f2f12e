"""Twilio's webhooks. POST /twilio/inbound: a patient's text, answered with TwiML (SPEC §5)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway import inbound, inbound_pipeline, journal, outbound
from gateway.adapters.twilio_sms import twiml, valid_signature
from gateway.db import bound_lock_waits, transaction
from gateway.models import InboundMessage
from gateway.web.context import runtime
from gateway.web.declare import declared
from gateway.web.errors import error
from gateway.web.public.preferences import links

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")
INBOUND_LOCK_TIMEOUT = dt.timedelta(seconds=5)
SETTLE_WAIT = dt.timedelta(seconds=11)  # at most, for a just-claimed message (see below)
CALLBACK_WAITS = (0.2, 0.5, 0.0)  # seconds to wait for an unknown SID before trying again
SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's are SM/MM + 32 hex; nothing is cleaned
READ_ONCE = ("MessageSid", "SmsSid", "From", "To", "Body", "OptOutType", "MessageStatus")


class InboundForm(BaseModel):
    """What Twilio posts for a text (it sends more fields; they are signed, and ignored)."""

    model_config = ConfigDict(extra="allow")
    MessageSid: str = Field(pattern=SID.pattern, examples=["SM" + "0" * 32])
    From: str = Field(max_length=40, examples=["+12015550123"])
    To: str = Field(max_length=40, examples=["+12015550100"])
    Body: str = Field(
        "", description="Twilio sends at most 1,600 characters; a longer text is kept cut"
    )
    OptOutType: str | None = Field(None, description="STOP, START or HELP when Advanced Opt-Out")


class StatusForm(BaseModel):
    """What Twilio posts when a message's status changes."""

    model_config = ConfigDict(extra="allow")
    MessageSid: str = Field(pattern=SID.pattern)
    MessageStatus: str = Field(examples=["delivered"])
    ErrorCode: str | None = None
    To: str | None = None
    From: str | None = None


SIGNED = (
    {
        "name": "X-Twilio-Signature",
        "in": "header",
        "required": True,
        "description": "HMAC-SHA1 of PUBLIC_BASE_URL + path and the form, by TWILIO_AUTH_TOKEN "
        "(in dev mode without it, the development token)",
        "schema": {"type": "string"},
    },
)


def _signed() -> bool:
    settings = runtime().settings
    token, signature = settings.webhook_token, request.headers.get("X-Twilio-Signature")
    path = request.full_path.rstrip("?")
    if valid_signature(token, settings.public_base_url + path, request.form, signature):
        return True
    # The caller learns only "403"; the operator learns why. Never the number or the text.
    log.warning("webhook %s refused (403): %s", request.path, _why_refused(token, signature))
    return False


def _why_refused(token: str | None, signature: str | None) -> str:
    if not token:
        return (
            "no TWILIO_AUTH_TOKEN is set, so no signature can be checked "
            "(set it to the Twilio account's auth token)"
        )
    if not signature:
        return "no X-Twilio-Signature header (not sent by Twilio, or a proxy dropped it)"
    configured = runtime().settings.public_base_url
    for base in _bases_it_came_to():
        if base != configured and valid_signature(
            token, base + request.full_path.rstrip("?"), request.form, signature
        ):
            return (
                f"PUBLIC_BASE_URL is {configured} but the request came to {base}, and was "
                "signed for that: set PUBLIC_BASE_URL to the URL Twilio is told"
            )
    return (
        "X-Twilio-Signature does not match (another account's auth token, or the request "
        f"was changed on the way; checked against {configured})"
    )


def _bases_it_came_to() -> tuple[str, ...]:
    """The request's own scheme and host, and the other scheme (TLS ended at a proxy that
    TRUSTED_PROXIES does not count), where a misconfigured PUBLIC_BASE_URL would point."""
    base = request.host_url.rstrip("/")
    scheme, rest = base.split("://", 1)
    return (base, f"{'https' if scheme == 'http' else 'http'}://{rest}")


def _refused() -> Response | None:
    """The signature first (it covers every value of every key), then the shape."""
    if not _signed():
        return error(403, "bad_signature", "X-Twilio-Signature is missing or does not match")
    form = request.form
    for key in READ_ONCE:
        if len(form.getlist(key)) > 1:  # Twilio never repeats a key: which would we believe?
            return error(400, "malformed", f"{key} is given more than once", key)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not SID.fullmatch(sid):
        return error(400, "malformed", "MessageSid must be 1-64 letters and digits", "MessageSid")
    return None


@bp.post("/inbound")
@declared(
    "A patient's text, from Twilio; answered with TwiML",
    answer=None,
    form=InboundForm,
    headers=SIGNED,
    media=("application/xml",),
    errors=(403, 413),
)
def receive() -> Response:
    if (refusal := _refused()) is not None:
        return refusal
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    message = inbound.Inbound(
        sid=sid,
        from_number=_clean(form.get("From", ""))[:40],
        to_number=_clean(form.get("To", ""))[:40],
        body=_clean(form.get("Body", "")),
        opt_out_type=_clean(form.get("OptOutType", ""))[:10] or None,
    )
    rt = runtime()
    try:
        try:
            reply = _handle(message)
        except IntegrityError:
            # Twilio retried this MessageSid while the first delivery was being handled: the
            # first one stored it; answer with what it answered.
            reply = _stored_reply(message.sid)
    except SQLAlchemyError:
        # SPEC §9: a database outage (or a lock held past the limit) never loses a STOP —
        # journal it (fsync'd) and answer Twilio now; it is replayed when the database answers.
        journal.append(rt.settings.journal_dir, message, rt.clock())
        log.error("database unavailable: inbound %s journaled for replay", sid)
        return Response(twiml(None), mimetype="application/xml")
    _replay_journal()
    return Response(twiml(reply), mimetype="application/xml")


def _clean(value: str) -> str:
    return value.replace("\x00", "")


def _handle(message: inbound.Inbound) -> str | None:
    rt = runtime()
    now, region, link_maker = rt.clock(), rt.settings.default_region, links()
    with transaction(rt.sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            # A STOP (or a HELP, a text for the front desk) in two round trips; what it
            # does not take goes through the general pass, in the same transaction.
            done = inbound_pipeline.handle(
                session, rt.rules, message, now, region, INBOUND_LOCK_TIMEOUT, link_maker
            )
            if done is not None:
                return done.reply
            # Twilio gives up after 15 s: rather than wait behind a long lock, journal.
            bound_lock_waits(session, INBOUND_LOCK_TIMEOUT)
        row = inbound.handle(session, rt.rules, message, now, region, link_maker)
        return row.reply


def _stored_reply(sid: str) -> str | None:
    rt = runtime()
    with transaction(rt.sessions) as session:
        found = session.execute(select(InboundMessage.reply).where(InboundMessage.sid == sid))
        return found.scalar_one()  # NoResultFound (a SQLAlchemyError): journal it instead


def _replay_journal() -> None:
    """The database answers again: this process's replayer (a thread with its own lock
    bound) takes up whatever was journaled meanwhile. Woken, never waited for."""
    journal.wake(runtime())


def _record_status(sid: str, state: str, error_code: int | None) -> object | None:
    rt, form = runtime(), request.form
    with transaction(rt.sessions) as session:
        # A number's lock is held at most a Twilio call by a live worker; past the bound
        # the callback is answered 503 (the database handler), never left hanging.
        bound_lock_waits(session, INBOUND_LOCK_TIMEOUT)
        return outbound.record_status(
            session,
            sid,
            state,
            error_code,
            rt.clock(),
            to=_clean(form.get("To", "")),
            sender=_clean(form.get("From", "")),
            rules=rt.rules,
        )


@bp.post("/status")
@declared(
    "A delivery callback, from Twilio: recorded, never moving a message backwards",
    answer=None,
    status=204,
    form=StatusForm,
    headers=SIGNED,
    errors=(403, 413),
)
def status() -> Response:
    """Delivery callbacks: recorded, never moving a message backwards."""
    if (refusal := _refused()) is not None:
        return refusal
    form = request.form
    sid, state = form.get("MessageSid") or form.get("SmsSid") or "", form.get("MessageStatus")
    if not state:
        return error(400, "malformed", "MessageStatus is required", "MessageStatus")
    code = form.get("ErrorCode", "")
    error_code = int(code) if code.isascii() and code.isdigit() and len(code) < 9 else None
    rt = runtime()
    for wait in CALLBACK_WAITS:
        if _record_status(sid, _clean(state)[:40], error_code) is not None:
            break
        # Twilio can call back before the worker has committed the SID it just received.
        time.sleep(wait)
    else:
        # A message to this number was claimed moments ago and has no SID: its worker may be
        # live (about to lock and send it) or dead (Twilio answered it, and this is its
        # callback). Wait until a live worker would have its lock, then look once more.
        with transaction(rt.sessions) as session:
            settles = outbound.unsettled_claim(session, _clean(form.get("To", "")), rt.clock())
        if settles is not None:
            wait = (settles - rt.clock()).total_seconds() + 0.2
            time.sleep(max(0.0, min(wait, SETTLE_WAIT.total_seconds())))
            _record_status(sid, _clean(state)[:40], error_code)
    return Response(status=204)
