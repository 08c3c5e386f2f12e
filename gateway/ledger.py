"""The consent ledger: append-only, hash-chained events and the current state (SPEC §4).

Takes the caller's session and never commits. Every change locks the number's row
(`SELECT … FOR UPDATE` on PostgreSQL), the same lock the send-time decision takes, and
nothing global: the row keeps the number's chain head, so changes for different numbers
commit in parallel. Seals (`seal`) make the whole ledger tamper-evident after the fact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.domain import chain
from gateway.domain.consent import (
    Action,
    Event,
    Source,
    Status,
    contested_order,
    state_as_of,
    status_of,
    supersedes,
)
from gateway.models import ConsentEventRow, ConsentStateRow, LedgerHead, LedgerSeal, Subject


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Built once: building a statement costs more than running it. The lock is tried first (a
# known number: one round trip); a new number's row is created, then locked.
_HEAD = (
    select(Subject.head_id, Subject.head_hash)
    .where(Subject.number == bindparam("number"))
    .with_for_update()
)
_NEW_SUBJECT = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(Subject)
    .values(number=bindparam("number"), created_at=bindparam("now"))
    .on_conflict_do_nothing(index_elements=["number"])
    for dialect in (postgresql, sqlite)
}


def lock_number(session: Session, number: str, now: dt.datetime) -> tuple[int | None, str]:
    """Create the number's row if new, then hold its lock until the transaction ends: the
    number's chain head (its latest event's id and hash; None and GENESIS before any)."""
    connection = session.connection()
    head = connection.execute(_HEAD, {"number": number}).first()
    if head is None:
        dialect = "postgresql" if _on_postgresql(session) else "sqlite"
        connection.execute(_NEW_SUBJECT[dialect], {"number": number, "now": now})
        head = connection.execute(_HEAD, {"number": number}).one()
    return head.head_id, head.head_hash or chain.GENESIS


def _next_id(session: Session) -> int:
    """The new event's id, taken once the number's lock is held, so a number's events are in
    id order. PostgreSQL's sequence hands ids out without a lock (they may commit out of
    order: `seal` allows for it); SQLite's writers already queue (BEGIN IMMEDIATE)."""
    if _on_postgresql(session):
        return int(session.execute(text("SELECT nextval('consent_events_id_seq')")).scalar_one())
    return int(
        session.execute(select(func.coalesce(func.max(ConsentEventRow.id), 0) + 1)).scalar_one()
    )


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
    _, prev_hash = lock_number(session, number, now)
    link = chain.Link(
        id=_next_id(session),
        number=number,
        category=category,
        action=action.value,
        source=source.value,
        occurred_at=occurred_at or now,
        recorded_at=now,
        actor=actor,
        evidence=dict(evidence),
        prev_hash=prev_hash,
    )
    row = ConsentEventRow(**{**vars(link), "hash": link.computed_hash()}, dedupe_key=dedupe_key)
    session.add(row)
    session.flush()
    session.execute(
        update(Subject).where(Subject.number == number).values(head_id=row.id, head_hash=row.hash)
    )
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


EVENT_COLUMNS = (
    ConsentEventRow.id,
    ConsentEventRow.number,
    ConsentEventRow.category,
    ConsentEventRow.action,
    ConsentEventRow.source,
    ConsentEventRow.occurred_at,
    ConsentEventRow.recorded_at,
    ConsentEventRow.actor,
    ConsentEventRow.evidence,
    ConsentEventRow.hash,
)


def _event(row: Any) -> Event:
    return Event(
        row.id,
        row.number,
        row.category,
        Action(row.action),
        Source(row.source),
        row.occurred_at,
        row.recorded_at,
        row.actor,
        row.evidence,
        row.hash,
    )


# A lookup's two statements, built once (building a select costs more than running it).
_HISTORY = (
    select(*EVENT_COLUMNS)
    .where(ConsentEventRow.number == bindparam("number"))
    .order_by(ConsentEventRow.id)
)
_IN_FORCE_OR_CORRECTION = (
    select(*EVENT_COLUMNS, ConsentStateRow.number.is_not(None).label("in_force"))
    .outerjoin(
        ConsentStateRow,
        (ConsentStateRow.event_id == ConsentEventRow.id)
        & (ConsentStateRow.number == ConsentEventRow.number),
    )
    .where(ConsentEventRow.number == bindparam("number"))
    .where(
        ConsentStateRow.number.is_not(None) | (ConsentEventRow.source == Source.CORRECTION.value)
    )
    .order_by(ConsentEventRow.id)
)


