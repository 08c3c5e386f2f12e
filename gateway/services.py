"""Use cases staff trigger: record consent, resolve a review, tokens. Take a session, never
commit; raise `Problem` for anything the caller did wrong."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger, preference_links
from gateway.domain import chain
from gateway.domain.consent import (
    LIFT_METHODS,
    PATIENT_LIFTS,
    Action,
    Event,
    Source,
    missing_lift_proof,
    patient_revocation_in_force,
)
from gateway.domain.keywords import KeywordRules
from gateway.domain.proof import RECORDABLE, missing_proof
from gateway.domain.restriction import RESTRICTIONS, missing_request_proof
from gateway.models import ApiToken, InboundMessage, Review

ROLES = ("admin", "front_desk", "auditor")
RESOLUTIONS = ("opt_out", "wrong_number", "no_action")
WRONG_NUMBER = "number no longer the patient's"
MAX_EVIDENCE_BYTES = 8 * 1024  # consent evidence, as UTF-8 JSON: the ledger keeps it forever
MAX_NOTE_CHARS = 2000  # a reviewer's note


class Problem(Exception):
    """Something the caller can fix; maps to an HTTP status and error code in one place."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def record_consent(
    session: Session,
    rules: KeywordRules,
    *,
    number: str,
    category: str,
    action: Action,
    source: Source,
    evidence: Mapping[str, Any],
    actor: str,
    now: dt.datetime,
    occurred_at: dt.datetime | None = None,
) -> Event:
    if category not in rules.categories and category not in RESTRICTIONS:
        known = ", ".join([*rules.categories, *RESTRICTIONS])
        raise Problem(422, "invalid_category", f"category must be one of: {known}", "category")
    if source not in RECORDABLE:
        allowed = ", ".join(sorted(RECORDABLE))
        raise Problem(422, "invalid_source", f"source must be one of: {allowed}", "source")
    if occurred_at is not None and occurred_at > now:
        # A future-dated grant would outrank a STOP that arrives before that time.
        raise Problem(422, "invalid_time", "occurred_at is in the future", "occurred_at")
    _check_evidence_size(evidence)
    if chain.has_erasure_marker(evidence):
        raise Problem(422, "invalid", "evidence may not carry erasure markers", "evidence")
    if category in RESTRICTIONS:
        _check_request(category, action, source, evidence)
    else:
        _check_consent_proof(
            session, rules, number, category, action, source, evidence, now, occurred_at
        )
    return ledger.append(
        session,
        number=number,
        category=category,
        action=action,
        source=source,
        actor=actor,
        evidence=evidence,
        now=now,
        occurred_at=occurred_at,
    )


def _check_consent_proof(
    session: Session,
    rules: KeywordRules,
    number: str,
    category: str,
    action: Action,
    source: Source,
    evidence: Mapping[str, Any],
    now: dt.datetime,
    occurred_at: dt.datetime | None,
) -> None:
    """SPEC §4: a grant carries its proof, and only the patient lifts the patient's revocation."""
    missing = missing_proof(
        requires_grant=rules.categories[category].requires_grant,
        action=action,
        source=source,
        evidence=evidence,
        disclosures=rules.disclosures,
    )
    # The number's lock before reading its history: a STOP arriving meanwhile waits for this
    # decision or is seen by it, never slips between the check and the grant.
    ledger.lock_number(session, number, now)
    if action is Action.GRANT:
        at = occurred_at or now
        revoked = patient_revocation_in_force(ledger.history(session, number, category), at)
        if revoked is not None:
            _refuse_lift(category, source, evidence, revoked, missing)
    if missing:
        raise Problem(
            422,
            "unprovable_consent",
            f"a {category} grant needs proof of express written consent; missing: "
            + "; ".join(missing),
            "evidence",
        )


def _check_request(
    category: str, action: Action, source: Source, evidence: Mapping[str, Any]
) -> None:
    """A restriction (HIPAA §164.522(b)) is the patient's own request, recorded or lifted at
    the desk that heard it: the ledger keeps who, how the patient asked, and a note."""
    missing = missing_request_proof(source, evidence)
    if missing:
        doing = "recording" if action is Action.GRANT else "lifting"
        raise Problem(
            422,
            "unprovable_request",
            f"{doing} {category} needs the patient's request on record; missing: "
            + "; ".join(missing),
            "source" if missing[0].startswith("source") else "evidence",
        )


