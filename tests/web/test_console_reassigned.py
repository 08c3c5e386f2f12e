"""The number page's "still the patient's number?": its checks in words, and the front
desk's "verified" button (FCC §64.1200(m), SPEC §10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from gateway import services
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.models import ConsentEventRow, NumberCheck
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock
from tests.web import test_console_front_desk as front_desk_pages
from tests.web.test_console_front_desk import Desk, send_form

desk = front_desk_pages.desk  # the signed-in browser fixture


def test_the_front_desk_records_that_the_patient_confirmed_the_number(
    desk: Callable[[str], Desk],
    runtime: Runtime,
) -> None:
    front = desk("front_desk")
    page = front.text(f"/numbers/{PATIENT}")
    assert "Still the patient&#39;s number?" in page or "Still the patient's number?" in page
    assert "Nothing on record yet shows this number is the patient" in page
    form = {"verified_note": "asked at check-in"}
    answer = front.post(f"/numbers/{PATIENT}/verified", form, token_from=f"/numbers/{PATIENT}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/numbers/{PATIENT}?verified=1"
    with transaction(runtime.sessions) as session:
        check = session.execute(select(NumberCheck)).scalar_one()
        assert session.execute(select(ConsentEventRow)).first() is None  # not a consent change
    assert (check.outcome, check.actor, check.evidence) == (
        "verified",
        "user:maria",
        {"note": "asked at check-in"},
    )
    shown = front.text(answer.headers["Location"])
    assert "Recorded: the patient confirmed this number is theirs." in shown
    assert "the patient confirmed it at the front desk" in shown
    assert "Last known to be the patient" in shown


def test_an_auditor_sees_the_checks_but_cannot_record_one(
    desk: Callable[[str], Desk],
    runtime: Runtime,
) -> None:
    auditor = desk("auditor")
    answer = auditor.post(f"/numbers/{PATIENT}/verified", {}, token_from="/")
    assert answer.status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.execute(select(NumberCheck)).first() is None


def _grant_marketing(runtime: Runtime) -> None:
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


def test_the_send_check_says_the_worker_will_first_ask_about_a_stale_number(
    desk: Callable[[str], Desk], runtime: Runtime, clock: Clock
) -> None:
    _grant_marketing(runtime)
    form = send_form(category="marketing", body="Flu shots are in", do="check")
    fresh = desk("front_desk").post("/send", form).get_data(as_text=True)
    assert "Still theirs?" in fresh and "will ask first" not in fresh
    clock.now = dt.datetime(2027, 3, 24, 17, 0, tzinfo=dt.UTC)  # four months on
    stale = desk("admin").post("/send", form).get_data(as_text=True)
    assert "May receive marketing now" in stale
    assert "will ask first" in stale and "changed hands" in stale
