"""RQ jobs. Each takes ids, opens its transactions and calls a service.

Every transaction here waits at most the runtime's lock_timeout for a row lock: a lock that
stays taken (a STOP being applied, a stuck session) makes the job try again later, never
hang the worker.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rq import get_current_job
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway import erasure, ledger, number_checks, outbound, outbound_pipeline
from gateway.adapters.rq_queue import PURGE_EVERY, RECONCILE_EVERY, SEAL_EVERY
from gateway.db import (
    autocommit,
    bound_lock_waits,
    bounds_lock_waits,
    held,
    lock_timed_out,
    transaction,
)
from workers.runtime import WorkerRuntime, current

log = logging.getLogger(__name__)

# Between its claim and its locks a live worker spends at most two lock waits: a `sending`
# message claimed longer ago than this, whose row no worker holds, has lost its worker.
CLAIM_TO_LOCKS = dt.timedelta(seconds=30)


class ProviderBusy(Exception):
    """Twilio answered 429/5xx or could not be reached: RQ's Retry tries again later."""


@contextmanager
def bounded(rt: WorkerRuntime, sessions: Callable[[], Session] | None = None) -> Iterator[Session]:
    """A transaction whose lock waits are bounded by the runtime's lock_timeout (`sessions`:
    on a connection the job holds, see gateway.db.held)."""
    with transaction(sessions or rt.sessions) as session:
        bound_lock_waits(session, rt.lock_timeout)
        yield session


def deliver(message_id: str) -> str:
    """Decide at send time and send: SPEC §6, in one transaction holding the number's lock.

    Two transactions, on one connection: the claim is committed before the send, so that a
    worker that dies after Twilio took the message leaves it `sending` (then `unknown`),
    never `queued` to be sent twice."""
    rt = current()
    with held(rt.sessions) as connection:
        return _deliver(rt, connection, message_id)


def _deliver(rt: WorkerRuntime, connection: Connection, message_id: str) -> str:
    now = rt.clock()
    sessions = partial(rt.sessions, bind=connection)
    # PostgreSQL: the claim goes in one round trip with the locks and reads of the decision.
    take = _take if connection.dialect.name == "postgresql" else _claim
    claimed = take(rt, connection, message_id, now)
    if isinstance(claimed, str):
        return claimed
    # The claim is committed. Nothing has been sent: whatever fails from here to the send
    # gives the claim back, so the message is sent later, never written off as `unknown`.
    days = rt.settings.reassigned_check_days
    try:
        question = None
        if rt.rules.categories[claimed.category].requires_grant:  # only these are screened
            with bounded(rt, sessions) as session:
                question = number_checks.question(session, rt.rules, message_id, now, days)
    except DBAPIError as exc:
        if lock_timed_out(exc):
            return _later(rt, sessions, message_id, now)
        _give_back(rt, sessions, message_id, now, exc)
        raise
    except Exception as exc:
        _give_back(rt, sessions, message_id, now, exc)
        raise
    screening = outbound.Screening(days, _ask_reassigned(rt, sessions, question))
    try:
        with bounded(rt, sessions) as session:
            result, job_id = _decided(rt, session, claimed, now, _final_try(), screening)
    except outbound.Busy:  # nothing was decided or sent
        return _later(rt, sessions, message_id, now)
    return _done(rt, message_id, result, job_id)


def _claim(
    rt: WorkerRuntime, connection: Connection, message_id: str, now: dt.datetime
) -> str | outbound.Claimed:
    """The claim, committed by itself: the claimed message, or the job's answer."""
    sessions = partial(rt.sessions, bind=connection)
    try:
        with bounded(rt, sessions) as session:
            found = outbound.claim(session, message_id, now)
    except DBAPIError as exc:  # another transaction holds the message's row
        if not lock_timed_out(exc):
            raise
        return _later(rt, sessions, message_id, now, claimed=False)
    return found if found is not None else "skipped: already taken or not due"


