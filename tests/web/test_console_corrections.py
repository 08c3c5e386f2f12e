"""Amendment on the console: the number page offers an admin, and only an admin, a form to
correct the event in force for a category, with a mandatory reason (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from gateway import staff
from gateway.db import transaction
from gateway.models import ConsentEventRow
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Phone
from tests.web.test_console_front_desk import PASSWORD, TOKEN, Desk

PAGE = f"/numbers/{PATIENT}"
WHY = "STOP typed against the wrong patient"


@pytest.fixture
def desk(app: Flask, runtime: Runtime) -> Callable[[str], Desk]:
    """A browser signed in to the console as an admin or the front desk."""

    def sign_in(role: str) -> Desk:
        name = {"front_desk": "maria", "admin": "ana"}[role]
        with transaction(runtime.sessions) as session:
            staff.create_user(session, name=name, role=role, password=PASSWORD, now=runtime.clock())
        client = app.test_client()
        token = TOKEN.search(client.get("/sign-in").get_data(as_text=True))
        assert token
        form = {"name": name, "password": PASSWORD, "csrf_token": token.group(1)}
        assert client.post("/sign-in", data=form).status_code == 303
        return Desk(client, name)

    return sign_in


def care_stop(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        query = select(ConsentEventRow.id).where(ConsentEventRow.category == "transactional")
        return int(session.execute(query).scalar_one())


def events(runtime: Runtime) -> list[tuple[int, str]]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id)).scalars()
        return [(row.id, row.source) for row in rows]


def test_an_admin_corrects_a_wrong_stop_from_the_numbers_page(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP")
    admin = desk("admin")
    page = admin.text(PAGE)
    assert "Correct this event" in page and 'for="correct-marketing-reason"' in page
    assert "may receive" not in page
    stop = care_stop(runtime)
    answer = admin.post(
        f"{PAGE}/corrections", {"event_id": str(stop), "reason": WHY}, token_from=PAGE
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    shown = admin.text(answer.headers["Location"])
    assert f'<span class="mono">#{stop}</span>, because: {WHY}' in shown
    assert "may receive" in shown  # care flows again: the STOP was not this patient's
    with transaction(runtime.sessions) as session:
        fixed = (
            session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id.desc()))
            .scalars()
            .first()
        )
        assert fixed is not None
        assert (fixed.source, fixed.actor, fixed.evidence["corrects"]) == (
            "correction",
            "user:ana",
            stop,
        )


def test_a_blank_reason_is_named_next_to_the_field_and_records_nothing(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP")
    before = events(runtime)
    stop = before[0][0]
    answer = desk("admin").post(
        f"{PAGE}/corrections", {"event_id": str(stop), "reason": "  "}, token_from=PAGE
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'<textarea id="correct-[a-z]+-reason"[^>]*aria-invalid="true"', page)
    assert "A correction must say why" in page
    assert events(runtime) == before


def test_an_event_of_another_number_is_not_found_there(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP", frm="+13055550142")
    stop = events(runtime)[0][0]
    answer = desk("admin").post(
        f"{PAGE}/corrections", {"event_id": str(stop), "reason": WHY}, token_from=PAGE
    )
    assert answer.status_code == 404
    assert [source for _, source in events(runtime)] == ["sms_keyword", "sms_keyword"]


def test_the_front_desk_sees_no_correction_form_and_cannot_post_one(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP")
    front = desk("front_desk")
    assert "Correct this event" not in front.text(PAGE)
    stop = events(runtime)[0][0]
    answer = front.post(
        f"{PAGE}/corrections", {"event_id": str(stop), "reason": WHY}, token_from=PAGE
    )
    assert answer.status_code == 403
    assert "correction" not in [source for _, source in events(runtime)]
