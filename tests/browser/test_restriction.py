"""No PHI by text in a real browser (issue 10 item 5): the front desk records the patient's
request on the number's page by keyboard, the Send page's check says the template's private
text will go and a written text is blocked, an auditor sees the form disabled. Screenshots at
1280 and 390 px (tests/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import Live

PATIENT = "+12015550123"


def test_the_front_desk_records_no_phi_by_text_and_the_check_shows_the_private_text(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("front_desk")
    page.goto(f"/numbers/{PATIENT}")
    form = page.locator("#record-restriction")
    form.get_by_role("button", name="Record: no health details by text").click()
    assert page.locator("#restriction-method").get_attribute("aria-invalid") == "true"
    shot(page, "number-restriction-refused")
    page.locator("#restriction-method").select_option("phone_call")
    page.locator("#restriction-note").fill("Asked by phone: no appointment details by text.")
    page.locator("#restriction-note").press("Tab")
    page.keyboard.press("Enter")  # the button, reached by keyboard
    page.wait_for_url("**recorded=*")
    card = page.locator("section[aria-labelledby=restriction-title]")
    assert "in force" in card.inner_text() and "phone call" in card.inner_text()
    shot(page, "number-restriction")

    page.goto("/send")
    page.get_by_label("Patient's number").fill("(201) 555-0123")
    page.get_by_label("Category").select_option("transactional")
    page.get_by_label("Text").fill("Your lab results are in.")
    page.get_by_role("button", name="Check").click()
    status = page.get_by_role("status").inner_text()
    assert "Will be blocked: the patient asked that no health details be texted" in status
    shot(page, "send-check-restricted")

    page.get_by_label("Text").fill("")
    page.get_by_label("Category").select_option("")
    page.get_by_label("Template").select_option("appointment_reminder")
    page.get_by_label("Provider").fill("Dr. Okafor")
    page.get_by_label("Appointment time").fill("Wed Nov 25, 9:30")
    page.get_by_role("button", name="Check").click()
    status = page.get_by_role("status").inner_text()
    assert "May receive transactional now." in status
    assert "private text" in status and "Dr. Okafor" not in status
    shot(page, "send-check-private-text")


def test_an_auditor_sees_the_restriction_and_its_form_disabled(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("auditor")
    page.goto(f"/numbers/{PATIENT}")
    assert page.locator("#restriction-note").is_disabled()
    shot(page, "number-restriction-auditor")
