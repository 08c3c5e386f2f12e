"""A message delivered on PostgreSQL in two round trips and a Twilio call (SPEC §6; issue 11).

The worker's pass for every message, with its statements sent in PostgreSQL's pipeline mode
(psycopg 3). One round trip claims the message (its own transaction, committed: a worker that
dies once Twilio has the message leaves it `sending`, never `queued`), then, in the
transaction that will hold through the send, takes the number's lock (the upsert a STOP takes:
created if new, locked either way), then the message's row, and reads what the decision needs
(the events in force for the message's category and the number's restriction, the recent
sends its caps count). The decision is `decision.grounds_of(...).decide`, the rule the general
pass and the Send page apply. If it sends now, the message goes to Twilio with the lock held,
and one round trip stores the sent message with its attempt and commits.

Everything else is decided by the general pass (`outbound.deliver`) in the same transaction,
the locks already held (it reads again and decides the same): a message no longer `sending`,
erased, not yet due, or one the rule does not send now (blocked or deferred, with the reason
recorded); a refusal from Twilio is recorded by the general pass's own handling
(`outbound.refused`). A category that needs a grant (marketing) takes no lock here: its
reassigned-number screening comes between the claim and the lock, so the worker goes on from
the claim as the general flow does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway import decision, outbound
from gateway.db import connection_lost, lock_bound, transaction
from gateway.domain import policy
from gateway.domain.consent import Action, Event, Source
from gateway.domain.keywords import KeywordRules
from gateway.domain.phone import mask
from gateway.domain.restriction import NO_PHI_BY_TEXT, Text
from gateway.ports import SendError, SmsSender

log = logging.getLogger(__name__)


def _compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """A prebuilt SQLAlchemy statement of `outbound`'s as psycopg's SQL, with its fixed
    parameters: the general pass's own statement, not a copy of it."""
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


# The claim, `outbound.claim`'s statement, in a transaction of its own: committed before the
# send, so a worker that dies once Twilio has the message leaves it `sending`, never `queued`.
_CLAIM, _CLAIM_FIXED = _compiled(outbound.CLAIM)
# What `outbound._send` stores for a sent message, and its attempt: one statement.
_SENT, _SENT_FIXED = _compiled(outbound.SENT_WITH_ATTEMPT)
# The rows below are this job's only if its claim took the message: `sending` since `now`
# (a duplicate job, whose claim took nothing, waits on no lock and reads nothing), and of a
# category this pass decides (marketing: nothing is locked or read here).
_OURS = (
    "m.id = %(id)s AND m.status = 'sending' AND m.updated_at = %(now)s"
    " AND m.category = ANY(%(fast)s)"
)
# The number's lock, as `ledger.lock_number` and a STOP take it: its row is created if new
# and locked either way (an upsert locks the row it meets).
_LOCK = (
    "INSERT INTO subjects AS s (number, created_at)"
    f" SELECT m.to_number, %(now)s FROM outbound_messages m WHERE {_OURS}"
    " ON CONFLICT (number) DO UPDATE SET number = s.number RETURNING 1"
)
# Under the number's lock, the message's own row: an erasure committed meanwhile wins.
_MESSAGE = (
    "SELECT m.status, m.body, m.private_body, m.send_at, m.requested_sender"
    f" FROM outbound_messages m WHERE {_OURS} FOR UPDATE"
)
# `ledger.current`, for the two categories the decision reads: the message's and the
# number's restriction.
_IN_FORCE = (
    "SELECT e.id, e.number, e.category, e.action, e.source, e.occurred_at, e.recorded_at,"
    " e.actor, e.evidence, e.hash FROM outbound_messages m"
    " JOIN consent_state s ON s.number = m.to_number AND s.category IN (m.category, %(nophi)s)"
    f" JOIN consent_events e ON e.id = s.event_id WHERE {_OURS}"
)
# The category's sends to the number since the longest cap of any category began.
_RECENT = (
    "SELECT o.sent_at FROM outbound_messages m JOIN outbound_messages o"
    " ON o.to_number = m.to_number AND o.category = m.category AND o.sent_at > %(since)s"
    f" WHERE {_OURS}"
)


