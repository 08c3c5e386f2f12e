"""A live STOP (or HELP, answer, text for the front desk) on PostgreSQL takes two round
trips (gateway/inbound_pipeline.py): it must leave exactly what the general pass
(`inbound.handle`) leaves — the stored text, the events, the state, the reply — for every
kind of text and every state it meets, and leave to it what it does not take."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import corrections, inbound, inbound_pipeline, ledger
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.domain.keywords import KeywordRules
from gateway.models import (
    ConsentEventRow,
    ConsentStateRow,
    InboundMessage,
    OutboundMessage,
    Subject,
)
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, _empty_postgres
from tests.conftest import Phone as Patient

T0 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)
OTHER = "+13055550142"
LOCK = dt.timedelta(seconds=5)
Step = Callable[[Session, KeywordRules, dt.datetime], Any]


pytestmark = pytest.mark.postgres_only


@dataclasses.dataclass(frozen=True)
class Text:
    """A text posted to the webhook, signed, as Twilio posts it."""

    body: str
    sid: str
    number: str = PATIENT
    opt_out_type: str | None = None


def consent(action: Action, category: str, number: str = PATIENT, **when: Any) -> Step:
    def step(session: Session, rules: KeywordRules, now: dt.datetime) -> None:
        ledger.append(
            session,
            number=number,
            category=category,
            action=action,
            source=Source.API,
            actor="front desk",
            evidence={"note": "test"},
            now=now,
            occurred_at=when.get("occurred_at"),
        )

    return step


def void_latest(category: str) -> Step:
    """A correction voids the number's latest event in `category`."""

    def step(session: Session, rules: KeywordRules, now: dt.datetime) -> None:
        latest = ledger.history(session, PATIENT, category)[-1]
        corrections.correct(
            session, event_id=latest.id, reason="entered in error", actor="admin", now=now
        )

    return step


def reminded(sender: str | None = CLINIC, template: str = "appointment_reminder") -> Step:
    """Our reminder went out to the patient, asking "Reply C to confirm …"."""

    def step(session: Session, rules: KeywordRules, now: dt.datetime) -> None:
        session.add(
            OutboundMessage(
                id=f"msg_{now:%H%M%S}",
                to_number=PATIENT,
                sender=sender,
                category="transactional",
                body=None,
                template=template,
                status="sent",
                created_at=now,
                updated_at=now,
                created_by="front desk",
                sent_at=now,
            )
        )

    return step


LATER = T0 + dt.timedelta(days=2)
SCENARIOS: dict[str, list[Step]] = {
    "a first STOP": [Text("STOP", "SM1")],
    "STOP after a marketing grant": [
        consent(Action.GRANT, "marketing"),
        Text("Stop", "SM1"),
    ],
    "a second STOP changes nothing and says nothing": [
        Text("STOP", "SM1"),
        Text("STOP", "SM2"),
    ],
    "a retried MessageSid": [Text("STOP", "SM1"), Text("STOP", "SM1")],
    "STOP in words": [Text("please stop texting me", "SM1")],
    "Spanish": [Text("PARAR", "SM1")],
    "stop marketing only": [
        consent(Action.GRANT, "marketing"),
        Text("STOP PROMOS", "SM1"),
    ],
    "stop all": [Text("STOP ALL", "SM1")],
    "Twilio's OptOutType": [Text("Unsubscribe", "SM1", "+12015550123", "STOP")],
    "only Twilio calls it an opt-out": [Text("Can I come at 3?", "SM1", PATIENT, "STOP")],
    "a state from the future (a clock ahead) is not overtaken": [
        consent(Action.GRANT, "marketing", occurred_at=LATER),
        Text("STOP", "SM1"),
    ],
    "a correction in force": [
        consent(Action.GRANT, "marketing"),
        consent(Action.REVOKE, "marketing"),
        void_latest("marketing"),
        Text("STOP", "SM1"),
    ],
    "another number's STOP between": [
        consent(Action.GRANT, "marketing"),
        Text("STOP", "SM9", number=OTHER),
        Text("STOP", "SM1"),
    ],
    "not an opt-out": [Text("HELP", "SM1"), Text("Can I come at 3?", "SM2")],
    "HELP after a STOP, and a retried HELP": [
        Text("STOP", "SM1"),
        Text("HELP", "SM2"),
        Text("HELP", "SM2"),
    ],
    "HELP past the reply cap": [Text("HELP", f"SM{i}") for i in range(7)],
    "HELP in Spanish, and in words": [Text("AYUDA", "SM1"), Text("I need help", "SM2")],
    "Twilio's HELP": [Text("info please", "SM1", PATIENT, "HELP")],
    "an answer to our question": [reminded(), Text("C", "SM1"), Text("c please", "SM2")],
    "an answer from another clinic's number is not one": [
        reminded(sender="+12015550199"),
        Text("C", "SM1"),
    ],
    "a START": [Text("STOP", "SM1"), Text("START", "SM2"), Text("YES", "SM3")],
    "a text a person must review": [Text("no", "SM1"), Text("wrong number", "SM2")],
    "an unparsable number": [Text("STOP", "SM1", number="not-a-number")],
}


