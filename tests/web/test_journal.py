"""SPEC §9: a database outage on the inbound webhook never loses a STOP."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import create_engine

from gateway import inbound, journal, ledger
from gateway.db import session_factory, transaction
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Phone


def test_a_stop_during_an_outage_is_journaled_and_replayed(
    phone: Phone, runtime: Runtime, client, auth, clock
) -> None:
    healthy = runtime.sessions
    down = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")  # nothing listens
    runtime.sessions = session_factory(down)
    response = phone.text("STOP", sid="SM" + "c" * 32)
    assert response.status_code == 200  # Twilio is answered; no retry storm
    assert (runtime.settings.journal_dir / journal.FILE).exists()

    runtime.sessions = healthy
    clock.advance(minutes=20)  # the database comes back later
    assert client.get("/api/v1/inbound", headers=auth("admin")).get_json()["items"] == []

    def handle(message: inbound.Inbound) -> None:
        with transaction(healthy) as session:
            inbound.handle(session, runtime.rules, message, runtime.clock(), "US")

    assert journal.replay(runtime.settings.journal_dir, handle) == 1
    assert journal.replay(runtime.settings.journal_dir, handle) == 0
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    assert state["categories"]["transactional"]["status"] == "revoked"
    assert (
        state["categories"]["transactional"]["event"]["evidence"]["inbound_sid"] == "SM" + "c" * 32
    )


def test_replay_is_idempotent_after_a_crash_midway(runtime: Runtime, phone: Phone) -> None:
    folder = runtime.settings.journal_dir
    message = inbound.Inbound("SM" + "d" * 32, PATIENT, "+12015550100", "STOP")
    journal.append(folder, message, runtime.clock())
    journal.append(folder, replace(message, sid="SM" + "e" * 32, body="HELP"), runtime.clock())
    seen: list[str] = []

    def crash_after_first(m: inbound.Inbound) -> None:
        seen.append(m.sid)
        if len(seen) == 1:
            with transaction(runtime.sessions) as session:
                inbound.handle(session, runtime.rules, m, runtime.clock(), "US")
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        journal.replay(folder, crash_after_first)

    def handle(m: inbound.Inbound) -> None:
        with transaction(runtime.sessions) as session:
            inbound.handle(session, runtime.rules, m, runtime.clock(), "US")

    assert journal.replay(folder, handle) == 2  # both again; the first changes nothing
    with transaction(runtime.sessions) as session:
        assert len(ledger.history(session, PATIENT)) == 2


@pytest.mark.postgres_only
def test_a_stop_stuck_behind_a_lock_is_journaled_then_replayed(
    phone: Phone, runtime: Runtime, client, auth, engine, monkeypatch
) -> None:
    import datetime as dt

    from sqlalchemy import text

    from gateway.web import twilio_hooks
    from tests.workers.processes import until

    monkeypatch.setattr(twilio_hooks, "INBOUND_LOCK_TIMEOUT", dt.timedelta(milliseconds=300))
    phone.text("HELP")  # the number is known
    replayer = journal.watch(runtime, every=0.1)  # what create_app starts in a web process
    try:
        with engine.connect() as holder:
            # Ended by the server after 10 s, so that a replay which waits on it ends too.
            holder.execute(text("SET idle_in_transaction_session_timeout = 10000"))
            holder.execute(
                text("SELECT * FROM subjects WHERE number = :n FOR UPDATE"), {"n": PATIENT}
            )
            assert phone.text("STOP", sid="SM" + "f" * 32).status_code == 200  # answered
            assert journal.pending(runtime.settings.journal_dir)
            # Another patient's text, the lock still held: answered with its own reply, and
            # not kept waiting on the replay of the journaled STOP.
            other = phone.text("HELP", frm="+13055550142")
            assert other.status_code == 200 and b"<Message>" in other.data
            assert journal.pending(runtime.settings.journal_dir)  # replay waits, not the answer
            holder.rollback()
        until(lambda: not journal.pending(runtime.settings.journal_dir), 15, "the replay")
    finally:
        replayer.stop()
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    assert state["categories"]["transactional"]["status"] == "revoked"
