"""An auditor in a real browser: finds a patient's STOP in the ledger, downloads it as CSV and
reads the file back, verifies the chain; the access log, disclosures, proof and the dashboard,
each screenshotted at 1280 and 390 px."""

from __future__ import annotations

import csv
import datetime as dt
import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from gateway import inbound, ledger, outbound
from gateway.adapters.twilio_sms import DryRunSender, sign
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.exports import event_record
from tests.browser.conftest import Live
from tests.conftest import AUTH_TOKEN, CLINIC, PATIENT

OTHERS = ("+13055550142", "+14055550150", "+12065550142")


def text_the_clinic(live: Live, body: str, frm: str = PATIENT, sid: str = "SM" + "a" * 32) -> None:
    """A patient's text, through Twilio's signed webhook on the live server."""
    url = f"{live.url}/twilio/inbound"
    form = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": frm,
        "To": CLINIC,
        "Body": body,
    }
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def unguarded(cell: str) -> str:
    """The export writes '+1201… so no spreadsheet reads a number as a formula (OWASP)."""
    return cell[1:] if cell.startswith("'") else cell


def test_an_auditor_finds_the_stop_exports_it_and_verifies(
    signed_in: Callable[[str], Any], live: Live, shot: Callable[..., Any], tmp_path: Path
) -> None:
    text_the_clinic(live, "STOP")
    page = signed_in("auditor")

    page.get_by_role("link", name="Ledger", exact=True).click()
    page.get_by_label("Number").fill("(201) 555-0123")
    page.get_by_label("Number").press("Enter")  # the keyboard submits the search
    events = page.locator("li.event")
    assert events.count() == 2
    first = events.first
    assert "revoke" in first.inner_text() and "sms keyword" in first.inner_text()
    first.get_by_text("Evidence and hash chain of event 1").click()
    evidence = first.locator("pre.evidence").inner_text()
    assert "STOP" in evidence
    shot(page, "ledger")

    page.get_by_role("link", name="Export these events").click()
    assert page.get_by_label("Number").input_value() == "(201) 555-0123"
    page.get_by_label("CSV (spreadsheets)").check()
    shot(page, "export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "ledger.csv"
    saved = tmp_path / "ledger.csv"
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    with transaction(live.runtime.sessions) as session:
        query = ledger.events_query(ledger.EventFilter(number=PATIENT))
        expected = [event_record(row) for row in session.execute(query).scalars()]
    assert [int(row["id"]) for row in rows] == [e["id"] for e in expected] == [1, 2]
    for row, event in zip(rows, expected, strict=True):
        assert json.loads(row["evidence"]) == event["evidence"]
        for column in ("number", "category", "action", "source", "occurred_at", "actor", "hash"):
            assert unguarded(row[column]) == event[column]
        assert row["prev_hash"] == event["prev_hash"]

    page.get_by_role("link", name="Verify").click()
    shot(page, "verify")
    page.get_by_role("button", name="Verify the ledger").click()
    assert page.get_by_role("status").inner_text().startswith("OK: 2 events verified")
    shot(page, "verify-ok")


def test_a_tampered_ledger_fails_verification_at_the_edited_event(
    signed_in: Callable[[str], Any], live: Live, shot: Callable[..., Any]
) -> None:
    text_the_clinic(live, "STOP")
    text_the_clinic(live, "STOP", frm=OTHERS[0], sid="SM" + "b" * 32)
    with live.runtime.engine.begin() as connection:
        connection.execute(text("UPDATE consent_events SET action = 'grant' WHERE id = 3"))
    page = signed_in("admin")
    page.goto("/verify")
    page.get_by_role("button", name="Verify the ledger").click()
    said = page.get_by_role("status").inner_text()
    assert said.startswith("FAILED at event 3: event hash does not match its content")
    shot(page, "verify-failed")


def test_an_auditor_reads_the_access_log_and_a_numbers_disclosures(
    signed_in: Callable[[str], Any], live: Live, shot: Callable[..., Any]
) -> None:
    text_the_clinic(live, "STOP")
    page = signed_in("auditor")
    page.goto(f"/ledger?number={urllib.parse.quote(PATIENT)}")
    page.get_by_role("link", name="Access log").click()
    rows = page.locator("tbody tr")
    assert "console.ledger" in rows.first.inner_text() and PATIENT in rows.first.inner_text()
    page.get_by_label("What").fill("console.ledger")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 1
    shot(page, "access-log")

    page.get_by_role("link", name="Disclosures", exact=True).click()
    shot(page, "disclosures-lookup")
    page.get_by_label("Number").fill("201-555-0123")
    page.get_by_role("button", name="Show who read it").click()
    assert page.url.endswith("/numbers/+12015550123/disclosures")
    table = page.locator("table").inner_text()
    assert "user:auditor-user" in table and "console.ledger" in table
    shot(page, "disclosures")


def test_proof_looks_up_a_message(
    signed_in: Callable[[str], Any], live: Live, shot: Callable[..., Any]
) -> None:
    page = signed_in("auditor")
    page.get_by_role("link", name="Proof").click()
    page.get_by_label("Message id").fill("msg_NOSUCHMESSAGE")
    page.get_by_role("button", name="Show the proof").click()
    assert "No message with the id" in page.get_by_role("alert").inner_text()
    shot(page, "proof-missing")


def seed_a_month(live: Live) -> None:
    """Thirty days of a small clinic: STOPs and paper opt-ins, messages, texts to review."""
    rt = live.runtime
    now = rt.clock()
    sender = DryRunSender()
    with transaction(rt.sessions) as session:
        for day, (outs, ins) in enumerate([(1, 0), (3, 1), (0, 2), (2, 0), (5, 1), (1, 3)]):
            at = now - dt.timedelta(days=day * 4 + 1)
            for i in range(outs):
                number = f"+1201555{100 + day * 10 + i:04d}"
                for category in ("transactional", "marketing"):
                    append(session, number, category, Action.REVOKE, Source.SMS_KEYWORD, at)
            for i in range(ins):
                number = f"+1305555{100 + day * 10 + i:04d}"
                append(session, number, "marketing", Action.GRANT, Source.PAPER_FORM, at)
    with transaction(rt.sessions) as session:
        append(session, OTHERS[1], "marketing", Action.GRANT, Source.PAPER_FORM, now)
    sends = (
        [(OTHERS[0], "transactional")] * 4
        + [("+12015550111", "transactional"), ("+12065550143", "marketing")]
        + [("+12015550100", "transactional")]  # a number that texted STOP
        + [(OTHERS[1], "marketing")] * 4  # Oklahoma: three marketing texts a day at most
    )
    for i, (to, category) in enumerate(sends):
        request = outbound.Request(to=to, category=category, body=f"Hello {i}", actor="user:x")
        with transaction(rt.sessions) as session:
            msg, _ = outbound.submit(session, rt.rules, request, now)
            outbound.claim(session, msg.id, now)
            outbound.deliver(session, rt.rules, sender, msg.id, now)
    for i, days_ago in enumerate((0, 2, 5, 16)):
        message = inbound.Inbound(
            sid=f"SM{i:032x}", from_number=OTHERS[2 - i % 2], to_number=CLINIC, body="NO"
        )
        with transaction(rt.sessions) as session:
            inbound.handle(session, rt.rules, message, now - dt.timedelta(days=days_ago), "US")


def append(
    session: Any, number: str, category: str, action: Action, source: Source, at: dt.datetime
) -> None:
    evidence = (
        {"form_id": "P-1", "disclosure": "Offers"} if action is Action.GRANT else {"text": "STOP"}
    )
    ledger.append(
        session,
        number=number,
        category=category,
        action=action,
        source=source,
        actor=number,
        evidence=evidence,
        now=at,
    )


def test_the_dashboard_draws_a_month(
    signed_in: Callable[[str], Any], live: Live, shot: Callable[..., Any]
) -> None:
    seed_a_month(live)
    page = signed_in("front_desk")
    chart = page.get_by_role("img", name="Opt-outs and opt-ins per day, last 30 days")
    assert chart.is_visible()
    assert page.get_by_role("img", name="Messages by outcome, last 30 days").is_visible()
    assert page.get_by_role("img", name="Open reviews by days waiting").is_visible()
    page.get_by_text("The numbers, day by day").click()
    total = page.locator("tfoot tr").first.inner_text().split()
    assert total == ["Total", "12", "8"]
    shot(page, "dashboard")


def test_an_empty_dashboard_says_so(
    signed_in: Callable[[str], Any], shot: Callable[..., Any]
) -> None:
    page = signed_in("auditor")
    drawn = page.locator("svg.chart > text")
    assert drawn.all_text_contents() == [
        "No opt-outs or opt-ins in the last 30 days",
        "No messages in the last 30 days",
        "No open reviews",
    ]
    shot(page, "dashboard-empty")
