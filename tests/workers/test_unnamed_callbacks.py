"""Twilio's callback for a message whose SID was never stored (issue 8, finding 14).

A worker killed while Twilio answered leaves its message `sending` with no SID although
Twilio has it. Twilio's status callback names it by To/From within a day, as for a message
that timed out after leaving (`unknown`); never one a live worker is still recording.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from gateway import ledger, outbound
from gateway.adapters.twilio_sms import sign
from gateway.db import bound_lock_waits, transaction
from gateway.models import OutboundMessage
from gateway.runtime import Runtime
from gateway.web import twilio_hooks
from tests.conftest import AUTH_TOKEN, BASE_URL, CLINIC, PATIENT, Clock
from tests.workers.processes import until

SID = "SM" + "6" * 32


@pytest.fixture(autouse=True)
def one_look(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.web import twilio_hooks

    monkeypatch.setattr(twilio_hooks, "CALLBACK_WAITS", (0.0,))


def callback(client: FlaskClient, state: str, sid: str = SID, **fields: str) -> Any:
    params = {"MessageSid": sid, "MessageStatus": state, "AccountSid": "AC" + "1" * 32, **fields}
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/status", params)
    return client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": signature})


def claimed_by_a_worker_that_died(runtime: Runtime, message_id: str, at: dt.datetime) -> None:
    """The claim committed; the decision and the send were in the transaction that died."""
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message_id, at)


def test_a_callback_names_a_message_whose_worker_died_while_twilio_answered(
    send, fetch, client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    message = send(PATIENT)
    claimed_by_a_worker_that_died(runtime, message["id"], clock.now)
    assert fetch(message["id"])["status"] == "sending"
    clock.advance(seconds=11)  # past CLAIM_SETTLES: no live worker can still be taking it
    assert callback(client, "sent", To=PATIENT, From=CLINIC).status_code == 204
    named = fetch(message["id"])
    assert (named["status"], named["twilio_sid"]) == ("sent", SID)
    assert callback(client, "delivered").status_code == 204  # from now on, by its SID
    assert fetch(message["id"])["status"] == "delivered"
    assert "named_by_callback" in [a["result"] for a in fetch(message["id"])["attempts"]]


@pytest.mark.parametrize(
    ("fields", "later"),
    [
        ({"To": "+13055550142", "From": CLINIC}, dt.timedelta(seconds=11)),  # another patient
        ({"To": PATIENT, "From": "+12015550199"}, dt.timedelta(seconds=11)),  # another sender
        ({"To": PATIENT, "From": CLINIC}, dt.timedelta(days=2)),  # long after the window
    ],
)
def test_a_callback_that_does_not_fit_names_nothing(
    send, fetch, client: FlaskClient, runtime: Runtime, clock: Clock, fields, later
) -> None:
    message = send(PATIENT)
    claimed_by_a_worker_that_died(runtime, message["id"], clock.now)
    clock.advance(seconds=later.total_seconds())
    assert callback(client, "delivered", **fields).status_code == 204
    untouched = fetch(message["id"])
    assert (untouched["status"], untouched["twilio_sid"]) == ("sending", None)


def test_a_callback_never_takes_a_message_a_live_worker_has_only_just_claimed(
    send, fetch, client: FlaskClient, runtime: Runtime, clock: Clock, monkeypatch
) -> None:
    """Between its claim and its lock a live worker holds nothing. A callback for another
    message to the same patient (our TwiML reply's, say) arriving then must not take it:
    the worker would find it 'delivered' and never send it."""
    monkeypatch.setattr(twilio_hooks, "SETTLE_WAIT", dt.timedelta(0))  # no real waiting
    message = send(PATIENT)
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message["id"], clock.now)
    clock.advance(seconds=1)
    assert callback(client, "delivered", To=PATIENT, From=CLINIC).status_code == 204
    assert (fetch(message["id"])["status"], fetch(message["id"])["twilio_sid"]) == ("sending", None)
    clock.advance(seconds=10)  # now it could only be a dead worker's
    assert callback(client, "delivered", To=PATIENT, From=CLINIC).status_code == 204
    assert fetch(message["id"])["twilio_sid"] == SID


def test_a_callback_for_a_just_claimed_message_waits_until_it_settles(
    send, fetch, client: FlaskClient, runtime: Runtime, clock: Clock, monkeypatch
) -> None:
    """Twilio's callback for a dead worker's message can come within seconds of the claim:
    the view waits (bounded) until the claim has settled, then names it."""
    message = send(PATIENT)
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message["id"], clock.now)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the clock moves as the view waits
        slept.append(seconds)
        clock.advance(seconds=seconds)

    monkeypatch.setattr(twilio_hooks.time, "sleep", sleep)
    assert callback(client, "delivered", To=PATIENT, From=CLINIC).status_code == 204
    assert fetch(message["id"])["twilio_sid"] == SID
    assert 0 < sum(slept) <= twilio_hooks.SETTLE_WAIT.total_seconds() + 1


@pytest.mark.postgres_only
def test_a_callback_waits_for_a_live_worker_rather_than_take_another_message(
    send, fetch, runtime: Runtime, engine: Engine, clock: Clock
) -> None:
    """An older message to the same number lies `sending` with no SID (its worker died). A
    live worker has just had its own message accepted and Twilio calls back before that
    worker commits the SID: the callback must wait for it, not name the older message."""
    stuck, live = send(PATIENT)["id"], send(PATIENT)["id"]
    claimed_by_a_worker_that_died(runtime, stuck, clock.now - dt.timedelta(minutes=1))
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, live, clock.now)
    found: list[str | None] = []

    def twilio_calls_back() -> None:
        with transaction(runtime.sessions) as session:
            bound_lock_waits(session, dt.timedelta(seconds=10))
            msg = outbound.record_status(
                session, SID, "delivered", None, clock.now, to=PATIENT, sender=CLINIC
            )
            found.append(msg and msg.id)

    with runtime.sessions() as worker, worker.begin():  # the live worker, mid-send
        ledger.lock_number(worker, PATIENT, clock.now)
        sending = worker.get(OutboundMessage, live, with_for_update=True)
        assert sending is not None
        sending.twilio_sid, sending.sender, sending.status = SID, CLINIC, "sent"
        worker.flush()
        thread = threading.Thread(target=twilio_calls_back)
        thread.start()
        until(lambda: _waiting_on_a_lock(engine), 10, "the callback to wait on the number")
    thread.join(timeout=15)
    assert found == [live]
    assert (fetch(live)["status"], fetch(stuck)["twilio_sid"]) == ("delivered", None)


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(connection.execute(text(query)).scalar_one())
