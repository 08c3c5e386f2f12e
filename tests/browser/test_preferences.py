"""Preferences by text in a real browser: a HELP from the patient simulator brings a link; on
its page the patient stops a category and starts marketing again by ticking the box under the
disclosure — by mouse and by keyboard, at desktop and phone widths."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gateway import ledger
from gateway.db import transaction
from tests.browser.conftest import Live
from tests.conftest import PATIENT


@pytest.fixture
def links_on(live: Live) -> Live:
    live.runtime.settings = replace(live.runtime.settings, preference_links=True)
    return live


def _text(page: Any, body: str) -> None:
    page.get_by_label("Text message").fill(body)
    with page.expect_navigation():
        page.get_by_role("button", name="Send", exact=True).click()


def _link_from_help(page: Any, live: Live, body: str = "HELP") -> str:
    page.goto("/simulator")
    _text(page, body)
    reply = page.locator(".bubble.reply").last.inner_text()
    found = re.search(re.escape(live.url) + r"/p/[A-Za-z0-9_-]{20}", reply)
    assert found, reply
    return found.group(0)


def _tick_and_start(page: Any, heading: str) -> None:
    start = page.locator("form.start", has_text=heading)
    start.get_by_label("I agree to the text above").check()
    with page.expect_navigation():
        start.get_by_role("button", name="Start promotional messages").click()
    assert page.get_by_role("status").inner_text() == "Done: you will receive promotional messages."


def _current(live: Live, category: str) -> Any:
    with transaction(live.runtime.sessions) as session:
        return ledger.current(session, PATIENT).get(category)


def test_the_link_in_a_help_reply_stops_and_starts_categories(
    browser_page: Any, links_on: Live, shot: Callable[..., Any]
) -> None:
    page, live = browser_page, links_on
    link = _link_from_help(page, live)
    page.goto(link)
    assert page.get_by_role("heading", name="Your texts from Riverside Family Clinic").is_visible()
    shot(page, "preferences-first-visit")

    # A new number receives care messages, and no marketing: there is nothing to stop there.
    assert page.get_by_role("button", name="Stop promotional messages").count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Stop appointment reminders and care messages").click()
    assert page.get_by_role("status").inner_text().startswith("Done: you will no longer")
    stopped = _current(live, "transactional")
    assert (stopped.action, stopped.source) == ("revoke", "web_form")
    shot(page, "preferences-stopped")

    start = page.locator("form.start", has_text="Receive promotional messages")
    disclosure = start.locator("blockquote").inner_text()
    assert disclosure == live.runtime.rules.disclosures["mkt-2026-01"]
    assert not start.get_by_label("I agree to the text above").is_checked()
    with page.expect_navigation():
        start.get_by_role("button", name="Start promotional messages").click()
    assert "tick the box" in page.get_by_role("alert").inner_text()
    assert _current(live, "marketing") is None
    _tick_and_start(page, "Receive promotional messages")
    assert _current(live, "marketing").action == "grant"

    # Stopped on the page, and started again: the patient lifts their own revocation.
    with page.expect_navigation():
        page.get_by_role("button", name="Stop promotional messages").click()
    assert _current(live, "marketing").action == "revoke"
    _tick_and_start(page, "Start promotional messages again")
    granted = _current(live, "marketing")
    assert (granted.action, granted.source) == ("grant", "web_form")
    assert granted.evidence["disclosure_version"] == "mkt-2026-01"
    assert granted.evidence["checkbox_unchecked_by_default"] is True
    assert page.get_by_role("button", name="Stop promotional messages").is_visible()
    shot(page, "preferences-marketing-started")


def test_the_page_by_keyboard_in_spanish(browser_page: Any, links_on: Live, shot) -> None:
    page, live = browser_page, links_on
    link = _link_from_help(page, live, "AYUDA")
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "es"
    box = page.get_by_label("Acepto el texto de arriba")
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("status").inner_text().startswith("Listo: recibirá")
    assert _current(live, "marketing").action == "grant"
    shot(page, "preferences-es")


def test_an_expired_link_in_the_browser(browser_page: Any, links_on: Live, shot) -> None:
    page, live = browser_page, links_on
    link = _link_from_help(page, live)
    live.runtime.clock.advance(days=8)  # type: ignore[attr-defined]
    answer = page.goto(link)
    assert answer.status == 410
    assert page.get_by_role("heading", name="This link has expired").is_visible()
    shot(page, "preferences-expired")
