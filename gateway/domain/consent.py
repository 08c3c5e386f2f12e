"""Consent events and the state they leave (SPEC §4). Pure: time comes in as an argument."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"


class Source(StrEnum):
    SMS_KEYWORD = "sms_keyword"
    WEB_FORM = "web_form"
    FRONT_DESK = "front_desk"
    PAPER_FORM = "paper_form"
    API = "api"
    CARRIER_BLOCK = "carrier_block"
    IMPORT = "import"
    REVIEW = "review"
    # An admin's amendment of a wrongly recorded event (SPEC §4): never recorded through the
    # consent API or an import, only by `ledger.correct`.
    CORRECTION = "correction"
    # The reassigned-numbers database says the number changed hands (FCC §64.1200(m)).
    REASSIGNED = "reassigned"


class Status(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"
    NONE = "none"


# Revocations the patient made from the phone itself: START may undo exactly these.
SELF_SERVICE_REVOCATIONS = frozenset({Source.SMS_KEYWORD, Source.CARRIER_BLOCK})

# The patient's own revocations (SPEC §4): their STOP text, a STOP to the carrier, a text staff
# read as an opt-out, the opt-out box of a web form, a signed paper opt-out. A revoke by the
# front desk, a system (`api`) or an old list (`import`) is a staff decision staff may undo.
# An imported revoke counts too: an opt-out list carried over from a previous vendor is the
# patients' own STOPs, and nothing in it says otherwise. A `reassigned` revoke is held the same
# way: the consent it ended was the previous holder's, and only the new holder's own opt-in
# (a web form, the front desk with its story) may replace it — never a re-sent old list.
PATIENT_REVOCATIONS = frozenset(
    {
        Source.SMS_KEYWORD,
        Source.CARRIER_BLOCK,
        Source.REVIEW,
        Source.WEB_FORM,
        Source.PAPER_FORM,
        Source.IMPORT,
        Source.REASSIGNED,
    }
)
# Only these grants can lift one: the patient's START/YES, a new web form, a front-desk grant
# with its story. Never `api`, `import` (nothing shows the patient asked) or a paper form (the
# front desk records a signed form as `front_desk` with method `signed_form`).
PATIENT_LIFTS = frozenset({Source.SMS_KEYWORD, Source.WEB_FORM, Source.FRONT_DESK})
LIFT_METHODS = ("in_person", "phone_call", "signed_form")  # how the patient asked the desk


@dataclass(frozen=True)
class Event:
    """One consent change as recorded; `id` orders recording, `occurred_at` orders truth."""

    id: int
    number: str
    category: str
    action: Action
    source: Source
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    hash: str = ""

    @property
    def order(self) -> tuple[dt.datetime, int]:
        # A back-dated import (earlier occurred_at, later id) never overrides a newer decision.
        return (self.occurred_at, self.id)


def status_of(event: Event | None) -> Status:
    if event is None:
        return Status.NONE
    left = event.evidence.get("status")
    if event.source is Source.CORRECTION and left in set(Status):
        # A correction carries the state it left, which may be "none": an action cannot say so.
        return Status(left)
    return Status.GRANTED if event.action is Action.GRANT else Status.REVOKED


def may_send(status: Status, requires_grant: bool) -> bool:
    """Marketing needs a grant on record; care messages need only the absence of a revoke."""
    return status is Status.GRANTED if requires_grant else status is not Status.REVOKED


def deciding_events(events: Iterable[Event]) -> dict[str, Event]:
    """Per category, the event in force (SPEC §4).

    Among the standing events, the latest by (occurred_at, id) decides. A correction's own
    time is when the admin acted, not when anything happened, so it does not compete by it:
    the category's newest correction is in force when what decides was already on record when
    it was made (its stored status is that event's, or none), and an event recorded after it
    that wins on its own order is in force instead (a STOP replayed from the journal, a paper
    opt-out entered late) — as it would have been without the correction."""
    events = list(events)
    latest = _latest(standing(events))
    for category, fixed in _latest_corrections(events).items():
        decided = latest.get(category)
        if decided is None or decided.id < fixed.id:
            latest[category] = fixed
    return latest


def _latest(events: Iterable[Event]) -> dict[str, Event]:
    latest: dict[str, Event] = {}
    for event in events:
        current = latest.get(event.category)
        if current is None or event.order > current.order:
            latest[event.category] = event
    return latest


def _latest_corrections(events: Iterable[Event]) -> dict[str, Event]:
    latest: dict[str, Event] = {}
    for event in events:
        current = latest.get(event.category)
        if event.source is Source.CORRECTION and (current is None or event.id > current.id):
            latest[event.category] = event
    return latest


def state_as_of(events: Iterable[Event], at: dt.datetime) -> dict[str, Event]:
    """The events in force at `at`: those that had occurred by then, and been recorded (so
    before a correction was recorded, the event it voided was in force)."""
    return deciding_events(e for e in events if e.occurred_at <= at and e.recorded_at <= at)


def supersedes(new: Event, current: tuple[dt.datetime, int] | None) -> bool:
    """Does `new` become the category's current state? A correction always does: it decides on
    everything recorded before it. Any other event only if it is newer than `current`, the
    order `contested_order` gives for the event in force (None: nothing to beat)."""
    return new.source is Source.CORRECTION or current is None or new.order > current


def contested_order(in_force: Event, leaves: Event | None) -> tuple[dt.datetime, int] | None:
    """The order a new event must beat to replace `in_force`. Against a correction, it is the
    order of the event the correction left in force (`leaves`; None when it left none), the
    same contest `deciding_events` holds: a revoke dated before the correction but recorded
    after it takes effect exactly when it would have without the correction."""
    if in_force.source is not Source.CORRECTION:
        return in_force.order
    return leaves.order if leaves else None


def voided_ids(events: Iterable[Event]) -> frozenset[int]:
    """The events a correction names: as if never recorded, from the correction on."""
    return frozenset(
        e.evidence["corrects"]
        for e in events
        if e.source is Source.CORRECTION and isinstance(e.evidence.get("corrects"), int)
    )


def standing(events: Iterable[Event]) -> list[Event]:
    """The record as it should have been: without the voided events, and without the
    corrections themselves (each only repeats the state the others leave)."""
    events = list(events)
    voided = voided_ids(events)
    return [e for e in events if e.source is not Source.CORRECTION and e.id not in voided]


@dataclass(frozen=True)
class Correction:
    """What correcting `corrects` leaves: the event then in force in its category (or none),
    and the action a correction event records (that event's; the voided one's when none)."""

    corrects: Event
    leaves: Event | None

    @property
    def status(self) -> Status:
        return status_of(self.leaves)

    @property
    def action(self) -> Action:
        return (self.leaves or self.corrects).action

    def evidence(self, reason: str) -> dict[str, Any]:
        return {
            "corrects": self.corrects.id,
            "reason": reason,
            "status": self.status.value,
            "leaves_in_force": self.leaves.id if self.leaves else None,
        }


class NotCorrectable(Exception):
    """Why an event may not be corrected; `conflict` when it was corrected already."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


def correction_of(target: Event, history: Iterable[Event]) -> Correction:
    """Correcting `target`, given every event of its number and category (SPEC §4).

    The chain is never rewritten: the correction is a new event, the newest decision, and the
    state it records is what the other events leave by the usual (occurred_at, id) order.
    Correcting a correction is refused (record the right event instead: undoing an undo is
    a puzzle an auditor should not have to solve), and so is correcting an event twice."""
    history = [e for e in history if e.category == target.category and e.number == target.number]
    if target.source is Source.CORRECTION:
        raise NotCorrectable(
            f"event {target.id} is itself a correction; record the right event instead"
        )
    if target.id in voided_ids(history):
        raise NotCorrectable(f"event {target.id} is corrected already", conflict=True)
    remaining = [e for e in standing(history) if e.id != target.id]
    return Correction(target, deciding_events(remaining).get(target.category))


def restorable(history: Iterable[Event], requires_grant: bool) -> bool:
    """May START restore this category? (SPEC §5.5)

    START undoes what the patient's own keyword or carrier revocations took away. Walking back
    past those, the first other decision tells what was there before: a grant is restored; a
    staff revoke stays; nothing at all restores a care category but never creates marketing
    consent that was never given ("YES" confirming an appointment is not a marketing opt-in).
    A corrected event counts as never recorded.
    """
    ordered = sorted(standing(history), key=lambda e: e.order, reverse=True)
    if not ordered or ordered[0].action is not Action.REVOKE:
        return False  # nothing to restore
    for event in ordered:
        if event.action is Action.REVOKE and event.source in SELF_SERVICE_REVOCATIONS:
            continue
        return event.action is Action.GRANT
    return not requires_grant


def patient_revocation_in_force(history: Iterable[Event], at: dt.datetime) -> Event | None:
    """The patient's own revocation a grant occurring at `at` would lift, if any (SPEC §4).

    Walking back from `at`: a revoke of the patient's is what the grant would lift; a grant the
    patient could have made (PATIENT_LIFTS) means they lifted it already. Staff revokes on top
    of a STOP, and `api` or `import` grants recorded before this rule, hide nothing. A grant
    dated before the revocation lifts nothing: the newer revocation stays in force. A corrected
    event counts as never recorded: a STOP an admin voided (it was logged on the wrong number)
    blocks nothing."""
    earlier = sorted((e for e in standing(history) if e.occurred_at <= at), key=lambda e: e.order)
    for event in reversed(earlier):
        if event.action is Action.GRANT and event.source in PATIENT_LIFTS:
            return None
        if event.action is Action.REVOKE and event.source in PATIENT_REVOCATIONS:
            return event
    return None


def _ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return isinstance(value, str)


def missing_lift_proof(source: Source, evidence: Mapping[str, Any]) -> list[str]:
    """What a grant from a PATIENT_LIFTS source lacks to lift the patient's own revocation;
    empty when it may. A web form: its page, the IP address and browser, the checkbox state. The
    front desk: the staff member who took it, how the patient asked, and a note."""
    if source is Source.FRONT_DESK:
        return [
            piece
            for piece, ok in (
                ("staff", _text(evidence.get("staff"))),
                (
                    f"method (one of {', '.join(LIFT_METHODS)})",
                    evidence.get("method") in LIFT_METHODS,
                ),
                ("note", _text(evidence.get("note"))),
            )
            if not ok
        ]
    if source is Source.WEB_FORM:
        missing = [key for key in ("user_agent",) if not _text(evidence.get(key))]
        url = evidence.get("page_url")
        if not (_text(url) and str(url).startswith(("https://", "http://"))):
            missing.insert(0, "page_url (the form's http(s) address)")
        if not _ip(evidence.get("ip")):
            missing.insert(1, "ip (the address the form was sent from)")
        if evidence.get("checkbox_unchecked_by_default") is not True:
            missing.append("checkbox_unchecked_by_default: true")
        return missing
    return []


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
