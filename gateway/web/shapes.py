"""The shapes of the API's answers (SPEC §11), for the document and its testers.

Answers are built as dicts by the views; these models say what they hold. Fields may be
added, never renamed; every model allows more than it lists.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gateway.web.declare import Answer

Time = str  # UTC ISO-8601 with Z


class ErrorDetail(Answer):
    code: str = Field(examples=["invalid_phone"])
    message: str
    field: str | None = None


class Error(Answer):
    error: ErrorDetail


class ConsentEvent(Answer):
    id: int
    number: str = Field(examples=["+12015550123"])
    category: str
    action: Literal["grant", "revoke"]
    source: str
    occurred_at: Time | None
    recorded_at: Time | None
    actor: str | None
    evidence: dict[str, Any] | None
    hash: str
    corrects: int | None = Field(
        default=None, description="a correction's voided event (source correction); else null"
    )


class LedgerEvent(ConsentEvent):
    prev_hash: str | None
    corrected_by: int | None = Field(
        default=None, description="the correction that voided this event, if any (events list)"
    )


class Recorded(Answer):
    event: ConsentEvent


class Corrected(Answer):
    event: ConsentEvent
    corrected_event: ConsentEvent


class StateEvent(ConsentEvent):
    corrected_by: int | None = Field(
        default=None, description="the correction that later voided this event, if any"
    )


class CategoryState(Answer):
    status: Literal["granted", "revoked", "none"]
    may_send: bool
    event: StateEvent | None
    corrected_event: ConsentEvent | None = Field(
        default=None, description="when the event is a correction: the event it voided"
    )


class RestrictionState(Answer):
    in_force: bool
    event: ConsentEvent | None


class ConsentState(Answer):
    number: str
    at: Time | None
    categories: dict[str, CategoryState]
    # The patient's requests on how we text them (HIPAA §164.522(b)): "no_phi_by_text".
    restrictions: dict[str, RestrictionState]


class Inbound(Answer):
    id: int
    sid: str
    from_: str | None = Field(alias="from")
    to: str | None
    body: str | None
    received_at: Time | None
    intent: str
    categories: list[str] | None
    language: str | None
    rule: str | None
    reply: str | None
    replied_at: Time | None
    opt_out_type: str | None
    events: list[int] | None
    answer: str | None
    answer_to: str | None


class ReassignedCheck(Answer):
    """The reassigned-number check behind a marketing decision (FCC §64.1200(m))."""

    id: int
    outcome: Literal["reassigned", "not_reassigned", "no_data", "error", "skipped", "verified"] = (
        Field(examples=["not_reassigned"])
    )
    ran: bool  # false: skipped (dry-run, no Twilio credentials)
    asked_at: Time
    last_verified: str | None = Field(examples=["2026-06-01"])  # the date asked about


class NumberCheck(ReassignedCheck):
    number: str
    actor: str
    message_id: str | None
    evidence: dict[str, Any]


class NumberChecks(Answer):
    number: str
    last_verified: Time | None  # when the number was last known to be the patient's
    items: list[NumberCheck]


class Verified(Answer):
    check: NumberCheck


class Decision(Answer):
    outcome: str
    reason: str | None
    consent_event_id: int | None
    decided_at: Time | None
    until: Time | None
    text: Literal["body", "private_text"] | None = None
    # null: no check was due (not marketing, or the number was verified lately).
    reassigned_check: ReassignedCheck | None = None


class Attempt(Answer):
    at: Time | None
    result: str
    error_code: int | None
    detail: str | None


class Message(Answer):
    id: str = Field(examples=["msg_01JD3Q6X5V8M9T2K4R7W1Y3Z5A"])
    to: str
    sender: str | None
    category: str
    body: str | None
    template: str | None
    status: str
    send_at: Time | None
    created_at: Time | None
    updated_at: Time | None
    decision: Decision | None
    twilio_sid: str | None
    attempts: list[Attempt]


class BatchResult(Answer):
    """One message of a batch: queued (or the original of a repeated key), or refused."""

    index: int = Field(description="the message's place in the batch, from 0")
    status: Literal[202, 409, 422]
    message: Message | None
    error: ErrorDetail | None


class BatchAnswer(Answer):
    items: list[BatchResult]


class Review(Answer):
    id: int
    inbound_sid: str
    number: str
    text: str | None
    received_at: Time | None
    due_at: Time | None
    overdue: bool
    status: Literal["open", "resolved"]
    kind: str | None
    why: str | None
    resolution: str | None
    note: str | None
    resolved_by: str | None
    resolved_at: Time | None
    events: list[int] | None


class Access(Answer):
    id: int
    at: Time
    actor: str
    role: str
    action: str
    request_id: str | None
    numbers: list[str] | Literal["all"]
    detail: dict[str, Any] | None


class Page(Answer):
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class InboundPage(Page):
    items: list[Inbound]


class MessagePage(Page):
    items: list[Message]


class ReviewPage(Page):
    items: list[Review]


class EventPage(Page):
    items: list[LedgerEvent]


class AccessPage(Page):
    items: list[Access]


class Disclosures(AccessPage):
    number: str


class Verdict(Answer):
    ok: bool
    count: int = Field(description="events on file")
    verified: int = Field(description="events verified from the first, before any bad one")
    head: str | None = Field(description="the verified chain's last hash; null on a failure")
    first_bad_id: int | None
    reason: str | None
    message: str = Field(
        examples=["OK: 2 events verified (1 not sealed yet)", "FAILED at event 3: …"]
    )
    unsealed: int | None = Field(
        description="verified events no seal covers yet (their number's chain does); null if failed"
    )
    seal: str | None = Field(
        description="the last seal's hash, to compare with the one published; null before any"
    )


class Proof(Answer):
    kind: Literal["smsgate.message_proof"]
    version: int
    generated_at: Time | None
    message: Message
    decision: Decision | None
    consent_at_decision: dict[str, Any]
    decisive_event: dict[str, Any] | None
    chain: dict[str, Any]


class HeldReview(Answer):
    id: int
    received_at: Time | None
    status: str
    resolution: str | None
    note: str | None


class HeldErasure(Answer):
    at: Time | None
    actor: str
    counts: dict[str, Any] | None


class HeldAbout(Answer):
    number: str
    generated_at: Time | None
    consent: dict[str, dict[str, Any]]
    events: list[LedgerEvent]
    inbound: list[Inbound]
    messages: list[Message]
    reviews: list[HeldReview]
    erasures: list[HeldErasure]
    # Whether the number is still the patient's (§64.1200(m)): every check on record.
    checks: list[NumberCheck] = Field(default_factory=list)


class ErasureDone(Answer):
    id: int
    number: str
    at: Time | None
    actor: str
    counts: dict[str, Any] | None


class Erased(Answer):
    erasure: ErasureDone


class Health(Answer):
    status: Literal["ok"]
    dry_run: bool
