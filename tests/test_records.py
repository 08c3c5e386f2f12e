"""What the front desk's pages read: consent per category with its event, texts both ways,
the outbox by status and reason, the review queue by due date."""

from __future__ import annotations

import datetime as dt

from gateway import outbound, records
from gateway.db import transaction
from gateway.domain.consent import Status
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock, Phone


def _queue(runtime: Runtime, to: str, category: str = "transactional") -> str:
    with transaction(runtime.sessions) as session:
        request = outbound.Request(to=to, category=category, body="Your visit", actor="t")
        return outbound.submit(session, runtime.rules, request, runtime.clock())[0].id


def test_a_numbers_consent_names_the_event_behind_each_category(
    runtime: Runtime, phone: Phone
) -> None:
    phone.text("STOP PROMOS")
    with transaction(runtime.sessions) as session:
        found = {c.category: c for c in records.consent_of(session, runtime.rules, PATIENT)}
    assert found["marketing"].status is Status.REVOKED and not found["marketing"].may_send
    assert found["marketing"].event is not None
    assert found["marketing"].event.source.value == "sms_keyword"
    assert found["transactional"].status is Status.NONE and found["transactional"].may_send
    assert found["transactional"].event is None


def test_recent_texts_both_ways_newest_first(runtime: Runtime, phone: Phone, clock: Clock) -> None:
    phone.text("HELP")
    clock.advance(minutes=1)
    phone.text("can I cancel my appointment?")
    first = _queue(runtime, PATIENT)
    clock.advance(seconds=1)
    second = _queue(runtime, PATIENT)
    _queue(runtime, "+12065550142")
    with transaction(runtime.sessions) as session:
        inbound = records.recent_inbound(session, PATIENT)
        sent = records.recent_outbound(session, PATIENT)
    assert [(m.body, m.intent) for m in inbound] == [
        ("can I cancel my appointment?", "none"),
        ("HELP", "help"),
    ]
    assert [m.id for m in sent] == [second, first]


def test_the_outbox_filters_by_status_and_reason_and_pages_by_id(
    runtime: Runtime, clock: Clock
) -> None:
    ids = []
    for _ in range(5):
        clock.advance(seconds=1)  # ids sort by their millisecond
        ids.append(_queue(runtime, PATIENT))
    with transaction(runtime.sessions) as session:
        blocked = session.get(outbound.OutboundMessage, ids[1])
        assert blocked is not None
        blocked.status, blocked.reason = "blocked", "opted_out"
    with transaction(runtime.sessions) as session:
        page = records.outbox(session, records.Outbox(), limit=2)
        after = records.outbox(session, records.Outbox(before=page[-1].id), limit=2)
        opted_out = records.outbox(session, records.Outbox(reason="opted_out"), limit=10)
        queued = records.outbox(session, records.Outbox(status="queued"), limit=10)
    assert [m.id for m in page + after] == ids[::-1][:4]
    assert [m.id for m in opted_out] == [ids[1]]
    assert len(queued) == 4


def test_the_review_queue_puts_the_most_urgent_first_and_marks_overdue(
    runtime: Runtime, phone: Phone, clock: Clock
) -> None:
    phone.text("NO")  # out of the blue: a person decides
    clock.advance(days=1)
    phone.text("wrong number", frm="+12065550142")
    with transaction(runtime.sessions) as session:
        now = records.review_queue(session, status="open", now=clock(), offset=0, limit=10)
        later = records.review_queue(
            session, status="open", now=clock() + dt.timedelta(days=30), offset=0, limit=10
        )
    assert [q.review.number for q in now][:1] == [PATIENT]
    assert not any(q.overdue for q in now)
    assert len(later) == 2 and all(q.overdue for q in later)