def consent_of(
    session: Session, number: str, at: dt.datetime | None = None
) -> tuple[dict[str, Event], list[Event]]:
    """What a consent lookup shows, in one indexed query: the event in force per category
    (now, from the state table; or as of `at`, from the number's history) and the number's
    corrections (to show what each voided)."""
    connection = session.connection()  # Core: no ORM compile or identity map for a read
    if at is not None:
        events = [_event(row) for row in connection.execute(_HISTORY, {"number": number})]
        fixes = [e for e in events if e.source is Source.CORRECTION]
        return state_as_of(events, at), fixes
    now: dict[str, Event] = {}
    fixes = []
    for row in connection.execute(_IN_FORCE_OR_CORRECTION, {"number": number}):
        event = _event(row)
        if row.in_force:
            now[event.category] = event
        if event.source is Source.CORRECTION:
            fixes.append(event)
    return now, fixes


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


# What the chain covers of an event, as plain columns: verify and the export stream rows of
# these (Core rows, a server-side cursor on PostgreSQL), never ORM objects, whose identity
# map and attribute machinery cost several times the hashing itself.
LINK_COLUMNS = (
    ConsentEventRow.id,
    ConsentEventRow.number,
    ConsentEventRow.category,
    ConsentEventRow.action,
    ConsentEventRow.source,
    ConsentEventRow.occurred_at,
    ConsentEventRow.recorded_at,
    ConsentEventRow.actor,
    ConsentEventRow.evidence,
    ConsentEventRow.prev_hash,
    ConsentEventRow.hash,
)
STREAM_ROWS = 2000  # rows per fetch from the server-side cursor: memory stays flat


def streamed(session: Session, query: Select[Any]) -> Iterator[Any]:
    """The query's rows fetched STREAM_ROWS at a time (a server-side cursor on PostgreSQL)."""
    return iter(session.execute(query.execution_options(yield_per=STREAM_ROWS)))


def links(session: Session, upto: int | None = None) -> Iterator[chain.Link]:
    """Every event (or those with ids up to `upto`) in id order, streamed."""
    query = select(*LINK_COLUMNS).order_by(ConsentEventRow.id)
    if upto is not None:
        query = query.where(ConsentEventRow.id <= upto)
    for row in streamed(session, query):
        yield chain.Link(*row)


def verify(session: Session) -> chain.Verdict:
    """The old global chain up to the switch, each number's chain and head (a deleted tail
    shows), and the seals (each root recomputed from the events it covers): the first event
    that does not hold, or how many verified and how many no seal covers yet."""
    breaks = [*_old_chain_breaks(session), *_number_breaks(session)]
    first = min((_named(session, b) for b in breaks), default=None)
    seal_break, last_seal = _seal_break(session, first[0] if first else None)
    if seal_break is not None:
        first = min(first, _named(session, seal_break)) if first else _named(session, seal_break)
    on_file = count(session, EventFilter())
    if first is None:
        sealed_up_to = last_seal.last_id if last_seal else 0
        unsealed = _count_after(session, sealed_up_to)
        return chain.Verdict(
            on_file,
            _hash_before(session, None),
            None,
            None,
            on_file,
            unsealed,
            last_seal.hash if last_seal else None,
        )
    verified = on_file - _count_after(session, first[0] - 1)
    return chain.Verdict(verified, _hash_before(session, first[0]), first[0], first[1], on_file)


def _old_chain_breaks(session: Session) -> list[chain.Break]:
    """Events up to the switch: the old chain, whole and ending where the frozen head says."""
    switch, old_head = head(session)
    old = chain.verify(links(session, upto=switch))
    if not old.ok:
        assert old.first_bad_id is not None and old.reason is not None
        return [chain.Break(old.first_bad_id, old.reason)]
    if (old.count, old.head) != (switch, old_head):
        reason = f"the ledger head says {switch} events; the chain ends after {old.count}"
        return [chain.Break(old.count + 1, reason, gone=True)]
    return []


def _number_breaks(session: Session) -> list[chain.Break]:
    query = (
        select(*LINK_COLUMNS, Subject.head_id, Subject.head_hash)
        .outerjoin(Subject, Subject.number == ConsentEventRow.number)
        .order_by(ConsentEventRow.number, ConsentEventRow.id)
    )
    rows = ((chain.Link(*row[:11]), row[11], row[12]) for row in streamed(session, query))
    found = list(chain.number_breaks(rows, head(session)[0]))
    # A number whose head names events none of which is on file any more.
    emptied = select(Subject.head_id).where(
        Subject.head_id.is_not(None),
        ~select(ConsentEventRow.id).where(ConsentEventRow.number == Subject.number).exists(),
    )
    for head_id in session.execute(emptied).scalars():
        assert head_id is not None
        found.append(chain.Break(head_id, f"expected event {head_id} here", gone=True))
    return found


