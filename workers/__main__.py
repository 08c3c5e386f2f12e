"""`python -m workers` (what `smsgate worker` runs): one RQ worker with the scheduler."""

from __future__ import annotations

import gc
import logging
import sys

from rq import SimpleWorker

from gateway import logs
from gateway.adapters.rq_queue import PURGE_EVERY, RECONCILE_EVERY
from workers import runtime

RECONCILE_SECONDS = 60
PURGE_SECONDS = 24 * 3600


def main(burst: bool = False) -> None:
    logs.configure()  # every line masked (SPEC §8)
    wired = runtime.current()
    gc.freeze()  # the rules live as long as the process: the collector need not re-walk them
    if wired.settings.dry_run:
        logging.getLogger("workers").warning(
            "DRY-RUN: no Twilio credentials; messages are decided and recorded, never sent"
        )
    wired.outbox.schedule_periodic(RECONCILE_EVERY, RECONCILE_SECONDS)
    wired.outbox.schedule_periodic(PURGE_EVERY, PURGE_SECONDS)
    queue = wired.outbox.queue
    # SimpleWorker: no fork per job; each job opens its own transactions, so nothing leaks
    # between jobs, and a worker decides hundreds of messages a second instead of dozens.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
