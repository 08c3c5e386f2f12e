"""Amendment through the API (SPEC §4; issue 10, item 6): an admin corrects a wrongly recorded
event with a `correction` event that names it and why; the state follows, the chain does not
change, and the consent API shows both the correction and what it voided."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.conftest import PATIENT, Clock, Phone
from tests.web.test_audit import queue_message

PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}
WHY = "the STOP came from +1 305 555 0142; the desk typed it against this number"


def correct(client: FlaskClient, headers: dict[str, str], corrects: Any, **extra: Any) -> Any:
    body = {"corrects": corrects, "reason": WHY, **extra}
    return client.post("/api/v1/consent/corrections", headers=headers, json=body)


def consent(client: FlaskClient, headers: dict[str, str], at: str = "") -> dict[str, Any]:
    query = f"?at={at}" if at else ""
    answer = client.get(f"/api/v1/consent/{PATIENT}{query}", headers=headers)
    assert answer.status_code == 200
    return dict(answer.get_json()["categories"])


def stop_on_record(client: FlaskClient, auth: Any) -> dict[str, Any]:
    """A paper marketing grant, then a STOP the desk recorded against this number by mistake."""
    grant = {"number": PATIENT, "category": "marketing", "action": "grant"}
    posted = client.post(
        "/api/v1/consent",
        headers=auth("admin"),
        json={**grant, "source": "paper_form", "evidence": PAPER},
    )
    assert posted.status_code == 201
    revoke = {**grant, "action": "revoke", "source": "front_desk", "evidence": {"staff": "ana"}}
    stop = client.post("/api/v1/consent", headers=auth("front_desk"), json=revoke)
    assert stop.status_code == 201
    return dict(stop.get_json()["event"])


def test_a_corrected_stop_leaves_the_grant_before_it_in_force(client, auth, clock: Clock) -> None:
    stop = stop_on_record(client, auth)
    assert consent(client, auth("auditor"))["marketing"]["may_send"] is False
    clock.advance(minutes=5)
    answer = correct(client, auth("admin"), stop["id"])
    assert answer.status_code == 201, answer.get_json()
    event = answer.get_json()["event"]
    assert (event["source"], event["action"], event["corrects"]) == (
        "correction",
        "grant",
        stop["id"],
    )
    assert event["evidence"]["reason"] == WHY and event["evidence"]["corrects"] == stop["id"]
    assert event["actor"].startswith("token:")
    assert answer.get_json()["corrected_event"]["id"] == stop["id"]
    marketing = consent(client, auth("auditor"))["marketing"]
    assert (marketing["status"], marketing["may_send"]) == ("granted", True)
    assert marketing["event"]["id"] == event["id"] and marketing["event"]["corrects"] == stop["id"]
    assert marketing["corrected_event"] == {**stop, "corrects": None}


def test_as_of_before_the_correction_the_stop_was_in_force_and_says_it_was_corrected(
    client, auth, clock: Clock
) -> None:
    stop = stop_on_record(client, auth)
    before = f"{clock.now:%Y-%m-%dT%H:%M:%SZ}"
    clock.advance(hours=1)
    fixed = correct(client, auth("admin"), stop["id"]).get_json()["event"]
    then = consent(client, auth("auditor"), at=before)["marketing"]
    assert (then["status"], then["event"]["id"]) == ("revoked", stop["id"])
    assert then["event"]["corrected_by"] == fixed["id"]
    assert then["corrected_event"] is None


def test_a_stop_texted_from_the_wrong_phone_corrected_leaves_no_consent_and_care_flows(
    client, auth, phone: Phone, clock: Clock
) -> None:
    phone.text("STOP")  # the only thing ever recorded for this number
    care = consent(client, auth("admin"))["transactional"]
    assert care["may_send"] is False
    clock.advance(minutes=1)
    assert correct(client, auth("admin"), care["event"]["id"]).status_code == 201
    after = consent(client, auth("admin"))["transactional"]
    assert (after["status"], after["may_send"]) == ("none", True)
    assert after["event"]["source"] == "correction"
    assert after["corrected_event"]["source"] == "sms_keyword"


def test_a_voided_stop_no_longer_needs_the_patient_to_lift_it(
    client, auth, phone: Phone, clock: Clock
) -> None:
    phone.text("STOP")
    body = {"number": PATIENT, "category": "marketing", "action": "grant", "source": "paper_form"}
    refused = client.post(
        "/api/v1/consent", headers=auth("admin"), json={**body, "evidence": PAPER}
    )
    assert refused.status_code == 422
    stop_id = consent(client, auth("admin"))["marketing"]["event"]["id"]
    clock.advance(minutes=1)
    assert correct(client, auth("admin"), stop_id).status_code == 201
    clock.advance(minutes=1)
    again = client.post("/api/v1/consent", headers=auth("admin"), json={**body, "evidence": PAPER})
    assert again.status_code == 201, again.get_json()


def test_correcting_an_event_not_in_force_keeps_the_state(client, auth, clock: Clock) -> None:
    stop = stop_on_record(client, auth)
    grant = {"number": PATIENT, "category": "marketing", "action": "grant", "source": "front_desk"}
    story = {**PAPER, "method": "in_person", "note": "asked at the desk to resume offers"}
    clock.advance(minutes=1)
    client.post("/api/v1/consent", headers=auth("admin"), json={**grant, "evidence": story})
    clock.advance(minutes=1)
    assert correct(client, auth("admin"), stop["id"]).status_code == 201
    assert consent(client, auth("auditor"))["marketing"]["status"] == "granted"


@pytest.mark.parametrize("role", ["front_desk", "auditor"])
def test_only_an_admin_corrects(client, auth, clock: Clock, role: str) -> None:
    stop = stop_on_record(client, auth)
    answer = correct(client, auth(role), stop["id"])
    assert answer.status_code == 403
    assert consent(client, auth("admin"))["marketing"]["status"] == "revoked"


def test_an_event_is_corrected_once_and_a_correction_not_at_all(client, auth, clock: Clock) -> None:
    stop = stop_on_record(client, auth)
    fixed = correct(client, auth("admin"), stop["id"]).get_json()["event"]
    twice = correct(client, auth("admin"), stop["id"])
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "already_corrected"
    undo = correct(client, auth("admin"), fixed["id"])
    assert undo.status_code == 422
    assert undo.get_json()["error"] == {
        "code": "not_correctable",
        "message": undo.get_json()["error"]["message"],
        "field": "corrects",
    }


@pytest.mark.parametrize(
    ("corrects", "extra", "status", "field"),
    [
        (999, {}, 404, "corrects"),
        ("1", {}, 422, "corrects"),
        (0, {}, 422, "corrects"),
        (2**40, {}, 422, "corrects"),
        (True, {}, 422, "corrects"),
        (1, {"reason": "   "}, 422, "reason"),
        (1, {"reason": "x" * 501}, 422, "reason"),
        (1, {"number": PATIENT}, 422, "number"),
    ],
)
def test_a_bad_correction_is_refused_by_field_and_changes_nothing(
    client, auth, corrects: Any, extra: dict[str, Any], status: int, field: str
) -> None:
    stop_on_record(client, auth)
    answer = correct(client, auth("admin"), corrects, **extra)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]["field"] == field
    assert consent(client, auth("admin"))["marketing"]["status"] == "revoked"


def test_a_correction_without_a_reason_is_refused(client, auth) -> None:
    stop = stop_on_record(client, auth)
    answer = client.post(
        "/api/v1/consent/corrections", headers=auth("admin"), json={"corrects": stop["id"]}
    )
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == "reason"


def test_the_ledger_lists_corrections_with_their_evidence(client, auth, clock: Clock) -> None:
    stop = stop_on_record(client, auth)
    correct(client, auth("admin"), stop["id"])
    items = client.get(
        "/api/v1/ledger/events?source=correction", headers=auth("auditor")
    ).get_json()["items"]
    assert [(i["source"], i["evidence"]["corrects"]) for i in items] == [("correction", stop["id"])]
    listed = client.get(f"/api/v1/ledger/events?number={PATIENT}", headers=auth("auditor"))
    marks = {i["id"]: i["corrected_by"] for i in listed.get_json()["items"]}
    assert marks == {1: None, stop["id"]: items[0]["id"], items[0]["id"]: None}
    export = client.get("/api/v1/ledger/export?format=jsonl", headers=auth("auditor"))
    assert b'"source": "correction"' in export.data or b'"source":"correction"' in export.data


def test_a_message_decided_before_the_correction_keeps_its_proof_and_care_flows_after(
    client, auth, phone: Phone, clock: Clock, drain, twilio
) -> None:
    phone.text("STOP")  # recorded against the wrong patient
    blocked = queue_message(client, auth, "Your visit is Monday")
    drain()
    stop_id = consent(client, auth("admin"))["transactional"]["event"]["id"]
    clock.advance(minutes=5)
    fixed = correct(client, auth("admin"), stop_id).get_json()["event"]
    proof = client.get(f"/api/v1/messages/{blocked}/proof", headers=auth("auditor")).get_json()
    assert proof["decision"]["reason"] == "opted_out"
    assert proof["decisive_event"]["id"] == stop_id
    assert proof["consent_at_decision"]["events_in_force"]["transactional"]["id"] == stop_id
    sent = queue_message(client, auth, "Your visit is Tuesday")
    drain()
    decision = client.get(f"/api/v1/messages/{sent}", headers=auth("admin")).get_json()["decision"]
    assert (decision["outcome"], decision["consent_event_id"]) == ("send", fixed["id"])


def test_a_correction_edited_by_sql_is_named_by_verify_and_reading_still_answers(
    client, auth, engine, clock: Clock
) -> None:
    stop = stop_on_record(client, auth)
    fixed = correct(client, auth("admin"), stop["id"]).get_json()["event"]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_events SET evidence = :e WHERE id = :id"),
            {"e": '{"corrects": "all", "status": "granted"}', "id": fixed["id"]},
        )
    assert client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).status_code == 200
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, fixed["id"])


def test_a_revoke_dated_before_a_correction_but_recorded_after_it_takes_effect(
    client, auth, clock: Clock
) -> None:
    stop = stop_on_record(client, auth)
    dated = f"{clock.now + dt.timedelta(minutes=10):%Y-%m-%dT%H:%M:%SZ}"
    clock.advance(minutes=30)
    fixed = correct(client, auth("admin"), stop["id"]).get_json()["event"]
    clock.advance(minutes=30)
    between = f"{clock.now:%Y-%m-%dT%H:%M:%SZ}"
    clock.advance(minutes=30)
    # A paper opt-out signed between the wrong STOP and the correction, entered only now.
    revoke = {"number": PATIENT, "category": "marketing", "action": "revoke"}
    paper = {
        "source": "paper_form",
        "occurred_at": dated,
        "evidence": {"form_id": "PF-9", "staff": "ana"},
    }
    late = client.post("/api/v1/consent", headers=auth("admin"), json={**revoke, **paper})
    assert late.status_code == 201, late.get_json()
    now = consent(client, auth("auditor"))["marketing"]
    assert (now["status"], now["may_send"], now["event"]["id"]) == (
        "revoked",
        False,
        late.get_json()["event"]["id"],
    )
    then = consent(client, auth("auditor"), at=between)["marketing"]
    assert (then["status"], then["event"]["id"]) == ("granted", fixed["id"])
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert verdict["ok"] is True
