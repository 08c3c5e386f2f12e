"""`smsgate db …`: the database schema."""

from __future__ import annotations

import click

from gateway.cli.shell import clear_errors
from gateway.db import make_engine
from gateway.migrate import upgrade
from gateway.settings import Settings

db_group = click.Group("db", help="The database schema.")


@db_group.command("upgrade")
@clear_errors
def db_upgrade() -> None:
    """Apply every pending migration (Alembic)."""
    settings = Settings.from_env()
    upgrade(make_engine(settings.database_url))
    click.echo("database is at the latest revision")
