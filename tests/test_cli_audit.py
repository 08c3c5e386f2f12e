"""The auditor's console: ledger events, export, verify, access log, retention purge."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from unittest.mock import ANY

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text

from gateway import inbound, ledger, outbound
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.models import AccessLog, InboundMessage, OutboundMessage
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, ROOT

OTHER = "+13055550142"


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.setenv("USER", "auditor-ana")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # never used by these commands
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def stop(runtime: Runtime, number: str, body: str = "STOP", at: dt.datetime | None = None) -> None:
    with transaction(runtime.sessions) as session:
        message = inbound.Inbound(f"SM{number[-4:]}{len(body)}", number, CLINIC, body)
        inbound.handle(session, runtime.rules, message, at or runtime.clock(), "US")


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    from gateway.cli import main

    result = cli.invoke(main, list(args))
    return result.exit_code, result.output


def test_ledger_events_prints_a_filtered_table(cli, runtime: Runtime) -> None:
    stop(runtime, PATIENT)
    stop(runtime, OTHER)
    code, out = run(cli, "ledger", "events", "--number", OTHER)
    assert code == 0 and "2 events" in out and OTHER in out and PATIENT not in out
    code, out = run(cli, "ledger", "events", "--category", "marketing", "--action", "revoke")
    assert code == 0 and "2 events" in out
    assert run(cli, "ledger", "events", "--since", "yesterday")[0] != 0


def test_ledger_export_writes_csv_and_jsonl(cli, runtime: Runtime, tmp_path: Path) -> None:
    stop(runtime, PATIENT)
    stop(runtime, OTHER)
    code, out = run(cli, "ledger", "export", "--output", str(tmp_path / "all.csv"))
    assert code == 0 and "exported 4 events" in out
    rows = list(csv.reader(io.StringIO((tmp_path / "all.csv").read_text())))
    assert rows[0][0] == "id" and len(rows) == 5
    code, out = run(cli, "ledger", "export", "--format", "jsonl", "--number", PATIENT)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert code == 0 and {e["number"] for e in lines} == {PATIENT} and len(lines) == 2


def test_ledger_verify_exits_1_at_the_first_bad_event(cli, runtime: Runtime, engine) -> None:
    stop(runtime, PATIENT)
    stop(runtime, OTHER)
    code, out = run(cli, "ledger", "verify")
    assert code == 0 and out.splitlines()[0] == "OK: 4 events verified (4 not sealed yet)"
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM consent_state"))
        connection.execute(text("DELETE FROM consent_events WHERE id = 2"))
    code, out = run(cli, "ledger", "verify")
    assert code == 1 and out.splitlines()[0] == "FAILED at event 3: expected event 2 here"


def test_a_failed_verify_does_not_read_like_an_empty_ledger(cli, runtime: Runtime, engine) -> None:
    stop(runtime, PATIENT)
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_events SET category = 'x' WHERE id = 1"))
    code, out = run(cli, "ledger", "verify")
    assert code == 1
    assert out.splitlines()[0] == "FAILED at event 1: event hash does not match its content"
    assert "0 of 2 events on file verified" in out
    assert "events: 0" not in out and "0" * 64 not in out


def test_console_reads_are_in_the_access_log(cli, runtime: Runtime) -> None:
    stop(runtime, PATIENT)
    run(cli, "ledger", "show", PATIENT)
    run(cli, "ledger", "verify")
    run(cli, "ledger", "events", "--number", PATIENT)
    code, out = run(cli, "audit", "access", "--number", PATIENT)
    assert code == 0 and "cli:auditor-ana" in out and "ledger.events" in out
    with transaction(runtime.sessions) as session:
        actions = session.execute(select(AccessLog.action).order_by(AccessLog.id)).scalars().all()
    assert actions == ["ledger.show", "ledger.verify", "ledger.events", "audit.access"]


def test_purge_erases_old_texts_and_keeps_consent(cli, runtime: Runtime, clock) -> None:
    old = clock.now - dt.timedelta(days=120)
    stop(runtime, PATIENT, "please stop texting me", at=old)
    stop(runtime, OTHER, "please stop texting me")
    with transaction(runtime.sessions) as session:
        for when, body in ((old, "old reminder"), (clock.now, "new reminder")):
            row, _ = outbound.submit(
                session,
                runtime.rules,
                outbound.Request(to=OTHER, category="transactional", body=body, actor="t"),
                when,
            )
            row.status = "sent"
        ledger.append(
            session,
            number=PATIENT,
            category="marketing",
            action=Action.GRANT,
            source=Source.API,
            actor="t",
            evidence={},
            now=old,
        )
    code, out = run(cli, "purge")
    assert code == 0 and "erased 1 message bodies and 1 inbound texts" in out
    assert _text_hits_old(runtime) == 0
    with transaction(runtime.sessions) as session:
        texts = dict(session.execute(select(InboundMessage.from_number, InboundMessage.body)).all())
        bodies = set(session.execute(select(OutboundMessage.body)).scalars())
        events = ledger.history(session, PATIENT)
        assert ledger.verify(session).ok
    assert texts == {PATIENT: None, OTHER: "please stop texting me"}
    assert bodies == {None, "new reminder"}
    # The events stay (the legal record), their copy of the old text erased like the rest.
    assert len(events) == 3 and events[0].evidence["text"] == {"erased": ANY}
    assert events[0].evidence["inbound_sid"]


def _text_hits_old(runtime: Runtime) -> int:
    from sqlalchemy import Text, cast, func

    from gateway.models import ConsentEventRow

    with transaction(runtime.sessions) as session:
        query = select(func.count()).where(
            cast(ConsentEventRow.evidence, Text).like("%please stop%"),
            ConsentEventRow.number == PATIENT,
        )
        return int(session.execute(query).scalar_one())


def test_send_with_the_queue_down_keeps_the_message_for_reconcile(cli, runtime) -> None:
    code, out = run(cli, "send", "--to", PATIENT, "--category", "transactional", "--body", "Hi")
    assert code == 0 and "smsgate reconcile` will send it" in out
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage.status)).scalar_one() == "queued"


def test_bad_console_input_is_one_line(cli, runtime) -> None:
    code, out = run(cli, "ledger", "events", "--limit", "-1")
    assert code != 0 and "Traceback" not in out
    code, out = run(cli, "ledger", "export", "-o", "/nonexistent/dir/x.csv")
    assert code != 0 and "Traceback" not in out
    code, out = run(cli, "ledger", "events", "--since", "0001-01-01T00:00:00+01:00")
    assert code != 0 and "Traceback" not in out


def test_ledger_show_names_a_restriction_in_force(cli, runtime: Runtime, clock) -> None:
    with transaction(runtime.sessions) as session:
        event = ledger.append(
            session,
            number=PATIENT,
            category="no_phi_by_text",
            action=Action.GRANT,
            source=Source.FRONT_DESK,
            actor="user:maria",
            evidence={"staff": "maria", "method": "in_person", "note": "no details by text"},
            now=clock.now,
        )
    code, out = run(cli, "ledger", "show", PATIENT)
    assert code == 0
    assert f"no_phi_by_text in force event {event.id} front_desk" in " ".join(out.split())


def test_ledger_seal_prints_the_seal_to_publish_and_verify_names_it(cli, runtime: Runtime) -> None:
    assert run(cli, "ledger", "seal") == (
        0,
        "nothing to seal: no event since the last seal is final yet\n",
    )
    stop(runtime, PATIENT)
    stop(runtime, OTHER)
    code, out = run(cli, "ledger", "seal")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "seal 1: events 1 to 4 (4 events)"
    with transaction(runtime.sessions) as session:
        sealed = ledger.last_seal(session)
    assert sealed is not None
    assert lines[1] == f"merkle root: {sealed.root}" and lines[2] == f"seal hash: {sealed.hash}"
    code, out = run(cli, "ledger", "verify")
    assert code == 0 and out.splitlines()[0] == "OK: 4 events verified"
    assert f"last seal: {sealed.hash}" in out
