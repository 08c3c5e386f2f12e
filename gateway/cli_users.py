"""`smsgate user …`: the people who sign in to the console (SPEC §8)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from gateway import services, staff
from gateway.db import transaction
from gateway.migrate import NotMigrated
from gateway.services import ROLES
from gateway.settings import Settings, SettingsError

user_group = click.Group("user", help="Console users: create, list, unlock, password, disable.")


@contextmanager
def _database() -> Iterator[tuple[Session, Callable[[], dt.datetime]]]:
    """One transaction on the configured database; problems are one line, exit code 1."""
    from gateway.app import build_runtime

    try:
        rt = build_runtime(Settings.from_env())
        with transaction(rt.sessions) as session:
            yield session, rt.clock
    except (SettingsError, NotMigrated, services.Problem) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise click.ClickException(message) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create(role: str, name: str, password_stdin: bool) -> None:
    """Create a console user; the password is asked for twice (or read from stdin)."""
    password = _password(password_stdin)
    with _database() as (session, clock):
        staff.create_user(session, name=name, role=role, password=password, now=clock())
    click.echo(f"created user {name!r} ({role}); sign in at /sign-in")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="a JSON array instead of a table")
def listing(as_json: bool) -> None:
    """Every user: name, role, created, locked or disabled. Never a password hash."""
    with _database() as (session, clock):
        now = clock()
        rows = [
            {
                "name": u.name,
                "role": u.role,
                "created_at": _utc(u.created_at),
                "state": _state(u.disabled_at, u.locked_until, now),
            }
            for u in staff.listing(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no users: create one with `smsgate user create --role ROLE --name NAME`")
        return
    width = max(len("name"), *(len(str(r["name"])) for r in rows))
    click.echo(f"{'name':<{width}}  {'role':<10}  {'created':<20}  state")
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['role']:<10}  {r['created_at']:<20}  {r['state']}")


@user_group.command("unlock")
@click.argument("name")
def unlock(name: str) -> None:
    """Lift a lock-out now (after 5 wrong passwords) instead of waiting LOCKOUT_MINUTES."""
    with _database() as (session, _):
        staff.unlock(session, name)
    click.echo(f"unlocked {name!r}")


@user_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def password(name: str, password_stdin: bool) -> None:
    """Set a new password; the user's open sessions end."""
    value = _password(password_stdin)
    with _database() as (session, clock):
        staff.set_password(session, name, value, clock())
    click.echo(f"password set for {name!r}; their sessions have ended")


@user_group.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Stop NAME signing in; their sessions end. The access log keeps their name."""
    with _database() as (session, clock):
        staff.disable(session, name, clock())
    click.echo(f"disabled {name!r}")


def _state(
    disabled_at: dt.datetime | None, locked_until: dt.datetime | None, now: dt.datetime
) -> str:
    if disabled_at is not None:
        return f"disabled {_utc(disabled_at)}"
    if locked_until is not None and locked_until > now:
        return f"locked until {_utc(locked_until)}"
    return "active"


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_admin(session: Session, now: dt.datetime) -> tuple[str, str] | None:
    """`smsgate dev` on a database with no console users: an `admin` with a random password,
    printed once, so the five-minute tour needs no other step. Never in production."""
    if staff.listing(session):
        return None
    password = secrets.token_urlsafe(12)
    staff.create_user(session, name="admin", role="admin", password=password, now=now)
    return "admin", password
