"""A live text on PostgreSQL in two round trips (SPEC §5, §4; issue 11).

The same pass as `inbound.handle`, for the texts that arrive in waves — a STOP after a
marketing blast, a HELP, a text for the front desk — with its statements sent in
PostgreSQL's pipeline mode (psycopg 3): one round trip opens the transaction (BEGIN), locks
the number and reads what the decision needs (is the MessageSid already stored, the number's
chain head, its state, ids for the events; for a text that is not an opt-out, the question
our last text asked and the replies this hour); one stores the text and, for a STOP, appends
the events to the number's chain and moves the head and the state, and commits. The bare
INSERT + COMMIT of the text costs as many.

Nothing is given up: the text is stored, classified, the number locked (an upsert's row lock,
the lock `SELECT … FOR UPDATE` and the send-time decision take), the events hashed onto its
chain, the state moved only by a newer event, the reply decided by `inbound.decide_reply` —
in one transaction, committed before the reply goes back. Any text this module does not take
(a START or YES, a text a person must review, one replayed from the journal or cut, from a
number that does not parse, with Twilio's OptOutType on a text we do not read as an opt-out,
a HELP that gets a preference link, or a STOP meeting a state a correction decides) is left
to `inbound.handle`, in the same transaction, which the caller's session commits.

Event ids are taken from the sequence once the lock is held, one per category the text may
revoke; those not needed are left unused (a sequence has gaps anyway: `ledger.seal` and
`verify` count the events on file, not the ids).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway.db import canonical_json, connection_lost, lock_bound
from gateway.domain import chain
from gateway.domain.consent import Action, Event, Source, Status, status_of, supersedes
from gateway.domain.keywords import (
    Classification,
    Intent,
    KeywordRules,
    classify,
    scoped_categories,
)
from gateway.domain.phone import InvalidPhone, Phone, mask
from gateway.inbound import (
    MAX_BODY,
    Inbound,
    asks_questions,
    decide_reply,
    keyword_evidence,
    question_of,
)
from gateway.preferences import Links

log = logging.getLogger(__name__)

# Creates the number's row if new and locks it either way (an upsert locks the row it meets),
# returning its chain head and, computed once the lock is held, ids for the events — unless
# the MessageSid is stored already: a retry takes no lock (and no row comes back).
_LOCK = (
    "INSERT INTO subjects AS s (number, created_at) SELECT %s::varchar, %s::timestamptz"
    " WHERE NOT EXISTS (SELECT 1 FROM inbound_messages WHERE sid = %s)"
    " ON CONFLICT (number) DO UPDATE SET number = s.number"
    " RETURNING s.head_id, s.head_hash,"
    " ARRAY(SELECT nextval('consent_events_id_seq') FROM generate_series(1, %s))"
)
_SEEN = "SELECT reply FROM inbound_messages WHERE sid = %s"
_STATE = (
    "SELECT s.category, s.status, s.event_id, s.occurred_at, e.source"
    " FROM consent_state s LEFT JOIN consent_events e ON e.id = s.event_id WHERE s.number = %s"
)
_REPLIES = "SELECT count(*) FROM inbound_messages WHERE from_number = %s AND replied_at >= %s"
_STORE = (
    "INSERT INTO inbound_messages (sid, from_number, to_number, body, opt_out_type,"
    " received_at, intent, categories, language, rule, reply, replied_at, event_ids, note,"
    " answer, answer_to)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, %s, %s, %s::json, %s, %s, %s)"
)
# The evidence as `canonical_json` writes it, and so marked (migration 0012): the export
# passes that text on as it is.
_EVENT_VALUES = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, TRUE)"
_STATE_VALUES = "(%s, %s, %s, %s::integer, %s::timestamptz)"


def _store_and_append(events: int, moves: int) -> str:
    """One statement: the text, the events, the number's head and its state (the events are
    inserted before the state that names them is checked: at the statement's end)."""
    if not events:
        return _STORE
    parts = [
        f"WITH text AS ({_STORE}),",
        " appended AS (INSERT INTO consent_events (id, number, category, action, source,"
        " occurred_at, recorded_at, actor, evidence, prev_hash, hash, evidence_canonical) VALUES "
        + ", ".join([_EVENT_VALUES] * events)
        + ")",
    ]
    if moves:
        parts.append(
            ", moved AS (INSERT INTO consent_state (number, category, status, event_id,"
            " occurred_at) VALUES "
            + ", ".join([_STATE_VALUES] * moves)
            + " ON CONFLICT (number, category) DO UPDATE SET status = excluded.status,"
            " event_id = excluded.event_id, occurred_at = excluded.occurred_at)"
        )
    parts.append(" UPDATE subjects SET head_id = %s, head_hash = %s WHERE number = %s")
    return "".join(parts)


@dataclass(frozen=True)
class Handled:
    reply: str | None


@dataclass(frozen=True)
class _InForce:
    status: Status
    event_id: int
    occurred_at: dt.datetime
    source: str


