"""Amendment (SPEC §4): an admin corrects a wrongly recorded event — a STOP logged on the wrong
number, a grant filed under the wrong category — by appending a `correction` event that names
it and says why. Nothing is updated: the chain still verifies, the corrected event stays on
file, and the state follows the correction. Takes the caller's session and never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.consent import Event, NotCorrectable, Source, correction_of
from gateway.models import ConsentEventRow
from gateway.services import Problem

MAX_REASON = 500  # kept for years beside the event: a sentence or two, not a file


def correct(
    session: Session,
    *,
    event_id: int,
    reason: str,
    actor: str,
    now: dt.datetime,
    number: str | None = None,
) -> Event:
    """Void event `event_id`: its category's state becomes what the other events leave.
    Given `number` (a form on that number's page), an event of another number is not found."""
    reason = reason.strip()
    if not reason:
        # Voiding a patient's STOP bypasses the lift rules: only with a reason on record.
        raise Problem(422, "required", "a correction must say why (reason)", "reason")
    if len(reason) > MAX_REASON:
        raise Problem(422, "too_long", f"reason is at most {MAX_REASON} characters", "reason")
    target = ledger.get(session, event_id)
    if target is None or number not in (None, target.number):
        raise Problem(404, "not_found", f"there is no event {event_id}", "corrects")
    # The number's lock before reading its history: two admins correcting the same event at
    # once record one correction and a 409, never two.
    ledger.lock_number(session, target.number, now)
    try:
        fix = correction_of(target, ledger.history(session, target.number, target.category))
    except NotCorrectable as exc:
        code = "already_corrected" if exc.conflict else "not_correctable"
        raise Problem(409 if exc.conflict else 422, code, str(exc), "corrects") from None
    return ledger.append(
        session,
        number=target.number,
        category=target.category,
        action=fix.action,
        source=Source.CORRECTION,
        actor=actor,
        evidence=fix.evidence(reason),
        now=now,
    )


def corrected_by(session: Session, numbers: Iterable[str]) -> dict[int, int]:
    """Per corrected event id, the id of the correction that voided it, for these numbers."""
    query = select(ConsentEventRow).where(
        ConsentEventRow.source == Source.CORRECTION.value,
        ConsentEventRow.number.in_(sorted(set(numbers))),
    )
    rows = session.execute(query).scalars()
    return {row.evidence["corrects"]: row.id for row in rows if _names(row.evidence)}


def corrections_of(session: Session, number: str) -> dict[int, Event]:
    """Per corrected event id, the correction that voided it, for one number."""
    return voided_by(ledger.history(session, number))


def voided_by(events: Iterable[Event]) -> dict[int, Event]:
    """Per corrected event id, the correction among `events` that voided it."""
    return {
        e.evidence["corrects"]: e
        for e in events
        if e.source is Source.CORRECTION and _names(e.evidence)
    }


def _names(evidence: Mapping[str, Any]) -> bool:
    """Written by `correct`, `corrects` is an id; a row edited by hand is for verify to name."""
    return isinstance(evidence.get("corrects"), int)
