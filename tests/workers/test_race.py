"""STOP against send, for real: two worker processes drain 2,000 messages to 200 numbers
through PostgreSQL and Redis while 100 of those numbers text STOP through the webhook.

Not one message may reach Twilio after its number's STOP committed; every other message is
sent exactly once. The Twilio stub checks, as each request arrives, whether the number's
STOP is already committed (a fresh connection sees only committed rows), and records the
arrival time to compare with when the webhook answered.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter

import psycopg
import pytest
from sqlalchemy import Engine, select

from gateway import outbound
from gateway.db import transaction
from gateway.models import OutboundMessage
from gateway.runtime import Runtime
from tests.conftest import ROOT, Phone
from tests.stubs.twilio_http import TwilioStub

NUMBERS = (
    [f"+1201555{n:04d}" for n in range(101, 200)]
    + [f"+1305555{n:04d}" for n in range(100, 200)]
    + ["+14055550150"]
)
PER_NUMBER = 10


def _committed_stop_probe(url: str) -> tuple[threading.local, object]:
    local = threading.local()

    def probe(number: str) -> str | None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url, autocommit=True)
        row = local.conn.execute(
            "SELECT 1 FROM consent_events WHERE number = %s AND action = 'revoke' LIMIT 1",
            (number,),
        ).fetchone()
        return "after_stop" if row else None

    return local, probe


@pytest.mark.postgres_only
def test_no_message_reaches_twilio_after_its_stop(
    engine: Engine, runtime: Runtime, phone: Phone, redis, outbox
) -> None:
    assert len(set(NUMBERS)) == 200
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    _, probe = _committed_stop_probe(url)
    with transaction(runtime.sessions) as session:
        ids = [
            outbound.submit(
                session,
                runtime.rules,
                outbound.Request(
                    to=number,
                    category="transactional",
                    body=f"Reminder {i} for {number}",
                    actor="race",
                ),
                runtime.clock(),
            )[0].id
            for i in range(PER_NUMBER)
            for number in NUMBERS
        ]
    for message_id in ids:
        outbox.deliver(message_id, f"deliver-{message_id}")

    stopped = NUMBERS[::2]
    with TwilioStub(inspect=probe) as stub:  # type: ignore[arg-type]
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
            "TWILIO_AUTH_TOKEN": "stub-token",
            "TWILIO_API_URL": stub.url,
            "KEYWORDS_FILE": str(ROOT / "keywords.yml"),
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "workers", "--burst"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        committed: dict[str, float] = {}
        while not stub.arrivals:
            time.sleep(0.01)  # the drain has begun
        for number in stopped:
            assert phone.text("STOP", frm=number).status_code == 200
            committed[number] = time.monotonic()  # the webhook answers after its commit
        for process in workers:
            assert process.wait(timeout=300) == 0

    late = [a for a in stub.arrivals if a.note == "after_stop"]
    assert late == [], f"{len(late)} messages reached Twilio after their STOP committed"
    assert all(a.at < committed[a.to] for a in stub.arrivals if a.to in committed)
    sends = Counter(a.body for a in stub.arrivals)
    assert max(sends.values()) == 1, "a message was handed to Twilio twice"
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(OutboundMessage)).scalars().all()
    status = {row.body: (row.status, row.reason, row.to_number) for row in rows}
    for body, (state, reason, number) in status.items():
        if number in committed:
            assert (state, sends[body]) in {("sent", 1), ("blocked", 0)}, (state, reason)
            assert state == "sent" or reason == "opted_out"
        else:
            assert (state, sends[body]) == ("sent", 1)
    blocked = sum(1 for state, _, _ in status.values() if state == "blocked")
    assert blocked > 0, "no STOP landed while the queue drained: the race was not exercised"
