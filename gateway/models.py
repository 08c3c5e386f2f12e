"""ORM rows. Consent events are insert-only; nothing here saves itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, CanonicalJSON, UTCDateTime


class Subject(Base):
    """One row per phone number we hold anything about: the row every change locks."""

    __tablename__ = "subjects"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The number's chain head, moved in the append's own transaction under this row's lock:
    # deleting a number's latest events leaves it naming one that is gone.
    head_id: Mapped[int | None] = mapped_column(Integer)
    head_hash: Mapped[str | None] = mapped_column(String(64))


class LedgerHead(Base):
    """The old global chain's end, frozen at the switch to per-number chains: events with
    ids up to `seq` link to the previous event of the whole ledger, later ones to the
    previous event of their number. Never written after the switch (0 on a new ledger)."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ConsentEventRow(Base):
    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    number: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # An imported row's fingerprint: re-running the same file adds nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Storage only, outside the hash: the stored evidence text is `canonical_json`'s, so the
    # export may write it as it is. Every insert through this table says so (CanonicalJSON
    # wrote the text); a row written any other way gets the database's FALSE and is written
    # by Python, as before (migration 0012). An update of the evidence through this column
    # (erasure) sets it true; one writing its own text must set it false.
    evidence_canonical: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())

    __table_args__ = (
        Index("ix_consent_events_number_category", "number", "category", "occurred_at"),
        Index("ix_consent_events_occurred_at", "occurred_at"),
        Index("ix_consent_events_number_id", "number", "id"),  # each number's chain, in order
    )


class LedgerSeal(Base):
    """A seal: the events with ids in (after_id, last_id], counted, their Merkle root, and
    the previous seal's hash (SPEC §4; `smsgate ledger seal`)."""

    __tablename__ = "ledger_seals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    after_id: Mapped[int] = mapped_column(Integer, unique=True)
    last_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ConsentStateRow(Base):
    """Current state per (number, category), updated in the event's own transaction."""

    __tablename__ = "consent_state"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_events.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(40), index=True)
    to_number: Mapped[str] = mapped_column(String(40))
    body: Mapped[str | None] = mapped_column(Text)
    opt_out_type: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    intent: Mapped[str] = mapped_column(String(10), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(120))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    event_ids: Mapped[list[int]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(200))
    # Read as the answer to the question of our message `answer_to` ("C" -> "confirm").
    answer: Mapped[str | None] = mapped_column(String(40))
    answer_to: Mapped[str | None] = mapped_column(String(40))


class Review(Base):
    """A text that may be an opt-out: staff decide within 10 business days (FCC 24-24)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), index=True, default="open")
    # opt_out: maybe a request to stop; wrong_number: maybe no longer the patient's number.
    kind: Mapped[str] = mapped_column(String(20), default="opt_out", server_default="opt_out")
    why: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    event_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("name", name="uq_api_tokens_name"),)


class StaffUser(Base):
    """A person who signs in to the console (SPEC §8): the API's roles, an argon2 hash, and
    the count of wrong passwords since the last right one."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A session signed in before this instant is over (sign-out ends every session).
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("name", name="uq_staff_users_name"),)


class OutboundMessage(Base):
    """A message the clinic asked to send, with the decision made at send time (SPEC §6)."""

    __tablename__ = "outbound_messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_ + ULID: sorts by time
    to_number: Mapped[str] = mapped_column(String(20), index=True)
    sender: Mapped[str | None] = mapped_column(String(20))
    requested_sender: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(100))
    # The template's private text, rendered when queued: what goes instead of `body` to a
    # number with no PHI by text (HIPAA §164.522(b)). Erased and purged like the body.
    private_body: Mapped[str | None] = mapped_column(Text)
    # Which text the decision chose: "body" or "private_text" (then `body` is what went).
    sent_text: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), index=True)
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_digest: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(20))
    consent_event_id: Mapped[int | None] = mapped_column(ForeignKey("consent_events.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    job_id: Mapped[str | None] = mapped_column(String(80))
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The reassigned-number check behind a marketing decision: the check's id, outcome and
    # the date asked about, or that it was skipped (dry-run). None: none was due.
    reassigned_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_outbound_messages_to_category_sent", "to_number", "category", "sent_at"),
    )


class SendAttempt(Base):
    """Each time a worker took the message: the decision or Twilio's answer."""

    __tablename__ = "send_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbound_messages.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(String(40))
    error_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(300))


class AccessLog(Base):
    """Who read what, when (HIPAA §164.312(b) audit controls; the accounting of disclosures)."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    all_numbers: Mapped[bool] = mapped_column(default=False)  # an unfiltered list or export
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AccessNumber(Base):
    """The numbers one access touched, for a number's accounting of disclosures."""

    __tablename__ = "access_numbers"
    access_id: Mapped[int] = mapped_column(ForeignKey("access_log.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class Erasure(Base):
    """A patient's erasure, or a retention purge: what was erased, by whom, when."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(20))  # patient_request | retention
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)


class OptInRequest(Base):
    """A category a web form asked for that waits for the patient's YES by text (double
    opt-in, SPEC §10): until then nothing is granted, so a stranger's typing sends no offers."""

    __tablename__ = "opt_in_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    # The form's grant of care messages, if it made one: none when the number's own revocation
    # held every category back (SPEC §4: only the patient lifts it, by YES/START from the phone).
    form_event_id: Mapped[int | None] = mapped_column(ForeignKey("consent_events.id"))
    # The form's evidence (page, address, browser, boxes, time): the grant after YES names it.
    form_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the form showed for this category: the grant after YES names the same words.
    disclosure_version: Mapped[str] = mapped_column(String(100))
    disclosure_sha256: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirmed_event_id: Mapped[int | None] = mapped_column(ForeignKey("consent_events.id"))

    # The webhook's one extra read for a YES: this number's open requests, newest first.
    __table_args__ = (Index("ix_opt_in_requests_number_expires", "number", "expires_at"),)


class PreferenceLink(Base):
    """A signed link a HELP reply carried to a number (SPEC §10): what the token's id names.
    The token itself is never stored; it is recomputed from the id and SECRET_KEY."""

    __tablename__ = "preference_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    inbound_sid: Mapped[str] = mapped_column(String(64))  # the HELP text it answered
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NumberCheck(Base):
    """Whether a number is still the patient's (FCC §64.1200(m)): every question put to the
    reassigned-numbers database and its answer, and each front-desk "verified". Insert-only:
    this record is the safe-harbor defence."""

    __tablename__ = "number_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # reassigned | not_reassigned | no_data | error | skipped | verified (domain.reassigned)
    outcome: Mapped[str] = mapped_column(String(20))
    last_verified: Mapped[dt.date | None] = mapped_column(Date)  # the date asked about
    actor: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("outbound_messages.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_number_checks_number_at", "number", "at"),)