def _seal_break(
    session: Session, named: int | None
) -> tuple[chain.Break | None, LedgerSeal | None]:
    """The first seal that does not hold, unless the chains already named an event it covers
    (they name it more precisely); and the last seal."""
    prev: LedgerSeal | None = None
    for row in session.execute(select(LedgerSeal).order_by(LedgerSeal.id)).scalars():
        reason = _seal_fault(session, row, prev)
        if reason is not None:
            if named is not None and named <= row.last_id:
                return None, None
            return chain.Break(row.after_id + 1, reason, gone=True), None
        prev = row
    return None, prev


def _seal_fault(session: Session, row: LedgerSeal, prev: LedgerSeal | None) -> str | None:
    expected_after, expected_prev = (prev.last_id, prev.hash) if prev else (0, chain.GENESIS)
    if (row.id, row.after_id, row.prev_hash) != (
        prev.id + 1 if prev else 1,
        expected_after,
        expected_prev,
    ):
        return f"seal {row.id} does not follow seal {row.id - 1}"
    if to_seal(row).computed_hash() != row.hash:
        return f"seal {row.id}'s hash does not match its content"
    counted, root = _covered(session, row.after_id, row.last_id)
    span = f"events {row.after_id + 1} to {row.last_id}"
    if counted != row.count:
        return f"{span}: {counted} on file, seal {row.id} sealed {row.count}"
    if root != row.root:
        return f"{span} do not match seal {row.id}'s Merkle root (rewritten with new hashes?)"
    return None


def _covered(session: Session, after_id: int, last_id: int) -> tuple[int, str]:
    """How many events have ids in (after_id, last_id], and the Merkle root of their hashes."""
    query = (
        select(ConsentEventRow.hash)
        .where(ConsentEventRow.id > after_id, ConsentEventRow.id <= last_id)
        .order_by(ConsentEventRow.id)
        .execution_options(yield_per=5000)
    )
    counted = 0

    def hashes() -> Iterator[str]:
        nonlocal counted
        for value in session.execute(query).scalars():
            counted += 1
            yield value

    root = chain.merkle_root(hashes())
    return counted, root


def _named(session: Session, found: chain.Break) -> tuple[int, str]:
    """The event a break names: a missing event's first successor on file, as the old chain
    named the event after a gap (or the missing id itself when none follows)."""
    if not found.gone:
        return found.id, found.reason
    after = session.execute(
        select(func.min(ConsentEventRow.id)).where(ConsentEventRow.id >= found.id)
    ).scalar_one()
    return (after if after is not None else found.id), found.reason


def _count_after(session: Session, event_id: int) -> int:
    query = select(func.count()).select_from(ConsentEventRow).where(ConsentEventRow.id > event_id)
    return int(session.execute(query).scalar_one())


def _hash_before(session: Session, event_id: int | None) -> str:
    """The hash of the newest event (before `event_id`): the verified ledger's head."""
    query = select(ConsentEventRow.hash).order_by(ConsentEventRow.id.desc()).limit(1)
    if event_id is not None:
        query = query.where(ConsentEventRow.id < event_id)
    return session.execute(query).scalar_one_or_none() or chain.GENESIS


