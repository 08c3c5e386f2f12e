"""A worker's delivery on PostgreSQL takes two round trips (gateway/outbound_pipeline.py): the
claim, the number's lock and the decision's reads in one, the sent message and its commit in
another. It must leave exactly what the general pass (`outbound.claim`, then
`outbound.deliver`) leaves — the message, its decision, its attempts, the ledger, what Twilio
was sent — for every kind of message and every state it meets, and leave to the general pass
what it does not decide."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from rq import Queue
from sqlalchemy import Engine, insert, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker

from gateway import decision, ledger, outbound
from gateway.adapters.rq_queue import QUEUE
from gateway.db import transaction
from gateway.models import ApiToken, ConsentEventRow, OutboundMessage, SendAttempt
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, Clock, Phone, _empty_postgres, with_rules
from tests.workers.fixtures import FakeTwilio
from tests.workers.test_deliver import grant as paper_grant
from tests.workers.test_restricted import VISIT, restrict
from workers import jobs

pytestmark = pytest.mark.postgres_only

T0 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)  # 13:00 in New Jersey
OTHER = "+13055550142"


class World:
    """What a step may use: the API, the patient's phone, Twilio's fake and the clock."""

    def __init__(
        self, runtime: Runtime, client: Any, auth: Any, phone: Phone, twilio: FakeTwilio
    ) -> None:
        self.sessions, self.client, self.auth, self.phone, self.twilio = (
            runtime.sessions,
            client,
            auth,
            phone,
            twilio,
        )
        self.clock: Clock = runtime.clock  # type: ignore[assignment]

    def send(self, to: str = PATIENT, **payload: Any) -> None:
        body = {"to": to, **payload}
        if "template" not in body:
            body.setdefault("body", "Your visit is tomorrow at 10")
        body.setdefault("category", "transactional")
        answer = self.client.post("/api/v1/messages", headers=self.auth("front_desk"), json=body)
        assert answer.status_code == 202, answer.get_json()

    def grant(self, number: str = PATIENT) -> None:
        paper_grant(self.client, self.auth, number)


Step = Callable[[World], Any]
DRAIN = "drain"
DUE = "due"  # the deferred messages, taken up by their job (RQ's scheduler runs on real time)


def text(body: str, number: str = PATIENT) -> Step:
    return lambda w: w.phone.text(body, frm=number)


def send(to: str = PATIENT, **payload: Any) -> Step:
    return lambda w: w.send(to, **payload)


def answers(*given: Any) -> Step:
    return lambda w: w.twilio.answer(*given)


def later(**delta: float) -> Step:
    return lambda w: w.clock.advance(**delta)


def grant(number: str = PATIENT) -> Step:
    return lambda w: w.grant(number)


def restricted(w: World) -> None:
    assert restrict(w.client, w.auth).status_code == 201


SCENARIOS: dict[str, list[Step | str]] = {
    "a reminder to a new number": [send(), DRAIN],
    "a reminder to a known number, twice": [text("HELP"), send(), send(), DRAIN],
    "care after STOP PROMOS": [grant(), text("STOP PROMOS"), send(), DRAIN],
    "care after STOPALL is blocked": [text("STOPALL"), send(), DRAIN],
    "care after STOPALL then START": [text("STOPALL"), text("START"), send(), DRAIN],
    "another number's STOP does not touch this one": [text("STOPALL", OTHER), send(), DRAIN],
    "marketing with a grant (the general pass)": [grant(), send(category="marketing"), DRAIN],
    "marketing without one is blocked": [send(category="marketing"), DRAIN],
    "a restricted number gets the private text": [
        send(template="appointment_reminder", fields=VISIT),
        restricted,
        DRAIN,
    ],
    "a free text to a restricted number is blocked": [restricted, send(), DRAIN],
    "a message for later waits, then goes": [
        send(send_at="2026-11-24T20:00:00Z"),
        DRAIN,
        later(hours=3),
        DUE,
    ],
    "a sender asked for": [send(sender=CLINIC), DRAIN],
    "Twilio's 21610: the carrier's STOP": [
        grant(),
        answers((400, 21610)),
        send(),
        DRAIN,
        send(category="marketing"),
        DRAIN,
    ],
    "Twilio's 21211: not a number it can text": [answers((400, 21211)), send(), DRAIN],
    "Twilio busy, then it takes it": [
        answers((503, 20500), 201),
        send(),
        DRAIN,
        later(minutes=5),
        DRAIN,
    ],
    "Twilio unreachable, then it takes it": [
        answers(requests.ConnectTimeout("connect timed out"), 201),
        send(),
        DRAIN,
        later(minutes=5),
        DRAIN,
    ],
    "a wave to several numbers, one of them opted out": [
        text("STOPALL", OTHER),
        send(),
        send(OTHER),
        send("+14055550150"),
        send("+12065550142"),
        DRAIN,
    ],
}


def deferred(world: World) -> list[str]:
    with transaction(world.sessions) as session:
        found = select(OutboundMessage.id).where(OutboundMessage.status == "deferred")
        return list(session.execute(found.order_by(OutboundMessage.created_at)).scalars())


def run(world: World, drain: Callable[[], None], steps: list[Step | str]) -> None:
    for step in steps:
        if step == DRAIN:
            drain()
        elif step == DUE:
            for message_id in deferred(world):
                jobs.deliver(message_id)
        else:
            assert callable(step)
            step(world)


def stored(sessions: sessionmaker[Session], twilio: FakeTwilio) -> tuple[Any, ...]:
    """The messages (their ids by creation order), their attempts, the ledger's events and
    what Twilio was sent, with every generated id replaced by its order."""
    with transaction(sessions) as session:
        assert ledger.verify(session).ok
        messages = list(
            session.execute(select(OutboundMessage).order_by(OutboundMessage.created_at)).scalars()
        )
        ids = {m.id: i for i, m in enumerate(messages)}
        events = list(
            session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id)).scalars()
        )
        order = {e.id: i for i, e in enumerate(events)}
        sids = {m.twilio_sid: i for i, m in enumerate(messages) if m.twilio_sid}
        columns = [c.key for c in OutboundMessage.__table__.columns if c.key != "id"]
        rows = [
            {
                **{c: getattr(m, c) for c in columns},
                "job_id": m.job_id and m.job_id.replace(m.id, str(ids[m.id])),
                "consent_event_id": order.get(m.consent_event_id),
                "twilio_sid": sids.get(m.twilio_sid),
                "reassigned_check": m.reassigned_check and {**m.reassigned_check, "check_id": 0},
            }
            for m in messages
        ]
        attempts = [
            (ids[a.message_id], a.at, a.result, a.error_code, a.detail)
            for a in session.execute(select(SendAttempt).order_by(SendAttempt.id)).scalars()
        ]
        ledger_rows = [
            (
                e.number,
                e.category,
                e.action,
                e.source,
                e.occurred_at,
                e.actor,
                {k: ids.get(v, v) if k == "message_id" else v for k, v in e.evidence.items()},
            )
            for e in events
        ]
    sent = [{k: v for k, v in form.items()} for form in twilio.sent]
    return rows, attempts, ledger_rows, sent


def each_way(
    engine: Engine,
    runtime: Runtime,
    world: World,
    drain: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    steps: list[Step | str],
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The steps through the general pass (the pipelined one replaced by `jobs._claim`), then,
    on an emptied database at the same clock, through the pipelined pass."""
    with transaction(runtime.sessions) as session:  # the API's tokens outlive the emptying
        tokens = [
            {c.key: getattr(t, c.key) for c in ApiToken.__table__.columns}
            for t in session.execute(select(ApiToken)).scalars()
        ]
    results = []
    for pipelined in (False, True):
        _empty_postgres(engine)
        with transaction(runtime.sessions) as session:
            session.execute(insert(ApiToken), tokens)
        world.clock.now = T0
        world.twilio.sent.clear()
        world.twilio.answers.clear()
        world.twilio.sids = itertools.count(1)
        world.phone.count = 0
        if not pipelined:
            monkeypatch.setattr(jobs, "_take", jobs._claim)
        run(world, drain, steps)
        monkeypatch.undo()
        results.append(stored(runtime.sessions, world.twilio))
    return results[0], results[1]


