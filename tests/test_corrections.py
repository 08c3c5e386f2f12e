"""Amendment against the real database (SPEC §4): a correction is appended through the ledger
like any event, so the chain still verifies, the state row names the correction, and editing
the corrected event by SQL is still caught by `verify`."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import corrections, ledger
from gateway.cli import main
from gateway.db import transaction
from gateway.domain.consent import Action, Source, Status, deciding_events, state_as_of
from gateway.models import ConsentEventRow, ConsentStateRow
from gateway.services import Problem
from tests.conftest import PATIENT
from tests.test_ledger import T0, record, verdict

WHY = "STOP typed against the wrong patient"


def correct(sessions: sessionmaker[Session], event_id: int, minutes: int = 10) -> int:
    with transaction(sessions) as session:
        return corrections.correct(
            session,
            event_id=event_id,
            reason=WHY,
            actor="token:admin",
            now=T0 + dt.timedelta(minutes=minutes),
        ).id


@pytest.fixture
def wrong_stop(sessions: sessionmaker[Session]) -> tuple[int, int]:
    grant = record(sessions, Action.GRANT, source=Source.PAPER_FORM)
    stop = record(sessions, Action.REVOKE, source=Source.SMS_KEYWORD, now=T0 + dt.timedelta(1))
    return grant, stop


def state(sessions: sessionmaker[Session]) -> tuple[str, int]:
    with transaction(sessions) as session:
        row = session.get(ConsentStateRow, (PATIENT, "marketing"))
        assert row is not None
        return row.status, row.event_id


def test_a_correction_moves_the_state_and_the_chain_still_verifies(sessions, wrong_stop) -> None:
    assert state(sessions) == ("revoked", wrong_stop[1])
    fixed = correct(sessions, wrong_stop[1], minutes=60 * 24 + 5)
    assert state(sessions) == ("granted", fixed)
    assert verdict(sessions) == (True, None)
    with transaction(sessions) as session:
        rows = session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id)).scalars()
        kept = [(r.id, r.source, r.action) for r in rows]
    # Nothing rewritten: the STOP is still on file, the correction appended after it.
    assert kept == [
        (1, "paper_form", "grant"),
        (2, "sms_keyword", "revoke"),
        (3, "correction", "grant"),
    ]


def test_editing_the_corrected_event_by_sql_is_still_detected(
    engine: Engine, sessions, wrong_stop
) -> None:
    correct(sessions, wrong_stop[1], minutes=60 * 24 + 5)
    with engine.begin() as connection:
        edited = connection.execute(
            text("UPDATE consent_events SET action = 'grant' WHERE id = :id"), {"id": wrong_stop[1]}
        )
        assert edited.rowcount == 1
    assert verdict(sessions) == (False, wrong_stop[1])


def test_a_correction_leaving_nothing_sets_status_none(sessions) -> None:
    stop = record(sessions, Action.REVOKE, source=Source.SMS_KEYWORD)
    fixed = correct(sessions, stop)
    assert state(sessions) == ("none", fixed)
    with transaction(sessions) as session:
        assert ledger.current_status(session, PATIENT, "marketing") is Status.NONE


def test_a_newer_event_after_a_correction_moves_the_state_as_usual(sessions, wrong_stop) -> None:
    correct(sessions, wrong_stop[1], minutes=60 * 24 + 5)
    later = record(sessions, Action.REVOKE, source=Source.SMS_KEYWORD, now=T0 + dt.timedelta(2))
    assert state(sessions) == ("revoked", later)


@pytest.mark.parametrize(
    ("target", "reason", "status", "code"),
    [
        (99, WHY, 404, "not_found"),
        (2, " \n ", 422, "required"),
        (2, "x" * 501, 422, "too_long"),
    ],
)
def test_a_refused_correction_records_nothing(
    sessions, wrong_stop, target: int, reason: str, status: int, code: str
) -> None:
    with pytest.raises(Problem) as refused, transaction(sessions) as session:
        corrections.correct(session, event_id=target, reason=reason, actor="a", now=T0)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert state(sessions) == ("revoked", wrong_stop[1])
    assert verdict(sessions) == (True, None)


def test_ledger_correct_on_the_command_line(env, sessions, wrong_stop) -> None:
    result = CliRunner().invoke(main, ["ledger", "correct", str(wrong_stop[1]), "--reason", WHY])
    assert result.exit_code == 0, result.output
    assert f"corrects event {wrong_stop[1]}" in result.output and "now granted" in result.output
    with transaction(sessions) as session:
        fixed = ledger.history(session, PATIENT)[-1]
    assert (fixed.source, fixed.actor, fixed.evidence["reason"]) == (
        Source.CORRECTION,
        "cli:maria",
        WHY,
    )
    again = CliRunner().invoke(main, ["ledger", "correct", str(wrong_stop[1]), "--reason", WHY])
    assert again.exit_code != 0 and "corrected already" in again.output
    shown = CliRunner().invoke(main, ["ledger", "show", PATIENT])
    assert f"corrects #{wrong_stop[1]}" in shown.output
    blank = CliRunner().invoke(main, ["ledger", "correct", "1", "--reason", "  "])
    assert blank.exit_code != 0 and "why" in blank.output


def test_a_revoke_recorded_after_a_correction_but_dated_before_it_takes_effect(
    sessions, wrong_stop
) -> None:
    """Review finding F: a journal-replayed STOP or a paper opt-out dated between the grant and
    the correction is recorded after the correction; it beats the grant, so it is in force."""
    fixed = correct(sessions, wrong_stop[1], minutes=60 * 24 + 5)
    late = record(
        sessions,
        Action.REVOKE,
        source=Source.PAPER_FORM,
        now=T0 + dt.timedelta(2),
        occurred_at=T0 + dt.timedelta(hours=12),
    )
    assert state(sessions) == ("revoked", late)
    with transaction(sessions) as session:
        events = ledger.history(session, PATIENT)
        assert ledger.current_status(session, PATIENT, "marketing") is Status.REVOKED
    assert deciding_events(events)["marketing"].id == late
    # As of a time between the correction and the late revoke's recording: the correction.
    between = state_as_of(events, T0 + dt.timedelta(days=1, hours=12))
    assert between["marketing"].id == fixed
    assert verdict(sessions) == (True, None)


def test_a_late_revoke_dated_before_the_grant_the_correction_left_changes_nothing(
    sessions, wrong_stop
) -> None:
    fixed = correct(sessions, wrong_stop[1], minutes=60 * 24 + 5)
    record(
        sessions,
        Action.REVOKE,
        source=Source.PAPER_FORM,
        now=T0 + dt.timedelta(2),
        occurred_at=T0 - dt.timedelta(hours=1),
    )
    assert state(sessions) == ("granted", fixed)
    with transaction(sessions) as session:
        assert deciding_events(ledger.history(session, PATIENT))["marketing"].id == fixed
