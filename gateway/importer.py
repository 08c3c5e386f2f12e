"""Importing a clinic's existing consent and opt-out list into the ledger (SPEC §4, §7).

Two steps, so nothing is ever half-applied: `read` checks every row of the file and names
each problem by its line; only a file without problems goes on to `apply`, which records the
rows in the caller's one transaction. Each row carries a fingerprint (`dedupe_key`) of what it
says, so importing the same list again, or the same rows in another file, adds nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.consent import Action, Event, Source, patient_revocation_in_force
from gateway.domain.keywords import KeywordRules
from gateway.domain.phone import Phone
from gateway.models import ConsentEventRow

COLUMNS = ("number", "category", "action", "occurred_at", "source", "note")
SOURCE_MAX_LENGTH = 50
NOTE_MAX_LENGTH = 2000  # kept in the ledger's evidence for years
EXPECTED_HEADER = ",".join(COLUMNS)
LOOKUP_BATCH = 500  # fingerprints checked against the ledger per query
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    line: int  # the physical line in the file; the header is line 1
    field: str
    message: str


@dataclass(frozen=True)
class Row:
    """One checked line of the list, ready for the ledger."""

    file: str
    line: int
    number: str  # E.164
    category: str
    action: Action
    occurred_at: dt.datetime  # UTC
    source: str  # where the list came from: "paper_form", "old_crm" …
    note: str

    @property
    def dedupe_key(self) -> str:
        """What the row says, not where it sits: no file name, no line number."""
        canonical = [
            self.number,
            self.category,
            self.action.value,
            self.occurred_at.isoformat(),
            self.source,
            self.note,
        ]
        text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    added: int
    skipped: int  # already in the ledger, or repeated earlier in the same file


class Refused(Exception):
    """Rows the ledger refuses as it stands (a grant that would lift a patient's own STOP):
    nothing is applied."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} rows refused")
        self.problems = problems


class _BadFile(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


# --- reading and checking ---------------------------------------------------------------


def read(
    path: Path, rules: KeywordRules, region: str, now: dt.datetime
) -> tuple[list[Row], list[Problem]]:
    """Every valid row and every problem in the file. Apply the rows only if there are no
    problems: a list is imported whole or not at all."""
    try:
        records = _records(_text(path.read_bytes()))
        header = next(records, None)
        if header is None:
            return [], [
                Problem(1, "file", f"the file is empty; expected a header: {EXPECTED_HEADER}")
            ]
        columns, problems = _columns(*header)
        if problems:
            return [], problems  # without the right columns no row can be read
        rows: list[Row] = []
        for line, fields in records:
            row = _row(path.name, line, fields, columns, rules, region, now, problems)
            if row is not None:
                rows.append(row)
    except _BadFile as exc:
        return [], [exc.problem]
    return rows, problems


def _text(data: bytes) -> str:
    # utf-8-sig: spreadsheets often start their UTF-8 export with a byte-order mark.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _BadFile(
            Problem(line, "file", "not UTF-8 text; save the sheet as 'CSV UTF-8' and retry")
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted note may span lines); blank lines
    are passed over."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _BadFile(Problem(start, "file", f"not readable as CSV: {exc}")) from None
        if any(field.strip() for field in fields):
            yield start, fields


def _columns(line: int, header: list[str]) -> tuple[dict[str, int], list[Problem]]:
    names = [name.strip().lower() for name in header]
    problems = []
    repeated = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in COLUMNS if name not in names]
    unexpected = [repr(name) for name in dict.fromkeys(names) if name not in COLUMNS]
    for what, found in (("repeated", repeated), ("missing", missing), ("unexpected", unexpected)):
        if found:
            message = f"{what} column(s): {', '.join(found)}; expected {EXPECTED_HEADER}"
            problems.append(Problem(line, "header", message))
    return {name: index for index, name in enumerate(names)}, problems


