"""Ledger events as CSV or JSON Lines, streamed (SPEC §7 exports): the header first, then
the rows CHUNK_ROWS lines per chunk, so a ledger of millions costs thousands of writes and
not millions, and memory stays flat."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar

from gateway.domain.chain import iso

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