def handle(
    session: Session,
    rules: KeywordRules,
    message: Inbound,
    now: dt.datetime,
    region: str,
    lock_timeout: dt.timedelta,
    links: Links | None = None,
) -> Handled | None:
    """Handle a live text, committed, or None: `inbound.handle` must, in the transaction this
    may have opened (nothing was written then, but the number may be locked and lock_timeout
    set), which the session commits. The session must not have used its connection yet.

    Taken here: an opt-out, and a text that changes no consent and opens nothing — a HELP
    (unless it gets a preference link), an answer to our question, a text for the front desk.
    Left to `inbound.handle`: a START or YES (its history and a web form's pending request
    decide it), a text a person must review, and what the module docstring lists."""
    if message.received_at is not None or len(message.body) > MAX_BODY:
        return None
    try:
        sender = Phone.parse(message.from_number, region).e164
        clinic = Phone.parse(message.to_number, region).e164
    except InvalidPhone:
        return None
    # Our own reading of an opt-out is final: classify then reads neither the answers our
    # last text asked for nor Twilio's OptOutType, so the pending question need not be looked
    # up. A text only Twilio calls an opt-out keeps the rest of its reading (an answer's
    # language, rule): the general pass reads it with the question.
    found = classify(message.body, rules)
    if found.intent is not Intent.OPT_OUT and (
        found.intent not in _QUIET or (message.opt_out_type or "").strip()
    ):
        return None  # Twilio's own reading may change it: the general pass weighs both
    connection = _driver(session)
    try:
        if found.intent is Intent.OPT_OUT:
            categories = scoped_categories(found, rules, clinic, now.date())
            return _opt_out(
                connection, rules, message, sender, clinic, found, categories, now, lock_timeout
            )
        return _quiet(connection, rules, message, sender, clinic, now, lock_timeout, links)
    except psycopg.Error as exc:
        if connection.broken:
            held = session.connection()
            held.invalidate(exc)
            connection_lost(held.engine)
        raise DBAPIError.instance(None, None, exc, psycopg.Error, hide_parameters=True) from exc


# Readings (without the pending question) that may end as a text changing no consent.
_QUIET = frozenset({Intent.HELP, Intent.NONE})


def _driver(session: Session) -> psycopg.Connection[Any]:
    """The session's connection, in autocommit: the pipelines below send their own BEGIN with
    their first statements (psycopg's own BEGIN would cost a round trip of its own) and their
    COMMIT with their last; a text they leave to the general pass is in that transaction, which
    the session commits or rolls back (psycopg sends COMMIT and ROLLBACK while one is open,
    autocommit or not). Only where the session has no connection yet: the caller's first use."""
    found = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    driver = found.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), driver
    return driver


def _opt_out(
    connection: psycopg.Connection[Any],
    rules: KeywordRules,
    message: Inbound,
    sender: str,
    clinic: str,
    found: Classification,
    categories: tuple[str, ...],
    now: dt.datetime,
    lock_timeout: dt.timedelta,
) -> Handled | None:
    with connection.pipeline():
        connection.execute("BEGIN")
        connection.execute(lock_bound(lock_timeout))
        locked = connection.execute(_LOCK, (sender, now, message.sid, len(categories)))
        state = connection.execute(_STATE, (sender,))
    head = locked.fetchone()
    if head is None:  # Twilio retried a text already handled: the same answer
        return _answered(connection, message.sid)
    head_hash, fresh = head[1] or chain.GENESIS, head[2]
    in_force = {
        category: _InForce(Status(status), event_id, occurred_at, source)
        for category, status, event_id, occurred_at, source in state.fetchall()
    }
    if any(in_force[c].source == Source.CORRECTION.value for c in categories if c in in_force):
        return None  # a correction decides: `inbound.handle` holds that contest

    evidence = keyword_evidence(message.sid, message.body, clinic, found.rule, message.opt_out_type)
    evidence_json = canonical_json(evidence)
    prev_hash = head_hash
    appended: list[tuple[Any, ...]] = []
    moved: list[tuple[Any, ...]] = []
    changed: list[str] = []
    status = {c: s.status for c, s in in_force.items()}
    todo = [c for c in categories if status.get(c, Status.NONE) is not Status.REVOKED]
    for category, event_id in zip(todo, fresh, strict=False):
        link = chain.Link(
            id=event_id,
            number=sender,
            category=category,
            action=Action.REVOKE.value,
            source=Source.SMS_KEYWORD.value,
            occurred_at=now,
            recorded_at=now,
            actor=sender,
            evidence=evidence,
            prev_hash=prev_hash,
        )
        prev_hash = link.computed_hash()
        appended.append(
            (
                event_id,
                sender,
                category,
                link.action,
                link.source,
                now,
                now,
                sender,
                evidence_json,
                link.prev_hash,
                prev_hash,
            )
        )
        changed.append(category)
        event = Event(
            event_id,
            sender,
            category,
            Action.REVOKE,
            Source.SMS_KEYWORD,
            now,
            now,
            sender,
            evidence,
            prev_hash,
        )
        current = in_force.get(category)
        if supersedes(event, (current.occurred_at, current.event_id) if current else None):
            status[category] = status_of(event)
            moved.append((sender, category, status[category].value, event_id, now))

    reply, note = decide_reply(
        rules,
        clinic,
        found,
        tuple(changed),
        lambda name: status.get(name, Status.NONE),
        lambda: _replies_last_hour(connection, sender, now),
    )
    event_ids = [row[0] for row in appended]
    stored = _text_row(message, sender, clinic, now, found, categories, reply, note, event_ids)
    if appended:
        stored += [value for row in appended for value in row]
        stored += [value for row in moved for value in row]
        stored += [event_ids[-1], prev_hash, sender]
    # A MessageSid stored already (Twilio retried) fails here: the caller answers as before.
    _stored(connection, _store_and_append(len(appended), len(moved)), stored)
    _log(message, sender, found, categories, len(appended), reply)
    return Handled(reply)


