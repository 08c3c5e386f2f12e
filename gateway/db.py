"""Engine per process and the caller-owned transaction (the caller commits, nobody else)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive storage) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def canonical_json(value: Any) -> str:
    """The one text of a JSON value: `json.dumps(json.loads(t), sort_keys=True)` of any JSON
    text `t` of it, and a fixed point of that (so it is what the export writes of it: keys
    sorted, json.dumps's separators, ASCII). The value goes through JSON once first, as a
    reader would see it: keys that are not strings become strings before they are sorted
    ({10: …, 9: …} sorts as "10" < "9", the way a reader of the text sorts it)."""
    return json.dumps(json.loads(json.dumps(value)), sort_keys=True)


class CanonicalJSON(TypeDecorator[Any]):
    """JSON stored as `canonical_json`'s text, whichever statement writes it (ORM or Core, on
    any engine): PostgreSQL's `json` keeps the text as written, so the export can pass it on
    as it is. The value handed on is the canonical text's own parse, its keys in sorted
    order, which the dialect's serializer (json.dumps: default separators, ASCII) writes
    back as that text — tested on both databases (tests/test_export_fast_path.py)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.loads(canonical_json(value))


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here; a relative SQLite path gets its folder created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


# The server's safety net: a session that sits inside a transaction doing nothing for this
# long (its process frozen, or a forgotten connection somewhere) is ended by PostgreSQL,
# and with it every lock it held. Nothing of ours is idle in a transaction for more than a
# Twilio call (SEND_TIMEOUT_SECONDS for the connection, the same again for the answer).
IDLE_IN_TRANSACTION_TIMEOUT = dt.timedelta(seconds=60)
CONNECT_TIMEOUT_SECONDS = 10  # a database that does not answer at all is an error, not a hang


