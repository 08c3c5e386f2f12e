"""`smsgate reconcile --now` right after Redis lost every job (issue 8, finding 15): each
message with no live job is recovered at once, exactly once, and the command says what it
did per state."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import Engine

from gateway import outbound
from gateway.adapters.rq_queue import QUEUE
from gateway.cli import main
from gateway.db import transaction
from gateway.runtime import Runtime
from tests.conftest import PATIENT, ROOT, Clock
from tests.workers.test_dead_worker import redis_url

OTHERS = ["+13055550142", "+14055550150", "+12065550142"]


@pytest.fixture
def reconcile(engine: Engine, redis: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", redis_url(redis))
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.chdir(tmp_path)

    def run(*options: str) -> list[str]:
        result = CliRunner().invoke(main, ["reconcile", *options])
        assert result.exit_code == 0, result.output
        return [" ".join(line.split()) for line in result.output.splitlines()]

    return run


def test_reconcile_now_recovers_every_message_at_once_after_a_flush_exactly_once(
    send, fetch, drain, twilio, redis: Redis, runtime: Runtime, clock: Clock, reconcile
) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the command reads the real clock: queued just now
    at = clock.now + dt.timedelta(hours=2)
    deferred = send(PATIENT, "Later", send_at=at.isoformat())["id"]
    drain()  # deferred, its job scheduled for `at`
    queued = [send(number, f"Now, to {number}")["id"] for number in OTHERS]
    lost = send(PATIENT, "Claimed, then its worker died")["id"]
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, lost, clock.now - dt.timedelta(minutes=1))

    before = reconcile("--now")
    assert "queued: 0 re-enqueued, 3 left to their live job" in before  # nothing doubled
    assert "deferred: 0 re-scheduled for their time, 1 left to their live job" in before
    assert before[-1] == "re-enqueued 0 messages"
    assert fetch(lost)["status"] == "unknown"  # may have reached Twilio: never resent blindly

    redis.flushdb()  # every job is gone; the rows are not
    assert reconcile()[-1] == "re-enqueued 0 messages"  # without --now: stale for a minute first
    after = reconcile("--now")
    assert "queued: 3 re-enqueued, 0 left to their live job" in after
    assert "deferred: 1 re-scheduled for their time, 0 left to their live job" in after
    assert after[-1] == "re-enqueued 4 messages"
    again = reconcile("--now")
    assert "queued: 0 re-enqueued, 3 left to their live job" in again
    assert again[-1] == "re-enqueued 0 messages"

    drain()
    drain()
    assert sorted(m["To"] for m in twilio.sent) == sorted(OTHERS)  # each once
    assert {fetch(m)["status"] for m in queued} == {"sent"}
    assert (fetch(deferred)["status"], fetch(lost)["status"]) == ("deferred", "unknown")
    registry = ScheduledJobRegistry(queue=Queue(QUEUE, connection=redis))
    (job_id,) = registry.get_job_ids()
    assert deferred in job_id
    assert registry.get_scheduled_time(job_id).replace(tzinfo=dt.UTC) == at.replace(microsecond=0)


def test_reconcile_names_what_it_marks_unknown(
    send, fetch, runtime: Runtime, clock: Clock, reconcile
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    message = send(PATIENT)["id"]
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message, clock.now - dt.timedelta(minutes=1))
    assert reconcile()[2].startswith("sending: 0 ")  # periodically: ten minutes first
    assert reconcile("--now")[2].startswith("sending: 1 whose worker was lost marked unknown")
    assert fetch(message)["status"] == "unknown"
