"""Defects found in review, each pinned by the behaviour a user would notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from gateway import inbound, journal
from gateway.db import transaction
from tests.conftest import CLINIC, PATIENT, Clock, Phone
from workers import jobs

PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}


def grant(**extra: Any) -> dict[str, Any]:
    return {
        "number": PATIENT,
        "category": "marketing",
        "action": "grant",
        "source": "paper_form",
        "evidence": PAPER,
        **extra,
    }


def test_a_grant_dated_in_the_future_is_refused(client, auth, clock: Clock) -> None:
    soon = (clock.now + dt.timedelta(minutes=4)).isoformat()
    response = client.post("/api/v1/consent", headers=auth("admin"), json=grant(occurred_at=soon))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "occurred_at"


@pytest.mark.parametrize(
    "change",
    [
        {"source": "api", "evidence": {"disclosure_text": "I agree to receive offers by text"}},
        {"source": "import", "evidence": PAPER},
        {"evidence": {"disclosure_text": "ok", "form_id": "PF-7", "staff": "ana"}},
        {"evidence": {"disclosure_version": ["mkt-2026-01"], "form_id": "PF-7", "staff": "ana"}},
    ],
)
def test_marketing_consent_without_real_proof_is_unprovable(client, auth, change) -> None:
    response = client.post("/api/v1/consent", headers=auth("admin"), json=grant(**change))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unprovable_consent"


def test_evidence_cannot_arrive_already_erased(client, auth) -> None:
    body = grant(evidence={**PAPER, "note": {"erased": "abc"}})
    assert client.post("/api/v1/consent", headers=auth("admin"), json=body).status_code == 422


def test_verify_notices_the_newest_events_deleted(client, auth, phone: Phone, engine) -> None:
    phone.text("STOP")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM consent_state"))
        connection.execute(text("DELETE FROM consent_events WHERE id = 2"))
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, 2)


def test_an_erased_marker_on_a_disclosure_is_tampering(client, auth, engine) -> None:
    client.post("/api/v1/consent", headers=auth("admin"), json=grant())
    forged = '{"disclosure_version": {"erased": "x"}, "form_id": "PF-7", "staff": "ana"}'
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_events SET evidence = :e WHERE id = 1"), {"e": forged}
        )
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, 1)


def test_erasing_a_number_blocks_its_pending_messages(client, auth, clock: Clock, worker) -> None:
    later = (clock.now + dt.timedelta(days=1)).isoformat()
    message = client.post(
        "/api/v1/messages",
        headers=auth("front_desk"),
        json={
            "to": PATIENT,
            "body": "See you tomorrow",
            "category": "transactional",
            "send_at": later,
        },
    ).get_json()
    client.post(f"/api/v1/numbers/{PATIENT}/erase", headers=auth("admin"))
    clock.advance(days=1)
    assert jobs.deliver(message["id"]).startswith("skipped")
    done = client.get(f"/api/v1/messages/{message['id']}", headers=auth("admin")).get_json()
    assert (done["status"], done["decision"]["reason"], done["body"]) == ("blocked", "erased", None)


def test_reconcile_leaves_a_queued_message_whose_job_is_live(send, worker, clock: Clock) -> None:
    send(PATIENT)
    clock.advance(minutes=2)
    assert jobs.reconcile() == 0


def test_a_replayed_stop_records_no_reply_it_never_sent(
    runtime, clock: Clock, client, auth
) -> None:
    message = inbound.Inbound("SM" + "9" * 32, PATIENT, CLINIC, "STOP")
    journal.append(runtime.settings.journal_dir, message, clock.now)
    clock.advance(minutes=30)
    assert journal.replay_pending(runtime) == 1
    row = client.get("/api/v1/inbound", headers=auth("admin")).get_json()["items"][0]
    assert row["reply"] is None and row["received_at"] == "2026-11-24T18:00:00Z"
    event = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()[
        "categories"
    ]["transactional"]["event"]
    assert event["occurred_at"] == "2026-11-24T18:00:00Z"
    assert event["recorded_at"] == "2026-11-24T18:30:00Z"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/inbound?limit=%C2%B2",
        "/api/v1/inbound?since=0001-01-01T00:00:00%2B01:00",
        f"/api/v1/consent/{PATIENT}?at=9999-12-31T23:59:59-01:00",
        "/api/v1/inbound?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        "/api/v1/ledger/events?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        "/api/v1/messages?cursor=bXNnXwA=",
        "/api/v1/ledger/events?category=mark%00eting",
        "/api/v1/messages/msg_%00",
    ],
)
def test_odd_queries_get_a_client_error_not_a_500(client, auth, url) -> None:
    response = client.get(url, headers=auth("admin"))
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert response.get_json()["error"]["code"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, '{"to": "+12015550123", "body": "a\\u0000b", "category": "transactional"}'),
        ({}, '{"to": "+12015550123", "body": "x", "category": "transactional", "n": NaN}'),
        (
            {"Idempotency-Key": "k" * 201},
            '{"to": "+12015550123", "body": "x", "category": "transactional"}',
        ),
    ],
)
def test_odd_bodies_get_a_client_error_not_a_500(client, auth, headers, body) -> None:
    response = client.post(
        "/api/v1/messages",
        data=body,
        headers={**auth("front_desk"), **headers, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500 and response.get_json()["error"]["code"]


def test_a_webhook_body_with_a_nul_character_is_stored_without_it(
    phone: Phone, client, auth
) -> None:
    assert phone.text("ST\x00OP").status_code == 200
    item = client.get("/api/v1/inbound", headers=auth("admin")).get_json()["items"][0]
    assert item["body"] == "STOP" and item["intent"] == "opt_out"


def test_lone_surrogates_and_huge_ids_are_client_errors(client, auth) -> None:
    body = '{"to": "+12015550123", "body": "x\\ud800", "category": "transactional"}'
    response = client.post(
        "/api/v1/messages",
        data=body,
        headers={**auth("front_desk"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    big = client.post(
        "/api/v1/reviews/9999999999", headers=auth("admin"), json={"resolution": "opt_out"}
    )
    assert big.status_code == 404


@pytest.mark.postgres_only
def test_an_erasure_committed_while_a_worker_waits_wins(
    client, auth, runtime, worker, twilio, clock: Clock
) -> None:
    import threading

    from gateway import erasure, outbound

    message = client.post(
        "/api/v1/messages",
        headers=auth("front_desk"),
        json={"to": PATIENT, "body": "SECRET knee", "category": "transactional"},
    ).get_json()
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message["id"], clock.now)
    results: list[Any] = []
    with runtime.sessions() as eraser:
        eraser.begin()
        erasure.erase_number(eraser, PATIENT, "token:admin", clock.now)  # holds the number
        worker_thread = threading.Thread(
            target=lambda: results.append(_deliver(runtime, worker, message["id"], clock.now))
        )
        worker_thread.start()
        worker_thread.join(timeout=0.5)
        assert worker_thread.is_alive()  # waiting for the number's lock
        eraser.commit()
    worker_thread.join(timeout=10)
    assert twilio.sent == []
    done = client.get(f"/api/v1/messages/{message['id']}", headers=auth("admin")).get_json()
    assert (done["status"], done["body"]) == ("blocked", None)


def _deliver(runtime: Any, worker: Any, message_id: str, now: dt.datetime) -> Any:
    from gateway import outbound

    with transaction(runtime.sessions) as session:
        return outbound.deliver(session, runtime.rules, worker.sender, message_id, now)
