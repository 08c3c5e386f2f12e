"""Bulk sends: POST /api/v1/messages/batch answers each message on its own, and a blast is
drained by the worker with every message decided at send time."""

from __future__ import annotations

from typing import Any

from rq import Queue

from gateway.adapters.rq_queue import QUEUE
from tests.conftest import PATIENT, Clock, Phone
from workers import jobs

URL = "/api/v1/messages/batch"
FLORIDA = "+13055550142"
BLAST = 1100  # more than one batch; the bench (bench/batch.py) sends 10,000
REMINDER = {"to": PATIENT, "body": "Your visit is tomorrow", "category": "transactional"}


def batch(client: Any, auth: Any, messages: list[dict[str, Any]], role: str = "front_desk") -> Any:
    return client.post(URL, headers=auth(role), json={"messages": messages})


def listed(client: Any, auth: Any) -> list[dict[str, Any]]:
    found = client.get("/api/v1/messages?limit=500", headers=auth("auditor"))
    return list(found.get_json()["items"])


def test_a_bad_message_in_a_batch_does_not_stop_the_others(client, auth, drain, fetch) -> None:
    answer = batch(
        client,
        auth,
        [
            REMINDER,
            {**REMINDER, "to": "12345"},
            {**REMINDER, "category": "gossip"},
            {"to": FLORIDA, "template": "appointment_reminder", "fields": {}},
            {**REMINDER, "to": FLORIDA, "idempotency_key": "visit-7"},
        ],
    )
    assert answer.status_code == 202
    items = answer.get_json()["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4]
    assert [i["status"] for i in items] == [202, 422, 422, 422, 202]
    assert [(i["error"] or {}).get("field") for i in items] == [
        None,
        "to",
        "category",
        "fields",
        None,
    ]
    assert items[1]["message"] is None and items[1]["error"]["code"] == "invalid_phone"
    queued = {items[0]["message"]["id"], items[4]["message"]["id"]}
    assert {m["id"] for m in listed(client, auth)} == queued
    drain()
    assert {fetch(i)["status"] for i in queued} == {"sent"}


def test_an_item_key_gives_the_original_message_and_other_content_is_a_conflict(
    client, auth
) -> None:
    keyed = {**REMINDER, "idempotency_key": "visit-42"}
    first = batch(client, auth, [keyed, keyed, {**keyed, "body": "See you Tuesday"}])
    items = first.get_json()["items"]
    assert [i["status"] for i in items] == [202, 202, 409]
    original = items[0]["message"]["id"]
    assert items[1]["message"]["id"] == original
    assert items[2]["error"]["code"] == "idempotency_conflict" and items[2]["message"] is None

    again = batch(client, auth, [keyed, {**keyed, "to": FLORIDA}]).get_json()["items"]
    assert again[0]["status"] == 202 and again[0]["message"]["id"] == original
    assert again[1]["status"] == 409
    # The batch's keys and the Idempotency-Key header are one space: the same message.
    headers = {**auth("front_desk"), "Idempotency-Key": "visit-42"}
    single = client.post("/api/v1/messages", headers=headers, json=REMINDER)
    assert single.status_code == 202 and single.get_json()["id"] == original
    # Another caller's key is their own.
    admin = batch(client, auth, [keyed], role="admin").get_json()["items"]
    assert admin[0]["status"] == 202 and admin[0]["message"]["id"] != original
    assert len(listed(client, auth)) == 2


def test_front_desk_and_admins_send_batches_and_auditors_cannot(client, auth) -> None:
    assert batch(client, auth, [REMINDER], role="auditor").status_code == 403
    assert client.post(URL, json={"messages": [REMINDER]}).status_code == 401
    assert batch(client, auth, [REMINDER], role="admin").status_code == 202
    assert batch(client, auth, [REMINDER], role="front_desk").status_code == 202
    assert len(listed(client, auth)) == 2


def test_a_batch_that_breaks_the_documented_shape_is_refused_whole(client, auth) -> None:
    too_many = batch(client, auth, [REMINDER] * 1001)
    assert too_many.status_code == 422
    assert too_many.get_json()["error"]["field"] == "messages"
    too_long = batch(client, auth, [REMINDER, {**REMINDER, "body": "x" * 1601}])
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["field"] == "messages.1.body"
    assert batch(client, auth, []).status_code == 422
    assert listed(client, auth) == []


def test_a_thousand_messages_of_1600_characters_fit_the_batch_bound(client, auth, redis) -> None:
    long = {**REMINDER, "body": "x" * 1600}
    answer = batch(client, auth, [long] * 1000)
    assert answer.status_code == 202
    assert {i["status"] for i in answer.get_json()["items"]} == {202}
    assert Queue(QUEUE, connection=redis).count == 1000
    # The bound is this route's alone: a single message's route keeps 256 KB.
    over = client.post(
        URL,
        headers={**auth("front_desk"), "Content-Type": "application/json"},
        data=b'{"messages": [' + b" " * (2048 * 1024) + b"]}",
    )
    assert over.status_code == 413 and "2048 KB" in over.get_json()["error"]["message"]
    single = client.post(
        "/api/v1/messages",
        headers={**auth("front_desk"), "Content-Type": "application/json"},
        data=b"{" + b" " * (256 * 1024) + b"}",
    )
    assert single.status_code == 413


def test_a_batch_stored_while_redis_is_down_is_sent_after_reconcile(
    client, auth, outbox, monkeypatch, drain, fetch, clock: Clock, worker
) -> None:
    def down(*args: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(outbox, "deliver_many", down)
    items = batch(client, auth, [REMINDER, {**REMINDER, "to": FLORIDA}]).get_json()["items"]
    assert [i["status"] for i in items] == [202, 202]
    monkeypatch.undo()
    drain()
    assert {fetch(i["message"]["id"])["status"] for i in items} == {"queued"}
    clock.advance(seconds=worker.stale_after.total_seconds() + 1)
    assert jobs.reconcile() == 2
    drain()
    assert {fetch(i["message"]["id"])["status"] for i in items} == {"sent"}


def test_a_blast_is_drained_and_a_stop_after_acceptance_blocks_that_number(
    client, auth, drain, fetch, twilio, phone: Phone, redis
) -> None:
    """The guarantee: accepted is not decided. Every message is decided by the worker when
    it is sent, so a STOP that arrives after the blast was accepted blocks that number's."""
    numbers = [f"+1201555{n:04d}" for n in range(101, 200)]  # the fictional 555-01xx lines
    blast = [
        {
            "to": numbers[i % len(numbers)],
            "body": "Clinic closed Friday",
            "category": "transactional",
        }
        for i in range(BLAST)
    ]
    ids: list[str] = []
    for start in range(0, BLAST, 1000):  # the batches a sender splits a blast into
        answer = batch(client, auth, blast[start : start + 1000])
        assert answer.status_code == 202
        ids += [i["message"]["id"] for i in answer.get_json()["items"]]
    assert len(set(ids)) == BLAST and Queue(QUEUE, connection=redis).count == BLAST
    assert phone.text("STOPALL", frm=PATIENT).status_code == 200
    drain()
    to_patient = [m for m, b in zip(ids, blast, strict=True) if b["to"] == PATIENT]
    assert len(to_patient) > 0
    assert {(fetch(m)["status"], fetch(m)["decision"]["reason"]) for m in to_patient} == {
        ("blocked", "opted_out")
    }
    assert len(twilio.sent) == BLAST - len(to_patient)
    assert PATIENT not in {s["To"] for s in twilio.sent}
    assert Queue(QUEUE, connection=redis).count == 0