def _row(
    file: str,
    line: int,
    fields: list[str],
    columns: Mapping[str, int],
    rules: KeywordRules,
    region: str,
    now: dt.datetime,
    problems: list[Problem],
) -> Row | None:
    """The row, or None with its problems added (all of them, not just the first)."""
    if len(fields) != len(columns):
        message = f"{len(fields)} fields, but the header has {len(columns)}"
        problems.append(Problem(line, "row", message))
        return None
    values = {name: fields[index].strip() for name, index in columns.items()}
    found = len(problems)

    def checked(field: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(values[field])
        except ValueError as exc:
            problems.append(Problem(line, field, str(exc)))
            return None

    number = checked("number", partial(_number, region=region))
    category = checked("category", partial(_category, rules=rules))
    action = checked("action", _action)
    occurred_at = checked("occurred_at", partial(_occurred_at, now=now))
    source = checked("source", _source)
    note = checked("note", _note)
    if (
        category is not None
        and action is Action.GRANT
        and rules.categories[category].requires_grant
    ):
        problems.append(Problem(line, "action", _unprovable(category)))
    if len(problems) > found:
        return None
    assert number and category and action and occurred_at and source  # each checked above
    assert note is not None
    return Row(file, line, number, category, action, occurred_at, source, note)


def _unprovable(category: str) -> str:
    # SPEC §4: a grant that needs express written consent must carry the disclosure the
    # patient agreed to and the channel's evidence; a list of numbers carries neither.
    return (
        f"unprovable_consent: a {category} grant needs proof of express written consent, "
        "which an imported list cannot carry; record it through the API with its evidence"
    )


def _number(text: str, region: str) -> str:
    if not text:
        raise ValueError("empty")
    return Phone.parse(text, region).e164  # InvalidPhone is a ValueError


def _category(text: str, rules: KeywordRules) -> str:
    name = text.lower()
    if name not in rules.categories:
        known = ", ".join(rules.categories)
        raise ValueError(f"unknown category {text!r}; keywords.yml has {known}")
    return name


def _action(text: str) -> Action:
    try:
        return Action(text.lower())
    except ValueError:
        raise ValueError(f"{text!r} is neither grant nor revoke") from None


def _occurred_at(text: str, now: dt.datetime) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        example = "2025-03-01 or 2025-03-01T14:30:00-05:00"
        raise ValueError(f"{text!r} is not an ISO-8601 date or time, e.g. {example}") from None
    # A date alone is midnight; a time without an offset is taken as UTC, as the ledger keeps.
    try:
        at = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    if at.year < 1970:
        raise ValueError(f"{text!r} is before 1970")
    if at > now:
        raise ValueError(f"{at:%Y-%m-%dT%H:%M:%SZ} is in the future")
    return at


def _source(text: str) -> str:
    if not text:
        raise ValueError("empty; name where the list came from, e.g. paper_form or old_crm")
    if len(text) > SOURCE_MAX_LENGTH:
        raise ValueError(f"longer than {SOURCE_MAX_LENGTH} characters ({len(text)})")
    return text


def _note(text: str) -> str:
    if len(text) > NOTE_MAX_LENGTH:
        raise ValueError(f"longer than {NOTE_MAX_LENGTH} characters ({len(text)})")
    return text


# --- applying -----------------------------------------------------------------------------


def apply(
    session: Session,
    rows: Sequence[Row],
    *,
    actor: str,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Record every row the ledger does not hold yet, in the caller's transaction.

    Raises `Refused`, recording nothing, when a new row would lift a patient's own opt-out.
    `progress(n)` is told each time n more rows are done (recorded or skipped)."""
    # Every number's lock first, in one order (two imports sharing numbers never deadlock),
    # so the lift check reads under them; other numbers' texts go on meanwhile.
    for number in sorted({row.number for row in rows}):
        ledger.lock_number(session, number, now)
    news = _checked_news(session, rows)
    added = 0
    for row, is_new in news:
        if is_new:
            _record(session, row, actor=actor, now=now)
            added += 1
        if progress is not None:
            progress(1)
    return Result(added=added, skipped=len(rows) - added)


def preview(session: Session, rows: Sequence[Row]) -> Result:
    """What `apply` would do, changing nothing (for --dry-run); raises `Refused` as it would."""
    added = sum(is_new for _, is_new in _checked_news(session, rows))
    return Result(added=added, skipped=len(rows) - added)


def _checked_news(session: Session, rows: Sequence[Row]) -> list[tuple[Row, bool]]:
    news = list(_with_news(session, rows))
    grants = [row for row, is_new in news if is_new and row.action is Action.GRANT]
    problems = _lifts(session, grants)
    if problems:
        raise Refused(problems)
    return news


def _lifts(session: Session, grants: Sequence[Row]) -> list[Problem]:
    """SPEC §4: only the patient lifts the patient's own revocation, and an imported list is
    not the patient. A grant dated before the revocation lifts nothing and goes in."""
    numbers = sorted({row.number for row in grants})
    histories: dict[tuple[str, str], list[Event]] = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        query = select(ConsentEventRow).where(
            ConsentEventRow.number.in_(numbers[start : start + LOOKUP_BATCH])
        )
        for found in session.execute(query).scalars():
            histories.setdefault((found.number, found.category), []).append(ledger.to_event(found))
    problems = []
    for row in grants:
        history = histories.get((row.number, row.category), [])
        revoked = patient_revocation_in_force(history, row.occurred_at)
        if revoked is not None:
            problems.append(Problem(row.line, "action", _lifts_stop(revoked)))
    return sorted(problems, key=lambda p: p.line)


def _lifts_stop(revoked: Event) -> str:
    when = f"{revoked.occurred_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
    return (
        f"unprovable_consent: this grant would lift the patient's own opt-out "
        f"({revoked.source.value}, {when}); an imported list cannot. The patient texts START, "
        "or the front desk records it through the API with evidence staff, method and note"
    )


def _with_news(session: Session, rows: Sequence[Row]) -> Iterator[tuple[Row, bool]]:
    """Each row, and whether it is new: not in the ledger, not earlier in the file."""
    seen: set[str] = set()
    for start in range(0, len(rows), LOOKUP_BATCH):
        batch = rows[start : start + LOOKUP_BATCH]
        seen |= _recorded(session, [row.dedupe_key for row in batch])
        for row in batch:
            key = row.dedupe_key
            yield row, key not in seen
            seen.add(key)


def _recorded(session: Session, keys: list[str]) -> set[str]:
    """The fingerprints among `keys` the ledger already holds: one query per batch."""
    query = select(ConsentEventRow.dedupe_key).where(ConsentEventRow.dedupe_key.in_(keys))
    return {key for key in session.execute(query).scalars() if key is not None}


def _record(session: Session, row: Row, *, actor: str, now: dt.datetime) -> None:
    # The ledger keeps the state in force if it is newer than the row's occurred_at: an old
    # list never overrides a decision made since (SPEC §4).
    ledger.append(
        session,
        number=row.number,
        category=row.category,
        action=row.action,
        source=Source.IMPORT,
        actor=actor,
        evidence={"source": row.source, "note": row.note, "file": row.file, "line": row.line},
        now=now,
        occurred_at=row.occurred_at,
        dedupe_key=row.dedupe_key,
    )
