"""Amendment as pure rules: what correcting an event leaves, and what the ledger says before
and after the correction was recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.consent import (
    Action,
    Correction,
    Event,
    NotCorrectable,
    Source,
    Status,
    correction_of,
    patient_revocation_in_force,
    restorable,
    state_as_of,
    status_of,
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