class Interrupted(Exception):
    """Nothing was sent, and the pass stopped on `error` (SQLAlchemy's DBAPIError for the
    database's: a bounded lock wait that ran out is `gateway.db.lock_timed_out`). `claimed`:
    this job's claim had committed (to be given back); `missed`: its claim took nothing (the
    message is another job's, or not due: to be left alone)."""

    def __init__(self, error: Exception, *, claimed: bool, missed: bool = False) -> None:
        super().__init__(str(error))
        self.error, self.claimed, self.missed = error, claimed, missed


@dataclass(frozen=True)
class Taken:
    """A message claimed (committed) and, if `locked`, its number and its row locked by the
    session's transaction, with what the decision reads."""

    claimed: outbound.Claimed
    locked: bool
    row: tuple[Any, ...] | None = None  # status, body, private_body, send_at, requested_sender
    in_force: dict[str, Event] = field(default_factory=dict)
    sent_at: tuple[dt.datetime, ...] = ()


def take(
    connection: Connection,
    rules: KeywordRules,
    message_id: str,
    now: dt.datetime,
    lock_timeout: dt.timedelta | None,
) -> Taken | None:
    """Claim the message and, for a category that needs no grant, lock its number and its row
    and read the decision's grounds: one round trip. None: not claimed (taken by another
    worker, or not due). The connection must be in autocommit (`gateway.db.autocommit`), and
    the transaction this opens is ended within `ended`: the claim commits by itself, and the
    rest opens the transaction that `send`, or the general pass's session, commits. `locked`
    False (marketing): that transaction holds nothing; the general pass goes on from the claim.
    `lock_timeout`: each transaction's bound on lock waits, None where the connection's own
    setting bounds them already (the worker's engine).
    """
    fast, longest = _categories(rules)
    params = {
        "id": message_id,
        "now": now,
        "fast": fast,
        "nophi": NO_PHI_BY_TEXT,
        "since": now - longest if longest is not None else None,
    }
    claiming = {**_CLAIM_FIXED, "message_id": message_id, "now": now}
    bound = lock_bound(lock_timeout) if lock_timeout else None
    driver = _driver(connection)
    claim = committed = None
    try:
        with driver.pipeline():
            driver.execute("BEGIN")
            if bound:
                driver.execute(bound)
            claim = driver.execute(_CLAIM, claiming)
            committed = driver.execute("COMMIT")
            driver.execute("BEGIN")
            if bound:
                driver.execute(bound)
            locked = driver.execute(_LOCK, params)
            message = driver.execute(_MESSAGE, params)
            in_force = driver.execute(_IN_FORCE, params)
            recent = driver.execute(_RECENT, params) if longest is not None else None
        claimed = claim.fetchone()
        if claimed is None:
            return None
        taken = outbound.Claimed(message_id, claimed[0], claimed[1])
        if locked.fetchone() is None:
            return Taken(taken, locked=False)
        return Taken(
            taken,
            locked=True,
            row=message.fetchone(),
            in_force={e.category: e for e in map(_event, in_force.fetchall())},
            sent_at=tuple(t for (t,) in recent.fetchall()) if recent is not None else (),
        )
    except Exception as exc:  # the database's error, or reading what it answered
        done = committed is not None and committed.statusmessage == "COMMIT"
        ours = done and claim is not None and claim.rowcount == 1
        missed = done and claim is not None and claim.rowcount == 0
        error = _dbapi_error(connection, driver, exc) if isinstance(exc, psycopg.Error) else exc
        raise Interrupted(error, claimed=ours, missed=missed) from exc