def run(
    runtime: Runtime,
    phone: Patient,
    steps: list[Step | Text],
    monkeypatch: pytest.MonkeyPatch,
    pipelined: bool,
) -> tuple[Any, ...]:
    """Each step a minute after the last, through the webhook; what the database holds then.
    Not `pipelined`: the pipelined pass declines every text, so the general one takes it."""
    if not pipelined:
        monkeypatch.setattr(inbound_pipeline, "handle", lambda *args: None)
    replies = []
    for i, step in enumerate(steps):
        runtime.clock.now = T0 + dt.timedelta(minutes=i)  # type: ignore[attr-defined]
        if isinstance(step, Text):
            extra = {"OptOutType": step.opt_out_type} if step.opt_out_type else {}
            response = phone.text(step.body, frm=step.number, sid=step.sid, **extra)
            assert response.status_code == 200
            replies.append(response.get_data(as_text=True))
        else:
            with transaction(runtime.sessions) as session:
                step(session, runtime.rules, runtime.clock())
    monkeypatch.undo()
    return (replies, *stored(runtime.sessions))


def stored(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    """The texts, events, states and heads, by the order of the events (not their ids: the
    pipelined pass may leave ids unused)."""
    with transaction(sessions) as session:
        verdict = ledger.verify(session)
        assert verdict.ok, verdict.summary
        rows = list(session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id)).scalars())
        order = {e.id: i for i, e in enumerate(rows)}
        events = [
            (
                e.number,
                e.category,
                e.action,
                e.source,
                e.occurred_at,
                e.recorded_at,
                e.actor,
                e.evidence,
            )
            for e in rows
        ]
        texts = [
            (
                r.sid,
                r.from_number,
                r.to_number,
                r.body,
                r.opt_out_type,
                r.received_at,
                r.intent,
                r.categories,
                r.language,
                r.rule,
                r.reply,
                r.replied_at,
                [order[i] for i in r.event_ids],
                r.note,
                r.answer,
                r.answer_to,
            )
            for r in session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars()
        ]
        states = sorted(
            (s.number, s.category, s.status, order[s.event_id], s.occurred_at)
            for s in session.execute(select(ConsentStateRow)).scalars()
        )
        heads = sorted(
            (s.number, order[s.head_id] if s.head_id else None)
            for s in session.execute(select(Subject)).scalars()
        )
    return texts, events, states, heads


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_pipelined_stop_leaves_what_the_general_pass_leaves(
    engine: Engine, runtime: Runtime, phone: Patient, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    steps = SCENARIOS[name]
    general = run(runtime, phone, steps, monkeypatch, pipelined=False)
    _empty_postgres(engine)
    pipelined = run(runtime, phone, steps, monkeypatch, pipelined=True)
    assert pipelined == general


def test_the_carrier_answers_a_standard_stop_where_it_replies_itself(
    engine: Engine, runtime: Runtime, phone: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = runtime.rules
    sender = dataclasses.replace(rules.senders[CLINIC], carrier_replies=True)
    runtime.rules = dataclasses.replace(rules, senders={**rules.senders, CLINIC: sender})
    steps: list[Step | Text] = [Text("STOP", "SM1"), Text("please stop texting me", "SM2", OTHER)]
    general = run(runtime, phone, steps, monkeypatch, pipelined=False)
    _empty_postgres(engine)
    pipelined = run(runtime, phone, steps, monkeypatch, pipelined=True)
    assert pipelined == general
    texts = pipelined[1]
    assert texts[0][10] is None  # the standard STOP: the carrier answers it
    assert texts[1][10] is not None  # the STOP in words is ours to confirm


def test_a_stop_it_takes_is_stored_revoked_and_confirmed(
    runtime: Runtime, rules: KeywordRules
) -> None:
    """Not a fallback in disguise: the pipelined pass itself handles a live STOP, and leaves
    a replayed one (its reply time has passed) to the general pass."""
    message = inbound.Inbound("SM1", PATIENT, CLINIC, "STOP")
    with transaction(runtime.sessions) as session:
        done = inbound_pipeline.handle(session, rules, message, T0, "US", LOCK)
    assert done is not None and done.reply and "unsubscribed" in done.reply
    with transaction(runtime.sessions) as session:
        assert {c: ledger.current_status(session, PATIENT, c).value for c in rules.categories} == {
            c: "revoked" for c in rules.categories
        }
        assert ledger.verify(session).ok
    replayed = dataclasses.replace(message, sid="SM2", received_at=T0)
    with transaction(runtime.sessions) as session:
        assert inbound_pipeline.handle(session, rules, replayed, T0, "US", LOCK) is None


def test_a_retried_stop_is_answered_at_once_while_its_number_is_locked(
    runtime: Runtime, phone: Patient, engine: Engine
) -> None:
    """Twilio retries a STOP whose answer it did not get while the worker holds the number's
    lock for a send: the stored confirmation is the answer, without waiting for the lock (a
    wait would end in the journal, and the confirmation would be lost)."""
    first = phone.text("STOP", sid="SM1").get_data(as_text=True)
    assert "unsubscribed" in first
    with engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM subjects WHERE number = :n FOR UPDATE"), {"n": PATIENT})
        again = phone.text("STOP", sid="SM1").get_data(as_text=True)
        holder.rollback()
    assert again == first
    assert not runtime.settings.journal_dir.exists() or not any(
        runtime.settings.journal_dir.iterdir()
    )
