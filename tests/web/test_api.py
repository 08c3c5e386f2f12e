"""The JSON API: consent, inbound, reviews, roles and errors (SPEC §8–§10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PATIENT, Clock, Phone

PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}


def grant(category: str = "marketing", **extra: Any) -> dict[str, Any]:
    return {
        "number": PATIENT,
        "category": category,
        "action": "grant",
        "source": "paper_form",
        "evidence": PAPER,
        **extra,
    }


def test_consent_shows_each_category_with_the_event_behind_it(client, auth) -> None:
    posted = client.post("/api/v1/consent", headers=auth("front_desk"), json=grant())
    assert posted.status_code == 201
    event = posted.get_json()["event"]
    body = client.get("/api/v1/consent/(201) 555-0123", headers=auth("auditor")).get_json()
    assert body["number"] == PATIENT and body["at"].endswith("Z")
    marketing, care = body["categories"]["marketing"], body["categories"]["transactional"]
    assert marketing["status"] == "granted" and marketing["may_send"] is True
    assert marketing["event"]["id"] == event["id"] and len(marketing["event"]["hash"]) == 64
    assert care == {"status": "none", "may_send": True, "event": None, "corrected_event": None}


def test_consent_as_of_an_earlier_instant(client, auth, clock: Clock, phone: Phone) -> None:
    client.post("/api/v1/consent", headers=auth("admin"), json=grant())
    before_stop = clock.now
    clock.advance(hours=2)
    phone.text("STOP")
    then = client.get(
        f"/api/v1/consent/{PATIENT}?at={before_stop:%Y-%m-%dT%H:%M:%SZ}", headers=auth("auditor")
    ).get_json()
    now = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).get_json()
    assert then["categories"]["marketing"]["status"] == "granted"
    assert then["categories"]["transactional"]["status"] == "none"
    assert now["categories"]["marketing"]["status"] == "revoked"


def test_marketing_grant_without_disclosure_is_unprovable(client, auth) -> None:
    body = grant(evidence={"form_id": "PF-7", "staff": "ana"})
    response = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unprovable_consent"
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    assert state["categories"]["marketing"]["status"] == "none"


def test_web_form_grant_needs_the_forms_own_evidence(client, auth) -> None:
    evidence = {
        "disclosure_text": "I agree to receive offers…",
        "page_url": "https://c.test/f",
        "ip": "192.0.2.7",
        "user_agent": "Mozilla/5.0",
    }
    body = grant(source="web_form", evidence=evidence)
    refused = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert refused.status_code == 422
    assert "checkbox_unchecked_by_default" in refused.get_json()["error"]["message"]
    body["evidence"] = {**evidence, "checkbox_unchecked_by_default": True}
    assert client.post("/api/v1/consent", headers=auth("admin"), json=body).status_code == 201


def test_care_grant_needs_no_disclosure(client, auth) -> None:
    body = grant("transactional", source="front_desk", evidence={})
    assert client.post("/api/v1/consent", headers=auth("front_desk"), json=body).status_code == 201


def test_auditors_cannot_write_consent(client, auth) -> None:
    response = client.post("/api/v1/consent", headers=auth("auditor"), json=grant())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_no_valid_token_is_401(client, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(f"/api/v1/consent/{PATIENT}", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("number", ["12345", "not a phone", "+1 201 555 012"])
def test_unknown_number_format_is_422(client, auth, number) -> None:
    response = client.get(f"/api/v1/consent/{number}", headers=auth("admin"))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_phone"
    posted = client.post("/api/v1/consent", headers=auth("admin"), json=grant(number=number))
    assert posted.status_code == 422
    assert posted.get_json()["error"] == {**posted.get_json()["error"], "field": "number"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("not json", 400, None),
        ([1, 2], 400, None),
        ({**grant(), "action": "maybe"}, 422, "action"),
        ({**grant(), "category": "gossip"}, 422, "category"),
        ({**grant(), "source": "sms_keyword"}, 422, "source"),
        ({**grant(), "occurred_at": "yesterday"}, 422, "occurred_at"),
        ({**grant(), "occurred_at": "2099-01-01T00:00:00Z"}, 422, "occurred_at"),
        ({**grant(), "evidence": "a string"}, 422, "evidence"),
    ],
)
def test_bad_input_gets_a_json_error_never_a_500(client, auth, body, status, field) -> None:
    if isinstance(body, str):
        response = client.post(
            "/api/v1/consent",
            headers={**auth("admin"), "Content-Type": "application/json"},
            data=body,
        )
    else:
        response = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert response.status_code == status
    assert response.get_json()["error"].get("field") == field


def test_unknown_route_and_method_are_json_errors(client, auth) -> None:
    assert client.get("/api/v1/nothing", headers=auth("admin")).get_json()["error"]["code"]
    response = client.delete(f"/api/v1/consent/{PATIENT}", headers=auth("admin"))
    assert response.status_code == 405 and "error" in response.get_json()


def test_inbound_list_filters_and_pages(client, auth, phone: Phone, clock: Clock) -> None:
    phone.text("HELP")
    phone.text("STOP", frm="+13055550142")
    clock.advance(hours=1)
    phone.text("hello there")
    reader = auth("auditor")
    everything = client.get("/api/v1/inbound", headers=reader).get_json()["items"]
    assert [i["intent"] for i in everything] == ["none", "opt_out", "help"]
    assert everything[1]["from"] == "+13055550142" and everything[1]["categories"]
    stops = client.get("/api/v1/inbound?intent=opt_out", headers=reader).get_json()["items"]
    assert [i["body"] for i in stops] == ["STOP"]
    mine = client.get(f"/api/v1/inbound?from={PATIENT.replace('+', '%2B')}", headers=reader)
    assert len(mine.get_json()["items"]) == 2
    later = client.get("/api/v1/inbound?since=2026-11-24T18:30:00Z", headers=reader)
    assert [i["body"] for i in later.get_json()["items"]] == ["hello there"]
    early = client.get("/api/v1/inbound?until=2026-11-24T18:30:00Z", headers=reader)
    assert len(early.get_json()["items"]) == 2
    page = client.get("/api/v1/inbound?limit=2", headers=reader).get_json()
    rest = client.get(f"/api/v1/inbound?limit=2&cursor={page['next_cursor']}", headers=reader)
    assert [i["body"] for i in page["items"] + rest.get_json()["items"]] == [
        i["body"] for i in everything
    ]
    assert rest.get_json()["next_cursor"] is None
    assert client.get("/api/v1/inbound?intent=maybe", headers=reader).status_code == 422
    assert client.get("/api/v1/inbound?limit=9999", headers=reader).status_code == 422


def test_staff_resolve_a_review_as_an_opt_out(client, auth, phone: Phone) -> None:
    phone.text("Reply STOP to unsubscribe")
    review = client.get("/api/v1/reviews", headers=auth("auditor")).get_json()["items"][0]
    forbidden = client.post(
        f"/api/v1/reviews/{review['id']}", headers=auth("auditor"), json={"resolution": "opt_out"}
    )
    assert forbidden.status_code == 403
    done = client.post(
        f"/api/v1/reviews/{review['id']}",
        headers=auth("front_desk"),
        json={"resolution": "opt_out", "note": "patient confirmed by phone"},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "resolved" and done.get_json()["events"]
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).get_json()
    event = state["categories"]["transactional"]["event"]
    assert event["source"] == "review" and event["actor"] == "token:front_desk"
    again = client.post(
        f"/api/v1/reviews/{review['id']}", headers=auth("admin"), json={"resolution": "no_action"}
    )
    assert again.status_code == 409
    assert (
        client.get("/api/v1/reviews?status=open", headers=auth("admin")).get_json()["items"] == []
    )


def test_review_not_found_and_bad_resolution(client, auth, phone: Phone) -> None:
    assert (
        client.post(
            "/api/v1/reviews/999", headers=auth("admin"), json={"resolution": "opt_out"}
        ).status_code
        == 404
    )
    phone.text("Reply STOP to unsubscribe")
    review = client.get("/api/v1/reviews", headers=auth("admin")).get_json()["items"][0]
    bad = client.post(
        f"/api/v1/reviews/{review['id']}", headers=auth("admin"), json={"resolution": "maybe"}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "resolution"


def test_overdue_reviews_are_visible(client, auth, phone: Phone, clock: Clock) -> None:
    phone.text("Reply STOP to unsubscribe")
    clock.advance(days=30)
    review = client.get("/api/v1/reviews?status=open", headers=auth("auditor")).get_json()
    assert review["items"][0]["overdue"] is True


def test_healthz_and_openapi(client) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/v1/consent",
        "/api/v1/consent/{number}",
        "/api/v1/inbound",
        "/api/v1/reviews",
        "/api/v1/reviews/{review_id}",
    } <= set(spec["paths"])
