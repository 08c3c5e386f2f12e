"""The hosted opt-in form in a real browser (issue 10, items 1-2): a patient signs up with the
offers box ticked, the confirmation text goes out (dry-run), marketing waits for the YES the
patient sends from the simulator, and then an offer goes out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import services
from gateway.db import transaction
from tests.browser.conftest import Live
from tests.conftest import PATIENT, Clock


def _token(live: Live, role: str) -> str:
    with transaction(live.runtime.sessions) as session:
        return services.create_token(session, name=role, role=role, now=live.runtime.clock())


def test_a_patient_joins_confirms_offers_by_yes_and_then_gets_one(
    browser_page: Any,
    live: Live,
    dry_drain: Callable[[], None],
    shot: Callable[..., Any],
    clock: Clock,
) -> None:
    page = browser_page
    page.goto("/join")
    box = page.get_by_label("Yes, also send me promotional messages.")
    assert not box.is_checked()  # unchecked by default
    shot(page, "join-form")
    page.get_by_label("Mobile phone number").fill("(201) 555-0123")
    box.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign up").click()
    assert page.get_by_text("reply YES to that text within 72 hours").is_visible()
    assert page.get_by_text(
        "If you texted STOP to us before, text START to (201) 555-0100"
    ).is_visible()
    shot(page, "join-done")

    auditor = {"Authorization": f"Bearer {_token(live, 'auditor')}"}
    consent = page.request.get(f"/api/v1/consent/{PATIENT}", headers=auditor).json()
    care = consent["categories"]["transactional"]
    assert care["status"] == "granted" and care["event"]["source"] == "web_form"
    assert consent["categories"]["marketing"]["status"] == "none"  # pending, not granted
    events = page.request.get(f"/api/v1/ledger/events?number={PATIENT}", headers=auditor).json()
    [form_event] = events["items"]
    assert form_event["evidence"]["user_agent"].startswith("Mozilla/")
    assert form_event["evidence"]["marketing_checked"] is True
    assert form_event["evidence"]["disclosure_version"] == "care-2026-01"

    dry_drain()  # the confirmation text, decided and recorded, never handed to Twilio
    page.goto("/simulator")
    confirmation = page.locator(".bubble.message", has_text="Reply YES for promotional messages")
    assert "dry_run" in confirmation.inner_text()

    clock.advance(minutes=3)  # the patient reads the text, then answers
    page.get_by_label("Text message").fill("YES")
    with page.expect_navigation():
        page.get_by_role("button", name="Send", exact=True).click()
    reply = page.locator(".bubble.reply", has_text="now also get promotional messages")
    assert reply.is_visible()
    shot(page, "join-yes")
    consent = page.request.get(f"/api/v1/consent/{PATIENT}", headers=auditor).json()
    marketing = consent["categories"]["marketing"]
    assert marketing["status"] == "granted" and marketing["may_send"]
    grant = page.request.get(
        f"/api/v1/ledger/events?number={PATIENT}&category=marketing", headers=auditor
    ).json()["items"][-1]
    assert grant["evidence"]["confirms_form_event"] == form_event["id"]

    desk = {"Authorization": f"Bearer {_token(live, 'front_desk')}"}
    offer = {"to": PATIENT, "category": "marketing", "body": "Flu shots are in."}
    sent = page.request.post("/api/v1/messages", headers=desk, data=offer).json()
    dry_drain()
    message = page.request.get(f"/api/v1/messages/{sent['id']}", headers=auditor).json()
    assert message["status"] == "dry_run"
    assert message["decision"]["consent_event_id"] == grant["id"]


def test_the_form_in_spanish_refuses_a_bad_number_readably(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/join?lang=es")
    page.get_by_label("Número de teléfono móvil").fill("555")
    with page.expect_navigation():
        page.get_by_role("button", name="Inscribirme").click()
    problem = page.get_by_role("alert")
    assert "Ingrese un número móvil" in problem.inner_text()
    shot(page, "join-es-bad-number")


def test_a_premium_rate_number_is_refused_readably(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/join")
    page.get_by_label("Mobile phone number").fill("1-900-555-0123")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign up").click()
    assert "We cannot text premium-rate" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Mobile phone number").input_value() == "1-900-555-0123"
    shot(page, "join-premium-number")


def test_the_form_by_keyboard_alone(browser_page: Any, live: Live) -> None:
    page = browser_page
    page.goto("/join")
    page.keyboard.press("Tab")  # the language link
    page.keyboard.press("Tab")
    page.keyboard.type("(305) 555-0142")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the offers box
    assert page.get_by_label("Yes, also send me promotional messages.").is_checked()
    page.keyboard.press("Tab")  # past the hidden trap straight to the button
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="Thank you").is_visible()


def test_the_embed_is_the_bare_form_and_keeps_its_frame_after_sending(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/join?embed=1")
    assert page.locator("body.embed").count() == 1
    assert page.get_by_role("link", name="Español").count() == 0  # the clinic's page chooses
    shot(page, "join-embed")
    page.get_by_label("Mobile phone number").fill("(405) 555-0150")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign up").click()
    assert "embed=1" in page.url
    assert page.get_by_role("heading", name="Thank you").is_visible()
