"""Bulk sends: a batch of messages stored in one transaction, then their jobs enqueued in one
round trip. POST /api/v1/messages/batch and `smsgate send --csv` both come here.

The outbox rule holds for the batch as for one message: the rows are committed before any
job is enqueued, so a Redis outage loses nothing (`smsgate reconcile` enqueues what waits).
Nothing is decided here: the worker decides each message at send time, under its number's
lock, so a STOP recorded after the batch was accepted still blocks that number's message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from gateway import outbound
from gateway.db import transaction
from gateway.runtime import Runtime
from gateway.services import Problem

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # messages per batch: one INSERT and one Redis round trip stay small


@dataclass(frozen=True)
class Queued:
    """Each message's result in the batch's order, and whether the new ones' jobs were
    enqueued (False: Redis was down; the rows are stored and reconcile will enqueue them)."""

    results: list[outbound.Submitted | Problem]
    enqueued: bool


def queue_many(rt: Runtime, requests: Sequence[outbound.Request]) -> Queued:
    """Store the batch (one transaction), commit, then enqueue the new messages' jobs."""
    if len(requests) > MAX_BATCH:
        raise Problem(422, "too_many", f"a batch holds at most {MAX_BATCH} messages", "messages")
    try:
        with transaction(rt.sessions) as session:
            results = outbound.submit_many(session, rt.rules, requests, rt.clock())
    except IntegrityError:  # a key raced in from another request: the second look finds it
        with transaction(rt.sessions) as session:
            results = outbound.submit_many(session, rt.rules, requests, rt.clock())
    created = [r.row for r in results if isinstance(r, outbound.Submitted) and r.created]
    if not created or rt.queue is None:
        return Queued(results, enqueued=True)
    try:
        rt.queue.deliver_many([(row.id, row.job_id or f"deliver-{row.id}") for row in created])
    except Exception as exc:  # Redis down: the committed rows wait for `smsgate reconcile`
        log.error(
            "could not enqueue %d messages (%s): reconcile will", len(created), type(exc).__name__
        )
        return Queued(results, enqueued=False)
    return Queued(results, enqueued=True)
