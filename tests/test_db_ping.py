"""A pooled connection that died while idle is replaced at checkout: pinged first when it sat
in the pool longer than PING_IDLE_AFTER_SECONDS (SQLAlchemy's pre-ping did it at every
checkout; one used a moment ago is not pinged, as HikariCP's aliveBypassWindowMs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway import db, inbound, inbound_pipeline
from tests.conftest import CLINIC, PATIENT

T0 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.postgres_only


def _engine_and_pid(postgres_engine: Engine) -> tuple[Engine, int]:
    engine = db.make_engine(postgres_engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return engine, pid


def _terminate(postgres_engine: Engine, pid: int) -> None:
    with postgres_engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()


def test_a_connection_that_died_idle_in_the_pool_is_replaced_at_checkout(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_AFTER_SECONDS", 0.0)  # it sat long enough to be pinged
    engine, pid = _engine_and_pid(postgres_engine)
    _terminate(postgres_engine, pid)
    with engine.connect() as connection:  # no error: the dead one was dropped
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()


def test_one_back_in_use_at_once_is_not_pinged_and_a_death_meanwhile_fails_once(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_AFTER_SECONDS", 3600.0)
    engine, pid = _engine_and_pid(postgres_engine)
    _terminate(postgres_engine, pid)
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:  # the pool connected anew
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()


def test_a_connection_found_broken_by_a_pipeline_has_the_rest_of_the_pool_pinged(
    postgres_engine: Engine, rules: Any
) -> None:
    """A server restart while the pool is hot (a wave of STOPs): the pipelined pass meets the
    first dead connection and the ones the pool hands out next are pinged and replaced — one
    text journaled, not one per pooled connection."""
    engine = db.make_engine(postgres_engine.url.render_as_string(hide_password=False), pool_size=3)
    sessions = db.session_factory(engine)
    held = [engine.connect() for _ in range(3)]
    pids = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in held]
    for connection in held:
        connection.close()
    for pid in pids:
        _terminate(postgres_engine, pid)
    outcomes = []
    for i in range(4):
        stop = inbound.Inbound(f"SMLOST{i}", PATIENT, CLINIC, "STOP")
        try:
            with db.transaction(sessions) as session:
                inbound_pipeline.handle(session, rules, stop, T0, "US", dt.timedelta(seconds=5))
            outcomes.append("ok")
        except DBAPIError:
            outcomes.append("failed")
    assert outcomes == ["failed", "ok", "ok", "ok"]
    engine.dispose()
