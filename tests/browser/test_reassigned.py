"""The number page's "still the patient's number?" in a real browser: the front desk records
that the patient confirmed the number, by keyboard, and sees it listed. Screenshots at 1280
and 390 px (tests/screenshots/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from gateway import services
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.runtime import Runtime
from tests.browser.conftest import Live
from tests.conftest import Clock

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


def test_the_send_check_names_the_reassigned_question_for_a_stale_number(
    signed_in: Callable[[str], Any], live: Live, runtime: Runtime, clock: Clock, shot: Any
) -> None:
    with transaction(runtime.sessions) as session:
        services.record_consent(
            session,
            runtime.rules,
            number=PATIENT,
            category="marketing",
            action=Action.GRANT,
            source=Source.PAPER_FORM,
            evidence={"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"},
            actor="user:ana",
            now=runtime.clock(),
        )
    clock.now = dt.datetime(2027, 3, 24, 17, 0, tzinfo=dt.UTC)  # four months on
    page = signed_in("front_desk")
    page.goto(f"{live.url}/send")
    page.get_by_label("Patient's number").fill("(201) 555-0123")
    page.get_by_label("Category").select_option("marketing")
    page.get_by_label("Text").fill("Riverside: flu shots are in.")
    page.get_by_label("Patient's number").press("Enter")  # Enter checks; it never sends
    status = page.get_by_role("status").inner_text()
    assert "May receive marketing now." in status and "will ask first" in status
    shot(page, "send-check-reassigned")
