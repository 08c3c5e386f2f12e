"""What a reassigned-numbers answer means for the consent on file (FCC §64.1200(m))."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.reassigned import (
    EARLIEST,
    Answer,
    Outcome,
    ReassignedAnswer,
    asked_date,
    due,
    verdict,
)

ASKED = dt.date(2026, 11, 24)
NOW = dt.datetime(2027, 3, 24, 17, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("answer", "since", "outcome"),
    [
        (Answer.YES, ASKED, Outcome.REASSIGNED),
        (Answer.YES, None, Outcome.REASSIGNED),
        (Answer.YES, dt.date(2026, 12, 1), Outcome.REASSIGNED),  # since a later date: after too
        (Answer.YES, dt.date(2026, 1, 1), Outcome.NO_DATA),  # maybe before the grant: unknown
        (Answer.NO, ASKED, Outcome.NOT_REASSIGNED),
        (Answer.NO, dt.date(2026, 1, 1), Outcome.NOT_REASSIGNED),  # none since an earlier date
        (Answer.NO, dt.date(2026, 12, 1), Outcome.NO_DATA),  # silent on the days between
        (Answer.NO_DATA, ASKED, Outcome.NO_DATA),
    ],
)
def test_an_answer_takes_the_number_only_when_it_covers_the_consent(answer, since, outcome) -> None:
    assert verdict(ReassignedAnswer(answer, since), ASKED) is outcome


@pytest.mark.parametrize(
    ("last", "days", "asks"),
    [
        (NOW - dt.timedelta(days=89), 90, False),
        (NOW - dt.timedelta(days=90), 90, True),
        (None, 90, True),
        (NOW, 0, True),  # 0: before every marketing message
    ],
)
def test_a_check_is_due_when_the_number_was_not_verified_lately(last, days, asks) -> None:
    assert due(last, NOW, days) is asks


def test_the_date_asked_about_is_the_last_verifications_utc_date() -> None:
    late_evening = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert asked_date(late_evening) == dt.date(2026, 11, 25)
    assert asked_date(None) == EARLIEST
