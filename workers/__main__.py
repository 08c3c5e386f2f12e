"""`python -m workers` (what `smsgate worker` runs): one RQ worker with the scheduler."""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any

from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

from gateway import logs
from gateway.adapters.rq_queue import PURGE_EVERY, RECONCILE_EVERY, SEAL_EVERY
from workers import runtime

RECONCILE_SECONDS = 60
PURGE_SECONDS = 24 * 3600
SEAL_SECONDS = 10 * 60  # events newer than the last seal are covered by their number's chain


class Scheduler(RQScheduler):
    """RQ's scheduler process (forked by the worker), which stops when that worker is gone.
    A worker killed with SIGKILL cannot stop it, and an orphan would keep the scheduler's
    lock in Redis for as long as it lived, running beside the next worker's."""

    worker_pid = 0  # set in the worker, before the fork

    def heartbeat(self) -> None:
        if os.getppid() != self.worker_pid:  # re-parented: the worker died
            self.log.warning("scheduler: worker %s is gone; stopping", self.worker_pid)
            self.request_stop()  # type: ignore[no-untyped-call]
        super().heartbeat()  # type: ignore[no-untyped-call]


# RQ's listener for its commands (shut down, stop a job) waits this long for each message;
# RQ asks 60 s, and since redis-py 8.2 stopping the listener waits for it: a worker asked to
# stop (SIGTERM, the end of a burst) could take a minute to go, and a platform that allows
# 10 or 30 s would kill it half torn down.
LISTENER_WAKES_SECONDS = 1.0


class Worker(SimpleWorker):
    """SimpleWorker: no fork per job; each job opens its own transactions, so nothing leaks
    between jobs, and a worker decides hundreds of messages a second instead of dozens. Its
    scheduler is the one above (RQ's own `_start_scheduler`, with that class)."""

    def subscribe(self) -> None:
        """RQ's own, but for the listener's wait (LISTENER_WAKES_SECONDS)."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=LISTENER_WAKES_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        scheduler: Any = Scheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        scheduler.worker_pid = os.getpid()
        self.scheduler = scheduler
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if burst:
            try:
                scheduler.register_birth()
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
                scheduler.register_death()
        else:
            scheduler.start()


def main(burst: bool = False) -> None:
    logs.configure()  # every line masked (SPEC §8)
    # The Twilio SDK logs each request's and answer's headers at INFO, a dozen lines a message;
    # our own line per message says what was sent (its errors still show).
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    wired = runtime.current()
    gc.freeze()  # the rules live as long as the process: the collector need not re-walk them
    if wired.settings.dry_run:
        logging.getLogger("workers").warning(
            "DRY-RUN: no Twilio credentials; messages are decided and recorded, never sent"
        )
    wired.outbox.schedule_periodic(RECONCILE_EVERY, RECONCILE_SECONDS)
    wired.outbox.schedule_periodic(PURGE_EVERY, PURGE_SECONDS)
    wired.outbox.schedule_periodic(SEAL_EVERY, SEAL_SECONDS)
    queue = wired.outbox.queue
    Worker([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
