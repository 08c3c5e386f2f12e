"""The dashboard page: three charts, each with its numbers in words and a table, for every
signed-in role; opening it is in the access log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient

from gateway import outbound
from gateway.adapters.twilio_sms import DryRunSender
from gateway.db import transaction
from gateway.runtime import Runtime
from tests.conftest import Phone
from tests.web.test_console_auditor import Client, as_role, page_text, reads

__all__ = ["as_role"]  # the fixture, shared with the auditor's pages


def blocked_and_dry_run(runtime: Runtime) -> None:
    sender = DryRunSender()
    for to in ("+12015550123", "+13055550142"):
        request = outbound.Request(to=to, category="transactional", body="Hi", actor="user:x")
        with transaction(runtime.sessions) as session:
            msg, _ = outbound.submit(session, runtime.rules, request, runtime.clock())
            outbound.claim(session, msg.id, runtime.clock())
            outbound.deliver(session, runtime.rules, sender, msg.id, runtime.clock())


@pytest.mark.parametrize("role", ["front_desk", "auditor", "admin"])
def test_every_role_sees_the_dashboard(as_role: Client, role: str, runtime: Runtime) -> None:
    answer = as_role(role).get("/")
    assert answer.status_code == 200
    shown = page_text(answer)
    assert shown.count('<svg class="chart" role="img"') == 3
    for said in ("No opt-outs or opt-ins in the last 30 days", "No messages in the last 30 days"):
        assert said in shown
    assert reads(runtime, "console.dashboard") == [(f"user:{role.replace('_', '-')}", False, [])]


def test_the_dashboard_counts_a_stop_messages_and_the_review_queue(
    as_role: Client, phone: Phone, runtime: Runtime
) -> None:
    assert phone.text("STOP").status_code == 200  # today, 1 pm in New York
    phone.text("NO", frm="+14055550150")  # a maybe-opt-out: a review
    blocked_and_dry_run(runtime)
    shown = page_text(as_role("auditor").get("/"))
    assert re.search(
        r"<th scope=\"row\">Tue Nov 24</th><td class=\"num\">1</td><td class=\"num\">0</td>", shown
    )
    assert "1 opt-out and 0 opt-ins over 30 days" in shown  # the chart's description
    assert "<title>Nov 24: 1 opt-out</title>" in shown
    rows = dict(
        re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td></tr>', shown)
    )
    assert rows["Blocked: opted out"] == "1"
    assert rows["Dry run (not handed to Twilio)"] == "1"
    assert rows["Under 1 day"] == "1"
    assert re.search(r"<dt>Open</dt><dd>1</dd>", shown)
    assert re.search(r"<dt>Overdue</dt><dd>0</dd>", shown)


def test_an_overdue_review_is_shown_as_such(
    as_role: Client, phone: Phone, runtime: Runtime
) -> None:
    phone.text("NO", frm="+14055550150")
    runtime.clock.now += dt.timedelta(days=20)  # type: ignore[attr-defined]
    shown = page_text(as_role("admin").get("/"))
    assert re.search(r'<div class="late"><dt>Overdue</dt><dd>1</dd>', shown)
    assert re.search(r'<tr><th scope="row">14 days or more</th><td class="num">1</td></tr>', shown)


def test_a_stranger_is_asked_to_sign_in(client: FlaskClient) -> None:
    assert client.get("/").status_code == 302
