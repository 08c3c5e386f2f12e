"""Per-process wiring for the worker, built once and lazily (after RQ forks, if it does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from gateway.adapters.keyword_file import load_rules
from gateway.adapters.rq_queue import Outbox, connect
from gateway.adapters.twilio_lookup import TwilioReassignedNumbers
from gateway.adapters.twilio_sms import DryRunSender, TwilioSender
from gateway.db import make_engine, session_factory
from gateway.domain.keywords import KeywordRules
from gateway.migrate import require_current
from gateway.ports import ReassignedNumbers, SmsSender
from gateway.runtime import utcnow
from gateway.settings import Settings


@dataclass
class WorkerRuntime:
    settings: Settings
    rules: KeywordRules
    sessions: sessionmaker[Session]
    sender: SmsSender
    outbox: Outbox
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    # Twilio Lookup's reassigned-number package; None (dry-run): the check is skipped and
    # every decision it would have changed says so.
    numbers: ReassignedNumbers | None = None
    stale_after: dt.timedelta = dt.timedelta(seconds=60)
    # A worker waits this long for a row lock (a STOP being applied, another worker sending
    # to the same number: both hold it well under a second, a Twilio call at most), then
    # hands the message back and tries again `busy_retry` later.
    lock_timeout: dt.timedelta = dt.timedelta(seconds=5)
    busy_retry: dt.timedelta = dt.timedelta(seconds=15)


# No statement of the worker's runs longer than this (the daily purge is the longest).
STATEMENT_TIMEOUT = dt.timedelta(minutes=5)


_current: WorkerRuntime | None = None


def sender_for(settings: Settings) -> SmsSender:
    if settings.dry_run:
        return DryRunSender()
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return TwilioSender(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        status_callback=settings.public_base_url + "/twilio/status",
        api_url=settings.twilio_api_url,
    )


def numbers_for(settings: Settings) -> ReassignedNumbers | None:
    if settings.dry_run:
        return None
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return TwilioReassignedNumbers(
        settings.twilio_account_sid, settings.twilio_auth_token, api_url=settings.twilio_api_url
    )


def build(settings: Settings) -> WorkerRuntime:
    engine = make_engine(
        settings.database_url,
        lock_timeout=WorkerRuntime.lock_timeout,
        statement_timeout=STATEMENT_TIMEOUT,
    )
    require_current(engine)
    return WorkerRuntime(
        settings=settings,
        rules=load_rules(settings.keywords_file),
        sessions=session_factory(engine),
        sender=sender_for(settings),
        numbers=numbers_for(settings),
        outbox=Outbox(connect(settings.redis_url)),
    )


def current() -> WorkerRuntime:
    global _current
    if _current is None:
        _current = build(Settings.from_env())
    return _current


def install(runtime: WorkerRuntime | None) -> None:
    """Use this runtime in this process (tests, `smsgate dev`)."""
    global _current
    _current = runtime
