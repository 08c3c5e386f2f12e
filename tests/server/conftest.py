"""A database for a real server process: PostgreSQL when TEST_DATABASE_URL is set (emptied),
else a migrated SQLite file of its own."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from gateway import services
from gateway.db import make_engine, session_factory, transaction
from tests.conftest import _empty_postgres


def database_for(request: pytest.FixtureRequest, folder: Path) -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
        return str(engine.url.render_as_string(hide_password=False))
    path = folder / "smsgate.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_for(request, tmp_path)


def admin_token(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            now = dt.datetime.now(dt.UTC)
            return services.create_token(session, name="admin", role="admin", now=now)
    finally:
        engine.dispose()
