"""The patient simulator in a real browser: a new user texts STOP, HELP and START from the
page and sees the replies, and the ledger says what the STOP did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import services
from gateway.db import transaction
from tests.browser.conftest import Live
from tests.conftest import CLINIC, PATIENT


def _token(live: Live, role: str = "auditor") -> str:
    with transaction(live.runtime.sessions) as session:
        return services.create_token(session, name=role, role=role, now=live.runtime.clock())


def _send(page: Any, text: str) -> None:
    page.get_by_label("Text message").fill(text)
    with page.expect_navigation():  # posted, then redirected back to the phone
        page.get_by_role("button", name="Send", exact=True).click()


def test_a_stop_from_the_simulator_revokes_marketing_with_its_event(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/simulator")
    assert page.get_by_label("This phone").input_value() == PATIENT
    assert page.get_by_label("Texting the clinic at").input_value() == CLINIC
    shot(page, "simulator-empty")
    _send(page, "STOP")
    thread = page.locator("#thread")
    assert thread.get_by_text("STOP", exact=True).is_visible()
    assert thread.get_by_text("automatic reply (TwiML)").is_visible()
    revoked = thread.get_by_text("revoked marketing (event #")
    assert revoked.is_visible()
    event_id = int(revoked.inner_text().split("#")[1].rstrip(")"))
    # The number's consent, as staff read it through the API.
    answer = page.request.get(
        f"/api/v1/consent/{PATIENT}", headers={"Authorization": f"Bearer {_token(live)}"}
    )
    marketing = answer.json()["categories"]["marketing"]
    assert marketing["status"] == "revoked" and not marketing["may_send"]
    assert marketing["event"]["id"] == event_id
    assert marketing["event"]["source"] == "sms_keyword"
    # And on the simulator's own consent panel.
    row = page.locator(".consent li", has_text="marketing")
    assert "revoked" in row.inner_text() and f"event #{event_id} revoke" in row.inner_text()
    shot(page, "simulator-stop")


def test_help_and_start_in_the_simulator_show_their_replies(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/simulator")
    with page.expect_navigation():
        page.get_by_role("button", name="STOP", exact=True).click()  # the quick buttons
    _send(page, "HELP")
    help_reply = page.locator(".bubble.reply", has_text="Msg & data rates may apply").first
    assert help_reply.is_visible() and "Reply STOP to opt out" in help_reply.inner_text()
    _send(page, "START")
    start_reply = page.locator(".bubble.reply", has_text="You are resubscribed")
    assert start_reply.is_visible()
    assert page.locator(".bubble.reply").count() == 3  # STOP's confirmation, HELP, START
    row = page.locator(".consent li", has_text="transactional")
    assert "granted" in row.inner_text() or "none" in row.inner_text()
    shot(page, "simulator-conversation")


def test_the_simulator_by_keyboard_alone(browser_page: Any, live: Live) -> None:
    page = browser_page
    page.goto("/simulator")
    page.get_by_label("or another number").focus()
    page.keyboard.type("(305) 555-0142")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the phone picker
    assert page.get_by_label("This phone").input_value() == "+13055550142"
    page.get_by_label("Text message").focus()
    page.keyboard.type("HELP")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the Send button
    assert page.locator(".bubble.reply", has_text="Msg & data rates may apply").is_visible()


def test_a_reminder_and_a_refused_offer_show_with_their_decisions(
    browser_page: Any, live: Live, drain: Callable[[], None], shot: Callable[..., Any]
) -> None:
    page = browser_page
    page.goto("/simulator")
    _send(page, "STOP PROMOS")  # marketing only: reminders continue
    desk = {"Authorization": f"Bearer {_token(live, 'front_desk')}"}
    for category, body in (
        ("transactional", "Your visit is Monday 9:00"),
        ("marketing", "20% off"),
    ):
        message = {"to": PATIENT, "category": category, "body": body}
        assert page.request.post("/api/v1/messages", headers=desk, data=message).status == 202
    drain()
    # No reload: the open page fetches the conversation again every few seconds.
    page.locator(".bubble.message", has_text="20% off").wait_for(timeout=15_000)
    reminder = page.locator(".bubble.message", has_text="Your visit is Monday 9:00")
    assert "transactional message" in reminder.inner_text() and "reason ok" in reminder.inner_text()
    offer = page.locator(".bubble.message", has_text="20% off")
    assert "blocked" in offer.inner_text() and "opted_out" in offer.inner_text()
    assert "never reached the phone" in offer.inner_text()
    shot(page, "simulator-messages")
