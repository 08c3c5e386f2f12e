"""The patient simulator (dev mode only): its texts go through the real signed webhook, its
conversation shows replies and decisions, and outside dev mode it does not exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask, request, request_started
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.adapters.twilio_sms import sign, valid_signature
from gateway.db import transaction
from gateway.models import AccessLog, ConsentEventRow, InboundMessage
from gateway.runtime import Runtime
from gateway.settings import DEV_WEBHOOK_TOKEN
from tests.conftest import BASE_URL, CLINIC, PATIENT

ROUTES = (
    ("GET", "/simulator"),
    ("GET", f"/simulator/conversation?patient={PATIENT}"),
    ("POST", "/simulator/send"),
)


@pytest.fixture
def dev(runtime: Runtime) -> Runtime:
    """`smsgate dev` with nothing set: no TWILIO_AUTH_TOKEN, so the development token."""
    runtime.settings = replace(runtime.settings, dev_mode=True, twilio_auth_token=None)
    return runtime


@pytest.fixture
def webhooks(app: Flask) -> Iterator[list[dict[str, Any]]]:
    """Every request the app answers at /twilio/inbound, as it arrived."""
    seen: list[dict[str, Any]] = []

    def note(sender: Any, **extra: Any) -> None:
        if request.path == "/twilio/inbound":
            seen.append(
                {
                    "url": request.url,
                    "form": request.form.copy(),
                    "signature": request.headers.get("X-Twilio-Signature"),
                }
            )

    request_started.connect(note, app)
    yield seen
    request_started.disconnect(note, app)


def csrf(client: FlaskClient, patient: str = PATIENT) -> str:
    page = client.get(f"/simulator?patient={patient}").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def text(client: FlaskClient, body: str, patient: str = PATIENT, **extra: str) -> Any:
    form = {"csrf_token": csrf(client, patient), "patient": patient, "clinic": CLINIC}
    return client.post("/simulator/send", data={**form, "body": body, **extra})


def texts(runtime: Runtime) -> list[InboundMessage]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(InboundMessage)).scalars().all()
        session.expunge_all()
        return list(rows)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_the_simulator_is_not_there_outside_dev_mode(client, method, path) -> None:
    # Even a POST without its CSRF token is a 404, not "this form has expired".
    assert client.open(path, method=method).status_code == 404


def test_a_stop_through_the_simulator_is_a_signed_webhook_that_revokes(
    dev: Runtime, client, webhooks
) -> None:
    answer = text(client, "STOP")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/simulator?patient=%2B12015550123")
    # It went through /twilio/inbound, signed for PUBLIC_BASE_URL + path with the dev token.
    (webhook,) = webhooks
    assert webhook["url"] == f"{BASE_URL}/twilio/inbound"
    assert valid_signature(DEV_WEBHOOK_TOKEN, webhook["url"], webhook["form"], webhook["signature"])
    assert webhook["form"]["From"] == PATIENT and webhook["form"]["To"] == CLINIC
    with transaction(dev.sessions) as session:
        events = session.execute(select(ConsentEventRow)).scalars().all()
        assert {(e.category, e.action, e.source) for e in events} == {
            ("marketing", "revoke", "sms_keyword"),
            ("transactional", "revoke", "sms_keyword"),
        }
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "STOP" in page and "opt_out" in page and "revoked marketing (event #" in page
    (stored,) = texts(dev)
    assert stored.reply and stored.reply.split(":")[0] in page  # the TwiML reply is shown


def test_help_and_start_show_their_replies(dev: Runtime, client) -> None:
    text(client, "STOP")
    text(client, "HELP")
    text(client, "START")
    page = client.get(f"/simulator?patient={PATIENT}").get_data(as_text=True)
    replies = [t.reply for t in texts(dev)]
    assert all(replies) and len(replies) == 3
    assert "Msg &amp; data rates may apply" in page and "resubscribed" in page
    assert page.count("automatic reply (TwiML)") == 3
    # One instant on the test's clock: still in the order they were texted, each reply after.
    order = ["STOP", "unsubscribed", "HELP", "For help call", "START", "resubscribed"]
    at = [page.index(f">{w}<") if w.isupper() else page.index(w) for w in order]
    assert at == sorted(at)


def test_with_a_real_token_the_simulator_signs_with_it(runtime: Runtime, client, webhooks) -> None:
    runtime.settings = replace(runtime.settings, dev_mode=True)  # TWILIO_AUTH_TOKEN is set
    assert text(client, "HELP").status_code == 303
    (webhook,) = webhooks
    token = runtime.settings.twilio_auth_token
    assert valid_signature(token, webhook["url"], webhook["form"], webhook["signature"])
    assert texts(runtime)[0].intent == "help"


def test_a_tampered_text_is_still_refused_in_dev_mode(dev: Runtime, client) -> None:
    form = {"MessageSid": "SM" + "4" * 32, "From": PATIENT, "To": CLINIC, "Body": "HELP"}
    signature = sign(DEV_WEBHOOK_TOKEN, f"{BASE_URL}/twilio/inbound", form)
    tampered = {**form, "Body": "STOP"}  # the signature covers the body
    answer = client.post(
        "/twilio/inbound", data=tampered, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 403
    other_url = sign(DEV_WEBHOOK_TOKEN, "http://elsewhere.test/twilio/inbound", form)
    answer = client.post("/twilio/inbound", data=form, headers={"X-Twilio-Signature": other_url})
    assert answer.status_code == 403
    assert texts(dev) == []


def test_a_text_without_its_csrf_token_is_refused(dev: Runtime, client) -> None:
    answer = client.post(
        "/simulator/send", data={"patient": PATIENT, "clinic": CLINIC, "body": "STOP"}
    )
    assert answer.status_code == 400 and texts(dev) == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"patient": "12"}, "not a valid phone number"),
        ({"patient": "+12128675309"}, "not a fictional 555-0100"),  # a real-looking number
        ({"clinic": "+12015550199"}, "clinic&#39;s numbers"),
        ({"body": "   "}, "Type a text"),
        ({"body": "x" * 1601}, "at most 1600 characters"),
    ],
)
def test_a_text_the_simulator_cannot_send_is_named(dev: Runtime, client, change, said) -> None:
    form = {"csrf_token": csrf(client), "patient": PATIENT, "clinic": CLINIC, "body": "HELP"}
    answer = client.post("/simulator/send", data={**form, **change})
    assert answer.status_code == 422 and said in answer.get_data(as_text=True)
    assert texts(dev) == []
    with transaction(dev.sessions) as session:  # the phone shown again is a logged read
        actions = session.execute(select(AccessLog.action)).scalars().all()
    assert actions[-1] == "simulator.conversation"


def test_a_typed_number_opens_its_own_conversation(dev: Runtime, client) -> None:
    page = client.get("/simulator?other=(206) 555-0199").get_data(as_text=True)
    assert '<option value="+12065550199" selected>' in page
    page = client.get("/simulator?other=12").get_data(as_text=True)
    assert 'aria-invalid="true"' in page and "not a valid phone number" in page


def test_messages_to_the_number_show_with_their_decision(dev: Runtime, client, send, drain) -> None:
    send(PATIENT, "Flu shots are in: 20% off", category="marketing")
    drain()
    page = client.get(f"/simulator?patient={PATIENT}").get_data(as_text=True)
    assert "Flu shots are in" in page and "marketing message" in page
    assert ">blocked<" in page and "no_consent" in page and "never reached the phone" in page


def test_the_simulator_reads_are_logged_as_dev_simulator(dev: Runtime, client) -> None:
    text(client, "STOP")
    client.get(f"/simulator/conversation?patient={PATIENT}")
    with transaction(dev.sessions) as session:
        rows = session.execute(select(AccessLog)).scalars().all()
        reads = [(r.actor, r.action) for r in rows]
    assert reads and set(reads) == {("dev:simulator", "simulator.conversation")}
    assert len(reads) == 2  # the page (its form), then the thread; sending is not a read


def test_the_conversation_refreshes_only_while_a_message_is_moving(
    dev: Runtime, client, send, drain
) -> None:
    send(PATIENT, "Your visit is tomorrow at 9")
    thread = client.get(f"/simulator/conversation?patient={PATIENT}").get_data(as_text=True)
    assert 'data-moving="true"' in thread and "queued" in thread
    drain()
    thread = client.get(f"/simulator/conversation?patient={PATIENT}").get_data(as_text=True)
    assert 'data-moving="false"' in thread and "sent" in thread
