"""A worker killed mid-send, for real (issue 8, findings 13 and 14).

The worker that runs RQ's scheduler is SIGKILLed while it holds a number's lock and waits on
Twilio (a fake Twilio on loopback that never answers that one request). A new worker and the
web server (gunicorn, as the Procfile runs it) carry on: nothing is lost, nothing is sent
twice, STOPs are answered within Twilio's 15 s, and Twilio's delivery callback names the
message the dead worker never finished recording.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine, select

from gateway import ledger, outbound
from gateway.adapters.rq_queue import Outbox, embedded_url
from gateway.db import transaction
from gateway.domain.consent import Status
from gateway.models import OutboundMessage
from gateway.runtime import Runtime
from tests.conftest import CLINIC, Clock
from tests.workers.processes import (
    TWILIO_ACCOUNT,
    HangingTwilio,
    Processes,
    alive,
    environment,
    free_port,
    signed_post,
    until,
)
from tests.workers.test_race import _committed_stop_probe

NUMBER = "+12015550123"  # its message is in flight when the worker dies
OTHERS = ["+13055550142", "+14055550150", "+12065550142"]
STRANGER = "+12015550177"  # texts STOP meanwhile; nothing to do with the dead worker
TWILIO_WEBHOOK_LIMIT = 15.0  # seconds Twilio waits for an answer


def redis_url(redis: Redis) -> str:
    url = embedded_url(redis)
    if url:
        return url
    kwargs = redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def database_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue(runtime: Runtime, outbox: Outbox, to: str, body: str) -> str:
    with transaction(runtime.sessions) as session:
        request = outbound.Request(to=to, category="transactional", body=body, actor="test")
        message, _ = outbound.submit(session, runtime.rules, request, runtime.clock())
    outbox.deliver(message.id, f"deliver-{message.id}")
    return message.id


def text(base: str, number: str, body: str, sid: str) -> tuple[int, str]:
    params = {
        "MessageSid": sid,
        "AccountSid": TWILIO_ACCOUNT,
        "From": number,
        "To": CLINIC,
        "Body": body,
    }
    response = signed_post(base, "/twilio/inbound", params, timeout=TWILIO_WEBHOOK_LIMIT)
    return response.status_code, response.text


def revoked(runtime: Runtime, number: str) -> bool:
    with transaction(runtime.sessions) as session:
        return ledger.current_status(session, number, "transactional") is Status.REVOKED


def messages(runtime: Runtime) -> dict[str, OutboundMessage]:
    with transaction(runtime.sessions) as session:
        return {m.id: m for m in session.execute(select(OutboundMessage)).scalars()}


@pytest.mark.postgres_only
def test_a_worker_killed_mid_send_loses_nothing_and_leaves_no_lock(
    engine: Engine, runtime: Runtime, clock: Clock, redis: Redis, outbox: Outbox, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the processes read the real clock
    _, probe = _committed_stop_probe(database_url(engine))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with HangingTwilio(hang_to=NUMBER, inspect=probe) as twilio:  # type: ignore[arg-type]
        env = environment(
            database_url(engine), redis_url(redis), twilio.url, base, tmp_path / "journal"
        )
        with Processes(env, tmp_path) as processes:
            processes.web(port)
            in_flight = queue(runtime, outbox, NUMBER, "in flight when its worker died")
            later = [  # behind it in the queue
                queue(runtime, outbox, to, f"reminder {i} to {to}")
                for i, to in enumerate([NUMBER, *OTHERS, *OTHERS])
            ]
            first = processes.worker()
            assert twilio.hung.wait(timeout=30), processes.output()
            # The first worker holds NUMBER's lock, waiting on Twilio's answer (4 s at most).
            scheduler = processes.children(first.pid)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            assert scheduler, "RQ forked no scheduler process"
            assert messages(runtime)[in_flight].status == "sending", "killed too late"
            processes.worker()

            status, reply = text(base, NUMBER, "STOP", "SM" + "a1" * 16)
            stop_answered = time.monotonic()
            assert status == 200 and "<Message>" in reply, reply  # handled, not journaled
            until(
                lambda: revoked(runtime, NUMBER),
                TWILIO_WEBHOOK_LIMIT - (time.monotonic() - stop_answered),
                "the STOP from the dead worker's number to be applied",
            )
            status, reply = text(base, STRANGER, "STOP", "SM" + "b2" * 16)
            assert status == 200 and "<Message>" in reply, reply

            def settled() -> bool:
                rows = messages(runtime)
                return all(rows[m].status in ("sent", "blocked") for m in later)

            until(settled, 30, "the new worker to finish every later message")
            hung = next(a for a in twilio.arrivals if a.to == NUMBER)
            callback = {
                "MessageSid": hung.sid,
                "MessageStatus": "delivered",
                "To": NUMBER,
                "From": CLINIC,
                "AccountSid": TWILIO_ACCOUNT,
            }
            assert signed_post(base, "/twilio/status", callback, timeout=15).status_code == 204
            until(
                lambda: not any(alive(pid) for pid in scheduler),
                10,
                "the dead worker's scheduler process to stop",
            )

    rows = messages(runtime)
    resolved = rows[in_flight]
    assert (resolved.status, resolved.twilio_sid) == ("delivered", hung.sid)
    sends = Counter(a.body for a in twilio.arrivals)
    assert sends.pop(resolved.body or "") <= 2, "the in-flight message went more than twice"
    assert max(sends.values()) == 1, "a message was handed to Twilio twice"
    assert [a for a in twilio.arrivals if a.note == "after_stop"] == []
    for message_id in later:
        row = rows[message_id]
        if row.to_number == NUMBER:
            assert (row.status, sends[row.body or ""]) in {("sent", 1), ("blocked", 0)}
        else:
            assert (row.status, sends[row.body or ""]) == ("sent", 1), row.reason
