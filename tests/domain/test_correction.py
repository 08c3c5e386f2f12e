"""Amendment as pure rules: what correcting an event leaves, and what the ledger says before
and after the correction was recorded."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

import pytest

from gateway.domain.consent import (
    Action,
    Correction,
    Event,
    NotCorrectable,
    Source,
    Status,
    contested_order,
    correction_of,
    deciding_events,
    patient_revocation_in_force,
    restorable,
    standing,
    state_as_of,
    status_of,
    supersedes,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NUMBER = "+12015550123"


def ev(i: int, action: str, source: str, category: str = "marketing") -> Event:
    t = T0 + dt.timedelta(days=i)
    return Event(i, NUMBER, category, Action(action), Source(source), t, t, "x")


def fix(i: int, target: Event, history: list[Event]) -> Event:
    """The correction event `ledger.correct` would append as event `i`."""
    c = correction_of(target, history)
    t = T0 + dt.timedelta(days=i)
    evidence = c.evidence("logged on the wrong number")
    return Event(i, NUMBER, target.category, c.action, Source.CORRECTION, t, t, "admin", evidence)


G1 = ev(1, "grant", "web_form")
S2 = ev(2, "revoke", "sms_keyword")
G3 = ev(3, "grant", "front_desk")
CARE4 = ev(4, "revoke", "front_desk", "transactional")


@pytest.mark.parametrize(
    ("history", "target", "status", "leaves", "action"),
    [
        # A STOP on the wrong number, its only event: nothing remains, status none.
        ([S2], S2, Status.NONE, None, Action.REVOKE),
        # A STOP on the wrong number after a grant: the grant is in force again.
        ([G1, S2], S2, Status.GRANTED, G1, Action.GRANT),
        # The corrected event was not the one in force: the state stays what it was.
        ([G1, S2, G3], S2, Status.GRANTED, G3, Action.GRANT),
        ([G1, S2], G1, Status.REVOKED, S2, Action.REVOKE),
        # Another category's events have no say.
        ([G1, S2, CARE4], S2, Status.GRANTED, G1, Action.GRANT),
    ],
)
def test_a_correction_leaves_the_state_the_other_events_make(
    history, target, status, leaves, action
) -> None:
    c = correction_of(target, history)
    assert (c.status, c.leaves, c.action) == (status, leaves, action)


def test_an_earlier_correction_does_not_keep_the_state_it_copied() -> None:
    first = fix(5, S2, [G1, S2])  # granted, from G1
    assert correction_of(G1, [G1, S2, first]) == Correction(G1, None)


def test_an_event_cannot_be_corrected_twice() -> None:
    first = fix(5, S2, [G1, S2])
    with pytest.raises(NotCorrectable) as refused:
        correction_of(S2, [G1, S2, first])
    assert refused.value.conflict


def test_a_correction_cannot_be_corrected() -> None:
    first = fix(5, S2, [G1, S2])
    with pytest.raises(NotCorrectable) as refused:
        correction_of(first, [G1, S2, first])
    assert not refused.value.conflict


def test_the_correction_names_what_it_corrects_why_and_what_it_leaves() -> None:
    c = fix(5, S2, [G1, S2])
    assert dict(c.evidence) == {
        "corrects": 2,
        "reason": "logged on the wrong number",
        "status": "granted",
        "leaves_in_force": 1,
    }
    assert status_of(fix(5, S2, [S2])) is Status.NONE


def test_as_of_before_the_correction_the_corrected_event_was_in_force() -> None:
    c = fix(5, S2, [G1, S2])
    history = [G1, S2, c]
    assert state_as_of(history, T0 + dt.timedelta(days=4))["marketing"] == S2
    assert state_as_of(history, T0 + dt.timedelta(days=5))["marketing"] == c
    assert status_of(state_as_of(history, T0 + dt.timedelta(days=9))["marketing"]) is (
        Status.GRANTED
    )


def test_a_voided_stop_needs_no_lift_and_start_finds_nothing_of_it() -> None:
    c = fix(5, S2, [G1, S2])
    assert patient_revocation_in_force([G1, S2], T0 + dt.timedelta(days=6)) == S2
    assert patient_revocation_in_force([G1, S2, c], T0 + dt.timedelta(days=6)) is None
    # The real owner's STOP afterwards: START restores the grant, not a phantom.
    s6 = ev(6, "revoke", "sms_keyword")
    assert restorable([G1, S2, c, s6], requires_grant=True)
    care = [ev(1, "revoke", "sms_keyword", "transactional")]
    care.append(fix(5, care[0], care))
    care.append(ev(6, "revoke", "sms_keyword", "transactional"))
    assert restorable(care, requires_grant=False)


# A late record: recorded on day `i` (its id), dated `days` after T0 (a journal-replayed STOP, a
# paper opt-out with an earlier occurred_at).
def late(i: int, days: float, action: str, source: str = "paper_form") -> Event:
    return replace(ev(i, action, source), occurred_at=T0 + dt.timedelta(days=days))


C3 = fix(3, S2, [G1, S2])  # the wrong STOP voided on day 3: granted, from G1
NONE3 = fix(3, S2, [S2])  # the only event voided: none
R4 = late(4, 1.5, "revoke")  # dated between the grant and the correction
OLD4 = late(4, 0.5, "revoke")  # dated before the grant it would have had to beat
G4 = late(4, 2.5, "grant", "front_desk")
S5 = ev(5, "revoke", "sms_keyword")
R6 = late(6, 1.5, "revoke")

IN_FORCE_CASES = [
    # The correction is in force over what was on record when it was made.
    ([G1, S2, C3], C3),
    # Recorded after the correction, dated before it: it beats the grant the correction left,
    # so it takes effect, as it would have without the correction (review finding F).
    ([G1, S2, C3, R4], R4),
    # Dated before the grant the correction left: it loses to that grant, so the correction
    # stays in force.
    ([G1, S2, C3, OLD4], C3),
    ([G1, S2, C3, G4], G4),
    # The correction left nothing: any later-recorded event takes effect, whatever its date.
    ([S2, NONE3, OLD4], OLD4),
    # After the correction the usual order decides between the later-recorded events.
    ([G1, S2, C3, S5, R6], S5),
    # The late revoke voided in turn: the newest correction is in force, the grant's status.
    ([G1, S2, C3, R4, fix(5, R4, [G1, S2, C3, R4])], 5),
    # Two corrections: the newest one, which knew of the first.
    ([G1, S2, C3, fix(4, G1, [G1, S2, C3])], 4),
]


@pytest.mark.parametrize(("history", "in_force"), IN_FORCE_CASES)
def test_the_event_in_force_after_a_correction(history: list[Event], in_force: Any) -> None:
    expected = in_force if isinstance(in_force, int) else in_force.id
    assert deciding_events(history)["marketing"].id == expected
    # Every event recorded by now: as of now is the same answer.
    assert state_as_of(history, T0 + dt.timedelta(days=30))["marketing"].id == expected


@pytest.mark.parametrize(("history", "in_force"), IN_FORCE_CASES)
def test_the_state_row_moved_event_by_event_agrees_with_the_event_in_force(
    history: list[Event], in_force: Any
) -> None:
    assert replayed(history) == deciding_events(history)["marketing"]


def replayed(history: list[Event]) -> Event | None:
    """What the ledger's state row holds after recording `history` one event at a time."""
    held: Event | None = None
    by_id = {e.id: e for e in history}
    for event in sorted(history, key=lambda e: e.id):
        leaves = by_id.get(held.evidence.get("leaves_in_force", -1)) if held else None
        if held is None or supersedes(event, contested_order(held, leaves)):
            held = event
    return held