def to_seal(row: LedgerSeal) -> chain.Seal:
    return chain.Seal(
        id=row.id,
        after_id=row.after_id,
        last_id=row.last_id,
        count=row.count,
        root=row.root,
        sealed_at=row.sealed_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


SEAL_AT_MOST = 100_000  # events per seal: one run stays bounded; the next takes the rest


def seal(
    session: Session, now: dt.datetime, wait: dt.timedelta = dt.timedelta(seconds=5)
) -> LedgerSeal | None:
    """Seal the events since the last seal, in id order, up to the highest id below which no
    transaction can still insert; None when there is nothing to seal (or, on PostgreSQL, an
    append that took an id is still open after `wait`: the next run seals it)."""
    horizon = _horizon(session, wait)
    last = last_seal(session)
    after = last.last_id if last else 0
    if horizon is None or horizon <= after:
        return None
    ids = select(ConsentEventRow.id).where(
        ConsentEventRow.id > after, ConsentEventRow.id <= horizon
    )
    last_id = session.execute(
        select(func.max(ids.order_by(ConsentEventRow.id).limit(SEAL_AT_MOST).subquery().c.id))
    ).scalar_one()
    if last_id is None:
        return None
    counted, root = _covered(session, after, last_id)
    sealed = chain.Seal(
        id=last.id + 1 if last else 1,
        after_id=after,
        last_id=last_id,
        count=counted,
        root=root,
        sealed_at=now,
        prev_hash=last.hash if last else chain.GENESIS,
    )
    row = LedgerSeal(**{**vars(sealed), "hash": sealed.computed_hash()})
    session.add(row)
    session.flush()
    return row


def _horizon(session: Session, wait: dt.timedelta) -> int | None:
    """The highest id that is final: no open transaction holds it or a lower one.

    PostgreSQL's sequence hands ids out without a lock, so id 7 may commit after id 8. An
    append takes its id after its number's row lock, which gives its transaction an id (an
    xid) first: whoever holds an id handed out before the sequence is read is, by then,
    either over or a transaction of this database with an xid. So: read the sequence, then
    list this database's transactions that have an xid (pg_stat_activity, which a
    transaction sees as of its first look unless it clears it), and wait (bounded) until each
    is over. Nothing is locked; appends go on. Not a snapshot's list of running
    transactions: it leaves out those newer than the newest one finished (a transaction that
    began after another, then took its id first). Other databases' transactions are not
    waited for. SQLite's writers queue (BEGIN IMMEDIATE): this transaction holds the write
    lock, so the newest id on file is final."""
    if not _on_postgresql(session):
        return int(
            session.execute(select(func.coalesce(func.max(ConsentEventRow.id), 0))).scalar_one()
        )
    handed_out = session.execute(
        text(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END"
            " FROM consent_events_id_seq"
        )
    ).scalar_one()
    holders = _open_transactions(session)
    deadline = time.monotonic() + wait.total_seconds()
    while holders:
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
        holders &= _open_transactions(session)  # a pid's next transaction has another xid
    return int(handed_out)


def _open_transactions(session: Session) -> set[tuple[int, str]]:
    """This database's other transactions that have an xid: (pid, xid), as of now."""
    session.execute(text("SELECT pg_stat_clear_snapshot()"))
    rows = session.execute(
        text(
            "SELECT pid, backend_xid::text FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_xid IS NOT NULL"
            " AND pid <> pg_backend_pid()"
        )
    )
    return {(int(pid), str(xid)) for pid, xid in rows}


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
    return filtered(select(ConsentEventRow), f, after)


def filtered(
    query: Select[Any], f: EventFilter, after: int | None = None, table: Any = None
) -> Select[Any]:
    """`query` ordered by id, with `f`'s conditions (on `table`, an alias of consent_events,
    if given)."""
    c = ConsentEventRow if table is None else table.c
    query = query.order_by(c.id)
    for column, value in (
        (c.number, f.number),
        (c.category, f.category),
        (c.action, f.action),
        (c.source, f.source),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(c.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(c.occurred_at < f.until)
    if after is not None:
        query = query.where(c.id > after)
    return query


def stream(session: Session, f: EventFilter) -> Iterator[Any]:
    """Every matching event as a row of LINK_COLUMNS (read by attribute, like the ORM's),
    fetched STREAM_ROWS at a time (a server-side cursor on PostgreSQL): memory stays flat
    however large the ledger. Lazy: no statement runs (on SQLite, no write lock is taken)
    before the first row is asked for, so an export's header goes out first."""
    if session.get_bind().dialect.name == "postgresql":
        # A slow reader (a download over a poor link, `| less`) leaves this transaction idle
        # between pages: the server-wide idle limit must not cut the export short.
        session.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    yield from streamed(session, filtered(select(*LINK_COLUMNS), f))


def number_head(session: Session, number: str) -> tuple[int | None, str]:
    """The number's chain head: its latest event's id and hash (None and GENESIS before any)."""
    row = session.get(Subject, number)
    return (row.head_id, row.head_hash or chain.GENESIS) if row else (None, chain.GENESIS)


def last_seal(session: Session) -> LedgerSeal | None:
    query = select(LedgerSeal).order_by(LedgerSeal.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def head(session: Session) -> tuple[int, str]:
    """The old global chain's frozen end: the switch's id and hash (0, GENESIS if none)."""
    row = session.get(LedgerHead, 1)
    assert row is not None
    return row.seq, row.hash


def count(session: Session, f: EventFilter) -> int:
    query = select(func.count()).select_from(events_query(f).order_by(None).subquery())
    return int(session.execute(query).scalar_one())
