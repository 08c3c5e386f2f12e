"""Ledger events as CSV or JSON Lines, streamed (SPEC §7 exports): the header first, then
the rows CHUNK_ROWS lines per chunk, so a ledger of millions costs thousands of writes and
not millions, and memory stays flat."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from sqlalchemy import literal_column, select, text
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.chain import iso
from gateway.models import ConsentEventRow

CHUNK_ROWS = 500
T = TypeVar("T")


class EventRow(Protocol):
    """An event as stored: the ORM's row, or a Core row of the same columns."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def occurred_at(self) -> dt.datetime: ...
    @property
    def recorded_at(self) -> dt.datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def evidence(self) -> Any: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


COLUMNS = (
    "id",
    "number",
    "category",
    "action",
    "source",
    "occurred_at",
    "recorded_at",
    "actor",
    "evidence",
    "prev_hash",
    "hash",
)
# OWASP CSV injection: a spreadsheet runs a cell starting with these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def event_record(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "category": row.category,
        "action": row.action,
        "source": row.source,
        "occurred_at": iso(row.occurred_at),
        "recorded_at": iso(row.recorded_at),
        "actor": row.actor,
        "evidence": row.evidence,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def safe_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if isinstance(value, int):
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cells(row: EventRow) -> list[str]:
    """`safe_cell` of each of the record's COLUMNS (an id and a time never start a formula)."""
    return [
        str(row.id),
        safe_cell(row.number),
        safe_cell(row.category),
        safe_cell(row.action),
        safe_cell(row.source),
        iso(row.occurred_at),
        iso(row.recorded_at),
        safe_cell(row.actor),
        safe_cell(row.evidence),
        safe_cell(row.prev_hash),
        safe_cell(row.hash),
    ]


