"""The front desk in a real browser: send a reminder and see it dry_run with its decision; a
patient's STOP on the number's page; a marketing send to them refused with the reason; an
auditor kept off Send; the outbox and the review queue. Every page screenshotted at 1280 and
390 px (tests/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gateway.adapters.twilio_sms import sign
from tests.browser.conftest import Live, sign_in
from tests.conftest import AUTH_TOKEN, CLINIC

PATIENT = "+12015550123"
OTHER = "+12065550142"
MESSAGE_URL = re.compile(r".*/messages/msg_[0-9A-Z]{26}(\?sent=1)?$")


def nav(page: Any, label: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=label).click()


def text(page: Any, live: Live, body: str, frm: str = PATIENT, sid: int = 1) -> None:
    """A patient's text, signed as Twilio signs it for this server's address."""
    params = {
        "MessageSid": f"SM{sid:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": frm,
        "To": CLINIC,
        "Body": body,
    }
    signature = sign(AUTH_TOKEN, f"{live.url}/twilio/inbound", params)
    answer = page.request.post(
        f"{live.url}/twilio/inbound", form=params, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status == 200


def test_front_desk_sends_a_reminder_and_sees_it_dry_run_with_its_decision(
    signed_in: Callable[[str], Any], live: Live, dry_drain: Callable[[], None], shot: Any
) -> None:
    page = signed_in("front_desk")
    nav(page, "Send")
    page.wait_for_url("**/send")
    shot(page, "send")
    page.get_by_label("Patient's number").fill("(201) 555-0123")
    page.get_by_label("Category").select_option("transactional")
    page.get_by_label("Text").fill("Riverside: your visit is tomorrow at 9:00.")
    page.get_by_label("Patient's number").press("Enter")  # Enter checks; it never sends
    status = page.get_by_role("status")
    assert "May receive transactional now." in status.inner_text()
    assert "needs only that the patient has not opted out" in status.inner_text()
    shot(page, "send-check")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(MESSAGE_URL)
    assert "Queued." in page.get_by_role("status").inner_text()
    dry_drain()
    page.reload()
    assert page.locator("h2 .badge").inner_text() == "dry run"
    assert "Allowed: every check passed" in page.locator(".verdict").inner_text()
    assert page.get_by_text("Dry run: every check was made").is_visible()
    shot(page, "message-dry-run")


def test_after_stop_the_number_shows_marketing_revoked_and_a_marketing_send_is_refused(
    signed_in: Callable[[str], Any], live: Live, dry_drain: Callable[[], None], shot: Any
) -> None:
    page = signed_in("front_desk")
    text(page, live, "STOP")
    nav(page, "Numbers")
    shot(page, "number-lookup")
    page.get_by_label("Patient's number").fill("555-01")
    page.get_by_label("Patient's number").press("Enter")
    assert "is not a phone number we can text" in page.get_by_role("alert").inner_text()
    shot(page, "number-lookup-bad")
    page.get_by_label("Patient's number").fill("201-555-0123")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(re.compile(r".*/numbers/(\+|%2B)12015550123$"))
    marketing = page.locator("section.card", has=page.get_by_role("heading", name="Marketing"))
    card = marketing.inner_text()
    assert "may not receive" in card and "revoked" in card and "sms keyword" in card
    assert re.search(r"#\d+ revoke", card)
    assert "STOP" in page.locator("#from-patient + .table-wrap").inner_text()
    shot(page, "number-after-stop")

    page.get_by_role("link", name="Send to this number").click()
    page.get_by_label("Category").select_option("marketing")
    page.get_by_label("Text").fill("Flu shots are in! Walk in Mon-Sat.")
    page.get_by_role("button", name="Check").click()
    verdict = page.get_by_role("status").inner_text()
    assert "Will be blocked: the patient opted out (opted_out)" in verdict
    assert "sms keyword" in verdict
    shot(page, "send-blocked")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(MESSAGE_URL)
    dry_drain()
    page.reload()
    assert page.locator("h2 .badge").inner_text() == "blocked"
    assert "Blocked: the patient opted out (opted_out)" in page.locator(".verdict").inner_text()
    shot(page, "message-blocked")


def test_an_auditor_opening_send_gets_403_and_sees_the_link_disabled(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("auditor")
    send = page.locator("nav [aria-disabled=true]", has_text="Send")
    assert send.is_visible() and send.get_attribute("href") is None
    answer = page.goto("/send")
    assert answer is not None and answer.status == 403
    assert page.get_by_role("heading", name="Not for your role").is_visible()
    shot(page, "send-403-auditor")
    page.goto(f"/numbers/{PATIENT}")
    # grant, revoke, no PHI by text, "still theirs"
    assert page.locator("fieldset[disabled]").count() == 4
    shot(page, "number-auditor")


def test_a_paper_opt_in_is_recorded_from_the_numbers_page_by_keyboard(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("front_desk")
    page.goto(f"/numbers/{PATIENT}")
    form = page.locator("#record-grant")
    form.get_by_label("Category").select_option("marketing")
    form.get_by_label("Paper form the patient signed").check()
    form.get_by_label("Disclosure the patient agreed to").select_option("mkt-2026-01")
    form.get_by_role("button", name="Record opt-in").click()  # no form id: refused
    problem = form.get_by_role("alert").first.inner_text()
    assert "missing: form_id" in problem
    assert form.get_by_label("Paper form's id").get_attribute("aria-invalid") == "true"
    shot(page, "number-record-refused")
    form.get_by_label("Paper form's id").fill("PF-2026-0042")
    form.get_by_label("Paper form's id").press("Enter")
    assert "Recorded: event" in page.get_by_role("status").inner_text()
    marketing = page.locator("section.card", has=page.get_by_role("heading", name="Marketing"))
    assert "may receive" in marketing.inner_text() and "paper form" in marketing.inner_text()
    shot(page, "number-recorded")


def test_the_outbox_and_the_review_queue(
    signed_in: Callable[[str], Any], live: Live, dry_drain: Callable[[], None], shot: Any
) -> None:
    page = signed_in("front_desk")
    text(page, live, "NO", sid=1)  # out of the blue: a person decides
    text(page, live, "wrong number", frm=OTHER, sid=2)
    live.runtime.clock.advance(days=20)  # type: ignore[attr-defined]
    text(page, live, "STOP PROMOS", sid=3)
    sign_in(page, "front-desk-user")  # the clock moved past the idle limit
    page.wait_for_url(f"{live.url}/")
    for body, category in (("Your visit is at 9", "transactional"), ("Spring offer", "marketing")):
        page.goto(f"/send?number={PATIENT}")
        page.get_by_label("Category").select_option(category)
        page.get_by_label("Text").fill(body)
        page.get_by_role("button", name="Send", exact=True).click()
        page.wait_for_url(MESSAGE_URL)
    dry_drain()
    nav(page, "Messages")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    shot(page, "messages")
    page.get_by_label("Reason").select_option("opted_out")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("tbody tr").count() == 1
    assert "opted_out" in page.locator("tbody tr").inner_text()

    nav(page, "Reviews")
    overdue = page.locator("tr.overdue")
    assert overdue.count() == 2 and "Overdue" in overdue.first.inner_text()
    shot(page, "reviews")
    first = overdue.first
    first.get_by_label("What it was").select_option("no_action")
    first.get_by_label("Note").fill("asked about her appointment; not a stop")
    first.get_by_role("button", name="Resolve").click()
    assert "is resolved" in page.get_by_role("status").inner_text()
    assert page.locator("tr.overdue").count() == 1
    page.get_by_role("link", name="Resolved").click()
    assert "not a stop" in page.locator("tbody").inner_text()
    shot(page, "reviews-resolved")


def test_a_template_at_a_clinic_time_and_the_errors_next_to_their_fields(
    signed_in: Callable[[str], Any], live: Live, shot: Any
) -> None:
    page = signed_in("front_desk")
    page.goto("/send")
    page.get_by_label("Patient's number").fill("12345")
    page.get_by_role("button", name="Check").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Patient's number").get_attribute("aria-invalid") == "true"
    assert page.locator("#number-error").inner_text().startswith("“12345” is not a phone number")
    shot(page, "send-errors")
    page.locator("#problems a").first.click()  # the summary's link takes you to the field
    assert page.evaluate("document.activeElement.id") == "number"

    page.get_by_label("Patient's number").fill("+1 201 555 0123")
    page.get_by_label("Template").select_option("appointment_reminder")
    assert page.locator("fieldset[data-template=flu_shot_offer]").is_hidden()
    page.get_by_label("Provider").fill("Dr. Okafor")
    page.get_by_label("Appointment time").fill("Wed Nov 25, 9:30")
    page.get_by_label("At a clinic time").check()
    page.get_by_label("Date", exact=True).fill("2026-11-25")
    page.get_by_label("Time", exact=True).fill("08:00")
    page.get_by_role("button", name="Check").click()
    status = page.get_by_role("status").inner_text()
    assert "at the scheduled time" in status and "May receive transactional at that time." in status
    assert "That is 2026-11-25 13:00 UTC." in page.locator("#when-hint").inner_text()
    shot(page, "send-template-scheduled")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(MESSAGE_URL)
    assert "Dr. Okafor on Wed Nov 25, 9:30" in page.locator("pre").first.inner_text()
    shot(page, "message-scheduled")
