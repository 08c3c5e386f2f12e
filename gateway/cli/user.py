"""`smsgate user …`: the people who sign in to the console (SPEC §8)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from gateway import staff
from gateway.cli.shell import clear_errors, open_runtime
from gateway.cli.table import Column, print_listing, utc
from gateway.db import transaction
from gateway.services import ROLES

user_group = click.Group("user", help="Console users: create, list, unlock, password, disable.")


@contextmanager
def _database() -> Iterator[tuple[Session, Callable[[], dt.datetime]]]:
    """One transaction on the configured database (the commands' `clear_errors` turns its
    problems into one line, exit code 1)."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        yield session, rt.clock


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@clear_errors
def create(role: str, name: str, password_stdin: bool) -> None:
    """Create a console user; the password is asked for twice (or read from stdin)."""
    password = _password(password_stdin)
    with _database() as (session, clock):
        staff.create_user(session, name=name, role=role, password=password, now=clock())
    click.echo(f"created user {name!r} ({role}); sign in at /sign-in")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="a JSON array instead of a table")
@clear_errors
def listing(as_json: bool) -> None:
    """Every user: name, role, created, locked or disabled. Never a password hash."""
    with _database() as (session, clock):
        now = clock()
        rows = [
            {
                "name": u.name,
                "role": u.role,
                "created_at": utc(u.created_at),
                "state": _state(u.disabled_at, u.locked_until, now),
            }
            for u in staff.listing(session)
        ]
    print_listing(
        rows,
        [
            Column("name", "name"),
            Column("role", "role", 10),
            Column("created", "created_at", 20),
            Column("state", "state"),
        ],
        as_json=as_json,
        empty="no users: create one with `smsgate user create --role ROLE --name NAME`",
    )


@user_group.command("unlock")
@click.argument("name")
@clear_errors
def unlock(name: str) -> None:
    """Lift a lock-out now (after 5 wrong passwords) instead of waiting LOCKOUT_MINUTES."""
    with _database() as (session, _):
        staff.unlock(session, name)
    click.echo(f"unlocked {name!r}")


@user_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@clear_errors
def password(name: str, password_stdin: bool) -> None:
    """Set a new password; the user's open sessions end."""
    value = _password(password_stdin)
    with _database() as (session, clock):
        staff.set_password(session, name, value, clock())
    click.echo(f"password set for {name!r}; their sessions have ended")


@user_group.command("disable")
@click.argument("name")
@clear_errors
def disable(name: str) -> None:
    """Stop NAME signing in; their sessions end. The access log keeps their name."""
    with _database() as (session, clock):
        staff.disable(session, name, clock())
    click.echo(f"disabled {name!r}")


def _state(
    disabled_at: dt.datetime | None, locked_until: dt.datetime | None, now: dt.datetime
) -> str:
    if disabled_at is not None:
        return f"disabled {utc(disabled_at)}"
    if locked_until is not None and locked_until > now:
        return f"locked until {utc(locked_until)}"
    return "active"
