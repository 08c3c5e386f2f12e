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
from collections.abc import Callable, Generator, Iterable, Iterator
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


# On PostgreSQL the database writes the CSV itself: COPY … TO STDOUT (FORMAT csv) quotes a
# cell exactly when csv.writer's QUOTE_MINIMAL does (a quote, a comma, CR or LF in it, and
# doubles the quotes inside), in C, at about the cost of a plain COPY. `_CELLS_SQL` gives it
# the cells `csv_cells` writes: safe_cell's formula guard, iso()'s times ("FM": a year before
# 1000 unpadded, as strftime writes it), the evidence as stored. NULL '=': no cell is ever
# "=" (a guarded one starts with "'"), while the default NULL '' would quote empty cells,
# which csv.writer leaves bare. What COPY cannot do, Python does: end each line with CRLF
# (COPY ends a row with LF), and write the evidence of a row whose stored text is not
# canonical (see `WHOLE_LINE_SQL`) as safe_cell does — such a row comes with its id marked
# ("s42") and its evidence as stored, and Python writes its line again.
_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_START)
# A row whose stored evidence text is `canonical_json`'s (migration 0012) and an object's:
# exactly the cell safe_cell writes (json.dumps, keys sorted; "{" starts no formula).
WHOLE_LINE_SQL = "e.evidence_canonical AND ascii(e.evidence::text) = 123"
_ISO = '\'FMYYYY-MM-DD"T"HH24:MI:SS.US"Z"\''


def _guarded(column: str) -> str:
    guard = f"ascii({column}) IN ({_FORMULA_CODES})"
    return f"CASE WHEN {guard} THEN chr(39) || {column} ELSE {column} END"


_CELLS_SQL = ", ".join(
    [
        f"CASE WHEN {WHOLE_LINE_SQL} THEN e.id::text ELSE 's' || e.id END",
        *(_guarded(f"e.{c}") for c in ("number", "category", "action", "source")),
        f"to_char(e.occurred_at AT TIME ZONE 'UTC', {_ISO})",
        f"to_char(e.recorded_at AT TIME ZONE 'UTC', {_ISO})",
        _guarded("e.actor"),
        "e.evidence",
        _guarded("e.prev_hash"),
        _guarded("e.hash"),
    ]
)
_QUEUED = 4  # chunks read ahead of the writer
_sorted_json = json.JSONEncoder(sort_keys=True).encode


def _csv_on_postgresql(
    session: Session, f: ledger.EventFilter, progress: Callable[[int], None] | None
) -> Iterator[str]:
    """`csv_lines`, byte for byte, at a fraction of the cost: PostgreSQL writes the lines
    (COPY), Python their CRLF and the evidence of rows stored before migration 0012. A
    thread reads ahead (the database works while Python writes); it alone uses the session
    until it is done."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    # A slow reader leaves this transaction idle, and the COPY running, for as long as it
    # takes: neither the server-wide idle limit nor a statement limit may cut it short.
    session.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    session.execute(text("SET LOCAL statement_timeout = 0"))
    e = ConsentEventRow.__table__.alias("e")
    query = ledger.filtered(select(literal_column(_CELLS_SQL)).select_from(e), f, table=e)
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    statement = f"COPY ({compiled}) TO STDOUT (FORMAT csv, NULL '=')"
    driver: Any = connection.connection.driver_connection  # psycopg's
    encoding = driver.info.encoding

    def copied() -> Generator[list[Any], None, None]:
        """COPY's rows, CHUNK_ROWS at a time (read by the thread). In a savepoint: a reader
        that stops early cancels the COPY, and the transaction goes on as before it."""
        driver.execute("SAVEPOINT ledger_export")
        try:
            with driver.cursor() as cursor, cursor.copy(statement, compiled.params or None) as copy:
                chunk: list[Any] = []
                for row in copy:
                    chunk.append(row)
                    if len(chunk) == CHUNK_ROWS:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
        except GeneratorExit:
            driver.execute("ROLLBACK TO SAVEPOINT ledger_export")
            raise
        driver.execute("RELEASE SAVEPOINT ledger_export")

    for chunk in _read_ahead(copied()):
        yield _lines(chunk, encoding, writer, buffer)
        if progress is not None:
            progress(len(chunk))


def _lines(rows: list[Any], encoding: str, writer: Any, buffer: io.StringIO) -> str:
    """COPY's rows (each one line ending in LF) as the export's lines."""
    data = b"".join(rows)
    if data.count(b"\n") != len(rows):  # a cell with a line break: csv.reader finds the rows
        records = csv.reader(io.StringIO(data.decode(encoding), newline=""))
        writer.writerows(_unmarked(cells) if cells[0][0] == "s" else cells for cells in records)
        return _drain(buffer)
    if not data.startswith(b"s") and b"\ns" not in data:  # no evidence for Python to write
        return data.replace(b"\n", b"\r\n").decode(encoding)
    lines = data.decode(encoding).split("\n")
    lines.pop()  # the empty string after the last LF
    return "".join(
        [_rewritten(line, writer, buffer) if line[0] == "s" else line + "\r\n" for line in lines]
    )


def _rewritten(line: str, writer: Any, buffer: io.StringIO) -> str:
    """A marked row's line (see `_CELLS_SQL`) written with its evidence as safe_cell writes
    it. When no other cell is quoted, the evidence is what lies between the 8th comma and
    the second last: no need to read the whole line as CSV."""
    head = line.split(",", 8)
    rest = head.pop() if len(head) == 9 else ""
    tail = rest.rsplit(",", 2)
    if len(tail) != 3 or '"' in line[: len(line) - len(rest)] or '"' in tail[1] + tail[2]:
        writer.writerow(_unmarked(next(csv.reader([line]))))
        return _drain(buffer)
    stored = tail[0][1:-1].replace('""', '"') if tail[0].startswith('"') else tail[0]
    return ",".join([head[0][1:], *head[1:], _evidence_cell(stored), tail[1], tail[2]]) + "\r\n"


def _unmarked(cells: list[str]) -> list[str]:
    """A marked row's cells, its evidence (as stored) as safe_cell writes it."""
    return [cells[0][1:], *cells[1:8], safe_cell(json.loads(cells[8])), *cells[9:]]


def _evidence_cell(stored: str) -> str:
    """safe_cell of the evidence whose JSON text is `stored`, as csv.writer writes it."""
    evidence = json.loads(stored)
    # safe_cell's json.dumps(sort_keys=True), its encoder built once; "{" is no formula
    cell = _sorted_json(evidence) if type(evidence) is dict else safe_cell(evidence)
    if '"' in cell or "," in cell or "\r" in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _read_ahead(chunks: Generator[T, None, None]) -> Iterator[T]:
    """`chunks`, read by a thread at most _QUEUED ahead: bounded memory, and the thread
    stops (within a chunk) when the reader does, and closes `chunks` itself."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_QUEUED)
    stop = threading.Event()

    def read() -> None:
        try:
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
            finally:
                chunks.close()  # by this thread, before the caller has the session back
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