def make_engine(
    url: str,
    *,
    lock_timeout: dt.timedelta | None = None,
    statement_timeout: dt.timedelta | None = None,
    **kwargs: Any,
) -> Engine:
    """The process's engine. On PostgreSQL every connection gets the server-side bounds:
    idle in a transaction at most IDLE_IN_TRANSACTION_TIMEOUT, and, when given, lock waits
    and statements at most `lock_timeout` and `statement_timeout` (the worker's)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **kwargs)
        _serialise_sqlite_writers(engine)
    else:
        bounds = {
            "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
            "lock_timeout": lock_timeout,
            "statement_timeout": statement_timeout,
        }
        query = make_url(url).query
        options = [f"-c {k}={_ms(v)}" for k, v in bounds.items() if v is not None]
        options += [str(query["options"])] if "options" in query else []  # the URL's win
        lock_bound = lock_timeout if "lock_timeout" not in str(query.get("options", "")) else None
        connect_args = {
            "connect_timeout": query.get("connect_timeout", CONNECT_TIMEOUT_SECONDS),
            "options": " ".join(options),
        }
        # hide_parameters: a database error's text never carries a number or a body into logs.
        engine = create_engine(url, hide_parameters=True, connect_args=connect_args, **kwargs)
        _ping_when_idle(engine)
        if lock_bound is not None:
            _LOCK_BOUND[engine] = lock_bound
    _forget_in_forked_children(engine)
    return engine


# A pooled connection back in use within this long of its last use is not pinged first: it
# was alive a moment ago (HikariCP's aliveBypassWindowMs, 500 ms too). One that sat longer is
# pinged at checkout and replaced if dead, as SQLAlchemy's pre-ping does for every checkout —
# a round trip that a worker sending back to back, or a burst of requests, would otherwise
# pay each time. A server restart within the window reaches the next statement as an error,
# once: the job's retry, the webhook's journal or the API's 503 take it, and the pool then
# connects anew.
PING_IDLE_AFTER_SECONDS = 0.5


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        recent = since is not None and time.monotonic() - since <= PING_IDLE_AFTER_SECONDS
        if recent and since > _LOST.get(engine, -1.0):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops it and connects anew
            raise DisconnectionError(f"pooled connection is gone: {type(exc).__name__}") from exc


# When each engine last found one of its connections broken outside SQLAlchemy's own error
# handling (which, on a disconnect, invalidates the whole pool by itself).
_LOST: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def connection_lost(engine: Engine) -> None:
    """A connection of `engine` was found broken by code that talks to psycopg directly (the
    pipelines): the server may have restarted, so every connection back in the pool before now
    is pinged at its next checkout, however recently used — one failure, not one per pooled
    connection."""
    _LOST[engine] = time.monotonic()


# Engines whose every connection starts with this lock_timeout (make_engine's, unless the
# URL's own options set one): a transaction asking for the same bound needs no SET LOCAL.
_LOCK_BOUND: weakref.WeakKeyDictionary[Engine, dt.timedelta] = weakref.WeakKeyDictionary()


def _ms(value: dt.timedelta) -> int:
    return int(value.total_seconds() * 1000)


def bound_lock_waits(session: Session, timeout: dt.timedelta) -> None:
    """This transaction waits at most `timeout` for any row lock (PostgreSQL; SQLite queues
    writers behind its own 30 s busy timeout). A connection whose engine already starts it
    with this bound (the worker's) needs no statement for it: nothing of ours changes it for
    longer than a transaction (SET LOCAL)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    if not bounds_lock_waits(engine, timeout):
        session.execute(text(lock_bound(timeout)))


def lock_bound(timeout: dt.timedelta) -> str:
    """The statement that bounds the transaction's lock waits by `timeout` (PostgreSQL)."""
    return f"SET LOCAL lock_timeout = {_ms(timeout)}"


def lock_timed_out(exc: BaseException) -> bool:
    """A bounded lock wait ran out (PostgreSQL's lock_not_available, SQLite's busy lock):
    the work is sound, only early — try it again later."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) == "55P03":
        return True
    return "database is locked" in str(exc.orig)


# --- No database connection crosses a fork -------------------------------------------------
# RQ forks its scheduler (and, with its default worker class, a process per job) from a
# process whose pool holds open connections; so may gunicorn with --preload. A child that
# kept its parent's socket would keep the parent's session alive after the parent died —
# with its open transaction and every lock in it. So a forked child closes its copies of the
# sockets (the parent's remain; the server notices nothing), never finalises the inherited
# connection objects (psycopg would send the server a goodbye on the parent's behalf), and
# starts its engines on new, empty pools.
_ENGINES: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()
_INHERITED: list[Any] = []  # a child's copies of its parent's connections: kept, never used


def _forget_in_forked_children(engine: Engine) -> None:
    connections: weakref.WeakSet[Any] = weakref.WeakSet()
    _ENGINES[engine] = connections

    @event.listens_for(engine, "connect")
    def _remember(dbapi_connection: Any, _record: Any) -> None:
        with contextlib.suppress(TypeError):  # sqlite3's connections hold no socket
            connections.add(dbapi_connection)


def _after_fork_in_child() -> None:
    for engine, connections in list(_ENGINES.items()):
        for connection in list(connections):
            _INHERITED.append(connection)
            if not connection.closed:
                with contextlib.suppress(OSError, ValueError):
                    os.close(connection.fileno())
        connections.clear()
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLite has no row locks: every transaction takes the write lock up front (BEGIN
    IMMEDIATE), so two writers queue instead of failing midway (SQLAlchemy's pysqlite recipe).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: Callable[[], Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. `factory`: a
    sessionmaker, or one bound to a held connection (see `held`)."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def held(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """One pooled connection for a job's consecutive transactions (sessions bound to it:
    `factory(bind=connection)`): one checkout (and ping, if the pool must) instead of one per
    transaction. Each transaction still commits on its own; the connection is idle between
    them."""
    engine: Engine = factory.kw["bind"]
    with engine.connect() as connection:
        yield connection


def bounds_lock_waits(engine: Engine, timeout: dt.timedelta) -> bool:
    """Whether every connection of this PostgreSQL engine waits at most `timeout` for a lock
    already (the worker's engine): a statement needs no transaction of its own to be bounded."""
    return _LOCK_BOUND.get(engine) == timeout


@contextmanager
def autocommit(connection: Connection) -> Iterator[Connection]:
    """Each statement on `connection` commits on its own (PostgreSQL), for the block: a single
    write needs no BEGIN and COMMIT round trips around it, and a pipeline may send its own
    BEGIN and COMMIT (`outbound_pipeline`), which must end every transaction they open
    before the block does (psycopg cannot leave autocommit inside one)."""
    connection.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield connection
    finally:
        connection.execution_options(isolation_level=connection.default_isolation_level)


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Reads that need no common snapshot (each statement is whole by itself, or reads rows
    that never change): on PostgreSQL in autocommit, which spares the BEGIN and COMMIT round
    trips; on SQLite a transaction as usual. Nothing may be written through it."""
    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            with session.begin():
                yield session
            return
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
