"""No database session outlives its process (issue 8, finding 13).

RQ forks its scheduler from a worker whose pool holds a connection. A child that kept the
parent's socket would keep the parent's session — and its locks — alive after the parent
died. And whatever still slips through, PostgreSQL ends a session idle in a transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import Engine, text

from gateway.db import make_engine
from tests.conftest import ROOT
from tests.workers.processes import alive

# A parent with a pooled connection forks a long-lived child, then locks the ledger's head
# in an open transaction (as a worker holds a number while Twilio answers) and waits.
PARENT = textwrap.dedent(
    """
    import os, sys, time
    from sqlalchemy import text
    from gateway.db import make_engine

    engine = make_engine(sys.argv[1])
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the pool now holds an open connection
    child = os.fork()
    if child == 0:
        if sys.argv[2] == "use":  # the child's own connection works, the parent's too
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        time.sleep(60)  # outlives its parent, like RQ's scheduler
        os._exit(0)
    time.sleep(0.5 if sys.argv[2] == "use" else 0)
    with engine.connect() as connection:
        connection.execute(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))
        print(child, flush=True)
        time.sleep(60)
    """
)


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run_parent(engine: Engine, child_uses_the_database: bool) -> None:
    """Start PARENT, SIGKILL it while it holds its lock, then take that lock (bounded)."""
    mode = "use" if child_uses_the_database else "idle"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, database_url(engine), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline() or 0)
    try:
        assert child and parent.poll() is None, "the parent could not take its lock"
        parent.kill()
        parent.wait(timeout=10)
        assert alive(child)  # the orphan lives on, holding whatever it inherited
        with engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            # Without the fix this waits on the dead parent's lock until the timeout.
            connection.execute(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))
            connection.rollback()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait(timeout=10)
        if child and alive(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.postgres_only
def test_a_killed_process_leaves_no_lock_behind_in_its_forked_child(engine: Engine) -> None:
    run_parent(engine, child_uses_the_database=False)


@pytest.mark.postgres_only
def test_a_forked_child_uses_its_own_connections_not_its_parents(engine: Engine) -> None:
    run_parent(engine, child_uses_the_database=True)


@pytest.mark.postgres_only
def test_the_server_ends_a_session_left_idle_in_a_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway import db

    monkeypatch.setattr(db, "IDLE_IN_TRANSACTION_TIMEOUT", dt.timedelta(milliseconds=500))
    forgetful = make_engine(database_url(engine))
    try:
        with forgetful.connect() as connection:
            connection.execute(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))
            # ... and nothing more: the lock is held by a session that does nothing.
            with engine.connect() as other:
                other.execute(text("SET lock_timeout = '10s'"))
                other.execute(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))
                other.rollback()
            connection.invalidate()  # the server has closed it
    finally:
        forgetful.dispose()


@pytest.mark.postgres_only
def test_every_postgres_connection_carries_the_servers_bounds(engine: Engine) -> None:
    worker = make_engine(
        database_url(engine),
        lock_timeout=dt.timedelta(seconds=5),
        statement_timeout=dt.timedelta(minutes=5),
    )
    try:
        with worker.connect() as connection:
            shown = {
                name: connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in (
                    "idle_in_transaction_session_timeout",
                    "lock_timeout",
                    "statement_timeout",
                )
            }
    finally:
        worker.dispose()
    assert shown == {
        "idle_in_transaction_session_timeout": "1min",
        "lock_timeout": "5s",
        "statement_timeout": "5min",
    }


@pytest.mark.postgres_only
def test_a_slow_export_is_not_cut_short_by_the_idle_limit(engine: Engine) -> None:
    """The idle-in-transaction limit ends abandoned sessions; an export whose reader is slow
    (a download over a poor link, `smsgate ledger export | less`) is not abandoned."""
    from gateway import ledger
    from gateway.db import make_engine, session_factory, transaction

    bounded = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with transaction(session_factory(bounded)) as session:
            show = text("SHOW idle_in_transaction_session_timeout")
            assert session.execute(show).scalar() != "0"  # the safety net is on
            assert list(ledger.stream(session, ledger.EventFilter())) == []
            assert session.execute(show).scalar() == "0"  # and off for this export only
        with transaction(session_factory(bounded)) as session:
            assert session.execute(show).scalar() != "0"
    finally:
        bounded.dispose()
