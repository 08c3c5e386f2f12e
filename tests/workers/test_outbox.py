"""The outbox API, idempotency, reconciliation after a Redis loss, delivery callbacks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.adapters.twilio_sms import sign
from tests.conftest import AUTH_TOKEN, BASE_URL, PATIENT, Clock
from workers import jobs

OTHERS = ["+12015550124", "+12015550125", "+12015550126"]


def test_the_same_idempotency_key_gives_the_same_message(send, client, auth, redis) -> None:
    first = send(PATIENT, "See you Monday", key="visit-42")
    again = send(PATIENT, "See you Monday", key="visit-42")
    assert first["id"] == again["id"]
    listed = client.get("/api/v1/messages", headers=auth("auditor")).get_json()["items"]
    assert [m["id"] for m in listed] == [first["id"]]
    other = client.post(
        "/api/v1/messages",
        headers={**auth("front_desk"), "Idempotency-Key": "visit-42"},
        json={"to": PATIENT, "body": "See you Tuesday", "category": "transactional"},
    )
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"to": "12345", "body": "x", "category": "transactional"}, 422, "to"),
        ({"to": PATIENT, "body": "", "category": "transactional"}, 422, "body"),
        ({"to": PATIENT, "body": "x" * 1601, "category": "transactional"}, 422, "body"),
        ({"to": PATIENT, "body": "x", "category": "gossip"}, 422, "category"),
        (
            {"to": PATIENT, "body": "x", "category": "marketing", "sender": "+12015550199"},
            422,
            "sender",
        ),
        (
            {"to": PATIENT, "body": "x", "category": "transactional", "send_at": "soon"},
            422,
            "send_at",
        ),
        ({"to": PATIENT, "template": "nope", "fields": {}}, 422, "template"),
        ({"to": PATIENT, "template": "appointment_reminder", "fields": {}}, 422, "fields"),
        ([], 400, None),
    ],
)
def test_bad_messages_are_refused_with_the_field(client, auth, payload, status, field) -> None:
    response = client.post("/api/v1/messages", headers=auth("front_desk"), json=payload)
    assert response.status_code == status
    assert response.get_json()["error"].get("field") == field


def test_auditors_cannot_send(client, auth) -> None:
    body = {"to": PATIENT, "body": "x", "category": "transactional"}
    assert client.post("/api/v1/messages", headers=auth("auditor"), json=body).status_code == 403


def test_a_template_is_filled_in_and_takes_its_category(send, fetch, drain, twilio) -> None:
    fields = {"provider": "Dr. Rivera", "appointment_time": "Mon 9:00"}
    message = send(
        PATIENT, body=None, category=None, template="appointment_reminder", fields=fields
    )
    drain()
    done = fetch(message["id"])
    assert done["category"] == "transactional" and "Dr. Rivera" in twilio.sent[0]["Body"]


def test_messages_list_filters_and_pages(send, client, auth, clock: Clock) -> None:
    ids = [send(n)["id"] for n in [PATIENT, *OTHERS]]
    clock.advance(hours=1)
    promo = send(PATIENT, "Offer", "marketing")["id"]
    reader = auth("auditor")
    mine = client.get("/api/v1/messages?to=%2B12015550123", headers=reader).get_json()["items"]
    assert [m["id"] for m in mine] == [promo, ids[0]]
    marketing = client.get("/api/v1/messages?category=marketing", headers=reader).get_json()
    assert [m["id"] for m in marketing["items"]] == [promo]
    queued = client.get("/api/v1/messages?status=queued", headers=reader).get_json()["items"]
    assert len(queued) == 5
    late = client.get("/api/v1/messages?since=2026-11-24T18:30:00Z", headers=reader).get_json()
    assert [m["id"] for m in late["items"]] == [promo]
    page = client.get("/api/v1/messages?limit=3", headers=reader).get_json()
    rest = client.get(f"/api/v1/messages?limit=3&cursor={page['next_cursor']}", headers=reader)
    seen = [m["id"] for m in page["items"] + rest.get_json()["items"]]
    assert seen == sorted([*ids, promo], reverse=True) and rest.get_json()["next_cursor"] is None
    assert client.get("/api/v1/messages/msg_nope", headers=reader).status_code == 404
    assert client.get("/api/v1/messages?status=lost", headers=reader).status_code == 422


def test_after_redis_is_flushed_reconcile_sends_each_message_exactly_once(
    send, fetch, drain, twilio, redis, clock: Clock, worker
) -> None:
    messages = [send(n)["id"] for n in [PATIENT, *OTHERS]]
    redis.flushdb()  # every queued job is gone; the rows are not
    drain()
    assert twilio.sent == []
    assert jobs.reconcile() == 0  # not yet past the threshold: they may just be slow
    clock.advance(seconds=worker.stale_after.total_seconds() + 1)
    assert jobs.reconcile() == 4
    assert jobs.reconcile() == 0  # their new jobs are live: never enqueued twice
    drain()
    assert sorted(m["To"] for m in twilio.sent) == sorted([PATIENT, *OTHERS])
    assert {fetch(m)["status"] for m in messages} == {"sent"}
    clock.advance(hours=1)
    assert jobs.reconcile() == 0
    drain()
    assert len(twilio.sent) == 4


def test_a_deferred_message_whose_job_was_lost_is_picked_up(
    send, fetch, drain, twilio, client, auth, redis, clock: Clock
) -> None:
    from tests.workers.test_deliver import grant

    grant(client, auth)
    clock.now = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)  # night: deferred
    message = send(PATIENT, "Offer", "marketing")
    drain()
    redis.flushdb()
    clock.now = dt.datetime(2026, 11, 25, 13, 5, tzinfo=dt.UTC)
    assert jobs.reconcile() == 1
    drain()
    assert fetch(message["id"])["status"] == "sent" and len(twilio.sent) == 1


def _status(client: Any, sid: str, state: str, signed: bool = True) -> Any:
    params = {"MessageSid": sid, "MessageStatus": state, "AccountSid": "AC" + "1" * 32}
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/status", params) if signed else "bad"
    return client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": signature})


def test_delivery_callbacks_out_of_order_leave_it_delivered(send, fetch, drain, client) -> None:
    message = send(PATIENT)
    drain()
    sid = fetch(message["id"])["twilio_sid"]
    assert _status(client, sid, "delivered").status_code == 204
    assert _status(client, sid, "sent").status_code == 204
    assert _status(client, sid, "queued").status_code == 204
    assert fetch(message["id"])["status"] == "delivered"
    assert _status(client, sid, "delivered", signed=False).status_code == 403


def test_undelivered_is_recorded(send, fetch, drain, client) -> None:
    message = send(PATIENT)
    drain()
    sid = fetch(message["id"])["twilio_sid"]
    _status(client, sid, "undelivered")
    assert fetch(message["id"])["status"] == "undelivered"


def test_without_credentials_every_decision_is_made_and_nothing_sent(
    send, fetch, worker, drain, twilio, phone
) -> None:
    from gateway.adapters.twilio_sms import DryRunSender

    worker.sender = DryRunSender()
    ok, stopped = send(PATIENT), send(OTHERS[0])
    phone.text("STOP", frm=OTHERS[0])
    drain()
    assert fetch(ok["id"])["status"] == "dry_run"
    assert fetch(ok["id"])["decision"]["reason"] == "ok"
    assert fetch(stopped["id"])["decision"]["reason"] == "opted_out"
    assert twilio.sent == []


def test_a_callback_names_a_message_that_timed_out_after_leaving(
    send, fetch, drain, twilio, client, monkeypatch
) -> None:
    import requests

    from gateway.web import twilio_hooks

    monkeypatch.setattr(twilio_hooks, "CALLBACK_WAITS", (0.0,))
    twilio.answer(requests.ReadTimeout("read timed out"))
    message = send(PATIENT)
    drain()
    assert fetch(message["id"])["status"] == "unknown"
    sid = "SM" + "7" * 32
    params = {
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "To": PATIENT,
        "From": "+12015550100",
        "AccountSid": "AC" + "1" * 32,
    }
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/status", params)
    response = client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204
    resolved = fetch(message["id"])
    assert (resolved["status"], resolved["twilio_sid"]) == ("delivered", sid)


def test_a_callback_for_a_message_we_never_sent_changes_nothing(client, monkeypatch) -> None:
    from gateway.web import twilio_hooks

    monkeypatch.setattr(twilio_hooks, "CALLBACK_WAITS", (0.0,))
    assert _status(client, "SM" + "8" * 32, "delivered").status_code == 204


def test_smsgate_reconcile_after_a_flush_sends_each_once(
    send, fetch, drain, twilio, redis, engine, monkeypatch, tmp_path
) -> None:
    from click.testing import CliRunner

    from gateway.adapters.rq_queue import embedded_url
    from gateway.cli import main
    from tests.conftest import ROOT

    url = embedded_url(redis) or str(redis.connection_pool.connection_kwargs.get("path", ""))
    if not url:
        kwargs = redis.connection_pool.connection_kwargs
        url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.chdir(tmp_path)
    ids = [send(n)["id"] for n in [PATIENT, *OTHERS]]  # queued on the (fake) clock's day
    redis.flushdb()
    first = CliRunner().invoke(main, ["reconcile"])
    assert first.exit_code == 0 and "re-enqueued 4 messages" in first.output, first.output
    again = CliRunner().invoke(main, ["reconcile"])
    assert "re-enqueued 0 messages" in again.output
    drain()
    assert sorted(m["To"] for m in twilio.sent) == sorted([PATIENT, *OTHERS])
    assert {fetch(i)["status"] for i in ids} == {"sent"}


def test_no_log_line_on_the_outbound_path_holds_a_number_or_a_body(
    send, fetch, drain, twilio, client, auth, caplog
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    message = send(PATIENT, "Your knee surgery follow-up is Monday")
    drain()
    fetch(message["id"])
    client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor"))
    client.get(f"/api/v1/messages/{message['id']}/proof", headers=auth("auditor"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert message["id"] in logged  # the worker did log its work
    for needle in ("2015550123", "knee surgery"):
        assert needle not in logged
