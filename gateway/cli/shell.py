"""What every `smsgate` command run from a shell shares: start-up problems as one clear line,
the runtime, the shell user as the actor, and numbers and times as they are typed."""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import click

from gateway import access, services
from gateway.db import transaction
from gateway.domain.phone import InvalidPhone, Phone
from gateway.migrate import NotMigrated
from gateway.runtime import Runtime
from gateway.settings import Settings, SettingsError

F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(command: F) -> F:
    """Start-up problems are one clear line and exit code 1, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (SettingsError, NotMigrated, services.Problem, InvalidPhone) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}") from None
        except Exception as exc:
            if type(exc).__name__ == "KeywordFileError":
                raise click.ClickException(f"keywords file is invalid:\n{exc}") from None
            raise

    return cast(F, run)


def open_runtime() -> Runtime:
    """Settings from the environment, keywords.yml read, the database checked as migrated."""
    # build_runtime sits beside the app factory, and importing gateway.app imports Flask and
    # every blueprint: only the commands that open the runtime pay for that, not `--help` or
    # `keywords check`.
    from gateway.app import build_runtime

    return build_runtime(Settings.from_env())


def actor() -> str:
    """Who did it, in the ledger and the access log: the shell user."""
    return f"cli:{os.environ.get('USER', 'shell')}"


def e164(rt: Runtime, number: str) -> str:
    """A number as staff type it, read in the clinic's region; InvalidPhone if it is none."""
    return Phone.parse(number, rt.settings.default_region).e164


def console_read(rt: Runtime, action: str, numbers: tuple[str, ...], all_numbers: bool) -> None:
    """Console reads are in the access log too, under the shell user's name."""
    entry = access.Access(
        actor=actor(),
        role="admin",
        action=action,
        request_id=uuid.uuid4().hex,
        numbers=numbers,
        all_numbers=all_numbers,
        detail={"argv": sys.argv[1:]},
    )
    with transaction(rt.sessions) as session:
        access.record(session, entry, rt.clock())


def timestamp(value: str | None, option: str, zoned: bool = False) -> dt.datetime | None:
    """ISO-8601; a filter's time without an offset is UTC, but when to send must say its
    offset (`zoned`): 10:00 read as UTC reaches an Eastern patient at 5 in the morning."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if zoned and parsed.tzinfo is None:
            raise click.BadParameter(
                "give the time with its offset, e.g. 2026-11-24T18:00:00Z (UTC) or "
                "2026-11-24T13:00:00-05:00; a time without one would be a guess",
                param_hint=option,
            )
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if not 1970 <= parsed.astimezone(dt.UTC).year <= 9000:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        hint = "use ISO-8601, e.g. 2026-11-24T18:00:00Z"
        raise click.BadParameter(hint, param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
