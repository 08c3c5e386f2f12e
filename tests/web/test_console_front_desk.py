"""The front desk's pages (issue 9 item 2): Send with its check, a number's consent and texts
with the record forms, the outbox, the review queue. Roles, CSRF, the access log, errors next
to their field, and the page's check agreeing with what the worker then does."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway import staff
from gateway.db import transaction
from gateway.models import AccessLog, AccessNumber, ConsentEventRow, OutboundMessage, Review
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, Clock, Phone

PASSWORD = "a long test password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([^"]+)"')
FLORIDA = "+13055550142"
EASTERN = dt.timezone(dt.timedelta(hours=-5))  # November
PAPER = {
    "action": "grant",
    "category": "marketing",
    "source": "paper_form",
    "disclosure_version": "mkt-2026-01",
    "form_id": "PF-7",
    "staff": "maria",
}


class Desk:
    """A browser signed in to the console as one person: reads pages, posts forms with the
    page's own CSRF token."""

    def __init__(self, client: FlaskClient, name: str) -> None:
        self.client, self.name = client, name

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def text(self, path: str, status: int = 200) -> str:
        answer = self.client.get(path)
        assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
        return str(answer.get_data(as_text=True))

    def post(self, path: str, form: dict[str, str], *, token_from: str = "/") -> Any:
        match = TOKEN.search(self.client.get(token_from).get_data(as_text=True))
        assert match, f"no CSRF token on {token_from}"
        return self.client.post(path, data={**form, "csrf_token": match.group(1)})


@pytest.fixture
def desk(app: Flask, runtime: Runtime) -> Callable[[str], Desk]:
    def sign_in(role: str) -> Desk:
        name = {"front_desk": "maria", "admin": "ana", "auditor": "alex"}[role]
        with transaction(runtime.sessions) as session:
            if staff.by_name(session, name) is None:
                staff.create_user(
                    session, name=name, role=role, password=PASSWORD, now=runtime.clock()
                )
        client = app.test_client()
        token = TOKEN.search(client.get("/sign-in").get_data(as_text=True))
        assert token
        form = {"name": name, "password": PASSWORD, "csrf_token": token.group(1)}
        assert client.post("/sign-in", data=form).status_code == 303
        return Desk(client, name)

    return sign_in


def logged(runtime: Runtime, action: str) -> list[tuple[str, list[str]]]:
    """(actor, numbers) of each access-log row with this action."""
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(AccessLog).where(AccessLog.action == action).order_by(AccessLog.id)
        ).scalars()
        return [
            (
                row.actor,
                sorted(
                    session.execute(
                        select(AccessNumber.number).where(AccessNumber.access_id == row.id)
                    ).scalars()
                ),
            )
            for row in rows
        ]


def form_key(page: str) -> str:
    match = KEY.search(page)
    assert match
    return match.group(1)


def message(runtime: Runtime, message_id: str) -> OutboundMessage:
    with transaction(runtime.sessions) as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        session.expunge(row)
        return row


def sent_id(answer: Any) -> str:
    assert answer.status_code == 303, answer.get_data(as_text=True)[:3000]
    match = re.search(r"/messages/(msg_[0-9A-Z]{26})\?sent=1$", answer.headers["Location"])
    assert match, answer.headers["Location"]
    return match.group(1)


def send_form(**changes: str) -> dict[str, str]:
    return {
        "number": "(201) 555-0123",
        "category": "transactional",
        "body": "Your visit is tomorrow at 9",
        "when": "now",
        "do": "send",
        **changes,
    }


# --- Send ---------------------------------------------------------------------------------


def test_an_auditor_gets_403_on_send_and_sees_the_send_link_disabled(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    auditor = desk("auditor")
    answer = auditor.get("/send")
    assert answer.status_code == 403 and "Not for your role" in answer.get_data(as_text=True)
    assert auditor.post("/send", send_form(), token_from="/messages").status_code == 403
    home = auditor.text("/")
    assert re.search(r'<span class="disabled" aria-disabled="true"[^>]*>Send</span>', home)
    assert 'href="/send"' not in home
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage)).first() is None


