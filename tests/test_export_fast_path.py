"""On PostgreSQL the CSV export writes the line of a row whose stored evidence text is
canonical (migration 0012's flag) by COPY alone, the evidence passed on as stored. So every
writer of consent_events.evidence must store exactly `canonical_json`'s text and say so, and
the export must not change by a byte: against csv.writer over the stored rows (the export
as first written), with the flag cleared (Python writes the evidence), and on SQLite."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import corrections, erasure, exports, importer, inbound_pipeline, ledger
from gateway.db import canonical_json, transaction
from gateway.domain.consent import Action, Source
from gateway.domain.keywords import KeywordRules
from gateway.migrate import downgrade, upgrade
from gateway.models import ConsentEventRow
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Phone

OTHER = "+13055550142"
AWKWARD = {
    "z": 1,
    "text": 'STOP, "now"\r\n',
    "é": "ü ✋ \u2028",
    "n": 1.5,
    "big": 10**20,
    "nested": {"b": [1, None, True], "a": "=1+1", "10": 1, "9": 2},
    "ok": False,
}


def by_python(session: Session) -> str:
    """csv.writer over every stored row: the export as first written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(exports.COLUMNS)
    for row in session.execute(ledger.events_query(ledger.EventFilter())).scalars():
        writer.writerow([exports.safe_cell(v) for v in exports.event_record(row).values()])
    return buffer.getvalue()


def exported(sessions: sessionmaker[Session]) -> tuple[str, str]:
    """The export, and what csv.writer writes of the same rows."""
    with transaction(sessions) as session:
        return "".join(exports.export(session, ledger.EventFilter(), "csv")), by_python(session)


def stored(engine: Engine) -> list[tuple[str, bool]]:
    """Each event's evidence text as the database holds it, and its flag."""
    cast = "evidence::text" if engine.dialect.name == "postgresql" else "evidence"
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT {cast}, evidence_canonical FROM consent_events ORDER BY id")
        )
        return [(t, bool(flag)) for t, flag in rows]


def whole_lines(engine: Engine) -> int:
    """The rows whose line PostgreSQL writes whole."""
    with engine.connect() as connection:
        query = f"SELECT count(*) FROM consent_events e WHERE {exports.WHOLE_LINE_SQL}"
        return int(connection.execute(text(query)).scalar_one())


def every_writer(
    runtime: Runtime, phone: Phone, rules: KeywordRules, tmp_path: Path
) -> dict[str, int]:
    """An event from each writer of consent_events.evidence; how many of each."""
    now = runtime.clock()
    with transaction(runtime.sessions) as session:  # the ORM insert every service uses
        ledger.append(
            session,
            number=PATIENT,
            category="marketing",
            action=Action.GRANT,
            source=Source.API,
            actor="front desk",
            evidence=AWKWARD,
            now=now,
        )
    runtime.clock.advance(minutes=1)
    assert phone.text("STOP", frm=OTHER).status_code == 200  # pipelined on PostgreSQL
    runtime.clock.advance(minutes=1)
    listed = tmp_path / "list.csv"
    listed.write_text(
        "number,category,action,occurred_at,source,note\n"
        f'{PATIENT},transactional,revoke,2024-01-02,old_crm,"asked, twice ""no"""\n',
        encoding="utf-8",
    )
    rows, problems = importer.read(listed, rules, "US", runtime.clock())
    assert problems == []
    with transaction(runtime.sessions) as session:
        importer.apply(session, rows, actor="cli:maria", now=runtime.clock())
    runtime.clock.advance(minutes=1)
    with transaction(runtime.sessions) as session:
        first = ledger.history(session, PATIENT, "marketing")[0]
        corrections.correct(
            session, event_id=first.id, reason="entered, in error", actor="admin", now=now
        )
    runtime.clock.advance(minutes=1)
    with transaction(runtime.sessions) as session:  # rewrites PATIENT's evidence in place
        erasure.erase_number(session, PATIENT, "admin", runtime.clock())
    with transaction(runtime.sessions) as session:
        counted = session.execute(
            select(ConsentEventRow.source, func.count()).group_by(ConsentEventRow.source)
        )
        return {source: count for source, count in counted}


