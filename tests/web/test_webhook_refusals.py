"""Which token signs webhooks (dev mode's development token, or Twilio's), and why a refused
webhook was refused: logged at WARNING, never with the number or the text (issue 9, item 6)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from gateway.adapters.twilio_sms import sign
from gateway.runtime import Runtime
from gateway.settings import DEV_WEBHOOK_TOKEN
from tests.conftest import AUTH_TOKEN, BASE_URL, CLINIC, PATIENT

BODY = "STOP sending me reminders about my dermatology visit"
FORM = {"MessageSid": "SM" + "1" * 32, "From": PATIENT, "To": CLINIC, "Body": BODY}


def text(client: FlaskClient, token: str | None, url: str = f"{BASE_URL}/twilio/inbound"):
    headers = {"X-Twilio-Signature": sign(token, url, FORM)} if token else {}
    return client.post("/twilio/inbound", data=FORM, headers=headers)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = [r for r in caplog.records if r.name == "gateway.web.twilio_hooks"]
    assert all(r.levelno == logging.WARNING for r in found)
    messages = [r.getMessage() for r in found]
    for message in messages:  # never the patient's number (any spelling) nor the text
        assert "5550123" not in message and "dermatology" not in message
    return messages


@pytest.fixture
def production_without_token(runtime: Runtime) -> Runtime:
    runtime.settings = replace(runtime.settings, twilio_auth_token=None, dev_mode=False)
    return runtime


@pytest.fixture
def dev_mode(runtime: Runtime) -> Runtime:
    runtime.settings = replace(runtime.settings, twilio_auth_token=None, dev_mode=True)
    return runtime


def test_dev_mode_without_twilio_checks_webhooks_with_the_development_token(
    dev_mode, client
) -> None:
    assert text(client, DEV_WEBHOOK_TOKEN).status_code == 200
    assert text(client, "someone-elses-token").status_code == 403


def test_without_dev_mode_the_development_token_opens_nothing(
    production_without_token, client, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    assert text(client, DEV_WEBHOOK_TOKEN).status_code == 403
    assert text(client, None).status_code == 403
    (first, second) = refusals(caplog)
    assert "no TWILIO_AUTH_TOKEN" in first and first == second


def test_dev_mode_with_a_real_token_uses_the_real_token(runtime: Runtime, client) -> None:
    runtime.settings = replace(runtime.settings, dev_mode=True)
    assert text(client, DEV_WEBHOOK_TOKEN).status_code == 403
    assert text(client, AUTH_TOKEN).status_code == 200


def test_a_missing_signature_is_logged_as_missing(client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    assert text(client, None).status_code == 403
    (why,) = refusals(caplog)
    assert "no X-Twilio-Signature" in why and "/twilio/inbound" in why


def test_a_signature_for_another_url_names_both_urls(client, caplog) -> None:
    # Twilio was told http://localhost/…, PUBLIC_BASE_URL says https://gateway.clinic.test.
    caplog.set_level(logging.WARNING)
    assert text(client, AUTH_TOKEN, "http://localhost/twilio/inbound").status_code == 403
    (why,) = refusals(caplog)
    assert f"PUBLIC_BASE_URL is {BASE_URL}" in why
    assert "the request came to http://localhost" in why


def test_a_wrong_signature_is_logged_as_not_matching(client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    assert text(client, "another-accounts-token").status_code == 403
    (why,) = refusals(caplog)
    assert "does not match" in why and "PUBLIC_BASE_URL is" not in why


def test_a_refused_status_callback_says_why_too(client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    form = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", "To": PATIENT}
    assert client.post("/twilio/status", data=form).status_code == 403
    (why,) = refusals(caplog)
    assert "/twilio/status" in why and "no X-Twilio-Signature" in why