def test_the_check_shows_consent_with_its_event_quiet_hours_and_the_cap(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP")
    page = (
        desk("front_desk")
        .post("/send", send_form(category="marketing", body="Flu shots are in", do="check"))
        .get_data(as_text=True)
    )
    assert "Will be blocked: the patient opted out" in page and "<code>opted_out</code>" in page
    with transaction(runtime.sessions) as session:
        stop = session.execute(
            select(ConsentEventRow).where(ConsentEventRow.category == "marketing")
        ).scalar_one()
    assert f"#{stop.id}</span> revoke · <strong>sms keyword</strong>" in page
    assert "America/New_York:" in page and "window 08:00–21:00" in page
    assert "0 of 3 in the last 24 h" in page
    assert logged(runtime, "console.send.preview") == [("user:maria", [PATIENT])]
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage)).first() is None  # a check sends nothing


def test_a_check_agrees_with_what_the_worker_then_decides(
    desk: Callable[[str], Desk], runtime: Runtime, clock: Clock, dry_drain
) -> None:
    clock.now = dt.datetime(2026, 11, 24, 20, 30, tzinfo=EASTERN).astimezone(dt.UTC)
    front = desk("front_desk")
    front.post(f"/numbers/{FLORIDA}/consent", PAPER, token_from=f"/numbers/{FLORIDA}")
    form = send_form(number=FLORIDA, category="marketing", body="Flu shots are in")
    check = front.post("/send", {**form, "do": "check"}).get_data(as_text=True)
    assert "Would wait until" in check and "<code>quiet_hours</code>" in check
    assert "window 08:00–20:00" in check and "State: Florida" in check
    assert "2026-11-25 13:00 UTC" in check  # 8:00 in Miami
    msg_id = sent_id(front.post("/send", form))
    dry_drain()
    decided = message(runtime, msg_id)
    assert (decided.status, decided.reason) == ("deferred", "quiet_hours")
    assert decided.until == dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC)


def test_send_queues_through_the_api_path_and_the_message_page_shows_dry_run(
    desk: Callable[[str], Desk], runtime: Runtime, dry_drain
) -> None:
    front = desk("front_desk")
    key = form_key(front.text("/send"))
    answer = front.post("/send", send_form(key=key))
    msg_id = sent_id(answer)
    assert sent_id(front.post("/send", send_form(key=key))) == msg_id  # a double click: one
    reused = front.post("/send", send_form(key=key, body="Another text"))
    assert reused.status_code == 409
    assert "This form already sent a message" in reused.get_data(as_text=True)
    queued = message(runtime, msg_id)
    assert (queued.to_number, queued.created_by, queued.status) == (
        PATIENT,
        "user:maria",
        "queued",
    )
    dry_drain()
    page = front.text(f"/messages/{msg_id}")
    assert "dry run" in page and "Allowed: every check passed" in page
    assert "Dry run: every check was made" in page
    assert logged(runtime, "console.messages.read") == [("user:maria", [PATIENT])]


def test_a_marketing_send_to_an_opted_out_number_is_blocked_with_its_reason(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone, dry_drain
) -> None:
    phone.text("STOP")
    front = desk("front_desk")
    msg_id = sent_id(front.post("/send", send_form(category="marketing", body="Flu shots")))
    dry_drain()
    page = front.text(f"/messages/{msg_id}")
    assert "Blocked: the patient opted out" in page and "<code>opted_out</code>" in page


