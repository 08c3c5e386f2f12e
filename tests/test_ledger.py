"""The consent ledger against the real database: chain, as-of, back-dating, concurrency."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import ledger
from gateway.db import transaction
from gateway.domain.consent import Action, Source, deciding_events, state_as_of
from gateway.models import ConsentStateRow
from tests.conftest import PATIENT

T0 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)


def record(
    sessions: sessionmaker[Session],
    action: Action,
    *,
    category: str = "marketing",
    number: str = PATIENT,
    source: Source = Source.API,
    now: dt.datetime = T0,
    occurred_at: dt.datetime | None = None,
) -> int:
    with transaction(sessions) as session:
        event = ledger.append(
            session,
            number=number,
            category=category,
            action=action,
            source=source,
            actor="test",
            evidence={"note": "n"},
            now=now,
            occurred_at=occurred_at,
        )
        return event.id


def verdict(sessions: sessionmaker[Session]) -> tuple[bool, int | None]:
    with transaction(sessions) as session:
        result = ledger.verify(session)
    return result.ok, result.first_bad_id


@pytest.fixture
def five(sessions: sessionmaker[Session]) -> list[int]:
    actions = [Action.GRANT, Action.REVOKE, Action.GRANT, Action.REVOKE, Action.GRANT]
    return [record(sessions, a, now=T0 + dt.timedelta(minutes=i)) for i, a in enumerate(actions)]


def test_an_untouched_chain_verifies(sessions, five) -> None:
    assert verdict(sessions) == (True, None)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE consent_events SET action = 'revoke' WHERE id = 3",
        'UPDATE consent_events SET evidence = \'{"note": "forged"}\' WHERE id = 3',
        "UPDATE consent_events SET number = '+12015550199' WHERE id = 3",
    ],
)
def test_editing_an_event_is_detected(engine: Engine, sessions, five, tamper) -> None:
    with engine.begin() as connection:
        assert connection.execute(text(tamper)).rowcount == 1
    assert verdict(sessions) == (False, 3)


def test_deleting_an_event_is_detected(engine: Engine, sessions, five) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_state SET event_id = 5"))
        connection.execute(text("DELETE FROM consent_events WHERE id = 2"))
    assert verdict(sessions) == (False, 3)


def test_inserting_an_event_is_detected(engine: Engine, sessions, five) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO consent_events (id, number, category, action, source, occurred_at,"
                " recorded_at, actor, evidence, prev_hash, hash) SELECT 6, number, category,"
                " 'revoke', source, occurred_at, recorded_at, actor, evidence, hash, :h"
                " FROM consent_events WHERE id = 5"
            ),
            {"h": "f" * 64},
        )
    assert verdict(sessions) == (False, 6)


def test_swapping_two_events_ids_is_detected(engine: Engine, sessions, five) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_state SET event_id = 5"))
        connection.execute(text("UPDATE consent_events SET id = 100 WHERE id = 2"))
        connection.execute(text("UPDATE consent_events SET id = 2 WHERE id = 3"))
        connection.execute(text("UPDATE consent_events SET id = 3 WHERE id = 100"))
    assert verdict(sessions) == (False, 2)


def test_as_of_answers_match_a_replay_of_events(sessions) -> None:
    rng = random.Random(7)
    for i in range(40):
        when = T0 + dt.timedelta(minutes=i)
        back = when - dt.timedelta(minutes=rng.randint(0, 30))  # some arrive back-dated
        record(
            sessions,
            rng.choice(list(Action)),
            category=rng.choice(["marketing", "transactional"]),
            now=when,
            occurred_at=back,
        )
    with transaction(sessions) as session:
        events = ledger.history(session, PATIENT)
        current = ledger.current(session, PATIENT)
    for minute in range(0, 45, 3):
        at = T0 + dt.timedelta(minutes=minute, seconds=30)
        replayed: dict[str, int] = {}
        for event in sorted(events, key=lambda e: e.id):  # replay in recording order
            if event.recorded_at <= at and event.occurred_at <= at:
                held = next((e for e in events if e.id == replayed.get(event.category)), None)
                if held is None or event.order > held.order:
                    replayed[event.category] = event.id
        assert {c: e.id for c, e in state_as_of(events, at).items()} == replayed
    assert {c: e.id for c, e in deciding_events(events).items()} == {
        c: e.id for c, e in current.items()
    }


def test_a_back_dated_import_does_not_override_a_newer_stop(sessions) -> None:
    stop = record(sessions, Action.REVOKE, source=Source.SMS_KEYWORD, now=T0)
    record(
        sessions,
        Action.GRANT,
        source=Source.IMPORT,
        now=T0 + dt.timedelta(days=1),
        occurred_at=T0 - dt.timedelta(days=300),
    )
    with transaction(sessions) as session:
        assert ledger.current(session, PATIENT)["marketing"].id == stop
        assert ledger.current_status(session, PATIENT, "marketing").value == "revoked"
    assert verdict(sessions) == (True, None)


def test_concurrent_opt_outs_and_opt_ins_leave_the_state_of_the_last_event(sessions) -> None:
    rounds, barrier = 25, threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(action: Action) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                record(sessions, action, now=dt.datetime.now(dt.UTC))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in (Action.REVOKE, Action.GRANT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(sessions) as session:
        events = ledger.history(session, PATIENT, "marketing")
        state = session.execute(select(ConsentStateRow)).scalar_one()
    assert len(events) == 2 * rounds
    last = max(events, key=lambda e: e.order)
    assert (state.event_id, state.status) == (
        last.id,
        "granted" if last.action == "grant" else "revoked",
    )
    assert verdict(sessions) == (True, None)


@pytest.mark.postgres_only
def test_concurrent_stops_and_grants_through_the_requests_end_in_the_last_event(
    app, tokens, sessions
) -> None:
    """The same race through the webhook and the API, as Twilio and the front desk make it."""
    from tests.conftest import Phone, bearer

    rounds, barrier, errors = 20, threading.Barrier(2), []
    body = {
        "number": PATIENT,
        "category": "marketing",
        "action": "grant",
        # The patient's STOPs race it: each grant lifts a STOP, so it carries what the front
        # desk must record for that (SPEC §4): who took it, how the patient asked, a note.
        "source": "front_desk",
        "evidence": {
            "disclosure_version": "mkt-2026-01",
            "staff": "a",
            "method": "in_person",
            "note": "asked at the desk",
        },
    }

    def patient() -> None:
        phone = Phone(app.test_client())
        barrier.wait()
        for i in range(rounds):
            response = phone.text("STOP", sid=f"SM{i:032x}")
            if response.status_code != 200:
                errors.append(response.status_code)

    def front_desk() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(rounds):
            response = client.post(
                "/api/v1/consent", headers=bearer(tokens["front_desk"]), json=body
            )
            if response.status_code != 201:
                errors.append(response.status_code)

    threads = [threading.Thread(target=patient), threading.Thread(target=front_desk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(sessions) as session:
        events = ledger.history(session, PATIENT, "marketing")
        state = session.execute(
            select(ConsentStateRow).where(ConsentStateRow.category == "marketing")
        ).scalar_one()
        assert ledger.verify(session).ok
    last = max(events, key=lambda e: e.order)
    assert state.event_id == last.id
    assert state.status == ("granted" if last.action == "grant" else "revoked")
