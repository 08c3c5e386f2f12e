"""Ledger events as CSV or JSON Lines, one line at a time (SPEC §7 exports)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from gateway.domain.chain import iso
from gateway.models import ConsentEventRow

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


def event_record(row: ConsentEventRow) -> dict[str, Any]:
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


def csv_lines(rows: Iterable[ConsentEventRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    for row in rows:
        record = event_record(row)
        writer.writerow([safe_cell(record[c]) for c in COLUMNS])
        yield _drain(buffer)


def jsonl_lines(rows: Iterable[ConsentEventRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(event_record(row), sort_keys=True, ensure_ascii=False) + "\n"


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
