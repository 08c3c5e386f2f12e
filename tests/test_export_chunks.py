"""The export writes what it always wrote, byte for byte, whichever way it is made: on
PostgreSQL the database writes the cells around the evidence (gateway.exports.export), and
the result must equal csv.writer's lines over the stored rows, formula guards and quoting
included. Chunks of many lines replace one chunk per line; the header still comes first."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from gateway import exports, ledger
from gateway.db import transaction
from gateway.models import ConsentEventRow

T0 = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
AWKWARD: list[dict[str, Any]] = [
    {"category": "=HYPERLINK()", "actor": 'staff "Ann", desk 2'},
    {"action": "-1", "source": "@import", "actor": "line one\r\nline two"},
    {"actor": "\tTab", "prev_hash": "+1+1", "evidence": {}},
    {"actor": "\rreturn", "evidence": {"text": 'STOP, "now"\n', "é": "ü ✋", "n": 1.5}},
    {"actor": "", "evidence": {"nested": {"b": [1, None, True], "a": "x"}, "ok": False}},
    {"evidence": {"text": {"erased": "ab" * 32}, "to": "+12015550100"}},
    {"occurred_at": dt.datetime(999, 12, 31, 23, 59, tzinfo=dt.UTC), "actor": "the year 999"},
    {"recorded_at": dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
    # evidence that is no object: Python writes it (safe_cell: a text as it is, guarded)
    {"evidence": "=1+1"},
    {"evidence": [2, {"b": 1, "a": "x,y"}]},
    {"evidence": True},
    {"actor": "", "prev_hash": "", "evidence": {"n": 10**20, "e": 1e16, "9": 0, "10": 1}},
]


def seed(sessions: sessionmaker[Session], canonical: bool = True) -> None:
    """The AWKWARD rows, thrice; `canonical=False`: marked as rows stored before migration
    0012 (their evidence is Python's to write)."""
    rows = []
    for i, special in enumerate(AWKWARD * 3, start=1):
        rows.append(
            {
                "id": i,
                "number": f"+1201555{100 + i % 3:04d}",
                "category": "marketing",
                "action": "revoke",
                "source": "sms_keyword",
                "occurred_at": T0 + dt.timedelta(seconds=i),
                "recorded_at": T0 + dt.timedelta(seconds=i),
                "actor": "+12015550123",
                "evidence": {"text": "STOP"},
                "prev_hash": "0" * 64,
                **special,
                "hash": f"{i:064x}",
                "evidence_canonical": canonical,
            }
        )
    with transaction(sessions) as session:
        session.execute(insert(ConsentEventRow), rows)


def by_python(session: Session, f: ledger.EventFilter) -> str:
    """csv.writer over every stored row: the export as first written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(exports.COLUMNS)
    for row in session.execute(ledger.events_query(f)).scalars():
        writer.writerow([exports.safe_cell(v) for v in exports.event_record(row).values()])
    return buffer.getvalue()


@pytest.mark.parametrize(
    "f",
    [
        ledger.EventFilter(),
        ledger.EventFilter(number="+12015550101"),
        ledger.EventFilter(action="x"),
    ],
    ids=["all", "one number", "none"],
)
@pytest.mark.parametrize("canonical", [True, False], ids=["canonical", "stored before 0012"])
# A chunk of one line each: each line is written alone, as a chunk without line breaks in
# its cells (most of them) is, and not read back with the line-broken ones.
@pytest.mark.parametrize("chunk_rows", [1, exports.CHUNK_ROWS], ids=["line by line", "chunks"])
def test_the_csv_export_is_csv_writers_lines_byte_for_byte(
    sessions: sessionmaker[Session],
    f: ledger.EventFilter,
    canonical: bool,
    chunk_rows: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(sessions, canonical)
    monkeypatch.setattr(exports, "CHUNK_ROWS", chunk_rows)
    counted: list[int] = []
    with transaction(sessions) as session:
        chunks = list(exports.export(session, f, "csv", counted.append))
        expected = by_python(session, f)
    assert "".join(chunks) == expected
    assert chunks[0] == ",".join(exports.COLUMNS) + "\r\n"  # the header, on its own, first
    assert sum(counted) == len(list(csv.reader(io.StringIO(expected)))) - 1


def test_the_jsonl_export_is_unchanged(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with transaction(sessions) as session:
        got = "".join(exports.export(session, ledger.EventFilter(), "jsonl"))
        rows = session.execute(ledger.events_query(ledger.EventFilter())).scalars()
        expected = "".join(
            json.dumps(exports.event_record(r), sort_keys=True, ensure_ascii=False) + "\n"
            for r in rows
        )
    assert got == expected


def test_chunks_hold_many_lines_and_never_split_one(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with transaction(sessions) as session:
        chunks = list(exports.export(session, ledger.EventFilter(), "csv"))
    assert len(chunks) == 2  # the header, then all 36 rows (fewer than CHUNK_ROWS)
    assert chunks[1].endswith("\r\n")
