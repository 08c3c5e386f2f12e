"""An admin corrects a STOP recorded against the wrong number from the number's page, by
keyboard, in a real browser; screenshots at 1280 and 390 px (tests/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import Live
from tests.browser.test_front_desk import PATIENT, text

WHY = "STOP came from +1 305 555 0142; typed against this number"


def test_an_admin_corrects_a_wrong_stop_by_keyboard(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("admin")
    text(page, live, "STOP")
    page.goto(f"/numbers/{PATIENT}")
    care = page.locator("section.card", has=page.get_by_role("heading", name="Transactional"))
    assert "may not receive" in care.inner_text()
    summary = care.get_by_text("Correct this event")
    summary.focus()
    page.keyboard.press("Enter")  # a <details> opens from the keyboard
    shot(page, "number-correct-open")
    reason = care.get_by_label("is wrong")
    reason.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # an empty reason is refused next to the field
    assert "must say why" in page.get_by_text("must say why").inner_text()
    shot(page, "number-correct-refused")
    care = page.locator("section.card", has=page.get_by_role("heading", name="Transactional"))
    care.get_by_label("is wrong").fill(WHY)
    care.get_by_role("button", name="Record the correction").click()
    page.wait_for_url("**recorded=*")
    care = page.locator("section.card", has=page.get_by_role("heading", name="Transactional"))
    shown = care.inner_text()
    assert "may receive" in shown and "none" in shown and WHY in shown
    shot(page, "number-corrected")