def _take(
    rt: WorkerRuntime, connection: Connection, message_id: str, now: dt.datetime
) -> str | outbound.Claimed:
    """PostgreSQL: claim, lock and read in one round trip, decide, send, then store and commit
    in one (gateway/outbound_pipeline.py); a message that pass does not decide is decided by
    the general one in the same transaction. The job's answer, or the claimed message
    (marketing: nothing locked) for the general flow to take on from its claim."""
    sessions = partial(rt.sessions, bind=connection)
    try:
        with autocommit(connection), outbound_pipeline.ended(connection):
            # The worker's engine bounds every lock wait; another (the tests') needs SET LOCAL.
            bound = (
                None if bounds_lock_waits(connection.engine, rt.lock_timeout) else rt.lock_timeout
            )
            taken = outbound_pipeline.take(connection, rt.rules, message_id, now, bound)
            if taken is None:
                return "skipped: already taken or not due"
            if not taken.locked:
                return taken.claimed  # its transaction holds nothing: rolled back here
            final_try = _final_try()
            result = outbound_pipeline.send(
                connection, rt.rules, rt.sender, taken, now, final_try=final_try, sessions=sessions
            )
            job_id = None
            if result is None:
                screening = outbound.Screening(rt.settings.reassigned_check_days)
                with transaction(sessions) as session:
                    result, job_id = _decided(rt, session, taken.claimed, now, final_try, screening)
    except outbound_pipeline.Interrupted as exc:  # nothing was sent
        if exc.missed:  # another job's, or not due: not this job's to give back or retry
            log.warning("message %s: %s", message_id, type(exc.error).__name__)
            return "skipped: already taken or not due"
        if lock_timed_out(exc.error):  # the message's row or its number stayed locked
            return _later(rt, sessions, message_id, now, claimed=exc.claimed)
        if exc.claimed:  # the claim is given back
            _give_back(rt, sessions, message_id, now, exc.error)
        raise exc.error from None
    except outbound.Busy:  # nothing was decided or sent
        return _later(rt, sessions, message_id, now)
    return _done(rt, message_id, result, job_id)


def _final_try() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def _decided(
    rt: WorkerRuntime,
    session: Session,
    claimed: outbound.Claimed,
    now: dt.datetime,
    final_try: bool,
    screening: outbound.Screening,
) -> tuple[outbound.Outcome, str | None]:
    """The general pass's decision (and send) for a claimed message, and the job that takes
    it up at its time if it was deferred, named on the message."""
    result = outbound.deliver(
        session,
        rt.rules,
        rt.sender,
        claimed.id,
        now,
        final_try=final_try,
        screening=screening,
        number=claimed.to_number,
    )
    if result.until is None:
        return result, None
    return result, outbound.schedule_job_id(session, claimed.id, result.until)


def _done(rt: WorkerRuntime, message_id: str, result: outbound.Outcome, job_id: str | None) -> str:
    if result.until is not None and job_id is not None:
        rt.outbox.deliver(message_id, job_id, at=result.until)
    if result.retry:
        raise ProviderBusy(f"message {message_id}: provider busy, will retry")
    return result.status


def _ask_reassigned(
    rt: WorkerRuntime, sessions: Callable[[], Session], question: number_checks.Question | None
) -> int | None:
    """FCC §64.1200(m): marketing to a number not verified lately asks the reassigned-numbers
    database first — before the number's lock, so a STOP never waits on the provider. The
    query and its answer are committed at once; the check's id goes to the decision."""
    if question is None:
        return None
    asked = number_checks.ask(rt.numbers, question)
    with bounded(rt, sessions) as session:
        return number_checks.record(session, asked, rt.clock()).id


def _give_back(
    rt: WorkerRuntime,
    sessions: Callable[[], Session],
    message_id: str,
    now: dt.datetime,
    error: BaseException,
) -> None:
    """A step between the claim and the send failed: nothing was sent, so the message waits
    again (the job still fails, with the error). It schedules nothing itself: RQ's retry of
    this job takes the message up, and after the last, reconcile — so an error that comes
    back every time costs one job at a time, never more. If the database cannot take even
    that, the message stays `sending` and recover writes it off."""
    log.error(
        "message %s: %s before the send; it will be tried again", message_id, type(error).__name__
    )
    try:
        with bounded(rt, sessions) as session:
            outbound.give_back(session, message_id, now)
    except Exception:
        log.exception("message %s: could not give the claim back", message_id)


def _later(
    rt: WorkerRuntime,
    sessions: Callable[[], Session],
    message_id: str,
    now: dt.datetime,
    *,
    claimed: bool = True,
) -> str:
    """The number (or the message) stayed locked past the bound: hand the claim back and try
    again in a while. If even that cannot be written, the job fails and reconcile (every
    minute) finds the message still queued."""
    at = now + rt.busy_retry
    with bounded(rt, sessions) as session:
        job_id = outbound.retry_later(session, message_id, at, now, claimed=claimed)
    if job_id is None:
        return "skipped: no longer waiting to be sent"
    rt.outbox.deliver(message_id, job_id, at=at)
    log.warning("message %s: locked past %s; trying again at %s", message_id, rt.lock_timeout, at)
    return "busy: will retry"


