"""The dashboard's numbers on real data (SQLite and PostgreSQL): texts through the inbound
service, messages through the send-time decision, days in the clinic's zone."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import dashboard, inbound, ledger, outbound, services
from gateway.adapters.twilio_sms import DryRunSender
from gateway.dashboard import Bar, Day
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.domain.keywords import KeywordRules
from gateway.models import Review
from gateway.ports import SendError
from tests.conftest import CLINIC, PATIENT

NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)  # Tuesday 1 pm in New York
sids = itertools.count(1)
DRY_RUN = DryRunSender()  # one sender: its ids are unique like Twilio's


def text(
    sessions: sessionmaker[Session], rules: KeywordRules, body: str, at: dt.datetime, frm: str
) -> None:
    message = inbound.Inbound(
        sid=f"SM{next(sids):032x}", from_number=frm, to_number=CLINIC, body=body
    )
    with transaction(sessions) as session:
        inbound.handle(session, rules, message, at, "US")


def grant(sessions: sessionmaker[Session], number: str, at: dt.datetime) -> None:
    with transaction(sessions) as session:
        ledger.append(
            session,
            number=number,
            category="marketing",
            action=Action.GRANT,
            source=Source.PAPER_FORM,
            actor="user:maria",
            evidence={"form_id": "P-1", "disclosure": "Offers by text"},
            now=at,
        )


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_a_stop_is_one_opt_out_on_the_clinics_day(sessions, rules) -> None:
    # 21:30 in New York on the 19th is already the 20th in UTC; the STOP revokes two categories.
    text(sessions, rules, "STOP", utc(2026, 11, 20, 2, 30), PATIENT)
    text(sessions, rules, "STOP", utc(2026, 11, 24, 4, 0), "+14055550150")  # 23:00 on the 23rd
    grant(sessions, "+13055550142", utc(2026, 11, 24, 15, 0))
    with transaction(sessions) as session:
        days = dashboard.consent_by_day(session, NOW, NEW_YORK)
    busy = {d.day.isoformat(): (d.opt_outs, d.opt_ins) for d in days if d.opt_outs or d.opt_ins}
    assert busy == {"2026-11-19": (1, 0), "2026-11-23": (1, 0), "2026-11-24": (0, 1)}


def test_every_one_of_the_last_thirty_clinic_days_is_listed_even_across_the_clock_change(
    sessions,
) -> None:
    grant(sessions, PATIENT, utc(2026, 10, 26, 3, 0))  # 23:00 on 25 October, New York: too old
    grant(sessions, "+13055550142", utc(2026, 10, 26, 5, 0))  # 01:00 on the 26th: the first day
    with transaction(sessions) as session:
        days = dashboard.consent_by_day(session, NOW, NEW_YORK)
    assert len(days) == 30
    assert (days[0].day, days[-1].day) == (dt.date(2026, 10, 26), dt.date(2026, 11, 24))
    assert days[0] == Day(dt.date(2026, 10, 26), 0, 1)
    assert sum(d.opt_ins for d in days) == 1


def test_no_events_is_thirty_empty_days(sessions) -> None:
    with transaction(sessions) as session:
        days = dashboard.consent_by_day(session, NOW, NEW_YORK)
    assert len(days) == 30 and all((d.opt_outs, d.opt_ins) == (0, 0) for d in days)


class Refusing:
    dry_run = False

    def send(self, *, to: str, sender: str, body: str) -> str:
        raise SendError("invalid", permanent=True, code=21211)


class Sending:
    dry_run = False

    def send(self, *, to: str, sender: str, body: str) -> str:
        return "SM" + "f" * 32


def send(
    sessions: sessionmaker[Session],
    rules: KeywordRules,
    to: str,
    category: str,
    at: dt.datetime,
    sender: object | None = None,
) -> str:
    request = outbound.Request(to=to, category=category, body="Hello", actor="user:maria")
    with transaction(sessions) as session:
        msg, _ = outbound.submit(session, rules, request, at)
        assert outbound.claim(session, msg.id, at)
        result = outbound.deliver(session, rules, sender or DRY_RUN, msg.id, at)  # type: ignore[arg-type]
        return result.status


def test_messages_are_counted_by_outcome_and_blocks_by_reason(sessions, rules) -> None:
    text(sessions, rules, "STOP", NOW - dt.timedelta(days=2), PATIENT)
    grant(sessions, "+13055550142", NOW - dt.timedelta(days=3))
    night = utc(2026, 11, 24, 3, 0)  # 22:00 in Florida: marketing waits for the morning
    outcomes = [
        send(sessions, rules, "+13055550142", "transactional", NOW),
        send(sessions, rules, PATIENT, "transactional", NOW),
        send(sessions, rules, "+12065550142", "marketing", NOW),
        send(sessions, rules, "+13055550142", "marketing", night),
        send(sessions, rules, "+14055550150", "transactional", NOW, Refusing()),
        send(sessions, rules, "+14055550150", "transactional", NOW, Sending()),
        send(sessions, rules, "+13055550142", "transactional", NOW - dt.timedelta(days=31)),
    ]
    assert outcomes == ["dry_run", "blocked", "blocked", "deferred", "failed", "sent", "dry_run"]
    with transaction(sessions) as session:
        bars = dashboard.messages_by_outcome(session, NOW)
    assert bars == [
        Bar("Sent or delivered", 1, "sent"),
        Bar("Dry run (not handed to Twilio)", 1, "dry_run"),
        Bar("Blocked: no consent", 1, "blocked"),
        Bar("Blocked: opted out", 1, "blocked"),
        Bar("Deferred: quiet hours", 1, "deferred"),
        Bar("Failed", 1, "failed"),
    ]


def test_no_messages_is_no_bars(sessions) -> None:
    with transaction(sessions) as session:
        assert dashboard.messages_by_outcome(session, NOW) == []


def test_the_review_queue_shows_open_oldest_and_overdue(sessions, rules) -> None:
    old = NOW - dt.timedelta(days=20)  # past the 10 business days
    text(sessions, rules, "NO", old, "+12065550142")
    text(sessions, rules, "NO", NOW - dt.timedelta(days=2), "+14055550150")
    text(sessions, rules, "NO", NOW - dt.timedelta(hours=3), "+13055550142")
    text(sessions, rules, "NO", NOW - dt.timedelta(days=30), PATIENT)
    with transaction(sessions) as session:
        resolved = session.execute(select(Review).where(Review.number == PATIENT)).scalar_one()
        services.resolve_review(
            session, rules, resolved.id, resolution="no_action", note=None, actor="u", now=NOW
        )
    with transaction(sessions) as session:
        queue = dashboard.review_queue(session, NOW)
    assert (queue.open, queue.overdue, queue.oldest) == (3, 1, old)
    assert [(bar.label, bar.count) for bar in queue.ages] == [
        ("Under 1 day", 1),
        ("1–2 days", 1),
        ("3–6 days", 0),
        ("7–13 days", 0),
        ("14 days or more", 1),
    ]


def test_an_empty_queue_has_no_oldest(sessions) -> None:
    with transaction(sessions) as session:
        queue = dashboard.review_queue(session, NOW)
    assert (queue.open, queue.overdue, queue.oldest) == (0, 0, None)
    assert all(bar.count == 0 for bar in queue.ages)


@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "Pacific/Auckland"])
def test_today_is_the_clinics_today(sessions, zone: str) -> None:
    with transaction(sessions) as session:
        days = dashboard.consent_by_day(session, NOW, ZoneInfo(zone))
    assert days[-1].day == NOW.astimezone(ZoneInfo(zone)).date()