def csv_lines(rows: Iterable[EventRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    for chunk in _chunks(rows):
        writer.writerows([csv_cells(row) for row in chunk])
        yield _drain(buffer)


def jsonl_lines(rows: Iterable[EventRow]) -> Iterator[str]:
    for chunk in _chunks(rows):
        yield "".join(
            json.dumps(event_record(row), sort_keys=True, ensure_ascii=False) + "\n"
            for row in chunk
        )


def _chunks(rows: Iterable[T]) -> Iterator[list[T]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, CHUNK_ROWS)):
        yield chunk


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# Media types without a charset: werkzeug adds "; charset=utf-8" to every text/* type itself.
FORMATS = {
    "csv": (csv_lines, "text/csv"),
    "jsonl": (jsonl_lines, "application/x-ndjson"),
}


def export(
    session: Session,
    f: ledger.EventFilter,
    kind: str,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The matching events as `kind` (a key of FORMATS), in chunks, in constant memory;
    `progress(n)` is told as n more events are written. On PostgreSQL the CSV's cells other
    than the evidence are written by the database (`_csv_on_postgresql`): the same bytes."""
    if kind == "csv" and session.get_bind().dialect.name == "postgresql":
        yield from _csv_on_postgresql(session, f, progress)
        return
    lines, _ = FORMATS[kind]
    rows = ledger.stream(session, f)
    yield from lines(_counted(rows, progress) if progress else rows)


def _counted(rows: Iterable[T], tick: Callable[[int], None]) -> Iterator[T]:
    for row in rows:
        yield row
        tick(1)


# On PostgreSQL, the database writes each line but its evidence cell: `_HEAD_SQL` the cells
# before it, `_TAIL_SQL` those after, exactly as csv.writer writes `csv_cells` — when every
# cell is plain: no quote, comma, CR or LF anywhere, and no formula start but the "+" of a
# number or an actor (which gets its "'" here). Any other line comes back NULL and Python
# writes it.
_FORMULA_SQL = "'=', '+', '-', '@', chr(9), chr(13)"
assert FORMULA_START == ("=", "+", "-", "@", "\t", "\r"), "keep _FORMULA_SQL the same"
_TEXTS = ("number", "category", "action", "source", "actor", "prev_hash", "hash")
_GUARDED = ("number", "actor")  # their "+" (an E.164 number) gets the formula guard here
_PLAIN_SQL = " AND ".join(
    [
        "(" + " || ".join(f"e.{c}" for c in _TEXTS) + ") !~ ('[\",' || chr(13) || chr(10) || ']')",
        *(f"left(e.{c}, 1) NOT IN ('=', '-', '@', chr(9), chr(13))" for c in _GUARDED),
        *(f"left(e.{c}, 1) NOT IN ({_FORMULA_SQL})" for c in _TEXTS if c not in _GUARDED),
        # iso() is strftime's: it does not pad a year before 1000 as to_char does
        "e.occurred_at >= TIMESTAMPTZ '1000-01-01 00:00:00+00'",
        "e.recorded_at >= TIMESTAMPTZ '1000-01-01 00:00:00+00'",
    ]
)


def _guarded(column: str) -> str:
    return f"CASE WHEN left({column}, 1) = '+' THEN chr(39) ELSE '' END || {column}"


_ISO = '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''
_HEAD_SQL = (
    f"CASE WHEN {_PLAIN_SQL} THEN e.id::text || ','"
    f" || {_guarded('e.number')} || ',' || e.category || ',' || e.action || ',' || e.source"
    f" || ',' || to_char(e.occurred_at AT TIME ZONE 'UTC', {_ISO})"
    f" || ',' || to_char(e.recorded_at AT TIME ZONE 'UTC', {_ISO})"
    f" || ',' || {_guarded('e.actor')} || ',' END"
)
_TAIL_SQL = "',' || e.prev_hash || ',' || e.hash || chr(13) || chr(10)"
_QUEUED = 4  # chunks read ahead of the writer
_sorted_json = json.JSONEncoder(sort_keys=True).encode


def _csv_on_postgresql(
    session: Session, f: ledger.EventFilter, progress: Callable[[int], None] | None
) -> Iterator[str]:
    """`csv_lines`, byte for byte, at a fraction of the cost: PostgreSQL writes the cells
    around the evidence; Python writes the evidence as `safe_cell` does (json.dumps, keys
    sorted), and whole lines the SQL left NULL, with `csv_cells`. A thread reads ahead (the
    database works while Python writes); it alone uses the session until it is done."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    # A slow reader leaves this transaction idle between pages (see `ledger.stream`).
    session.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    e = ConsentEventRow.__table__.alias("e")
    query = select(
        literal_column(_HEAD_SQL).label("head"),
        e.c.evidence,
        literal_column(_TAIL_SQL).label("tail"),
        e.c.id,
    ).select_from(e)
    connection = session.connection()
    compiled = ledger.filtered(query, f, table=e).compile(dialect=connection.dialect)
    driver: Any = connection.connection.driver_connection  # psycopg's: plain tuples, fast

    def fetched() -> Iterator[list[Any]]:
        """Chunks of (head, evidence, tail, id), a line the SQL left NULL with its stored row
        in place of the id (read by the thread, which alone uses the connection meanwhile)."""
        with driver.cursor(name="ledger_export") as cursor:
            cursor.itersize = ledger.STREAM_ROWS
            cursor.execute(str(compiled), compiled.params)
            while chunk := cursor.fetchmany(CHUNK_ROWS):
                yield [
                    row
                    if row[0] is not None
                    else (None, None, None, session.get(ConsentEventRow, row[3]))
                    for row in chunk
                ]

    for chunk in _read_ahead(fetched()):
        lines = []
        for head, evidence, tail, stored in chunk:
            if head is None:
                writer.writerow(csv_cells(stored))
                lines.append(_drain(buffer))
                continue
            # safe_cell's json.dumps(sort_keys=True), its encoder built once; "{" is no formula
            cell = _sorted_json(evidence) if type(evidence) is dict else safe_cell(evidence)
            if '"' in cell or "," in cell or "\r" in cell or "\n" in cell:
                cell = '"' + cell.replace('"', '""') + '"'
            lines.append(head + cell + tail)
        yield "".join(lines)
        if progress is not None:
            progress(len(chunk))


def _read_ahead(chunks: Iterator[T]) -> Iterator[T]:
    """`chunks`, read by a thread at most _QUEUED ahead: bounded memory, and the thread
    stops (within a chunk) when the reader does."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_QUEUED)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        ready.put(("chunk", chunk), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("end", None))
        except BaseException as exc:  # handed to the reader, raised there
            ready.put(("error", exc))

    thread = threading.Thread(target=read, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # let it finish its fetch: the session is the caller's next
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)
            thread.join(timeout=0.1)