@dataclass
class Recovered:
    """What reconcile did, per message state."""

    enqueued: Counter[str] = field(default_factory=Counter)  # queued/deferred: a new job
    live: Counter[str] = field(default_factory=Counter)  # a live job has them: left alone
    lost: int = 0  # sending, its worker gone: now `unknown`, never resent blindly

    def lines(self) -> list[str]:
        return [
            f"queued:   {self.enqueued['queued']} re-enqueued, "
            f"{self.live['queued']} left to their live job",
            f"deferred: {self.enqueued['deferred']} re-scheduled for their time, "
            f"{self.live['deferred']} left to their live job",
            f"sending:  {self.lost} whose worker was lost marked unknown "
            "(they may have reached Twilio: never resent; Twilio's callback names them)",
            f"re-enqueued {sum(self.enqueued.values())} messages",
        ]


def recover(rt: WorkerRuntime | None = None, *, at_once: bool = False) -> Recovered:
    """Re-enqueue messages whose job was lost (Redis restarted or flushed), never twice, and
    mark `unknown` those whose worker died mid-send. Periodically it waits for a message to
    be stale first (queued a minute; sending ten); `at_once` takes every message that has no
    live job now — right after a Redis flush — and deferred ones are scheduled for their time.
    """
    rt = rt or current()
    now = rt.clock()
    patience = dt.timedelta(0) if at_once else rt.stale_after
    done = Recovered()
    with bounded(rt) as session:
        rows = outbound.left_behind(
            session,
            queued_before=now - patience,
            deferred_due_before=None if at_once else now - patience,
            claimed_before=now - (CLAIM_TO_LOCKS if at_once else rt.stale_after * 10),
        )
        for msg in rows:
            if msg.status == "sending":
                outbound.worker_lost(session, msg, now)
                done.lost += 1
                continue
            if msg.job_id and rt.outbox.is_live(msg.job_id):
                done.live[msg.status] += 1
                continue
            later = (
                msg.until if msg.status == "deferred" and msg.until and msg.until > now else None
            )
            msg.job_id, msg.updated_at = f"deliver-{msg.id}-r{int(now.timestamp() * 1000)}", now
            session.flush()
            rt.outbox.deliver(msg.id, msg.job_id, at=later)
            done.enqueued[msg.status] += 1
    if done.enqueued or done.lost:
        log.warning(
            "reconcile: re-enqueued %d messages whose jobs were lost; %d lost their worker",
            sum(done.enqueued.values()),
            done.lost,
        )
    return done


def reconcile(rt: WorkerRuntime | None = None) -> int:
    """recover(), as the periodic job runs it: how many messages were re-enqueued."""
    return sum(recover(rt).enqueued.values())


def reconcile_every(seconds: int) -> int:
    """reconcile(), then the next slot: the periodic job the workers keep alive (even when
    this run failed — a lock or an outage must not end the chain)."""
    try:
        return reconcile()
    finally:
        current().outbox.schedule_periodic(RECONCILE_EVERY, seconds)


def purge() -> dict[str, Any]:
    """Retention (SPEC §7): bodies and inbound texts older than RETENTION_MESSAGE_DAYS."""
    rt = current()
    with bounded(rt) as session:
        done = erasure.purge_older_than(
            session, rt.clock(), rt.settings.retention_message_days, actor="worker:retention"
        )
        return dict(done.counts)


def purge_every(seconds: int) -> dict[str, Any]:
    try:
        return purge()
    finally:
        current().outbox.schedule_periodic(PURGE_EVERY, seconds)


def seal() -> int:
    """Seal the ledger's final events (at most ledger.SEAL_AT_MOST a run, waiting at most a
    few seconds for open appends): how many were sealed."""
    rt = current()
    with bounded(rt) as session:
        sealed = ledger.seal(session, rt.clock())
        return sealed.count if sealed else 0


def seal_every(seconds: int) -> int:
    try:
        return seal()
    finally:
        current().outbox.schedule_periodic(SEAL_EVERY, seconds)