def test_as_of_a_late_revoke_counts_from_when_it_was_recorded() -> None:
    history = [G1, S2, C3, R4]
    then = [state_as_of(history, T0 + dt.timedelta(days=d))["marketing"] for d in (1, 2, 3)]
    assert then == [G1, S2, C3]
    # Between the correction and the late revoke's recording: the correction, as it was then.
    assert state_as_of(history, T0 + dt.timedelta(days=3, hours=12))["marketing"] == C3
    assert state_as_of(history, T0 + dt.timedelta(days=4))["marketing"] == R4
    assert status_of(state_as_of(history, T0 + dt.timedelta(days=4))["marketing"]) is (
        Status.REVOKED
    )


def test_a_random_record_with_corrections_replays_to_the_event_in_force() -> None:
    """The state row (event by event) and the pure rule (the whole history) never disagree,
    whatever the dates, corrections and late records."""
    rng = random.Random(10)
    for _ in range(300):
        history: list[Event] = []
        for i in range(1, rng.randint(2, 9)):
            voidable = standing(history)
            if voidable and rng.random() < 0.3:
                history.append(fix(i, rng.choice(voidable), history))
                continue
            back = dt.timedelta(days=rng.choice([0, 0, 0.5, 1.5, 2.5, 4]))
            event = ev(i, rng.choice(["grant", "revoke"]), "front_desk")
            history.append(replace(event, occurred_at=event.occurred_at - back))
        expected = deciding_events(history).get("marketing")
        assert replayed(history) == expected, history
