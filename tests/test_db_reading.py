"""gateway.db.reading: a lookup's reads without BEGIN/COMMIT on PostgreSQL. The connection
goes back to the pool as it came: the next transaction on it still rolls back whole."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import ledger
from gateway.db import reading, transaction
from gateway.domain.consent import Action, Source
from gateway.models import Subject

NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)
PATIENT = "+12015550123"


def subjects(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return int(session.execute(select(func.count()).select_from(Subject)).scalar_one())


def test_a_transaction_after_a_read_still_rolls_back_whole(
    sessions: sessionmaker[Session],
) -> None:
    for _ in range(3):  # the pool hands the same connection back each time
        with reading(sessions) as session:
            assert ledger.consent_of(session, PATIENT) == ({}, [])
        with pytest.raises(RuntimeError), transaction(sessions) as session:
            session.add(Subject(number=PATIENT, created_at=NOW))
            session.flush()
            raise RuntimeError("after the insert, before the commit")
        assert subjects(sessions) == 0


def test_a_read_sees_what_was_committed(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        event = ledger.append(
            session,
            number=PATIENT,
            category="marketing",
            action=Action.REVOKE,
            source=Source.SMS_KEYWORD,
            actor=PATIENT,
            evidence={"text": "STOP"},
            now=NOW,
        )
    with reading(sessions) as session:
        in_force, fixes = ledger.consent_of(session, PATIENT)
        as_of, _ = ledger.consent_of(session, PATIENT, NOW - dt.timedelta(seconds=1))
    assert (in_force["marketing"].id, fixes, as_of) == (event.id, [], {})
