"""A ledger of millions for bench/ledger.py: numbers and consent events written with COPY,
every event a valid link of its number's hash chain, as gateway/ledger.py appends them.

Events are generated in id order (the order the sequence hands ids out), each for a number
drawn at random, so a number's events lie scattered through the table as they do after
years of texts. Each event links to its number's previous one (`prev_hash`, GENESIS for its
first); `subjects` keeps each number's head (its latest event's id and hash), `consent_state`
the latest event per number and category, and `ledger_seals` seals every SEAL_AT_MOST events
up to the last 100,000 or so (left unsealed, as between two runs of the worker's seal). The
hashes are `gateway.domain.chain`'s own, so `ledger.verify` passes over the result; the
evidence is stored as the gateway stores it (`gateway.db.canonical_json`, marked canonical:
migration 0012).

The numbers: the 45,000 fictional 555-01xx lines of the valid US area codes first (the
webhook and the importer accept only valid numbers), then +1 1xx 555 xxxx: NANP never gives
out an area code starting with 1, so none of these is anybody's number.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bench.procs import fictional_numbers
from gateway.db import canonical_json, make_engine
from gateway.domain import chain
from gateway.ledger import SEAL_AT_MOST
from gateway.migrate import upgrade

CLINIC = "+12015550100"
START = dt.datetime(2023, 1, 2, 8, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=3 * 365)  # the events are spread over three years
UNSEALED = 100_000  # about this many of the newest events are left for the next seal
TABLES = ("consent_events", "subjects", "consent_state", "ledger_seals")
CATEGORIES = ("transactional", "transactional", "transactional", "marketing", "marketing")
GRANTS = ("web_form", "front_desk", "paper_form", "sms_keyword")
REVOKES = ("sms_keyword", "sms_keyword", "sms_keyword", "carrier_block", "front_desk")


def numbers(count: int) -> list[str]:
    valid = list(itertools.islice(fictional_numbers(), count))
    rest = (f"+11{area:02d}555{line:04d}" for area in range(100) for line in range(10_000))
    found = valid + list(itertools.islice(rest, count - len(valid)))
    if len(found) < count:
        raise SystemExit(f"at most {len(found)} numbers")
    return found


def evidence(source: str, number: str, rng: random.Random, event_id: int) -> dict[str, Any]:
    if source == "sms_keyword":
        return {
            "inbound_sid": f"SM{event_id:032x}",
            "text": rng.choice(("STOP", "stop", "START", "Stop please", "UNSUBSCRIBE")),
            "to": CLINIC,
            "rule": "stop",
            "opt_out_type": "STOP",
        }
    if source == "front_desk":
        return {
            "staff": f"desk-{rng.randrange(1, 9)}",
            "method": rng.choice(("verbal", "signed_form")),
            "note": "asked at check-in",
        }
    if source == "web_form":
        return {
            "form": "intake-2026",
            "ip": f"192.0.2.{rng.randrange(1, 255)}",
            "disclosure": "d41d8cd98f00b204e9800998ecf8427e",
            "text": "I agree to receive appointment reminders by text.",
        }
    if source == "carrier_block":
        return {"carrier": "bench-carrier", "error_code": 21610}
    return {"form": "paper-2024", "scanned": f"scan-{event_id}.pdf"}


def actor(source: str, number: str) -> str:
    return {"sms_keyword": number, "carrier_block": "twilio"}.get(source, f"staff:{source}")


class Filled:
    """What the generator wrote: per number its head, per (number, category) its state."""

    def __init__(self, count: int) -> None:
        self.head_id: list[int | None] = [None] * count
        self.head_hash: list[str | None] = [None] * count
        self.first: list[int | None] = [None] * count
        self.state: dict[int, int] = {}  # number index * 2 + category: event id * 2 + grant
        self.seals: list[chain.Seal] = []


def at(event_id: int, events: int) -> dt.datetime:
    return START + SPAN * (event_id / (events + 1))


def events(
    numbers: list[str], count: int, filled: Filled, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """The events in id order, as COPY rows, while `filled` keeps heads, states and seals."""
    sealing: list[str] = []
    sealed_to = (max(count - UNSEALED, 0) // SEAL_AT_MOST) * SEAL_AT_MOST
    for event_id in range(1, count + 1):
        which = rng.randrange(len(numbers)) if event_id > len(numbers) else event_id - 1
        number = numbers[which]
        category_index = 0 if rng.random() < 0.6 else 1
        category = ("transactional", "marketing")[category_index]
        key = which * 2 + category_index
        before = filled.state.get(key)
        grant = before is None or not before & 1  # alternate: grant, revoke, grant…
        source = rng.choice(GRANTS if grant else REVOKES)
        when = at(event_id, count)
        link = chain.Link(
            id=event_id,
            number=number,
            category=category,
            action="grant" if grant else "revoke",
            source=source,
            occurred_at=when,
            recorded_at=when,
            actor=actor(source, number),
            evidence=evidence(source, number, rng, event_id),
            prev_hash=filled.head_hash[which] or chain.GENESIS,
        )
        hashed = link.computed_hash()
        filled.head_id[which], filled.head_hash[which] = event_id, hashed
        if filled.first[which] is None:
            filled.first[which] = event_id
        filled.state[key] = event_id * 2 + grant
        if event_id <= sealed_to:
            sealing.append(hashed)
            if len(sealing) == SEAL_AT_MOST:
                seal(filled, event_id, sealing, count)
                sealing = []
        yield (
            event_id,
            number,
            category,
            link.action,
            source,
            when,
            when,
            link.actor,
            canonical_json(link.evidence),  # as the gateway stores it (gateway.db.CanonicalJSON)
            link.prev_hash,
            hashed,
            True,
        )


def seal(filled: Filled, last_id: int, hashes: list[str], count: int) -> None:
    prev = filled.seals[-1] if filled.seals else None
    sealed = chain.Seal(
        id=len(filled.seals) + 1,
        after_id=prev.last_id if prev else 0,
        last_id=last_id,
        count=len(hashes),
        root=chain.merkle_root(hashes),
        sealed_at=at(last_id, count) + dt.timedelta(minutes=10),
        prev_hash=prev.hash if prev else chain.GENESIS,
    )
    filled.seals.append(
        chain.Seal(**{**vars(sealed), "hash": sealed.computed_hash()})  # type: ignore[arg-type]
    )


# --- Writing it: constraints off, COPY, constraints back --------------------------------


def _schema_objects(connection: Any) -> tuple[list[str], list[str]]:
    """The statements that drop, and those that recreate, the indexes and constraints of
    TABLES (primary keys and unique constraints before the foreign keys that need them)."""
    drops, creates, foreign = [], [], []
    constraints = connection.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype,"
            " pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f')"
            " AND (c.conrelid::regclass::text = ANY(:t) OR c.confrelid::regclass::text = ANY(:t))"
        ),
        {"t": list(TABLES)},
    ).all()
    owned = {name for _, name, _, _ in constraints}
    for table, name, kind, definition in sorted(constraints, key=lambda c: c[2] != "f"):
        drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        (foreign if kind == "f" else creates).append(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
        )
    indexes = connection.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = ANY(:t)"
        ),
        {"t": list(TABLES)},
    ).all()
    for name, definition in indexes:
        if name not in owned:
            drops.append(f"DROP INDEX {name}")
            creates.append(definition)
    return drops, creates + foreign


def fill(engine: Engine, count_numbers: int, count_events: int, seed: int = 11) -> float:
    """Write the ledger into `engine`'s (migrated, empty) schema; the seconds it took."""
    began = time.monotonic()
    rng = random.Random(seed)
    drawn = numbers(count_numbers)
    filled = Filled(count_numbers)
    with engine.begin() as connection:
        drops, creates = _schema_objects(connection)
        for statement in drops:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        columns = (
            "id, number, category, action, source, occurred_at, recorded_at, actor, evidence,"
            " prev_hash, hash, evidence_canonical"
        )
        with cursor.copy(f"COPY consent_events ({columns}) FROM STDIN") as copy:
            for row in events(drawn, count_events, filled, rng):
                copy.write_row(row)
        with cursor.copy(
            "COPY subjects (number, created_at, head_id, head_hash) FROM STDIN"
        ) as copy:
            for which, number in enumerate(drawn):
                first = filled.first[which]
                created = at(first, count_events) if first else START
                copy.write_row((number, created, filled.head_id[which], filled.head_hash[which]))
        with cursor.copy(
            "COPY consent_state (number, category, status, event_id, occurred_at) FROM STDIN"
        ) as copy:
            for key, value in sorted(filled.state.items()):
                event_id, grant = divmod(value, 2)
                copy.write_row(
                    (
                        drawn[key // 2],
                        ("transactional", "marketing")[key % 2],
                        "granted" if grant else "revoked",
                        event_id,
                        at(event_id, count_events),
                    )
                )
        with cursor.copy(
            "COPY ledger_seals (id, after_id, last_id, count, root, sealed_at, prev_hash, hash)"
            " FROM STDIN"
        ) as copy:
            for s in filled.seals:
                copy.write_row(
                    (s.id, s.after_id, s.last_id, s.count, s.root, s.sealed_at, s.prev_hash, s.hash)
                )
        for statement in creates:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(
            f"SELECT setval('consent_events_id_seq', {count_events + 1}, false)"
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    return time.monotonic() - began


# --- Where: a fresh schema, or one kept from an earlier run (--reuse) -------------------


def _with_schema(url: str, schema: str) -> str:
    parsed = make_url(url)
    given = parsed.query.get("options")
    option = f"-csearch_path={schema}"
    options = f"{given} {option}" if isinstance(given, str) else option
    return parsed.set(query={**parsed.query, "options": options}).render_as_string(
        hide_password=False
    )


@contextmanager
def filled(url: str, count_numbers: int, count_events: int, reuse: bool) -> Iterator[Ready]:
    """A migrated schema in `url`'s database holding the ledger: with `reuse`, the schema
    ledger_<numbers>_<events>, filled by an earlier run (or now) and kept; otherwise a new
    schema, dropped afterwards."""
    schema = (
        f"ledger_{count_numbers}_{count_events}" if reuse else f"ledger_{uuid.uuid4().hex[:12]}"
    )
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        engine = make_engine(_with_schema(url, schema))
        try:
            upgrade(engine)  # a kept schema gets the migrations added since
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "CREATE TABLE IF NOT EXISTS bench_fill (seconds float NOT NULL)"
                )
                took = connection.exec_driver_sql("SELECT seconds FROM bench_fill").scalar()
            fresh = took is None
            if fresh:
                took = fill(engine, count_numbers, count_events)
                with engine.begin() as connection:
                    connection.exec_driver_sql(f"INSERT INTO bench_fill VALUES ({took})")
            yield Ready(engine, _with_schema(url, schema), schema, float(took), not fresh)
        finally:
            engine.dispose()
    finally:
        if not reuse:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@dataclass(frozen=True)
class Ready:
    engine: Engine
    url: str  # the schema's URL, for the servers and the CLI
    schema: str
    fill_seconds: float
    reused: bool
