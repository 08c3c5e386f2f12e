"""`smsgate ledger import`: a clinic's old consent/opt-out list goes in whole or not at all,
once, and never overrides a newer decision."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import importer, ledger
from gateway.cli.ledger_import import import_command
from gateway.db import transaction
from gateway.domain.consent import Action, Source, Status
from gateway.domain.keywords import KeywordRules
from gateway.models import ConsentEventRow

ROOT = Path(__file__).resolve().parent.parent
HEADER = "number,category,action,occurred_at,source,note"
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)
# Fictional numbers only: 555-0100 … 555-0199 in ten area codes, a thousand in all.
AREA_CODES = (201, 305, 405, 212, 312, 415, 503, 602, 617, 702)
NUMBERS = [f"+1{area}555{n:04d}" for area in AREA_CODES for n in range(100, 200)]


def opt_out_list() -> list[str]:
    """A thousand rows as an old front-desk system would export them."""
    lines = []
    for i, number in enumerate(NUMBERS):
        category, action = ("marketing", "revoke") if i % 2 else ("transactional", "grant")
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i % 365)
        lines.append(f"{number},{category},{action},{day.isoformat()},old_crm,row {i}")
    return lines


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def smsgate_ledger_import(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(import_command, [str(a) for a in args])
    return result.exit_code, result.output


def events(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(ConsentEventRow)).scalar_one()


def test_a_list_with_three_bad_rows_applies_nothing_and_names_those_lines(
    env: None, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = opt_out_list()
    lines[9] = "+1201555010,transactional,revoke,2024-02-01,old_crm,"  # one digit short
    lines[499] = "+12125550199,promotions,revoke,2024-02-01,old_crm,"
    lines[997] = "+17025550197,transactional,revoke,01/02/2024,old_crm,"
    path = write(tmp_path / "opt_outs.csv", lines)

    code, out = smsgate_ledger_import(path)

    assert code == 1
    problems = [line for line in out.splitlines() if line.startswith(f"{path}:")]
    assert problems == [
        f"{path}:11: number: not a valid phone number",
        f"{path}:501: category: unknown category 'promotions'; keywords.yml has "
        "transactional, marketing",
        f"{path}:999: occurred_at: '01/02/2024' is not an ISO-8601 date or time, "
        "e.g. 2025-03-01 or 2025-03-01T14:30:00-05:00",
    ]
    assert out.splitlines()[-1] == "3 problems; nothing was applied"
    assert events(sessions) == 0


def test_the_fixed_list_adds_every_row_once_and_the_chain_still_verifies(
    env: None, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = opt_out_list()
    path = write(tmp_path / "opt_outs.csv", lines)

    assert smsgate_ledger_import(path, "--dry-run") == (
        0,
        "no problems found: 1000 would be added, 0 are already in the ledger "
        "(dry run: nothing was applied)\n",
    )
    assert events(sessions) == 0
    assert smsgate_ledger_import(path) == (
        0,
        "added 1000 events, skipped 0 already in the ledger\n",
    )
    assert events(sessions) == 1000
    assert smsgate_ledger_import(path) == (
        0,
        "added 0 events, skipped 1000 already in the ledger\n",
    )
    assert events(sessions) == 1000

    with transaction(sessions) as session:
        assert ledger.verify(session).ok
        (first,) = ledger.history(session, "+12015550100")
    assert (first.source, first.action, first.actor) == (Source.IMPORT, Action.GRANT, "cli:maria")
    assert first.occurred_at == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert first.evidence == {"source": "old_crm", "note": "row 0", "file": path.name, "line": 2}


def test_the_same_rows_in_another_file_add_nothing_and_are_looked_up_in_batches(
    engine: Engine, sessions: sessionmaker[Session], rules: KeywordRules, tmp_path: Path
) -> None:
    rows, _ = importer.read(write(tmp_path / "a.csv", opt_out_list()), rules, "US", NOW)
    with transaction(sessions) as session:
        importer.apply(session, rows, actor="cli:maria", now=NOW)
    # Another export of the same list: columns reordered, numbers as staff type them, rows
    # shuffled.
    shuffled = opt_out_list()
    random.Random(7).shuffle(shuffled)
    retyped = []
    for line in shuffled:
        number, category, action, day, source, note = line.split(",")
        local = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
        retyped.append(f'{action},"{local}",{note},{source},{category},{day}T00:00:00Z')
    path = write(
        tmp_path / "b.csv", retyped, header="action,number,note,source,category,occurred_at"
    )
    again, problems = importer.read(path, rules, "US", NOW)
    assert problems == []

    lookups = []

    def count_lookups(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "dedupe_key IN" in statement:
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", count_lookups)
    try:
        with transaction(sessions) as session:
            result = importer.apply(session, again, actor="cli:maria", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count_lookups)
    assert result == importer.Result(added=0, skipped=1000)
    assert len(lookups) == 2  # 1,000 rows, 500 to a query
    assert events(sessions) == 1000


def test_a_row_repeated_in_the_file_is_recorded_once(
    sessions: sessionmaker[Session], rules: KeywordRules, tmp_path: Path
) -> None:
    row = "+13055550123,transactional,revoke,2025-03-01,paper_form,asked at the desk"
    rows, _ = importer.read(write(tmp_path / "list.csv", [row, row]), rules, "US", NOW)
    done: list[int] = []
    with transaction(sessions) as session:
        result = importer.apply(session, rows, actor="cli:maria", now=NOW, progress=done.append)
    assert result == importer.Result(added=1, skipped=1)
    assert sum(done) == 2
    assert events(sessions) == 1


def test_a_back_dated_import_never_overrides_a_newer_decision(
    sessions: sessionmaker[Session], rules: KeywordRules, tmp_path: Path
) -> None:
    stopped, granted = "+14155550142", "+16175550117"
    with transaction(sessions) as session:
        for number, category, action, source in (
            (stopped, "transactional", Action.REVOKE, Source.SMS_KEYWORD),  # the patient's STOP
            (granted, "marketing", Action.GRANT, Source.WEB_FORM),
        ):
            ledger.append(
                session,
                number=number,
                category=category,
                action=action,
                source=source,
                actor=number,
                evidence={},
                now=NOW,
                occurred_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
            )
    old_list = [
        f"{stopped},transactional,grant,2025-03-01,paper_form,",
        f"{granted},marketing,revoke,2025-03-01T09:00:00-05:00,old_crm,",
    ]
    rows, problems = importer.read(write(tmp_path / "old.csv", old_list), rules, "US", NOW)
    assert problems == []

    with transaction(sessions) as session:
        assert importer.apply(session, rows, actor="cli:maria", now=NOW).added == 2
    with transaction(sessions) as session:
        assert ledger.current_status(session, stopped, "transactional") is Status.REVOKED
        assert ledger.current(session, stopped)["transactional"].source is Source.SMS_KEYWORD
        assert ledger.current_status(session, granted, "marketing") is Status.GRANTED
        assert len(ledger.history(session, stopped)) == 2  # the old grant is on record all the same
        assert ledger.verify(session).ok


def test_a_marketing_grant_is_refused_as_unprovable(rules: KeywordRules, tmp_path: Path) -> None:
    path = write(
        tmp_path / "list.csv",
        [
            "+15035550101,marketing,revoke,2025-03-01,old_crm,",
            "+15035550102,Marketing,GRANT,2025-03-01,paper_form,signed form 12",
            "+15035550103,transactional,grant,2025-03-01,paper_form,",
        ],
    )
    rows, problems = importer.read(path, rules, "US", NOW)
    assert [(p.line, p.field) for p in problems] == [(3, "action")]
    assert problems[0].message.startswith("unprovable_consent: a marketing grant needs proof")
    assert [row.line for row in rows] == [2, 4]


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ("12345,transactional,revoke,2025-03-01,old_crm,", "number", "not a valid phone number"),
        ("call me,transactional,revoke,2025-03-01,old_crm,", "number", "not a phone number"),
        (",transactional,revoke,2025-03-01,old_crm,", "number", "empty"),
        ("+12015550150,transactional,unsubscribe,2025-03-01,old_crm,", "action", "neither grant"),
        ("+12015550150,transactional,revoke,2999-01-01,old_crm,", "occurred_at", "in the future"),
        ("+12015550150,transactional,revoke,,old_crm,", "occurred_at", "is not an ISO-8601"),
        ("+12015550150,transactional,revoke,2025-03-01, ,", "source", "empty"),
        ("+12015550150,transactional,revoke,2025-03-01," + "x" * 51 + ",", "source", "longer"),
        ("+12015550150,transactional,revoke,2025-03-01,old_crm", "row", "5 fields, but"),
    ],
)
def test_a_bad_cell_is_named_with_its_line_and_field(
    cells: str, field: str, message: str, rules: KeywordRules, tmp_path: Path
) -> None:
    ok = "+12015550151,transactional,revoke,2025-03-01,old_crm,"
    path = write(tmp_path / "list.csv", [ok, cells, ok])
    rows, problems = importer.read(path, rules, "US", NOW)
    assert [(p.line, p.field) for p in problems] == [(3, field)]
    assert message in problems[0].message
    assert len(rows) == 2


def test_every_problem_of_a_row_is_named_not_just_the_first(
    rules: KeywordRules, tmp_path: Path
) -> None:
    path = write(tmp_path / "list.csv", ["nope,promo,maybe,yesterday,,"])
    _, problems = importer.read(path, rules, "US", NOW)
    assert [(p.line, p.field) for p in problems] == [
        (2, "number"),
        (2, "category"),
        (2, "action"),
        (2, "occurred_at"),
        (2, "source"),
    ]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("2025-03-01", dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
        ("2025-03-01T14:30:00", dt.datetime(2025, 3, 1, 14, 30, tzinfo=dt.UTC)),
        ("2025-03-01T14:30:00Z", dt.datetime(2025, 3, 1, 14, 30, tzinfo=dt.UTC)),
        ("2025-03-01T09:30:00-05:00", dt.datetime(2025, 3, 1, 14, 30, tzinfo=dt.UTC)),
    ],
)
def test_dates_are_read_as_utc(
    written: str, meant: dt.datetime, rules: KeywordRules, tmp_path: Path
) -> None:
    path = write(tmp_path / "list.csv", [f"+12015550150,transactional,revoke,{written},x,"])
    (row,), _ = importer.read(path, rules, "US", NOW)
    assert row.occurred_at == meant
    assert row.occurred_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", (1, "file", "the file is empty")),
        (b"\n\n", (1, "file", "the file is empty")),
        (
            b"number,category,action,occurred_at,source,note,number\n",
            (1, "header", "repeated column(s): number"),
        ),
        (b"number,category,action,occurred_at,source\n", (1, "header", "missing column(s): note")),
        (
            b"number,category,action,occurred_at,source,note,date\n",
            (1, "header", "unexpected column(s): 'date'"),
        ),
        (
            HEADER.encode() + b"\n+12015550150,transactional,revoke,2025-03-01,old_crm,caf\xe9\n",
            (2, "file", "not UTF-8 text"),
        ),
    ],
)
def test_a_file_that_is_not_a_list_is_one_clear_problem(
    content: bytes, problem: tuple[int, str, str], rules: KeywordRules, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    rows, problems = importer.read(path, rules, "US", NOW)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [problem[:2]]
    assert problems[0].message.startswith(problem[2])


def test_a_spreadsheet_export_reads_as_written(rules: KeywordRules, tmp_path: Path) -> None:
    """Excel's byte-order mark, CRLF endings, a header in capitals, a note over two lines."""
    content = (
        "\ufeffNumber,Category,Action,Occurred_At,Source,Note\r\n"
        '+12015550150,transactional,revoke,2025-03-01,paper_form,"moved away;\r\nno texts"\r\n'
        "\r\n"
        "+12015550151,transactional,revoke,2025-03-01,paper_form,\r\n"
        "+12015550152,transactional,revoke,someday,paper_form,\r\n"
    )
    path = tmp_path / "list.csv"
    path.write_bytes(content.encode("utf-8"))
    rows, problems = importer.read(path, rules, "US", NOW)
    assert [row.line for row in rows] == [2, 5]
    assert rows[0].note == "moved away;\r\nno texts"
    assert [(p.line, p.field) for p in problems] == [(6, "occurred_at")]


def test_the_fingerprint_is_what_the_row_says_not_where_it_sits(
    rules: KeywordRules, tmp_path: Path
) -> None:
    row = "+12015550150,transactional,revoke,2025-03-01,paper_form,"
    (a,), _ = importer.read(write(tmp_path / "a.csv", [row]), rules, "US", NOW)
    (b,), _ = importer.read(write(tmp_path / "b.csv", ["", row]), rules, "US", NOW)
    (c,), _ = importer.read(write(tmp_path / "c.csv", [row + "x"]), rules, "US", NOW)
    assert (a.file, a.line) != (b.file, b.line)
    assert a.dedupe_key == b.dedupe_key != c.dedupe_key
    assert len(a.dedupe_key) == 64