def test_a_template_is_filled_from_its_fields_and_a_missing_one_is_named(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    front = desk("front_desk")
    form = send_form(body="", category="", template="appointment_reminder")
    form["field.appointment_reminder.provider"] = "Dr. Okafor"
    missing = front.post("/send", form)
    page = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert re.search(
        r'id="field-appointment_reminder-appointment_time"[^>]*aria-invalid="true"', page
    )
    assert '<p class="field-error" id="field-appointment_reminder-appointment_time-error">' in page
    form["field.appointment_reminder.appointment_time"] = "Tue 9:00"
    msg = message(runtime, sent_id(front.post("/send", form)))
    assert (msg.category, msg.template) == ("transactional", "appointment_reminder")
    assert msg.body and "Dr. Okafor on Tue 9:00" in msg.body


def test_a_clinic_time_is_read_in_the_clinics_zone_and_shown_in_utc(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    front = desk("front_desk")
    later = send_form(when="later", date="2026-11-25", time="09:00")
    check = front.post("/send", {**later, "do": "check"}).get_data(as_text=True)
    assert "That is 2026-11-25 14:00 UTC." in check
    msg = message(runtime, sent_id(front.post("/send", later)))
    assert msg.send_at == dt.datetime(2026, 11, 25, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("date", "time", "says"),
    [
        ("2027-03-14", "02:30", "the clocks skip that hour"),
        ("2026-11-23", "09:00", "That time has passed"),
        ("", "09:00", "Give both a date and a time"),
        ("9999-12-31", "23:59", "between 1970 and 9000"),
        ("2026-11-25", "10:00+05:00", "without an offset"),
    ],
)
def test_a_time_that_cannot_be_used_is_named_next_to_the_field(
    desk: Callable[[str], Desk], runtime: Runtime, date: str, time: str, says: str
) -> None:
    answer = desk("front_desk").post("/send", send_form(when="later", date=date, time=time))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(rf'<p class="field-error" id="when-error">[^<]*{says}', page)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage)).first() is None


def test_a_bad_number_or_an_empty_text_is_named_in_the_projects_words(
    desk: Callable[[str], Desk],
) -> None:
    answer = desk("front_desk").post("/send", send_form(number="12345", body=""))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "“12345” is not a phone number we can text" in page
    assert "Write the text, or choose a template." in page
    assert "invalid default region" not in page.lower() and "(0)" not in page


def test_send_without_its_csrf_token_is_refused(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    answer = desk("front_desk").client.post("/send", data=send_form())
    assert answer.status_code == 400 and "This form has expired" in answer.get_data(as_text=True)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage)).first() is None


# --- Number -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "front_desk", "auditor"])
def test_every_role_reads_a_numbers_consent_and_the_read_is_logged(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone, role: str
) -> None:
    phone.text("STOP PROMOS")
    phone.text("can I cancel my appointment?")
    person = desk(role)
    page = person.text(f"/numbers/{PATIENT}")
    assert "may not receive" in page and "sms keyword" in page
    assert "can I cancel my appointment?" in page and "STOP PROMOS" in page
    assert logged(runtime, "console.consent.read") == [(f"user:{person.name}", [PATIENT])]
    disabled = '<fieldset class="bare" disabled>' in page
    assert disabled == (role == "auditor")


def test_the_lookup_form_goes_to_the_numbers_page_and_a_bad_number_stays_with_its_message(
    desk: Callable[[str], Desk],
) -> None:
    front = desk("front_desk")
    answer = front.get("/numbers?number=(201)+555-0123")
    assert answer.status_code == 303 and answer.headers["Location"] == f"/numbers/{PATIENT}"
    for path in ("/numbers?number=not+a+number", "/numbers/not-a-number"):
        bad = front.get(path)
        page = bad.get_data(as_text=True)
        assert bad.status_code == 422 and bad.mimetype == "text/html"
        assert "is not a phone number we can text" in page and 'aria-invalid="true"' in page


