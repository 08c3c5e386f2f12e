"""`python -m workers` (what `smsgate worker` runs): one RQ worker with the scheduler."""

from __future__ import annotations

import logging
import sys

from rq import SimpleWorker

from workers import runtime

RECONCILE_SECONDS = 60


def main(burst: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    wired = runtime.current()
    if wired.settings.dry_run:
        logging.getLogger("workers").warning(
            "DRY-RUN: no Twilio credentials; messages are decided and recorded, never sent"
        )
    wired.outbox.schedule_reconcile(RECONCILE_SECONDS)
    queue = wired.outbox.queue
    # SimpleWorker: no fork per job; each job opens its own transactions, so nothing leaks
    # between jobs, and a worker decides hundreds of messages a second instead of dozens.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
