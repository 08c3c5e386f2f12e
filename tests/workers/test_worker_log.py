"""What a worker process writes to its log for a message it sends: our own line, masked — not
the Twilio SDK's request and answer, headers and all, which it logs at INFO (a dozen lines a
message, and the account's URL in each request line)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine

from gateway.adapters.rq_queue import Outbox
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock
from tests.stubs.twilio_http import TwilioStub
from tests.workers.processes import Processes, environment, until
from tests.workers.test_dead_worker import queue, redis_url


def test_a_sent_message_is_one_line_of_the_workers_log_not_the_sdks_headers(
    engine: Engine, runtime: Runtime, clock: Clock, redis: Redis, outbox: Outbox, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the worker reads the real clock
    database_url = engine.url.render_as_string(hide_password=False)
    with TwilioStub() as twilio:
        env = environment(
            database_url, redis_url(redis), twilio.url, "https://gw.test", tmp_path / "journal"
        )
        with Processes(env, tmp_path) as processes:
            message_id = queue(runtime, outbox, PATIENT, "Your appointment is tomorrow at 10.")
            processes.worker()
            line = f"message {message_id} to ***{PATIENT[-4:]}: sent"
            until(lambda: line in processes.output(), 30, "the worker to send the message")
            printed = processes.output()
    assert [a.to for a in twilio.arrivals] == [PATIENT]
    ours = [row for row in printed.splitlines() if f"message {message_id}" in row]
    assert len(ours) == 1 and ours[0].endswith(line), printed
    assert "Twilio API Request" not in printed and "Response Headers" not in printed, printed
    assert PATIENT.removeprefix("+") not in printed