def test_every_writer_stores_canonical_evidence_and_the_export_is_unchanged(
    engine: Engine,
    runtime: Runtime,
    phone: Phone,
    rules: KeywordRules,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipelined: list[object] = []
    handle = inbound_pipeline.handle

    def spied(*args: Any, **kwargs: Any) -> Any:
        pipelined.append(done := handle(*args, **kwargs))
        return done

    monkeypatch.setattr(inbound_pipeline, "handle", spied)
    sources = every_writer(runtime, phone, rules, tmp_path)
    assert sources == {"api": 1, "sms_keyword": 2, "import": 1, "correction": 1}
    on_file = stored(engine)
    assert len(on_file) == 5
    for evidence, canonical in on_file:
        assert canonical
        assert evidence == json.dumps(json.loads(evidence), sort_keys=True)
    erased = json.loads(on_file[0][0])
    assert set(erased["text"]) == {"erased"}  # the erasure's rewrite is among them
    got, expected = exported(runtime.sessions)
    assert got == expected
    if engine.dialect.name != "postgresql":
        return
    assert [done is not None for done in pipelined] == [True]  # the STOP took the pipeline
    assert whole_lines(engine) == 5  # every line written by PostgreSQL whole
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_events SET evidence_canonical = false"))
    assert whole_lines(engine) == 0
    assert exported(runtime.sessions) == (expected, expected)  # Python writes the evidence


def test_evidence_stored_in_another_form_is_exported_in_the_canonical_one(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """A row written by plain SQL (as before migration 0012, or by a tool): keys in any
    order, spaces, a nested object. The flag is the database's FALSE; the export writes
    json.dumps's sorted form all the same."""
    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO consent_events (id, number, category, action, source, occurred_at,"
                " recorded_at, actor, evidence, prev_hash, hash) VALUES (1, :n, 'marketing',"
                " 'revoke', 'api', :t, :t, 'tool', :e, :h, :h)"
            ),
            {"n": PATIENT, "t": t, "e": '{"z": {"y": 1,  "b": 2},"a" : "x, y"}', "h": "0" * 64},
        )
    assert stored(engine) == [('{"z": {"y": 1,  "b": 2},"a" : "x, y"}', False)]
    got, expected = exported(sessions)
    assert got == expected
    assert ',"{""a"": ""x, y"", ""z"": {""b"": 2, ""y"": 1}}",' in got.splitlines()[1]


def test_erasure_of_an_old_row_stores_the_canonical_text_and_says_so(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with transaction(sessions) as session:
        ledger.append(
            session,
            number=PATIENT,
            category="marketing",
            action=Action.REVOKE,
            source=Source.SMS_KEYWORD,
            actor=PATIENT,
            evidence={"to": "+12015550100", "text": "STOP"},
            now=t,
        )
    with engine.begin() as connection:  # as the code before migration 0012 stored it
        connection.execute(
            text("UPDATE consent_events SET evidence = :e, evidence_canonical = false"),
            {"e": '{"to": "+12015550100", "text": "STOP"}'},
        )
    with transaction(sessions) as session:
        erasure.erase_number(session, PATIENT, "admin", t)
    [(evidence, canonical)] = stored(engine)
    assert canonical
    assert evidence == canonical_json(json.loads(evidence))
    assert list(json.loads(evidence)) == ["text", "to"]
    got, expected = exported(sessions)
    assert got == expected
    with transaction(sessions) as session:
        assert ledger.verify(session).ok


# JSON values as a patient's or a tool's evidence may hold them: keys of any JSON scalar type
# (written as strings; {10: …, 9: …} must still come out sorted as "10" < "9"), text of any
# kind, numbers PostgreSQL's json accepts (no NaN, no infinity).
keys = (
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
    | st.integers(-20, 20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
evidence = st.dictionaries(keys, values, max_size=6)


@given(value=values)
def test_canonical_json_is_the_sorted_form_of_its_own_reading(value: Any) -> None:
    written = canonical_json(value)
    assert written == json.dumps(json.loads(written), sort_keys=True)
    assert written == json.dumps(json.loads(json.dumps(value)), sort_keys=True)


_ids = itertools.count(1)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=evidence)
def test_the_stored_text_of_any_evidence_is_its_canonical_text(
    engine: Engine, sessions: sessionmaker[Session], value: dict[Any, Any]
) -> None:
    """Through the ORM's column on each database: the text on file, not the value read."""
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    event_id = next(_ids)
    with transaction(sessions) as session:
        session.execute(
            insert(ConsentEventRow),
            [
                {
                    "id": event_id,
                    "number": PATIENT,
                    "category": "marketing",
                    "action": "revoke",
                    "source": "api",
                    "occurred_at": at,
                    "recorded_at": at,
                    "actor": "hypothesis",
                    "evidence": value,
                    "prev_hash": "0" * 64,
                    "hash": f"{event_id:064x}",
                }
            ],
        )
    cast = "evidence::text" if engine.dialect.name == "postgresql" else "evidence"
    with engine.connect() as connection:
        text_on_file, canonical = connection.execute(
            text(f"SELECT {cast}, evidence_canonical FROM consent_events WHERE id = :i"),
            {"i": event_id},
        ).one()
    assert canonical
    assert text_on_file == json.dumps(json.loads(text_on_file), sort_keys=True)
    assert text_on_file == canonical_json(value)


@pytest.fixture
def before_0012(engine: Engine, sessions: sessionmaker[Session]) -> Any:
    """A ledger the code before migration 0012 wrote: the same events, their evidence stored
    by json.dumps in the order given (keys not sorted), no flag."""
    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with transaction(sessions) as session:
        for i, number in enumerate([PATIENT, OTHER, PATIENT]):
            ledger.append(
                session,
                number=number,
                category="marketing",
                action=Action.REVOKE if i % 2 else Action.GRANT,
                source=Source.API,
                actor="old",
                evidence={"z": i, "note": f"old, {i}", "a": {"y": 1, "b": '"'}},
                now=t + dt.timedelta(minutes=i),
            )
    downgrade(engine, "0011_chains")
    try:
        with engine.begin() as connection:
            for event_id, i in ((1, 0), (2, 1), (3, 2)):
                old = json.dumps({"z": i, "note": f"old, {i}", "a": {"y": 1, "b": '"'}})
                connection.execute(
                    text("UPDATE consent_events SET evidence = :e WHERE id = :i"),
                    {"e": old, "i": event_id},
                )
        upgrade(engine)
        yield t
    finally:
        upgrade(engine)


def test_the_migration_marks_the_old_rows_not_canonical_and_they_export_unchanged(
    engine: Engine, sessions: sessionmaker[Session], before_0012: dt.datetime
) -> None:
    assert [canonical for _, canonical in stored(engine)] == [False, False, False]
    assert not stored(engine)[0][0].startswith('{"a"')  # as stored before: keys not sorted
    with transaction(sessions) as session:
        assert ledger.verify(session).ok
    got, expected = exported(sessions)
    assert got == expected
    with transaction(sessions) as session:  # a new event is stored canonical, and says so
        ledger.append(
            session,
            number=OTHER,
            category="marketing",
            action=Action.GRANT,
            source=Source.API,
            actor="new",
            evidence={"z": 9, "a": 1},
            now=before_0012 + dt.timedelta(hours=1),
        )
    assert stored(engine)[-1] == ('{"a": 1, "z": 9}', True)
    got, expected = exported(sessions)
    assert got == expected
    with transaction(sessions) as session:
        assert ledger.verify(session).ok
    downgrade(engine, "0011_chains")  # and back: the column goes, the ledger stays whole
    with engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM consent_events")).keys()
    assert "evidence_canonical" not in columns
    upgrade(engine)
    assert [canonical for _, canonical in stored(engine)] == [False] * 4
    with transaction(sessions) as session:
        assert ledger.verify(session).ok


@pytest.mark.postgres_only
def test_an_export_stopped_early_leaves_the_transaction_as_it_was(
    sessions: sessionmaker[Session],
) -> None:
    """The COPY is cancelled, inside a savepoint: the caller's transaction goes on."""
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    rows = [
        {
            "id": i,
            "number": PATIENT,
            "category": "marketing",
            "action": "revoke",
            "source": "api",
            "occurred_at": at,
            "recorded_at": at,
            "actor": "seed",
            "evidence": {"note": f"row {i}"},
            "prev_hash": "0" * 64,
            "hash": f"{i:064x}",
        }
        for i in range(1, 3 * exports.CHUNK_ROWS + 1)
    ]
    with transaction(sessions) as session:
        session.execute(insert(ConsentEventRow), rows)
    with transaction(sessions) as session:
        chunks = exports.export(session, ledger.EventFilter(), "csv")
        next(chunks), next(chunks)  # the header and the first lines
        chunks.close()
        assert session.execute(select(func.count()).select_from(ConsentEventRow)).scalar() == (
            len(rows)
        )
        whole = "".join(exports.export(session, ledger.EventFilter(), "csv"))
        assert whole == by_python(session)
