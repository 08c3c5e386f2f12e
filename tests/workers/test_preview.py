"""The Send page's preview and the worker's decision are one rule: for the same number,
category and moment they agree, outcome, reason, until and the consent event behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from gateway import decision, ledger
from gateway.db import transaction
from gateway.domain.policy import Outcome, Reason
from gateway.models import Subject
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, Clock, Phone, with_rules
from tests.workers.test_deliver import FLORIDA, grant

NEW_YORK = dt.timezone(dt.timedelta(hours=-5))  # November: Eastern Standard Time


def _preview(runtime: Runtime, number: str, category: str, **extra: Any) -> decision.Preview:
    with transaction(runtime.sessions) as session:
        return decision.preview(
            session, runtime.rules, number=number, category=category, now=runtime.clock(), **extra
        )


def _delivered(send: Any, drain: Any, fetch: Any, number: str, category: str) -> dict[str, Any]:
    queued = send(number, "Flu shots are in!", category)
    drain()
    return dict(fetch(queued["id"])["decision"])


def _agree(preview: decision.Preview, decided: dict[str, Any]) -> None:
    until = preview.decision.until
    assert decided == {
        **decided,
        "outcome": preview.decision.outcome.value,
        "reason": preview.decision.reason.value,
        "consent_event_id": preview.decision.event_id,
        "until": until and until.isoformat().replace("+00:00", "Z"),
    }


def test_marketing_without_a_grant_is_blocked_in_the_preview_as_by_the_worker(
    runtime: Runtime, send, drain, fetch
) -> None:
    preview = _preview(runtime, PATIENT, "marketing")
    assert (preview.decision.outcome, preview.decision.reason) == (
        Outcome.BLOCK,
        Reason.NO_CONSENT,
    )
    assert not preview.may_send and preview.grounds.event is None
    _agree(preview, _delivered(send, drain, fetch, PATIENT, "marketing"))


def test_a_granted_number_may_receive_marketing_with_the_grant_behind_it(
    runtime: Runtime, client, auth, send, drain, fetch
) -> None:
    event = grant(client, auth)
    preview = _preview(runtime, PATIENT, "marketing")
    assert preview.may_send and preview.decision.event_id == event
    assert preview.grounds.event is not None and preview.grounds.event.source.value == "paper_form"
    assert preview.grounds.sender == CLINIC
    _agree(preview, _delivered(send, drain, fetch, PATIENT, "marketing"))


def test_after_stop_the_preview_names_the_stop_as_the_worker_does(
    runtime: Runtime, client, auth, send, drain, fetch, phone: Phone
) -> None:
    grant(client, auth)
    phone.text("STOP")
    preview = _preview(runtime, PATIENT, "marketing")
    assert preview.decision.reason is Reason.OPTED_OUT
    assert preview.grounds.event is not None
    assert preview.grounds.event.source.value == "sms_keyword"
    _agree(preview, _delivered(send, drain, fetch, PATIENT, "marketing"))
    care = _preview(runtime, PATIENT, "transactional")
    assert care.decision.reason is Reason.OPTED_OUT  # the shared sender carries both
    _agree(care, _delivered(send, drain, fetch, PATIENT, "transactional"))


def test_quiet_hours_defer_to_the_same_instant_in_both(
    runtime: Runtime, clock: Clock, client, auth, send, drain, fetch
) -> None:
    grant(client, auth, FLORIDA)
    clock.now = dt.datetime(2026, 11, 24, 20, 30, tzinfo=NEW_YORK).astimezone(dt.UTC)
    preview = _preview(runtime, FLORIDA, "marketing")
    assert preview.decision.reason is Reason.QUIET_HOURS
    # Florida's own window (8:00-20:00) is narrower than the federal 8:00-21:00.
    assert preview.grounds.state == "Florida"
    assert [(w.window and (w.window.start, w.window.end), w.allowed) for w in preview.windows] == [
        ((dt.time(8), dt.time(20)), False)
    ]
    assert preview.decision.until == dt.datetime(2026, 11, 25, 8, tzinfo=NEW_YORK)
    _agree(preview, _delivered(send, drain, fetch, FLORIDA, "marketing"))


def test_the_frequency_cap_counts_the_same_sends(
    runtime: Runtime, client, auth, send, drain, fetch
) -> None:
    grant(client, auth)
    for _ in range(3):
        _delivered(send, drain, fetch, PATIENT, "marketing")
    preview = _preview(runtime, PATIENT, "marketing")
    assert preview.decision.reason is Reason.FREQUENCY_CAP
    assert [(c.count, c.used) for c in preview.caps] == [(3, 3)]
    _agree(preview, _delivered(send, drain, fetch, PATIENT, "marketing"))


def test_no_sender_for_the_category_blocks_in_both(
    runtime: Runtime, rules, worker, client, auth, send, drain, fetch
) -> None:
    worker.rules = with_rules(
        runtime,
        rules,
        senders={CLINIC: {"categories": ["transactional"], "carrier_replies": False}},
    )
    grant(client, auth)
    preview = _preview(runtime, PATIENT, "marketing")
    assert preview.decision.reason is Reason.NO_SENDER
    _agree(preview, _delivered(send, drain, fetch, PATIENT, "marketing"))


def test_a_scheduled_preview_decides_for_the_scheduled_time(runtime: Runtime, clock: Clock) -> None:
    clock.now = dt.datetime(2026, 11, 24, 23, 0, tzinfo=NEW_YORK).astimezone(dt.UTC)
    morning = dt.datetime(2026, 11, 25, 9, 0, tzinfo=NEW_YORK).astimezone(dt.UTC)
    care = _preview(runtime, PATIENT, "transactional", send_at=morning)
    assert care.at == morning and care.may_send
    assert _preview(runtime, PATIENT, "transactional", send_at=clock.now - dt.timedelta(1)).at == (
        clock.now
    )


def test_a_preview_writes_nothing(runtime: Runtime) -> None:
    number = "+12065550142"
    _preview(runtime, number, "marketing")
    with transaction(runtime.sessions) as session:
        assert session.execute(select(func.count()).select_from(Subject)).scalar_one() == 0
        assert ledger.history(session, number) == []


@pytest.mark.postgres_only
def test_a_preview_does_not_wait_for_the_numbers_lock(runtime: Runtime, engine: Engine) -> None:
    """A STOP being applied holds the number's lock; the page answers anyway (the worker,
    deciding for real, waits for it)."""
    with transaction(runtime.sessions) as holder:
        ledger.lock_number(holder, PATIENT, runtime.clock())
        with transaction(runtime.sessions) as session:
            session.execute(text("SET LOCAL lock_timeout = '1s'"))
            found = decision.preview(
                session, runtime.rules, number=PATIENT, category="marketing", now=runtime.clock()
            )
    assert found.decision.reason is Reason.NO_CONSENT
