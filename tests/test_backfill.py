"""`smsgate inbound backfill`: texts that never reached the gateway are caught up from
Twilio's API, idempotently on MessageSid (SPEC §9)."""

from __future__ import annotations

import json
import re

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import Engine, select

from gateway import ledger
from gateway.db import transaction
from gateway.models import InboundMessage
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, ROOT, Phone

ACCOUNT = "AC" + "4" * 32
OTHER = "+13055550142"


def twilio_message(sid: str, frm: str, body: str, direction: str = "inbound") -> dict[str, str]:
    return {
        "sid": sid,
        "from": frm,
        "to": CLINIC,
        "body": body,
        "direction": direction,
        "date_sent": "Tue, 24 Nov 2026 17:30:00 +0000",
        "account_sid": ACCOUNT,
    }


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_backfill_processes_only_what_was_never_stored(cli, runtime: Runtime, phone: Phone) -> None:
    from gateway.cli import main

    phone.text("HELP", sid="SM" + "1" * 32)  # this one reached the gateway
    listing = {
        "messages": [
            twilio_message("SM" + "1" * 32, PATIENT, "HELP"),
            twilio_message("SM" + "2" * 32, OTHER, "STOP"),  # lost in an outage
            twilio_message("SM" + "3" * 32, CLINIC, "Reminder", direction="outbound-api"),
        ],
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
    }
    with responses.RequestsMock() as mock:
        url = re.compile(
            rf"https://api\.twilio\.com/2010-04-01/Accounts/{ACCOUNT}/Messages\.json.*"
        )
        mock.add(responses.GET, url, body=json.dumps(listing))
        first = cli.invoke(main, ["inbound", "backfill", "--since", "2026-11-24T00:00:00Z"])
        again = cli.invoke(main, ["inbound", "backfill", "--since", "2026-11-24T00:00:00Z"])
        sent_to = mock.calls[0].request.url
    assert first.exit_code == 0, first.output
    assert "2 texts at Twilio" in first.output and "1 were new" in first.output
    assert "0 were new" in again.output
    assert "To=%2B12015550100" in sent_to
    with transaction(runtime.sessions) as session:
        sids = session.execute(select(InboundMessage.sid)).scalars().all()
        assert sorted(sids) == ["SM" + "1" * 32, "SM" + "2" * 32]
        stop = ledger.history(session, OTHER)
    assert {e.category for e in stop} == {"marketing", "transactional"}
    assert stop[0].occurred_at.isoformat() == "2026-11-24T17:30:00+00:00"  # when it arrived


def test_backfill_needs_credentials(cli, monkeypatch) -> None:
    from gateway.cli import main

    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    result = cli.invoke(main, ["inbound", "backfill", "--since", "2026-11-24"])
    assert result.exit_code != 0 and "TWILIO_ACCOUNT_SID" in result.output
