"""RQ jobs. Each takes ids, opens its transactions and calls a service."""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from gateway import erasure, outbound
from gateway.adapters.rq_queue import PURGE_EVERY, RECONCILE_EVERY
from gateway.db import transaction
from workers.runtime import WorkerRuntime, current

log = logging.getLogger(__name__)


class ProviderBusy(Exception):
    """Twilio answered 429/5xx or could not be reached: RQ's Retry tries again later."""


def deliver(message_id: str) -> str:
    """Decide at send time and send: SPEC §6, in one transaction holding the number's lock."""
    rt = current()
    now = rt.clock()
    with transaction(rt.sessions) as session:
        if not outbound.claim(session, message_id, now):
            return "skipped: already taken or not due"
    job = get_current_job()
    final_try = job is None or not job.retries_left
    with transaction(rt.sessions) as session:
        result = outbound.deliver(
            session, rt.rules, rt.sender, message_id, now, final_try=final_try
        )
        if result.until is not None:
            job_id = outbound.schedule_job_id(session, message_id, result.until)
    if result.until is not None:
        rt.outbox.deliver(message_id, job_id, at=result.until)
    if result.retry:
        raise ProviderBusy(f"message {message_id}: provider busy, will retry")
    return result.status


def reconcile(rt: WorkerRuntime | None = None) -> int:
    """Re-enqueue messages whose job was lost (Redis restarted or flushed); never twice."""
    rt = rt or current()
    now = rt.clock()
    count = 0
    with transaction(rt.sessions) as session:
        outbound.stuck_sending(session, now, rt.stale_after * 10)
        for msg in outbound.stale(session, now, rt.stale_after):
            if msg.job_id and rt.outbox.is_live(msg.job_id):
                continue
            msg.job_id, msg.updated_at = f"deliver-{msg.id}-r{int(now.timestamp())}", now
            session.flush()
            rt.outbox.deliver(msg.id, msg.job_id)
            count += 1
    if count:
        log.warning("reconcile: re-enqueued %d messages whose jobs were lost", count)
    return count


def reconcile_every(seconds: int) -> int:
    """reconcile(), then the next slot: the periodic job the workers keep alive."""
    count = reconcile()
    current().outbox.schedule_periodic(RECONCILE_EVERY, seconds)
    return count


def purge() -> dict[str, Any]:
    """Retention (SPEC §7): bodies and inbound texts older than RETENTION_MESSAGE_DAYS."""
    rt = current()
    with transaction(rt.sessions) as session:
        done = erasure.purge_older_than(
            session, rt.clock(), rt.settings.retention_message_days, actor="worker:retention"
        )
        return dict(done.counts)


def purge_every(seconds: int) -> dict[str, Any]:
    counts = purge()
    current().outbox.schedule_periodic(PURGE_EVERY, seconds)
    return counts
