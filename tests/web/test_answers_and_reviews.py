"""Answers to our own question, and a wrong number (SPEC §5.8–5.9): the conversation decides
what "NO" means, and a number that changed hands loses every consent its last holder gave."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import PATIENT, Clock, Phone
from tests.web.test_inbound import consent, grant_marketing, reply_of

REMINDER = {"template": "appointment_reminder", "fields": {"provider": "Dr. Lee"}}
FIELDS = {"provider": "Dr. Lee", "appointment_time": "Tue 3 pm"}


@pytest.fixture
def admin(auth: Any) -> dict[str, str]:
    return dict(auth("admin"))


def remind(send: Any, drain: Any) -> str:
    """Send the shipped reminder ("Reply C to confirm, R to reschedule or NO if …")."""
    message = send(PATIENT, body=None, template="appointment_reminder", fields=FIELDS)
    drain()
    return str(message["id"])


def last_inbound(client: FlaskClient, admin: dict[str, str]) -> dict[str, Any]:
    items = client.get(f"/api/v1/inbound?from={PATIENT}", headers=admin).get_json()["items"]
    return dict(items[0])


def open_reviews(client: FlaskClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    return list(client.get("/api/v1/reviews?status=open", headers=admin).get_json()["items"])


@pytest.mark.parametrize(
    ("text", "meaning"), [("NO", "decline"), ("c", "confirm"), ("R please", "reschedule")]
)
def test_a_reply_to_the_reminders_question_is_recorded_as_its_answer(
    send, drain, phone: Phone, client, admin, text: str, meaning: str
) -> None:
    asked = remind(send, drain)
    reply = reply_of(phone.text(text))
    row = last_inbound(client, admin)
    assert (row["intent"], row["answer"], row["answer_to"]) == ("answer", meaning, asked)
    assert reply is None  # no opt-out confirmation, no review, no consent change
    assert open_reviews(client, admin) == []
    assert consent(client, admin) == {"transactional": "none", "marketing": "none"}


def test_stop_in_reply_to_the_same_reminder_is_still_an_opt_out(
    send, drain, phone: Phone, client, admin
) -> None:
    remind(send, drain)
    reply = reply_of(phone.text("STOP"))
    row = last_inbound(client, admin)
    assert (row["intent"], row["answer"]) == ("opt_out", None)
    assert reply and "unsubscribed" in reply
    assert consent(client, admin)["transactional"] == "revoked"


def test_no_out_of_the_blue_is_a_review(phone: Phone, client, admin) -> None:
    assert reply_of(phone.text("NO")) is None
    assert last_inbound(client, admin)["intent"] == "review"
    [review] = open_reviews(client, admin)
    assert (review["kind"], review["text"]) == ("opt_out", "NO")
    assert "no" in review["why"]


def test_an_answer_counts_only_within_the_window(
    send, drain, phone: Phone, client, admin, clock: Clock, rules
) -> None:
    remind(send, drain)
    clock.advance(hours=rules.answer_window_hours + 1)
    phone.text("NO")
    assert last_inbound(client, admin)["intent"] == "review"


def test_a_later_message_without_a_question_ends_the_question(
    send, drain, phone: Phone, client, admin, clock: Clock
) -> None:
    remind(send, drain)
    clock.advance(minutes=5)
    send(PATIENT, "The clinic is closed Monday for the holiday.")
    drain()
    phone.text("C")
    assert last_inbound(client, admin)["intent"] == "none"


@pytest.mark.parametrize(
    "text", ["wrong number", "Who is this?", "This isn't Maria", "número equivocado"]
)
def test_a_wrong_number_text_opens_a_wrong_number_review(
    phone: Phone, client, admin, text: str
) -> None:
    assert reply_of(phone.text(text)) is None
    [review] = open_reviews(client, admin)
    assert review["kind"] == "wrong_number"
    assert "previous holder" in review["why"]


def test_a_wrong_number_resolved_as_such_revokes_every_category_with_its_evidence(
    phone: Phone, client, admin, auth
) -> None:
    grant_marketing(client, admin)
    phone.text("wrong number, I just got this phone")
    [review] = open_reviews(client, admin)
    response = client.post(
        f"/api/v1/reviews/{review['id']}",
        headers=auth("front_desk"),
        json={"resolution": "wrong_number", "note": "called: new owner since October"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["resolution"] == "wrong_number"
    body = client.get(f"/api/v1/consent/{PATIENT}", headers=admin).get_json()
    for category in ("marketing", "transactional"):
        state = body["categories"][category]
        assert (state["status"], state["may_send"]) == ("revoked", False)
        event = state["event"]
        assert (event["source"], event["action"]) == ("review", "revoke")
        assert event["evidence"]["reason"] == "number no longer the patient's"
        assert event["evidence"]["note"] == "called: new owner since October"


def test_an_unknown_resolution_names_the_choices(phone: Phone, client, admin, auth) -> None:
    phone.text("who dis")
    [review] = open_reviews(client, admin)
    response = client.post(
        f"/api/v1/reviews/{review['id']}", headers=auth("front_desk"), json={"resolution": "gone"}
    )
    assert response.status_code == 422
    assert "wrong_number" in response.get_json()["error"]["message"]
