"""Alembic environment: the connection is handed in by gateway.migrate."""

from __future__ import annotations

from alembic import context

from gateway import models  # noqa: F401  (registers the tables)
from gateway.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