def _check_evidence_size(evidence: Mapping[str, Any]) -> None:
    """Evidence is appended to the ledger and kept for years: a bound, in the JSON it is."""
    try:
        size = len(json.dumps(evidence, ensure_ascii=False, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):
        raise Problem(422, "invalid", "evidence must be plain JSON", "evidence") from None
    if size > MAX_EVIDENCE_BYTES:
        raise Problem(
            422,
            "too_large",
            f"evidence is {size} bytes as JSON; at most {MAX_EVIDENCE_BYTES} are kept",
            "evidence",
        )


def _refuse_lift(
    category: str,
    source: Source,
    evidence: Mapping[str, Any],
    revoked: Event,
    missing: list[str],
) -> None:
    """SPEC §4: only the patient lifts the patient's own revocation. Raise unless this grant
    is one of the ways the patient can (and carries what shows it), naming what is missing."""
    when = f"{revoked.occurred_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
    whose = (
        f"the patient revoked {category} ({revoked.source.value}, {when}, event {revoked.id}) "
        "and only the patient lifts that"
    )
    if revoked.source is Source.REASSIGNED:  # FCC §64.1200(m): the consent was the old holder's
        whose = (
            f"the number changed hands ({when}, event {revoked.id}): the {category} consent on "
            "file was its previous holder's, and only the new holder's own opt-in replaces it"
        )
    if source not in PATIENT_LIFTS:
        raise Problem(
            422,
            "unprovable_consent",
            f"{whose}: by texting START, by a new web form (source web_form), or through the "
            "front desk (source front_desk with evidence staff, method "
            f"({', '.join(LIFT_METHODS)}) and note); a grant from {source.value} cannot",
            "source",
        )
    lacking = missing_lift_proof(source, evidence)
    lacking += [piece for piece in missing if piece not in lacking]
    if lacking:
        raise Problem(
            422,
            "unprovable_consent",
            f"{whose}: a {source.value} grant that lifts it needs evidence; missing: "
            + "; ".join(lacking),
            "evidence",
        )


def resolve_review(
    session: Session,
    rules: KeywordRules,
    review_id: int,
    *,
    resolution: str,
    note: str | None,
    actor: str,
    now: dt.datetime,
) -> Review:
    """Staff decide a review: an opt-out (the sender's categories and marketing revoked), a
    wrong number (every category revoked: consent given by a number's previous holder never
    covers the new one, FCC §64.1200(m)), or no action."""
    review = session.get(Review, review_id, with_for_update=True) if review_id < 2**31 else None
    if review is None:
        raise Problem(404, "not_found", f"no review {review_id}")
    if review.status != "open":
        raise Problem(409, "already_resolved", f"review {review_id} is already resolved")
    if resolution not in RESOLUTIONS:
        allowed = ", ".join(RESOLUTIONS)
        raise Problem(422, "invalid_resolution", f"resolution is one of {allowed}", "resolution")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        # Kept on the review and, for an opt-out, in the ledger's evidence, for years.
        message = f"note is {len(note)} characters; at most {MAX_NOTE_CHARS}"
        raise Problem(422, "too_long", message, "note")
    if resolution != "no_action":
        everything = resolution == "wrong_number"
        review.event_ids = _revoke_from_review(session, rules, review, note, actor, now, everything)
        if everything:  # the previous holder's links must not change the new holder's texts
            preference_links.revoke_links(session, review.number, now)
    review.status, review.resolution, review.note = "resolved", resolution, note
    review.resolved_by, review.resolved_at = actor, now
    session.flush()
    return review


def _revoke_from_review(
    session: Session,
    rules: KeywordRules,
    review: Review,
    note: str | None,
    actor: str,
    now: dt.datetime,
    everything: bool,
) -> list[int]:
    inbound = session.get(InboundMessage, review.inbound_id)
    assert inbound is not None
    scope = rules.categories if everything else rules.sender_categories(inbound.to_number)
    categories = sorted({*scope, *(c for c, r in rules.categories.items() if r.requires_grant)})
    evidence: dict[str, Any] = {"inbound_sid": inbound.sid, "text": inbound.body, "note": note}
    if everything:
        evidence["reason"] = WRONG_NUMBER
    events = [
        ledger.append(
            session,
            number=review.number,
            category=category,
            action=Action.REVOKE,
            source=Source.REVIEW,
            actor=actor,
            evidence=evidence,
            now=now,
            occurred_at=review.received_at,
        )
        for category in categories
    ]
    return [e.id for e in events]


def hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, role: str, now: dt.datetime) -> str:
    if role not in ROLES:
        raise Problem(422, "invalid_role", f"role must be one of: {', '.join(ROLES)}", "role")
    if session.execute(select(ApiToken).where(ApiToken.name == name)).first():
        raise Problem(409, "duplicate_name", f"a token named {name!r} exists", "name")
    token = "sg_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def token_row(session: Session, token: str) -> ApiToken | None:
    """The token's row, revoked or not (to name a revoked token in the log)."""
    # The lookup is by hash, so no timing leak of the stored value through comparison.
    return session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).scalar_one_or_none()


def find_token(session: Session, token: str) -> ApiToken | None:
    """The token's row if it may be used: known and not revoked."""
    row = token_row(session, token)
    return row if row is not None and row.revoked_at is None else None


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, by name."""
    return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())


def revoke_token(session: Session, name: str, *, now: dt.datetime) -> ApiToken:
    """Revoke the token named `name`: refused from the next request on. Never deleted, so the
    access log's `token:NAME` still names a token that existed."""
    row = session.execute(
        select(ApiToken).where(ApiToken.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise Problem(404, "unknown_token", f"no token named {name!r}", "name")
    if row.revoked_at is not None:
        raise Problem(
            409,
            "already_revoked",
            f"token {name!r} is already revoked ({row.revoked_at:%Y-%m-%d %H:%M}Z)",
            "name",
        )
    row.revoked_at = now
    session.flush()
    return row
