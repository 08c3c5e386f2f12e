"""A pooled connection that died while idle is replaced at checkout: pinged first when it sat
in the pool longer than PING_IDLE_AFTER_SECONDS (SQLAlchemy's pre-ping did it at every
checkout; one used a moment ago is not pinged, as HikariCP's aliveBypassWindowMs)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway import db

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
