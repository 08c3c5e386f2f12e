"""The send-time decision, end to end: API → queue → worker → Twilio's HTTP API (faked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests

from tests.conftest import PATIENT, Clock, Phone
from workers import jobs

FLORIDA, OKLAHOMA = "+13055550142", "+14055550150"
PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}


def grant(client: Any, auth: Any, number: str = PATIENT) -> int:
    body = {
        "number": number,
        "category": "marketing",
        "action": "grant",
        "source": "paper_form",
        "evidence": PAPER,
    }
    response = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    return int(response.get_json()["event"]["id"])


def test_marketing_needs_a_grant_and_stops_after_stop(
    send, fetch, drain, twilio, client, auth, phone: Phone
) -> None:
    first = send(PATIENT, "Flu shots are in!", "marketing")
    drain()
    blocked = fetch(first["id"])
    assert (blocked["status"], blocked["decision"]["reason"]) == ("blocked", "no_consent")
    assert twilio.sent == []

    event = grant(client, auth)
    second = send(PATIENT, "Flu shots are in!", "marketing")
    drain()
    sent = fetch(second["id"])
    assert (sent["status"], sent["decision"]["reason"]) == ("sent", "ok")
    assert sent["decision"]["consent_event_id"] == event and sent["twilio_sid"]
    assert twilio.sent[0]["To"] == PATIENT and "Reply STOP to opt out" in twilio.sent[0]["Body"]
    assert twilio.sent[0]["StatusCallback"].endswith("/s")

    phone.text("STOP")
    third = send(PATIENT, "Flu shots are in!", "marketing")
    drain()
    stopped = fetch(third["id"])
    assert (stopped["status"], stopped["decision"]["reason"]) == ("blocked", "opted_out")
    revoke = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    assert (
        stopped["decision"]["consent_event_id"] == revoke["categories"]["marketing"]["event"]["id"]
    )
    assert len(twilio.sent) == 1


def test_care_messages_continue_after_a_marketing_opt_out_but_not_after_stopall(
    send, fetch, drain, twilio, phone: Phone
) -> None:
    phone.text("STOP PROMOS")
    reminder = send(PATIENT)
    drain()
    assert fetch(reminder["id"])["status"] == "sent"
    phone.text("STOPALL")
    after = send(PATIENT)
    drain()
    assert (fetch(after["id"])["status"], fetch(after["id"])["decision"]["reason"]) == (
        "blocked",
        "opted_out",
    )
    assert len(twilio.sent) == 1


def _deferred_then_sent(
    send, fetch, drain, twilio, clock: Clock, number: str, local: str, until: str
) -> None:
    message = send(number, "Flu shots are in!", "marketing")
    drain()
    deferred = fetch(message["id"])
    assert deferred["status"] == "deferred", deferred
    assert deferred["decision"]["reason"] == "quiet_hours"
    assert deferred["decision"]["until"] == until
    assert deferred["attempts"][-1]["result"] == "deferred:quiet_hours"
    assert twilio.sent == []
    clock.now = dt.datetime.fromisoformat(until)
    assert jobs.deliver(message["id"]) == "sent"
    assert fetch(message["id"])["status"] == "sent" and len(twilio.sent) == 1


def test_marketing_at_half_past_ten_at_night_waits_for_eight(
    send, fetch, drain, twilio, client, auth, clock: Clock, redis
) -> None:
    grant(client, auth)
    clock.now = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)  # 22:30 in New Jersey
    _deferred_then_sent(send, fetch, drain, twilio, clock, PATIENT, "22:30", "2026-11-25T13:00:00Z")


def test_florida_and_oklahoma_use_their_state_window(
    send, fetch, drain, twilio, client, auth, clock: Clock
) -> None:
    grant(client, auth, FLORIDA)
    grant(client, auth, OKLAHOMA)
    clock.now = dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC)  # 20:30 Miami: federal allows
    _deferred_then_sent(send, fetch, drain, twilio, clock, FLORIDA, "20:30", "2026-11-25T13:00:00Z")
    clock.now = dt.datetime(2026, 11, 26, 2, 30, tzinfo=dt.UTC)  # 20:30 in Oklahoma City
    twilio.sent.clear()
    _deferred_then_sent(
        send, fetch, drain, twilio, clock, OKLAHOMA, "20:30", "2026-11-26T14:00:00Z"
    )


def test_care_messages_have_no_quiet_hours(send, fetch, drain, clock: Clock) -> None:
    clock.now = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)
    message = send(PATIENT)
    drain()
    assert fetch(message["id"])["status"] == "sent"


def test_a_fourth_marketing_message_in_a_day_waits_for_the_cap(
    send, fetch, drain, twilio, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    first_sent = clock.now
    for _ in range(3):
        send(PATIENT, "Offer", "marketing")
        drain()
        clock.advance(hours=1)
    fourth = send(PATIENT, "Offer", "marketing")
    drain()
    held = fetch(fourth["id"])
    assert (held["status"], held["decision"]["reason"]) == ("deferred", "frequency_cap")
    assert held["decision"]["until"] == (first_sent + dt.timedelta(hours=24)).isoformat().replace(
        "+00:00", "Z"
    )
    assert len(twilio.sent) == 3


def test_a_deferred_message_is_scheduled_with_rq(
    send, fetch, drain, client, auth, clock: Clock, redis
) -> None:
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    grant(client, auth)
    clock.now = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)
    message = send(PATIENT, "Offer", "marketing")
    drain()
    registry = ScheduledJobRegistry(queue=Queue("smsgate", connection=redis))
    job_ids = registry.get_job_ids()
    assert len(job_ids) == 1 and message["id"] in job_ids[0]
    at = registry.get_scheduled_time(job_ids[0])
    assert at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC)


def test_carrier_block_revokes_and_later_messages_never_reach_twilio(
    send, fetch, drain, twilio, client, auth
) -> None:
    twilio.answer((400, 21610))
    first = send(PATIENT)
    drain()
    blocked = fetch(first["id"])
    assert (blocked["status"], blocked["decision"]["reason"]) == ("blocked", "carrier_block")
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    event = state["categories"]["transactional"]["event"]
    assert (
        event["source"] == "carrier_block"
        and blocked["decision"]["consent_event_id"] == event["id"]
    )
    assert state["categories"]["marketing"]["event"]["source"] == "carrier_block"
    later = send(PATIENT)
    drain()
    assert fetch(later["id"])["decision"]["reason"] == "opted_out"
    assert len(twilio.sent) == 1


def test_too_many_requests_then_accepted_sends_once(send, fetch, drain, twilio) -> None:
    twilio.answer((429, 20429), 201)
    message = send(PATIENT)
    drain()
    done = fetch(message["id"])
    assert done["status"] == "sent" and len(twilio.sent) == 2
    assert [a["result"] for a in done["attempts"]] == ["error", "sent"]
    assert done["attempts"][0]["error_code"] == 20429


def test_provider_errors_retry_then_fail(send, fetch, drain, twilio) -> None:
    twilio.answer(*[(503, 20500)] * 4)
    message = send(PATIENT)
    drain()
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("failed", "provider_error")
    assert len(twilio.sent) == 4  # the first try and RQ's three retries


def test_connection_refused_is_retried(send, fetch, drain, twilio) -> None:
    twilio.answer(requests.ConnectTimeout("connect timed out"), 201)
    message = send(PATIENT)
    drain()
    assert fetch(message["id"])["status"] == "sent" and len(twilio.sent) == 2


def test_an_invalid_number_fails_once_without_retry(send, fetch, drain, twilio) -> None:
    twilio.answer((400, 21211))
    message = send(PATIENT)
    drain()
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("failed", "invalid_number")
    assert len(twilio.sent) == 1


def test_a_timeout_after_the_request_left_is_unknown_not_resent(send, fetch, drain, twilio) -> None:
    twilio.answer(requests.ReadTimeout("read timed out"))
    message = send(PATIENT)
    drain()
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("unknown", "provider_error")
    assert len(twilio.sent) == 1


def test_a_message_is_decided_once_even_if_its_job_runs_twice(send, fetch, drain, twilio) -> None:
    message = send(PATIENT)
    drain()
    assert jobs.deliver(message["id"]).startswith("skipped")
    assert len(twilio.sent) == 1


def test_send_at_in_the_future_waits(send, fetch, drain, twilio, clock: Clock) -> None:
    at = clock.now + dt.timedelta(hours=2)
    message = send(PATIENT, send_at=at.isoformat())
    drain()
    waiting = fetch(message["id"])
    assert waiting["status"] == "deferred" and waiting["decision"]["reason"] == "send_at"
    clock.now = at
    assert jobs.deliver(message["id"]) == "sent"
