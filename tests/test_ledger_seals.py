"""Per-number hash chains and seals (issue 11, item 3): consent changes for different
numbers do not wait on each other, and the ledger stays tamper-evident."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import ledger
from gateway.db import bound_lock_waits, make_engine, transaction
from gateway.domain import chain
from gateway.domain.consent import Action, Source
from tests.conftest import PATIENT
from tests.test_ledger import T0, record

OTHER = "+13055550142"


def verify(sessions: sessionmaker[Session]) -> chain.Verdict:
    with transaction(sessions) as session:
        return ledger.verify(session)


def seal(sessions: sessionmaker[Session]) -> chain.Seal | None:
    with transaction(sessions) as session:
        row = ledger.seal(session, T0)
        return ledger.to_seal(row) if row else None


@pytest.fixture
def mixed(sessions: sessionmaker[Session]) -> list[int]:
    """Six events, the two numbers' interleaved: ids 1, 3, 5 are the patient's."""
    ids = []
    for i, action in enumerate([Action.GRANT, Action.REVOKE, Action.GRANT]):
        for number in (PATIENT, OTHER):
            ids.append(record(sessions, action, number=number, now=T0 + dt.timedelta(minutes=i)))
    return ids


def test_each_event_links_to_its_own_numbers_previous_event(sessions, mixed) -> None:
    with transaction(sessions) as session:
        patient, other = ledger.history(session, PATIENT), ledger.history(session, OTHER)
        rows = {link.id: link for link in ledger.links(session)}
    assert [e.id for e in patient] == [1, 3, 5] and [e.id for e in other] == [2, 4, 6]
    assert rows[1].prev_hash == rows[2].prev_hash == chain.GENESIS
    assert rows[3].prev_hash == rows[1].hash and rows[4].prev_hash == rows[2].hash
    verdict = verify(sessions)
    assert verdict.ok and verdict.summary == "OK: 6 events verified (6 not sealed yet)"


def test_a_seal_covers_the_events_since_the_last_one_and_chains_to_it(sessions, mixed) -> None:
    first = seal(sessions)
    assert first is not None and (first.id, first.after_id, first.last_id, first.count) == (
        1,
        0,
        6,
        6,
    )
    with transaction(sessions) as session:
        hashes = [link.hash for link in ledger.links(session)]
    assert first.root == chain.merkle_root(hashes) and first.prev_hash == chain.GENESIS
    assert seal(sessions) is None  # nothing new
    assert verify(sessions).summary == "OK: 6 events verified"
    record(sessions, Action.REVOKE, number=OTHER)
    assert verify(sessions).summary == "OK: 7 events verified (1 not sealed yet)"
    second = seal(sessions)
    assert second is not None and (second.after_id, second.last_id, second.count) == (6, 7, 1)
    assert second.prev_hash == first.hash
    verdict = verify(sessions)
    assert verdict.ok and verdict.unsealed == 0 and verdict.seal == second.hash


def test_deleting_a_numbers_latest_event_is_named(engine: Engine, sessions, mixed) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_state SET event_id = 1 WHERE event_id = 5"))
        connection.execute(text("DELETE FROM consent_events WHERE id = 5"))
    verdict = verify(sessions)
    assert (verdict.ok, verdict.first_bad_id) == (False, 6)  # the first event after the gap
    assert verdict.reason == "expected event 5 here" and verdict.count == 4


def test_an_event_added_after_a_numbers_head_is_named(engine: Engine, sessions, mixed) -> None:
    """A well-formed event chained onto the patient's latest, its hash right: the number's
    head does not name it."""
    with transaction(sessions) as session:
        last = next(link for link in ledger.links(session) if link.id == 5)
    forged = chain.Link(**{**vars(last), "id": 7, "action": "grant", "prev_hash": last.hash})
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO consent_events (id, number, category, action, source, occurred_at,"
                " recorded_at, actor, evidence, prev_hash, hash) SELECT 7, number, category,"
                " 'grant', source, occurred_at, recorded_at, actor, evidence, :prev, :h"
                " FROM consent_events WHERE id = 5"
            ),
            {"prev": last.hash, "h": forged.computed_hash()},
        )
    assert (verify(sessions).ok, verify(sessions).first_bad_id) == (False, 7)


def test_a_number_wiped_with_its_head_after_a_seal_is_caught_by_the_seal(
    engine: Engine, sessions, mixed
) -> None:
    seal(sessions)
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM consent_state WHERE number = '{OTHER}'"))
        connection.execute(text(f"DELETE FROM consent_events WHERE number = '{OTHER}'"))
        connection.execute(text(f"DELETE FROM subjects WHERE number = '{OTHER}'"))
    verdict = verify(sessions)
    assert (verdict.ok, verdict.first_bad_id) == (False, 1)
    assert verdict.reason == "events 1 to 6: 3 on file, seal 1 sealed 6"


def test_an_edit_with_every_hash_recomputed_is_caught_by_the_seal(
    engine: Engine, sessions, mixed
) -> None:
    """Whoever can write the database can recompute an unkeyed chain: the seal (published
    outside it) is what such an edit cannot match."""
    seal(sessions)
    with transaction(sessions) as session:
        links = {link.id: link for link in ledger.links(session)}
    edited = chain.Link(**{**vars(links[5]), "action": "revoke", "hash": ""})
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_events SET action = 'revoke', hash = :h WHERE id = 5"),
            {"h": edited.computed_hash()},
        )
        connection.execute(
            text("UPDATE subjects SET head_hash = :h WHERE number = :n"),
            {"h": edited.computed_hash(), "n": PATIENT},
        )
    verdict = verify(sessions)
    assert (verdict.ok, verdict.first_bad_id) == (False, 1)
    assert verdict.reason == (
        "events 1 to 6 do not match seal 1's Merkle root (rewritten with new hashes?)"
    )


def test_an_edited_sealed_event_is_named_by_its_numbers_chain(
    engine: Engine, sessions, mixed
) -> None:
    seal(sessions)
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_events SET action = 'grant' WHERE id = 3"))
    verdict = verify(sessions)
    assert (verdict.first_bad_id, verdict.reason) == (3, "event hash does not match its content")


def test_an_edited_seal_is_caught(engine: Engine, sessions, mixed) -> None:
    seal(sessions)
    with engine.begin() as connection:
        connection.execute(text("UPDATE ledger_seals SET count = 5"))
    verdict = verify(sessions)
    assert (verdict.first_bad_id, verdict.reason) == (1, "seal 1's hash does not match its content")


def test_an_erased_numbers_sealed_events_still_verify(sessions, mixed) -> None:
    from gateway import erasure

    seal(sessions)
    with transaction(sessions) as session:
        erasure.erase_number(session, PATIENT, "test", T0)
    assert verify(sessions).summary == "OK: 6 events verified"


@pytest.mark.postgres_only
def test_two_numbers_stops_commit_without_waiting_on_each_other(sessions, mixed) -> None:
    """One number's consent change is held open; another number's completes within a
    100 ms lock bound, and sealing meanwhile neither waits long nor seals past the open one."""
    holding, release = threading.Event(), threading.Event()

    def hold_patient() -> None:
        with transaction(sessions) as session:
            ledger.append(
                session,
                number=PATIENT,
                category="marketing",
                action=Action.REVOKE,
                source=Source.SMS_KEYWORD,
                actor=PATIENT,
                evidence={"text": "STOP"},
                now=T0,
            )
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_patient)
    holder.start()
    try:
        assert holding.wait(10)
        with transaction(sessions) as session:
            bound_lock_waits(session, dt.timedelta(milliseconds=100))
            other = ledger.append(
                session,
                number=OTHER,
                category="marketing",
                action=Action.REVOKE,
                source=Source.SMS_KEYWORD,
                actor=OTHER,
                evidence={"text": "STOP"},
                now=T0,
            )
        assert other.id == 8  # committed while the patient's event 7 is still open
        with transaction(sessions) as session:
            assert ledger.seal(session, T0, wait=dt.timedelta(milliseconds=200)) is None
    finally:
        release.set()
        holder.join()
    sealed = seal(sessions)
    assert sealed is not None and (sealed.last_id, sealed.count) == (8, 8)
    assert verify(sessions).summary == "OK: 8 events verified"


@pytest.mark.postgres_only
def test_the_seal_waits_for_an_open_append_whose_transaction_began_after_a_newer_one(
    engine: Engine, sessions, mixed
) -> None:
    """An append's transaction may have a newer transaction id than one that committed a
    higher event id (it began later, then took its id first): the seal still waits for it,
    though no snapshot lists it as running."""

    def revoke(session: Session, number: str) -> ledger.Event:
        return ledger.append(
            session,
            number=number,
            category="marketing",
            action=Action.REVOKE,
            source=Source.SMS_KEYWORD,
            actor=number,
            evidence={"text": "STOP"},
            now=T0,
        )

    older, newer = sessions(), sessions()
    try:
        older.execute(text("SELECT pg_current_xact_id()"))  # the older transaction id
        opened = revoke(newer, PATIENT)  # the newer transaction takes event 7, stays open
        assert revoke(older, OTHER).id == opened.id + 1
        older.commit()  # event 8 is on file while event 7 is still open
        with transaction(sessions) as session:
            assert ledger.seal(session, T0, wait=dt.timedelta(milliseconds=300)) is None
        newer.commit()
    finally:
        older.close()
        newer.close()
    sealed = seal(sessions)
    assert sealed is not None and (sealed.last_id, sealed.count) == (8, 8)
    assert verify(sessions).summary == "OK: 8 events verified"


def test_the_workers_periodic_seal_seals_what_is_final(sessions, mixed, worker) -> None:
    from workers import jobs

    assert jobs.seal() == 6
    assert jobs.seal() == 0
    assert verify(sessions).summary == "OK: 6 events verified"


@pytest.mark.postgres_only
def test_a_long_transaction_in_another_database_does_not_hold_the_seal_back(
    engine: Engine, sessions, mixed
) -> None:
    """The seal waits for this database's open appends only: a report or a bulk load in
    another database on the same server (which holds a transaction id) does not matter."""
    elsewhere = make_engine(engine.url.set(database="postgres"))
    try:
        with elsewhere.connect() as connection:
            connection.execute(text("SELECT pg_current_xact_id()"))  # holds an xid, open
            sealed = seal(sessions)
            connection.rollback()
    finally:
        elsewhere.dispose()
    assert sealed is not None and (sealed.last_id, sealed.count) == (6, 6)