@pytest.fixture
def world(runtime: Runtime, client: Any, auth: Any, phone: Phone, twilio: FakeTwilio) -> World:
    return World(runtime, client, auth, phone, twilio)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_pipelined_delivery_leaves_what_the_general_pass_leaves(
    engine: Engine,
    runtime: Runtime,
    world: World,
    drain: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    general, pipelined = each_way(engine, runtime, world, drain, monkeypatch, SCENARIOS[name])
    assert pipelined == general
    assert pipelined[0], "the scenario stored no message"


def test_a_frequency_cap_on_care_messages_counts_the_same(
    engine: Engine,
    runtime: Runtime,
    rules: Any,
    worker: Any,
    world: World,
    drain: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A clinic that turns on the FCC's care-message caps (1 a day, 3 a week): the second
    reminder in a day waits, in both passes, for the first to leave the window."""
    caps = {"transactional": [{"count": 1, "hours": 24}, {"count": 3, "hours": 168}]}
    worker.rules = with_rules(
        runtime, rules, frequency_caps={**rules.raw["frequency_caps"], **caps}
    )
    steps: list[Step | str] = [send(), DRAIN, later(hours=2), send(), DRAIN, later(days=1), DUE]
    general, pipelined = each_way(engine, runtime, world, drain, monkeypatch, steps)
    assert pipelined == general
    reasons = [(m["status"], m["reason"]) for m in pipelined[0]]
    assert reasons == [("sent", "ok"), ("sent", "ok")]
    assert [a[2] for a in pipelined[1]] == ["sent", "deferred:frequency_cap", "sent"]


def _claimed_elsewhere(runtime: Runtime, message_id: str, clock: Clock) -> None:
    """Another worker claims the message (committed: `sending`), a moment before the job."""
    with transaction(runtime.sessions) as session:
        assert outbound.claim(session, message_id, clock.now)
    clock.advance(seconds=1)


def test_a_duplicate_job_leaves_a_message_another_worker_sent(
    send, fetch, worker, engine: Engine, runtime: Runtime, clock: Clock, phone: Phone, twilio
) -> None:
    """A worker died once Twilio had the message (`sending`, never to go again); a duplicate
    job for it comes while the number is locked (another message being sent). It claims
    nothing, so it waits on no lock and gives nothing back: the message stays `sending`."""
    worker.lock_timeout = dt.timedelta(milliseconds=300)
    phone.text("HELP")  # the number is known
    message = send(PATIENT)
    _claimed_elsewhere(runtime, message["id"], clock)
    with engine.connect() as holder:
        lock = "SELECT number FROM subjects WHERE number = :n FOR UPDATE"
        holder.execute(sql(lock), {"n": PATIENT})
        answer = jobs.deliver(message["id"])
        holder.rollback()
    assert answer == "skipped: already taken or not due"
    assert fetch(message["id"])["status"] == "sending" and twilio.sent == []


def test_a_duplicate_job_does_not_overwrite_a_send_in_progress(
    send, fetch, worker, engine: Engine, runtime: Runtime, clock: Clock, phone: Phone, twilio
) -> None:
    """Another worker holds the number and the message through a slow Twilio call, then
    stores it sent: a duplicate job meanwhile takes nothing and changes nothing."""
    worker.lock_timeout = dt.timedelta(milliseconds=300)
    phone.text("HELP")
    message = send(PATIENT)
    _claimed_elsewhere(runtime, message["id"], clock)
    ready, answers = threading.Event(), []

    def sending_worker() -> None:
        with engine.connect() as other:
            by_number = "SELECT number FROM subjects WHERE number = :n FOR UPDATE"
            other.execute(sql(by_number), {"n": PATIENT})
            by_id = "SELECT id FROM outbound_messages WHERE id = :i FOR UPDATE"
            other.execute(sql(by_id), {"i": message["id"]})
            ready.set()
            time.sleep(0.6)  # Twilio takes its time: past the duplicate's lock bound
            sent = "UPDATE outbound_messages SET status = 'sent', twilio_sid = 'SMx' WHERE id = :i"
            other.execute(sql(sent), {"i": message["id"]})
            other.commit()

    thread = threading.Thread(target=sending_worker)
    thread.start()
    assert ready.wait(10)
    answers.append(jobs.deliver(message["id"]))
    thread.join(10)
    assert answers == ["skipped: already taken or not due"]
    done = fetch(message["id"])
    assert (done["status"], done["twilio_sid"]) == ("sent", "SMx") and twilio.sent == []


def test_a_failure_before_the_send_gives_the_claim_back(
    send, fetch, worker, runtime: Runtime, clock: Clock, twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is committed; if deciding then fails (here the rule itself), nothing was
    sent: the message waits to be sent again — never `sending`, to be written off."""
    message = send(PATIENT)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the rule failed")

    monkeypatch.setattr(decision, "grounds_of", broken)
    with pytest.raises(RuntimeError):
        jobs.deliver(message["id"])
    assert fetch(message["id"])["status"] == "queued" and twilio.sent == []
    monkeypatch.undo()
    clock.advance(minutes=1)
    assert jobs.deliver(message["id"]) == "sent"


def test_an_error_that_comes_back_every_time_keeps_one_job_for_the_message(
    send, fetch, drain, redis, twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure before the send that would happen on every try (a bug, a bad stored value):
    the claim is given back, and the message waits for the one job RQ retries — the failing
    run adds no job of its own, so the jobs never multiply."""
    message = send(PATIENT)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the rule failed")

    monkeypatch.setattr(decision, "grounds_of", broken)
    drain()
    queue = Queue(QUEUE, connection=redis)
    known = (
        queue.get_job_ids()
        + queue.scheduled_job_registry.get_job_ids()
        + queue.failed_job_registry.get_job_ids()
    )
    assert {job for job in known if message["id"] in job} == {f"deliver-{message['id']}"}
    assert fetch(message["id"])["status"] == "queued" and twilio.sent == []