def send(
    connection: Connection,
    rules: KeywordRules,
    sender: SmsSender,
    taken: Taken,
    now: dt.datetime,
    *,
    final_try: bool,
    sessions: Callable[[], Session],
) -> outbound.Outcome | None:
    """Decide a taken message and, if the rule sends it now, send it, then store it and
    commit in one round trip (a refusal is recorded by `outbound.refused` in a `sessions`
    session on this connection, which commits). None: the general pass (`outbound.deliver`)
    decides, in a session on this connection, in the same transaction (nothing was written or
    sent)."""
    if not taken.locked or taken.row is None:
        return None
    claimed = taken.claimed
    try:
        status, body, private_body, send_at, requested_sender = taken.row
        if status != "sending" or body is None or (send_at is not None and send_at > now):
            return None  # taken meanwhile, erased or not yet due: the general pass records it
        grounds = decision.grounds_of(
            rules,
            number=claimed.to_number,
            category=claimed.category,
            requested_sender=requested_sender,
            in_force=taken.in_force,
            sent_at=taken.sent_at,
            locate=False,  # a care message has no quiet hours: where the number is is moot
        )
        decided = grounds.decide(now, private_text=private_body is not None)
        if decided.outcome is not policy.Outcome.SEND:
            return None  # blocked or deferred: the general pass records why
        assert grounds.sender is not None and body is not None
        text = private_body if decided.text is Text.PRIVATE_TEXT else body
    except Exception as exc:  # before the send: the claim is given back
        raise Interrupted(exc, claimed=True) from exc
    try:
        sid = sender.send(to=claimed.to_number, sender=grounds.sender, body=text)
    except SendError as exc:
        with transaction(sessions) as session:
            return outbound.refused(
                session, rules, claimed.id, decided, grounds.sender, text, exc, now, final_try
            )
    sent = "dry_run" if sender.dry_run else "sent"
    values = {
        **_SENT_FIXED,
        "new_outcome": decided.outcome.value,
        "new_reason": decided.reason.value,
        "new_consent_event_id": decided.event_id,
        "new_decided_at": now,
        "new_until": decided.until,
        "new_sent_text": decided.text.value if decided.text else None,
        "new_updated_at": now,
        "new_sender": grounds.sender,
        "new_body": text,
        "new_private_body": None,  # one text went; only it is kept (`outbound._send`)
        "new_twilio_sid": sid,
        "new_sent_at": now,
        "new_status": sent,
        "message_id": claimed.id,
        "at": now,
        "result": sent,
    }
    driver = _driver(connection)
    try:
        with driver.pipeline():
            driver.execute(_SENT, values)
            driver.execute("COMMIT")
    except psycopg.Error as exc:
        raise _dbapi_error(connection, driver, exc) from exc
    log.info("message %s to %s: %s", claimed.id, mask(claimed.to_number), sent)
    return outbound.Outcome(sent, "ok")


@contextmanager
def ended(connection: Connection) -> Iterator[None]:
    """Whatever happens within, no transaction `take` opened outlives the block: one still
    open (an error, a message nobody decided) is rolled back."""
    try:
        yield
    finally:
        driver = _driver(connection)
        if not driver.broken and driver.info.transaction_status != TransactionStatus.IDLE:
            driver.rollback()


def _categories(rules: KeywordRules) -> tuple[list[str], dt.timedelta | None]:
    """The categories this pass decides (those needing no grant), and the longest cap of any
    category: its recent sends are read for every message (a shorter cap counts fewer)."""
    fast = [name for name, rule in rules.categories.items() if not rule.requires_grant]
    longest = max(
        (dt.timedelta(hours=c.hours) for name in rules.categories for c in rules.caps_for(name)),
        default=None,
    )
    return fast, longest


def _event(values: tuple[Any, ...]) -> Event:
    id_, number, category, action, source, occurred_at, recorded_at, actor, evidence, hash_ = values
    return Event(
        id_,
        number,
        category,
        Action(action),
        Source(source),
        occurred_at,
        recorded_at,
        actor,
        evidence,
        hash_,
    )


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), driver
    return driver


def _dbapi_error(
    connection: Connection, driver: psycopg.Connection[Any], exc: psycopg.Error
) -> DBAPIError:
    """psycopg's error as SQLAlchemy raises it (a broken connection leaves the pool)."""
    if driver.broken:
        connection.invalidate(exc)
        connection_lost(connection.engine)
    error = DBAPIError.instance(None, None, exc, psycopg.Error, hide_parameters=True)
    assert isinstance(error, DBAPIError)
    return error