def test_a_paper_opt_in_is_recorded_with_its_evidence_and_shown(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    front = desk("front_desk")
    answer = front.post(f"/numbers/{PATIENT}/consent", PAPER, token_from=f"/numbers/{PATIENT}")
    assert answer.status_code == 303
    with transaction(runtime.sessions) as session:
        event = session.execute(select(ConsentEventRow)).scalar_one()
    assert (event.source, event.actor) == ("paper_form", "user:maria")
    assert event.evidence == {
        "disclosure_version": "mkt-2026-01",
        "form_id": "PF-7",
        "staff": "maria",
    }
    assert answer.headers["Location"] == f"/numbers/{PATIENT}?recorded={event.id}"
    page = front.text(answer.headers["Location"])
    assert f'Recorded: event <span class="mono">#{event.id}</span>' in page
    assert "may receive" in page


def test_an_opt_in_without_its_proof_is_refused_next_to_the_missing_evidence(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    form = {**PAPER, "form_id": "", "disclosure_version": ""}
    answer = desk("front_desk").post(
        f"/numbers/{PATIENT}/consent", form, token_from=f"/numbers/{PATIENT}"
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "proof of express written consent; missing:" in page
    assert re.search(r'id="grant-form_id"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="grant-disclosure_version"[^>]*aria-invalid="true"', page)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(ConsentEventRow)).first() is None


def test_after_a_stop_only_the_patients_own_request_lifts_it_as_in_the_api(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP")
    front = desk("front_desk")
    where = f"/numbers/{PATIENT}/consent"
    paper = front.post(where, PAPER, token_from=f"/numbers/{PATIENT}")
    assert paper.status_code == 422
    assert re.search(r'id="source-error">[^<]*only the patient lifts', paper.get_data(as_text=True))
    desk_grant = {**PAPER, "source": "front_desk", "category": "transactional"}
    unproven = front.post(where, desk_grant, token_from=f"/numbers/{PATIENT}")
    page = unproven.get_data(as_text=True)
    assert unproven.status_code == 422
    assert re.search(r'id="grant-method"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="grant-note"[^>]*aria-invalid="true"', page)
    lifted = front.post(
        where,
        {**desk_grant, "method": "in_person", "note": "asked at check-in for reminders again"},
        token_from=f"/numbers/{PATIENT}",
    )
    assert lifted.status_code == 303


def test_a_revoke_of_every_category_and_an_auditor_cannot_record(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    form = {"action": "revoke", "category": "*", "source": "front_desk", "staff": "maria"}
    assert (
        desk("auditor").post(f"/numbers/{PATIENT}/consent", form, token_from="/").status_code == 403
    )
    with transaction(runtime.sessions) as session:
        assert session.execute(select(ConsentEventRow)).first() is None
    answer = desk("admin").post(f"/numbers/{PATIENT}/consent", form)
    assert answer.status_code == 303
    with transaction(runtime.sessions) as session:
        events = session.execute(select(ConsentEventRow)).scalars().all()
    assert sorted((e.category, e.action) for e in events) == [
        ("marketing", "revoke"),
        ("transactional", "revoke"),
    ]


# --- Messages -----------------------------------------------------------------------------


def test_the_outbox_filters_by_status_and_reason_and_pages(
    desk: Callable[[str], Desk], runtime: Runtime, clock: Clock, phone: Phone, dry_drain
) -> None:
    front = desk("front_desk")
    for i in range(3):
        clock.advance(seconds=1)
        sent_id(front.post("/send", send_form(body=f"Reminder {i}")))
    phone.text("STOP PROMOS")
    clock.advance(seconds=1)
    blocked = sent_id(front.post("/send", send_form(category="marketing", body="Offer")))
    dry_drain()
    by_reason = front.text("/messages?reason=opted_out")
    assert blocked in by_reason and by_reason.count("/messages/msg_") == 1
    assert front.text("/messages?status=dry_run").count("/messages/msg_") == 3
    assert logged(runtime, "console.messages.list")[0] == ("user:maria", [PATIENT])
    with_page = front.text("/messages")
    assert "Older" not in with_page


def test_the_outbox_pages_fifty_at_a_time(
    desk: Callable[[str], Desk], runtime: Runtime, clock: Clock
) -> None:
    from gateway import outbound

    with transaction(runtime.sessions) as session:
        for i in range(51):
            clock.advance(seconds=1)
            request = outbound.Request(to=PATIENT, category="transactional", body=f"{i}", actor="t")
            outbound.submit(session, runtime.rules, request, clock())
    front = desk("front_desk")
    first = front.text("/messages")
    assert first.count('<td data-label="Queued"><a href="/messages/msg_') == 50
    older = re.search(r'href="(/messages\?before=msg_[0-9A-Z]{26})">Older', first)
    assert older
    second = front.text(older.group(1).replace("&amp;", "&"))
    assert (
        second.count('<td data-label="Queued"><a href="/messages/msg_') == 1 and "Newest" in second
    )


def test_a_message_shows_its_proof_to_admins_and_auditors_as_the_api_does(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone, dry_drain
) -> None:
    phone.text("STOP")
    msg_id = sent_id(desk("front_desk").post("/send", send_form()))
    dry_drain()
    assert "<h2>Proof</h2>" not in desk("front_desk").text(f"/messages/{msg_id}")
    page = desk("auditor").text(f"/messages/{msg_id}")
    assert "<h2>Proof</h2>" in page and "smsgate.message_proof" in page
    assert "(this message&#39;s)" in page or "(this message's)" in page
    assert logged(runtime, "console.messages.proof") == [("user:alex", [PATIENT])]


def test_an_unknown_message_is_a_page_not_found(desk: Callable[[str], Desk]) -> None:
    front = desk("front_desk")
    for path in ("/messages/msg_00000000000000000000000000", "/messages/nonsense"):
        answer = front.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404 and answer.mimetype == "text/html"


# --- Reviews ------------------------------------------------------------------------------


def test_the_review_queue_marks_overdue_items_in_words_and_resolves_with_a_note(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone, clock: Clock
) -> None:
    phone.text("NO")  # out of the blue: a person decides
    clock.advance(days=30)
    phone.text("wrong number", frm="+12065550142")
    front = desk("front_desk")
    page = front.text("/reviews")
    assert page.count("Overdue</span>") == 1 and 'class="overdue"' in page
    assert "1 overdue" in page
    with transaction(runtime.sessions) as session:
        late = session.execute(select(Review).where(Review.number == PATIENT)).scalar_one()
    answer = front.post(
        f"/reviews/{late.id}",
        {"resolution": "opt_out", "note": "called back: wants no texts"},
        token_from="/reviews",
    )
    assert answer.status_code == 303
    with transaction(runtime.sessions) as session:
        done = session.get(Review, late.id)
        assert done is not None
        assert (done.status, done.note, done.resolved_by) == (
            "resolved",
            "called back: wants no texts",
            "user:maria",
        )
        assert done.event_ids
    assert "called back: wants no texts" in front.text("/reviews?status=resolved")
    assert logged(runtime, "console.reviews.resolve") == [("user:maria", [PATIENT])]
    assert logged(runtime, "console.reviews.list")[0][1] == [PATIENT, "+12065550142"]


def test_an_auditor_reads_the_queue_but_cannot_resolve(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("NO")
    auditor = desk("auditor")
    page = auditor.text("/reviews")
    assert '<fieldset class="bare" disabled>' in page
    with transaction(runtime.sessions) as session:
        review = session.execute(select(Review)).scalar_one()
    answer = auditor.post(f"/reviews/{review.id}", {"resolution": "no_action"}, token_from="/")
    assert answer.status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.execute(select(Review.status)).scalar_one() == "open"


def test_resolving_without_a_choice_or_twice_is_said_next_to_the_field(
    desk: Callable[[str], Desk], runtime: Runtime, phone: Phone
) -> None:
    phone.text("NO")
    front = desk("front_desk")
    with transaction(runtime.sessions) as session:
        review_id = session.execute(select(Review.id)).scalar_one()
    empty = front.post(f"/reviews/{review_id}", {"resolution": ""}, token_from="/reviews")
    assert empty.status_code == 422
    assert 'id="resolution-error">Choose what the text was.' in empty.get_data(as_text=True)
    front.post(f"/reviews/{review_id}", {"resolution": "no_action"}, token_from="/reviews")
    again = front.post(f"/reviews/{review_id}", {"resolution": "no_action"}, token_from="/reviews")
    assert again.status_code == 409 and "already resolved" in again.get_data(as_text=True)


def test_the_pages_are_not_in_the_api_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not {"/send", "/numbers", "/messages", "/reviews"} & set(paths)
    assert CLINIC  # the shipped sender carries both categories in these tests


@pytest.mark.parametrize("query", ["page=%C2%B2", "resolved=%C2%B2", "page=99999999999999999999"])
def test_the_review_queue_reads_a_strange_page_number_as_the_first(
    desk: Callable[[str], Desk], query: str
) -> None:
    assert "Reviews" in desk("front_desk").text(f"/reviews?{query}")


# --- No PHI by text (HIPAA §164.522(b), issue 10 item 5) -----------------------------------

ASKED = {"staff": "maria", "method": "phone_call", "note": "asked by phone: no details by text"}


def test_the_front_desk_records_and_lifts_no_phi_by_text_on_the_numbers_page(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    front, page_of = desk("front_desk"), f"/numbers/{PATIENT}"
    assert "Record the patient&#39;s request" in front.text(page_of)
    where = f"/numbers/{PATIENT}/restriction"
    answer = front.post(where, {"action": "grant", **ASKED}, token_from=page_of)
    assert answer.status_code == 303
    with transaction(runtime.sessions) as session:
        event = session.execute(select(ConsentEventRow)).scalar_one()
    assert (event.category, event.action, event.source) == ("no_phi_by_text", "grant", "front_desk")
    assert (event.evidence, event.actor) == (ASKED, "user:maria")
    page = front.text(answer.headers["Location"])
    assert re.search(r'id="restriction-title".*?in force', page, re.S)
    assert f'<span class="mono">#{event.id}</span> recorded' in page
    assert "Lift the restriction" in page
    lifted = front.post(where, {"action": "revoke", **ASKED}, token_from=page_of)
    assert lifted.status_code == 303
    assert re.search(r'id="restriction-title".*?lifted', front.text(page_of), re.S)


def test_a_restriction_without_how_the_patient_asked_is_refused_next_to_the_field(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    answer = desk("front_desk").post(
        f"/numbers/{PATIENT}/restriction",
        {"action": "grant", "staff": "maria", "method": "", "note": ""},
        token_from=f"/numbers/{PATIENT}",
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "needs the patient&#39;s request on record; missing:" in page
    assert re.search(r'id="restriction-method"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="restriction-note"[^>]*aria-invalid="true"', page)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(ConsentEventRow)).first() is None


def test_an_auditor_sees_the_restriction_form_disabled_and_cannot_post_it(
    desk: Callable[[str], Desk], runtime: Runtime
) -> None:
    auditor = desk("auditor")
    page = auditor.text(f"/numbers/{PATIENT}")
    assert re.search(r'id="record-restriction".*?<fieldset class="bare" disabled>', page, re.S)
    answer = auditor.post(f"/numbers/{PATIENT}/restriction", {"action": "grant", **ASKED})
    assert answer.status_code == 403


def test_the_check_says_the_private_text_will_go_and_a_free_text_is_blocked(
    desk: Callable[[str], Desk], runtime: Runtime, dry_drain
) -> None:
    front = desk("front_desk")
    front.post(
        f"/numbers/{PATIENT}/restriction",
        {"action": "grant", **ASKED},
        token_from=f"/numbers/{PATIENT}",
    )
    free = front.post("/send", send_form(body="Your results are in", do="check"))
    page = free.get_data(as_text=True)
    assert "Will be blocked: the patient asked that no health details be texted" in page
    assert "a text written here is never sent" in page
    form = send_form(body="", category="", template="appointment_reminder")
    form["field.appointment_reminder.provider"] = "Dr. Okafor"
    form["field.appointment_reminder.appointment_time"] = "Tue 9:00"
    check = front.post("/send", {**form, "do": "check"}).get_data(as_text=True)
    assert "May receive transactional now" in check and 'id="private-text-goes"' in check
    [shown] = re.findall(r"<dt>Text</dt>\s*<dd><pre>(.*?)</pre>", check, re.S)
    assert "you have an appointment with us soon" in shown and "Dr. Okafor" not in shown
    msg_id = sent_id(front.post("/send", form))
    dry_drain()
    sent = message(runtime, msg_id)
    assert (sent.status, sent.sent_text) == ("dry_run", "private_text")
    assert sent.body and "Dr. Okafor" not in sent.body
    assert "The template's private text: the patient asked" in front.text(f"/messages/{msg_id}")
