"""A carrier block that arrives late (issue 10, item 4): a Messaging Service accepts the message
and reports error 21610 in its status callback. The ledger records the same `carrier_block`
revoke as for Twilio's synchronous refusal — once, however often the callback comes."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from gateway.adapters.twilio_sms import sign
from tests.conftest import AUTH_TOKEN, BASE_URL, CLINIC, PATIENT


def callback(client: FlaskClient, sid: str, state: str, code: str = "") -> Any:
    params = {
        "MessageSid": sid,
        "MessageStatus": state,
        "AccountSid": "AC" + "1" * 32,
        "To": PATIENT,
        "From": CLINIC,
        **({"ErrorCode": code} if code else {}),
    }
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/status", params)
    answer = client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 204
    return answer


def events(client: FlaskClient, auth: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/ledger/events?number={PATIENT}", headers=auth("auditor"))
    return list(answer.get_json()["items"])


def test_a_late_21610_revokes_the_senders_categories_once(
    send, fetch, drain, twilio, client, auth
) -> None:
    message = send(PATIENT)
    drain()
    sid = fetch(message["id"])["twilio_sid"]
    assert sid and events(client, auth) == []
    for state in ("undelivered", "undelivered", "failed"):  # Twilio retries its callbacks
        callback(client, sid, state, "21610")
    revokes = events(client, auth)
    assert sorted(e["category"] for e in revokes) == ["marketing", "transactional"]
    assert {(e["action"], e["source"]) for e in revokes} == {("revoke", "carrier_block")}
    assert all(e["evidence"]["message_id"] == message["id"] for e in revokes)
    assert fetch(message["id"])["status"] in ("undelivered", "failed")
    later = send(PATIENT)
    drain()
    assert fetch(later["id"])["decision"]["reason"] == "opted_out"
    assert len(twilio.sent) == 1


def test_a_21610_callback_after_the_patient_resubscribed_revokes_nothing_again(
    send, fetch, drain, client, auth, phone
) -> None:
    message = send(PATIENT)
    drain()
    sid = fetch(message["id"])["twilio_sid"]
    callback(client, sid, "undelivered", "21610")
    phone.text("START")
    before = len(events(client, auth))
    callback(client, sid, "undelivered", "21610")  # a late duplicate of the same callback
    assert len(events(client, auth)) == before


def test_another_error_code_revokes_nothing(send, fetch, drain, client, auth) -> None:
    message = send(PATIENT)
    drain()
    callback(client, fetch(message["id"])["twilio_sid"], "undelivered", "30003")
    assert events(client, auth) == []
