"""The number page's "still the patient's number?" in a real browser: the front desk records
that the patient confirmed the number, by keyboard, and sees it listed. Screenshots at 1280
and 390 px (tests/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import Live

PATIENT = "+12015550123"


def test_front_desk_records_still_theirs_by_keyboard(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("front_desk")
    page.goto(f"{live.url}/numbers/{PATIENT}")
    assert page.get_by_role("heading", name="Still the patient's number?").is_visible()
    page.get_by_label("How the patient confirmed it").focus()
    page.keyboard.type("confirmed at check-in")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/numbers/{PATIENT}?verified=1")
    assert page.get_by_role("status").first.is_visible()
    assert "the patient confirmed it at the front desk" in page.content()
    shot(page, "number-still-theirs")
