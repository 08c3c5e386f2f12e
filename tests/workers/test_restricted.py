"""No PHI by text (HIPAA §164.522(b), issue 10 item 5): a restricted number receives a
template's private text; a free-text body, or a template without one, is blocked `restricted`.
End to end: API → queue → worker → Twilio's HTTP API (faked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from gateway import erasure
from gateway.db import transaction
from gateway.models import OutboundMessage
from tests.conftest import PATIENT, Phone

ASKED = {"staff": "Dana", "method": "in_person", "note": "asked at check-in: no details by text"}
PRIVATE = (
    "Riverside Family Clinic: you have an appointment with us soon. Call (201) 555-0100 for "
    "the details. Reply C to confirm, R to reschedule or NO if you cannot come."
)
VISIT = {"provider": "Dr. Rivera", "appointment_time": "Tue 3 PM"}


def restrict(client: Any, auth: Any, action: str = "grant", **extra: Any) -> Any:
    body = {"number": PATIENT, "category": "no_phi_by_text", "action": action, **extra}
    body.setdefault("evidence", ASKED)
    return client.post("/api/v1/consent", headers=auth("front_desk"), json=body)


def remind(client: Any, auth: Any, template: str = "appointment_reminder", **fields: Any) -> Any:
    payload = {"to": PATIENT, "template": template, "fields": fields or VISIT}
    response = client.post("/api/v1/messages", headers=auth("front_desk"), json=payload)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_a_restricted_number_gets_the_private_text(client, auth, drain, fetch, twilio) -> None:
    queued = remind(client, auth)  # queued before the request: the worker decides at send time
    assert restrict(client, auth).status_code == 201
    drain()
    sent = fetch(queued["id"])
    assert (sent["status"], sent["decision"]["reason"]) == ("sent", "ok")
    assert sent["decision"]["text"] == "private_text"
    assert sent["body"] == PRIVATE  # the message keeps the text that went
    [went] = twilio.sent
    assert went["Body"] == PRIVATE and "Dr. Rivera" not in went["Body"]


def test_a_free_text_body_to_a_restricted_number_is_blocked_restricted(
    client, auth, send, drain, fetch, twilio
) -> None:
    restrict(client, auth)
    queued = send(PATIENT, "Your test results are ready")
    drain()
    blocked = fetch(queued["id"])
    assert (blocked["status"], blocked["decision"]["reason"]) == ("blocked", "restricted")
    assert blocked["decision"]["text"] is None
    assert twilio.sent == []


def test_a_template_without_a_private_text_is_blocked_restricted(
    client, auth, drain, fetch, twilio
) -> None:
    paper = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}
    offer = {"number": PATIENT, "category": "marketing", "action": "grant"}
    offer |= {"source": "paper_form", "evidence": paper}
    assert client.post("/api/v1/consent", headers=auth("admin"), json=offer).status_code == 201
    restrict(client, auth)
    queued = remind(client, auth, "flu_shot_offer", first_name="Ana")
    drain()
    assert fetch(queued["id"])["decision"]["reason"] == "restricted"
    assert twilio.sent == []


def test_a_lifted_restriction_sends_the_usual_text_again(
    client, auth, drain, fetch, twilio
) -> None:
    restrict(client, auth)
    assert restrict(client, auth, "revoke").status_code == 201
    queued = remind(client, auth)
    drain()
    sent = fetch(queued["id"])
    assert sent["decision"]["text"] == "body" and "Dr. Rivera" in twilio.sent[0]["Body"]


def test_stop_and_start_leave_the_restriction_in_force(
    client, auth, phone: Phone, drain, fetch, twilio
) -> None:
    restrict(client, auth)
    phone.text("STOPALL")
    phone.text("START")
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).get_json()
    assert "no_phi_by_text" not in state["categories"]
    assert state["restrictions"]["no_phi_by_text"]["in_force"] is True
    queued = remind(client, auth)
    drain()
    assert fetch(queued["id"])["decision"]["text"] == "private_text"


def test_the_consent_api_shows_the_restriction_with_its_event_and_as_of(
    client, auth, clock
) -> None:
    before = clock.now
    clock.advance(hours=1)
    event = restrict(client, auth).get_json()["event"]
    assert (event["category"], event["source"], event["evidence"]) == (
        "no_phi_by_text",
        "front_desk",
        ASKED,
    )
    now = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).get_json()
    assert now["restrictions"]["no_phi_by_text"] == {"in_force": True, "event": event}
    at = f"{before:%Y-%m-%dT%H:%M:%SZ}"
    then = client.get(f"/api/v1/consent/{PATIENT}?at={at}", headers=auth("auditor")).get_json()
    assert then["restrictions"]["no_phi_by_text"] == {"in_force": False, "event": None}


def test_recording_a_restriction_needs_the_patients_request_on_record(client, auth) -> None:
    refused = restrict(client, auth, evidence={"staff": "Dana"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert (error["code"], error["field"]) == ("unprovable_request", "evidence")
    assert "method" in error["message"] and "note" in error["message"]
    by_api = restrict(client, auth, source="api")
    assert by_api.get_json()["error"]["field"] == "source"
    denied = client.post(
        "/api/v1/consent",
        headers=auth("auditor"),
        json={"number": PATIENT, "category": "no_phi_by_text", "action": "grant"},
    )
    assert denied.status_code == 403


def test_erasure_clears_a_waiting_messages_private_text(client, auth, runtime, clock) -> None:
    later = (clock.now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {"to": PATIENT, "template": "appointment_reminder", "fields": VISIT}
    payload["send_at"] = later
    assert client.post("/api/v1/messages", headers=auth("front_desk"), json=payload).status_code
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage.private_body)).scalar_one() == PRIVATE
        erasure.erase_number(session, PATIENT, "admin", clock.now)
    with transaction(runtime.sessions) as session:
        row = session.execute(select(OutboundMessage)).scalar_one()
    assert (row.body, row.private_body, row.status) == (None, None, "blocked")


def test_the_retention_purge_clears_private_texts_never_sent(
    client, auth, runtime, clock, drain, fetch, phone: Phone
) -> None:
    phone.text("STOPALL")
    queued = remind(client, auth)
    drain()
    assert fetch(queued["id"])["decision"]["reason"] == "opted_out"
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OutboundMessage.private_body)).scalar_one() == PRIVATE
        erasure.purge_older_than(session, clock.now + dt.timedelta(days=91), 90, "retention")
    with transaction(runtime.sessions) as session:
        assert set(session.execute(select(OutboundMessage.private_body)).scalars()) == {None}


def test_the_ledger_filters_by_the_restriction_like_a_category(client, auth) -> None:
    event = restrict(client, auth).get_json()["event"]
    found = client.get(
        "/api/v1/ledger/events?category=no_phi_by_text", headers=auth("auditor")
    ).get_json()
    assert [e["id"] for e in found["items"]] == [event["id"]]


def test_a_restricted_number_still_gets_the_private_text_after_a_transient_error(
    client, auth, drain, fetch, twilio
) -> None:
    restrict(client, auth)
    queued = remind(client, auth)
    twilio.answer((503, 20500), 201)  # Twilio down for a moment, then back
    drain()
    sent = fetch(queued["id"])
    assert (sent["status"], sent["decision"]["reason"]) == ("sent", "ok")
    assert [a["result"] for a in sent["attempts"]] == ["error", "sent"]
    assert [went["Body"] for went in twilio.sent] == [PRIVATE, PRIVATE]
