"""The consent ledger: append-only, hash-chained events and the current state (SPEC §4).

Takes the caller's session and never commits. Every change first locks the number's row
(`SELECT … FOR UPDATE` on PostgreSQL), the same lock the send-time decision takes, then the
chain's head, in that order everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.domain import chain
from gateway.domain.consent import (
    Action,
    Event,
    Source,
    Status,
    contested_order,
    status_of,
    supersedes,
)
from gateway.models import ConsentEventRow, ConsentStateRow, LedgerHead, Subject


def lock_number(session: Session, number: str, now: dt.datetime) -> None:
    """Create the number's row if new, then hold its lock until the transaction ends."""
    dialect = postgresql if session.bind and session.bind.dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(Subject)
        .values(number=number, created_at=now)
        .on_conflict_do_nothing(index_elements=["number"])
    )
    session.execute(select(Subject.number).where(Subject.number == number).with_for_update())


def to_event(row: ConsentEventRow) -> Event:
    return Event(
        id=row.id,
        number=row.number,
        category=row.category,
        action=Action(row.action),
        source=Source(row.source),
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        actor=row.actor,
        evidence=row.evidence,
        hash=row.hash,
    )


def to_link(row: ConsentEventRow) -> chain.Link:
    return chain.Link(
        id=row.id,
        number=row.number,
        category=row.category,
        action=row.action,
        source=row.source,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        actor=row.actor,
        evidence=row.evidence,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def append(
    session: Session,
    *,
    number: str,
    category: str,
    action: Action,
    source: Source,
    actor: str,
    evidence: Mapping[str, Any],
    now: dt.datetime,
    occurred_at: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> Event:
    """Record one consent change; the state moves only if the event is the newest."""
    lock_number(session, number, now)
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1).with_for_update())
    head_row = head.scalar_one()
    link = chain.Link(
        id=head_row.seq + 1,
        number=number,
        category=category,
        action=action.value,
        source=source.value,
        occurred_at=occurred_at or now,
        recorded_at=now,
        actor=actor,
        evidence=dict(evidence),
        prev_hash=head_row.hash,
    )
    row = ConsentEventRow(**{**vars(link), "hash": link.computed_hash()}, dedupe_key=dedupe_key)
    session.add(row)
    head_row.seq, head_row.hash = row.id, row.hash
    session.flush()
    _move_state(session, to_event(row))
    return to_event(row)


def _move_state(session: Session, event: Event) -> None:
    state = session.get(ConsentStateRow, (event.number, event.category))
    if state is None:
        session.add(
            ConsentStateRow(
                number=event.number,
                category=event.category,
                status=status_of(event).value,
                event_id=event.id,
                occurred_at=event.occurred_at,
            )
        )
    elif supersedes(event, _to_beat(session, state)):
        state.status, state.event_id = status_of(event).value, event.id
        state.occurred_at = event.occurred_at
    session.flush()


def _to_beat(session: Session, state: ConsentStateRow) -> tuple[dt.datetime, int] | None:
    """The order a new event must beat to move the state: the row's own, unless it names a
    correction, whose time is the admin's and not the truth's (see `contested_order`)."""
    in_force = session.get(ConsentEventRow, state.event_id)
    if in_force is None or in_force.source != Source.CORRECTION.value:
        return (state.occurred_at, state.event_id)
    left = in_force.evidence.get("leaves_in_force")
    leaves = session.get(ConsentEventRow, left) if isinstance(left, int) else None
    return contested_order(to_event(in_force), to_event(leaves) if leaves else None)


def current(session: Session, number: str) -> dict[str, Event]:
    """The event in force per category, from the state table."""
    rows = session.execute(
        select(ConsentEventRow)
        .join(ConsentStateRow, ConsentStateRow.event_id == ConsentEventRow.id)
        .where(ConsentStateRow.number == number)
    ).scalars()
    return {row.category: to_event(row) for row in rows}


def current_status(session: Session, number: str, category: str) -> Status:
    state = session.get(ConsentStateRow, (number, category))
    return Status(state.status) if state else Status.NONE


def history(session: Session, number: str, category: str | None = None) -> list[Event]:
    query = select(ConsentEventRow).where(ConsentEventRow.number == number)
    if category is not None:
        query = query.where(ConsentEventRow.category == category)
    rows = session.execute(query.order_by(ConsentEventRow.id)).scalars()
    return [to_event(row) for row in rows]


def get(session: Session, event_id: int) -> Event | None:
    row = session.get(ConsentEventRow, event_id)
    return to_event(row) if row else None


def links(session: Session) -> Iterator[chain.Link]:
    """Every event in chain order, streamed."""
    query = select(ConsentEventRow).order_by(ConsentEventRow.id).execution_options(yield_per=1000)
    for row in session.execute(query).scalars():
        yield to_link(row)


def verify(session: Session) -> chain.Verdict:
    """The chain, and its end against the head row: deleting the newest events shows too."""
    verdict = chain.verify(links(session))
    seq, last = head(session)
    if verdict.ok and (verdict.count, verdict.head) != (seq, last):
        reason = f"the ledger head says {seq} events; the chain ends after {verdict.count}"
        verdict = chain.Verdict(verdict.count, verdict.head, verdict.count + 1, reason)
    return replace(verdict, on_file=count(session, EventFilter()))


@dataclass(frozen=True)
class EventFilter:
    number: str | None = None
    category: str | None = None
    action: str | None = None
    source: str | None = None
    since: dt.datetime | None = None  # occurred_at, inclusive
    until: dt.datetime | None = None  # occurred_at, exclusive


def events_query(f: EventFilter, after: int | None = None) -> Select[ConsentEventRow]:
    """In chain order (id ascending): a cursor `after` an id is stable under new inserts,
    which only ever take higher ids."""
    query = select(ConsentEventRow).order_by(ConsentEventRow.id)
    for column, value in (
        (ConsentEventRow.number, f.number),
        (ConsentEventRow.category, f.category),
        (ConsentEventRow.action, f.action),
        (ConsentEventRow.source, f.source),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(ConsentEventRow.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(ConsentEventRow.occurred_at < f.until)
    if after is not None:
        query = query.where(ConsentEventRow.id > after)
    return query


def stream(session: Session, f: EventFilter) -> Iterator[ConsentEventRow]:
    """Every matching event, fetched a thousand at a time (a server-side cursor on
    PostgreSQL): memory stays flat however large the ledger."""
    if session.get_bind().dialect.name == "postgresql":
        # A slow reader (a download over a poor link, `| less`) leaves this transaction idle
        # between pages: the server-wide idle limit must not cut the export short.
        session.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    query = events_query(f).execution_options(yield_per=1000)
    for row in session.execute(query).scalars():
        yield row
        session.expunge(row)


def head(session: Session) -> tuple[int, str]:
    row = session.get(LedgerHead, 1)
    assert row is not None
    return row.seq, row.hash


def count(session: Session, f: EventFilter) -> int:
    query = select(func.count()).select_from(events_query(f).order_by(None).subquery())
    return int(session.execute(query).scalar_one())
