"""Every wait on the worker's side is bounded, and a wait that runs out is tried again later:
never lost, never failed for good (issue 8, finding 13). The same for the journal's replay."""

from __future__ import annotations

import datetime as dt
import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, text

from gateway import inbound, journal, ledger, outbound
from gateway.adapters.rq_queue import QUEUE
from gateway.db import transaction
from gateway.domain.consent import Status
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.conftest import CLINIC, PATIENT, Clock, Phone
from workers import jobs
from workers.__main__ import Worker
from workers.runtime import WorkerRuntime

OTHER = "+13055550142"


@contextmanager
def holding(engine: Engine, sql: str, **params: str) -> Iterator[None]:
    """Another session holds a row lock. The server ends it after 10 s, so that code which
    waits on it without a bound (the defect) ends too, and the test fails instead of hanging."""
    with engine.connect() as holder:
        holder.execute(text("SET idle_in_transaction_session_timeout = 10000"))
        holder.execute(text(sql), params)
        yield
        holder.rollback()


def hold_number(engine: Engine, number: str) -> AbstractContextManager[None]:
    return holding(engine, "SELECT * FROM subjects WHERE number = :n FOR UPDATE", n=number)


def run_due_jobs(redis: Redis) -> None:
    """A worker with its scheduler, as `smsgate worker` runs one: due scheduled jobs too."""
    Worker([Queue(QUEUE, connection=redis)], connection=redis).work(burst=True, with_scheduler=True)


@pytest.mark.postgres_only
def test_a_worker_kept_from_a_number_hands_the_message_back_and_tries_again(
    send, fetch, worker: WorkerRuntime, drain, twilio, engine: Engine, redis: Redis, phone: Phone
) -> None:
    worker.lock_timeout = dt.timedelta(milliseconds=300)
    worker.busy_retry = dt.timedelta(0)  # due at once: no waiting in the test
    phone.text("HELP")  # the number is known: its row is there to be locked
    message = send(PATIENT)
    with hold_number(engine, PATIENT):
        drain()  # gives up within the bound instead of waiting for the holder
        waiting = fetch(message["id"])
        assert (waiting["status"], waiting["attempts"], twilio.sent) == ("queued", [], [])
    run_due_jobs(redis)  # the job it left for later
    done = fetch(message["id"])
    assert done["status"] == "sent" and len(twilio.sent) == 1


@pytest.mark.postgres_only
def test_reconcile_never_waits_on_a_message_a_worker_is_sending(
    send, fetch, worker: WorkerRuntime, engine: Engine, runtime: Runtime, clock: Clock
) -> None:
    message = send(PATIENT)
    with transaction(runtime.sessions) as session:  # claimed by a worker long ago
        assert outbound.claim(session, message["id"], clock.now - dt.timedelta(minutes=20))
    sql = "SELECT * FROM outbound_messages WHERE id = :id FOR UPDATE"
    with holding(engine, sql, id=message["id"]):  # ... which still holds it, sending
        assert jobs.recover(worker).lost == 0
        assert fetch(message["id"])["status"] == "sending"
    assert jobs.recover(worker).lost == 1  # nobody holds it: its worker is gone
    assert fetch(message["id"])["status"] == "unknown"


@pytest.mark.postgres_only
def test_a_locked_number_holds_back_only_its_own_journaled_texts(
    runtime: Runtime, engine: Engine, phone: Phone, clock: Clock, monkeypatch
) -> None:
    monkeypatch.setattr(journal, "REPLAY_LOCK_TIMEOUT", dt.timedelta(milliseconds=300))
    phone.text("HELP")  # the number is known: its row is there to be locked
    folder = runtime.settings.journal_dir
    for sid, number, body in [
        ("SM1", PATIENT, "STOP"),
        ("SM2", OTHER, "STOP"),
        ("SM3", PATIENT, "START"),
    ]:
        journal.append(folder, inbound.Inbound(sid + "0" * 31, number, CLINIC, body), clock.now)
        clock.advance(seconds=1)
    with hold_number(engine, PATIENT):
        assert journal.replay_pending(runtime) == 1  # the other patient's STOP, not kept waiting
        assert journal.pending(folder)
    assert journal.replay_pending(runtime) == 2
    assert not journal.pending(folder)
    with transaction(runtime.sessions) as session:
        assert ledger.current_status(session, OTHER, "transactional") is Status.REVOKED
        actions = [e.action for e in ledger.history(session, PATIENT)]
    assert actions[0] == "revoke" and actions[-1] == "grant"  # in the order the patient wrote


def test_a_journal_line_cut_short_is_set_aside_not_retried_forever(
    runtime: Runtime, clock: Clock
) -> None:
    folder = runtime.settings.journal_dir
    folder.mkdir(parents=True)
    (folder / journal.FILE).write_text('{"sid": "SM12", "from_nu\n')  # a crash mid-write
    journal.append(folder, inbound.Inbound("SM" + "4" * 32, PATIENT, CLINIC, "STOP"), clock.now)
    assert journal.replay_pending(runtime) == 1
    assert not journal.pending(folder)
    assert (folder / journal.REJECTED).read_text() == '{"sid": "SM12", "from_nu\n'


def test_a_folder_being_replayed_elsewhere_is_skipped_not_waited_for(
    runtime: Runtime, clock: Clock
) -> None:
    folder = runtime.settings.journal_dir
    journal.append(folder, inbound.Inbound("SM" + "5" * 32, PATIENT, CLINIC, "STOP"), clock.now)
    with open(folder / journal.LOCK, "a+b") as other:  # another web process is replaying
        fcntl.flock(other, fcntl.LOCK_EX)
        assert journal.replay_pending(runtime) == 0
        fcntl.flock(other, fcntl.LOCK_UN)
    assert journal.replay_pending(runtime) == 1


class LockNotAvailable(Exception):
    sqlstate = "55P03"  # what PostgreSQL says when a lock_timeout runs out


def test_a_held_back_text_keeps_that_numbers_later_texts_behind_it_in_newer_files(
    settings: Settings, clock: Clock
) -> None:
    from sqlalchemy.exc import OperationalError

    folder = settings.journal_dir
    journal.append(folder, inbound.Inbound("SM" + "7" * 32, PATIENT, CLINIC, "STOP"), clock.now)
    (folder / journal.FILE).rename(folder / "replaying-20261124180000000000.jsonl")  # set aside
    journal.append(folder, inbound.Inbound("SM" + "8" * 32, PATIENT, CLINIC, "START"), clock.now)
    applied: list[str] = []

    def handle(message: inbound.Inbound) -> None:
        if message.body == "STOP" and not applied:
            applied.append("(locked)")  # its number's lock ran out; free again right after
            raise OperationalError("SELECT … FOR UPDATE", {}, LockNotAvailable())
        applied.append(message.body)

    assert journal.replay(folder, handle) == 0  # the START waits behind the STOP before it
    assert journal.replay(folder, handle) == 2
    assert applied == ["(locked)", "STOP", "START"]
    assert not journal.pending(folder)