def _replies_last_hour(connection: psycopg.Connection[Any], number: str, now: dt.datetime) -> int:
    found = connection.execute(_REPLIES, (number, now - dt.timedelta(hours=1))).fetchone()
    return int(found[0]) if found else 0


_QUESTION = (
    "SELECT id, template, sender FROM outbound_messages WHERE to_number = %s"
    " AND sent_at >= %s AND sent_at <= %s ORDER BY sent_at DESC, id DESC LIMIT 1"
)


def _quiet(
    connection: psycopg.Connection[Any],
    rules: KeywordRules,
    message: Inbound,
    sender: str,
    clinic: str,
    now: dt.datetime,
    lock_timeout: dt.timedelta,
    links: Links | None,
) -> Handled | None:
    """A text that changes no consent: stored under the number's lock (as `inbound.handle`
    does every text), with its reply decided from the state and this hour's replies."""
    asks = asks_questions(rules)
    since = now - dt.timedelta(hours=rules.answer_window_hours)
    with connection.pipeline():
        connection.execute("BEGIN")
        connection.execute(lock_bound(lock_timeout))
        locked = connection.execute(_LOCK, (sender, now, message.sid, 0))
        state = connection.execute(_STATE, (sender,))
        latest = connection.execute(_QUESTION, (sender, since, now)) if asks else None
        replies = connection.execute(_REPLIES, (sender, now - dt.timedelta(hours=1)))
    if locked.fetchone() is None:  # Twilio retried a text already handled: the same answer
        return _answered(connection, message.sid)
    row = latest.fetchone() if latest is not None else None
    asked = question_of(rules, clinic, tuple(row) if row is not None else None)
    found = classify(message.body, rules, None, asked.answers if asked else None)
    if found.intent not in (Intent.HELP, Intent.NONE, Intent.ANSWER):
        return None
    if found.intent is Intent.HELP and links is not None:
        return None  # the reply ends with a new preference link: the general pass issues it
    categories = scoped_categories(found, rules, clinic, now.date())
    status = {category: Status(value) for category, value, *_ in state.fetchall()}
    (replied,) = replies.fetchone() or (0,)
    reply, note = decide_reply(
        rules, clinic, found, (), lambda name: status.get(name, Status.NONE), lambda: int(replied)
    )
    answer, answer_to = None, None
    if found.intent is Intent.ANSWER and asked is not None:
        answer, answer_to = found.answer, asked.message_id
    row = _text_row(
        message, sender, clinic, now, found, categories, reply, note, [], answer, answer_to
    )
    _stored(connection, _STORE, row)
    _log(message, sender, found, categories, 0, reply)
    return Handled(reply)


def _stored(connection: psycopg.Connection[Any], statement: str, values: list[Any]) -> None:
    """The text (and its events) stored and committed in one round trip: the reply goes to
    Twilio only once they are."""
    with connection.pipeline():
        connection.execute(statement, values)
        connection.execute("COMMIT")


def _answered(connection: psycopg.Connection[Any], sid: str) -> Handled | None:
    """The reply stored for a text already handled (None if it was purged meanwhile: the
    general pass takes it). One stored after the lock let this one by fails on its
    MessageSid when this one is stored: the caller answers it then."""
    row = connection.execute(_SEEN, (sid,)).fetchone()
    return Handled(row[0]) if row is not None else None


def _text_row(
    message: Inbound,
    sender: str,
    clinic: str,
    now: dt.datetime,
    found: Classification,
    categories: tuple[str, ...],
    reply: str | None,
    note: str | None,
    event_ids: list[int],
    answer: str | None = None,
    answer_to: str | None = None,
) -> list[Any]:
    """_STORE's parameters: the text as `inbound.handle` stores it."""
    return [
        message.sid,
        sender,
        clinic,
        message.body,
        message.opt_out_type,
        now,
        found.intent.value,
        json.dumps(list(categories)),
        found.language,
        found.rule,
        reply,
        now if reply else None,
        json.dumps(event_ids),
        note,
        answer,
        answer_to,
    ]


def _log(
    message: Inbound,
    sender: str,
    found: Classification,
    categories: tuple[str, ...],
    events: int,
    reply: str | None,
) -> None:
    log.info(
        "inbound %s from %s: %s %s events=%s reply=%s",
        message.sid,
        mask(sender),
        found.intent,
        ",".join(categories) or "-",
        events,
        bool(reply),
    )
