"""Small things a new user tripped over (issue 9): each answer says plainly what is wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import PATIENT, Phone

PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}
MESSAGE = {"to": PATIENT, "category": "transactional", "body": "Your visit is Monday 9:00"}


def error_of(response) -> dict[str, str]:
    return dict(response.get_json()["error"])


@pytest.mark.parametrize("send_at", ["2026-11-25T10:00:00", "2026-11-25 10:00", "2026-11-25"])
def test_a_send_at_without_an_offset_is_refused_naming_send_at(client, auth, send_at) -> None:
    # 10:00 of which clock? Read as UTC it would reach an Eastern patient at 5 in the morning.
    response = client.post(
        "/api/v1/messages", headers=auth("front_desk"), json=MESSAGE | {"send_at": send_at}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert (error["field"], error["code"]) == ("send_at", "invalid_time")
    assert "offset" in error["message"] and "Z" in error["message"]


@pytest.mark.parametrize("send_at", ["2026-11-25T15:00:00Z", "2026-11-25T10:00:00-05:00"])
def test_a_send_at_with_an_offset_is_taken(client, auth, send_at) -> None:
    response = client.post(
        "/api/v1/messages", headers=auth("front_desk"), json=MESSAGE | {"send_at": send_at}
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["send_at"] == "2026-11-25T15:00:00Z"


def test_the_csv_export_names_its_charset_once(client, auth) -> None:
    response = client.get("/api/v1/ledger/export?format=csv", headers=auth("auditor"))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_verified_ledger_says_ok_with_its_count(client, auth, phone: Phone) -> None:
    phone.text("STOP")
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert verdict["ok"] and verdict["count"] == verdict["verified"] == 2
    assert (
        verdict["head"] != "0" * 64
        and verdict["message"] == "OK: 2 events verified (2 not sealed yet)"
    )


def test_a_failed_verify_does_not_read_like_an_empty_ledger(
    client, auth, phone: Phone, engine
) -> None:
    phone.text("STOP")
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_events SET category = 'x' WHERE id = 1"))
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, 1)
    # Two events are on file; none could be verified; no head can be vouched for.
    assert verdict["count"] == 2 and verdict["verified"] == 0 and verdict["head"] is None
    assert verdict["message"].startswith("FAILED at event 1: ")
    assert "does not match" in verdict["message"]


@pytest.mark.parametrize(
    "path", ["/api/v1/consent/{n}", "/api/v1/numbers/{n}/export", "/api/v1/numbers/{n}/disclosures"]
)
@pytest.mark.parametrize("number", ["not-a-number", "+999123", "1" * 30, "12"])
def test_a_bad_number_in_the_path_gets_our_own_message(client, auth, path, number) -> None:
    response = client.get(path.format(n=number), headers=auth("admin"))
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_phone", "number")
    # phonenumbers says "(1) The string supplied did not seem to be a phone number."
    assert "string supplied" not in error["message"] and "(1)" not in error["message"]
    assert "+12015550123" in error["message"]  # and shows how to write one


def test_a_grant_without_a_source_is_reported_as_missing_source(client, auth) -> None:
    body = {"number": PATIENT, "category": "marketing", "action": "grant", "evidence": PAPER}
    response = client.post("/api/v1/consent", headers=auth("front_desk"), json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("required", "source")
    assert "paper_form" in error["message"]  # the sources it may be


def test_a_revoke_without_a_source_is_still_recorded_as_the_api(client, auth) -> None:
    body = {"number": PATIENT, "category": "marketing", "action": "revoke"}
    response = client.post("/api/v1/consent", headers=auth("front_desk"), json=body)
    assert response.status_code == 201 and response.get_json()["event"]["source"] == "api"


def test_a_null_source_is_refused_not_taken_as_left_out(client, auth) -> None:
    body = {"number": PATIENT, "category": "marketing", "action": "revoke", "source": None}
    response = client.post("/api/v1/consent", headers=auth("front_desk"), json=body)
    assert response.status_code == 422 and error_of(response)["field"] == "source"
