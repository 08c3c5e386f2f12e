"""US federal holidays and business days: the FCC gives 10 business days to honour an
opt-out request in other words (47 CFR §64.1200(a)(10)); reviews are due by then."""

from __future__ import annotations

import datetime as dt
from functools import cache

MONDAY, THURSDAY = 0, 3


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """5 U.S.C. 6103(b): a Saturday holiday is observed Friday, a Sunday one Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@cache
def federal_holidays(year: int) -> frozenset[dt.date]:
    fixed = [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
    days = {_observed(dt.date(year, m, d)) for m, d in fixed}
    days |= {
        _nth_weekday(year, 1, MONDAY, 3),  # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, MONDAY, 3),  # Washington's Birthday
        _last_weekday(year, 5, MONDAY),  # Memorial Day
        _nth_weekday(year, 9, MONDAY, 1),  # Labor Day
        _nth_weekday(year, 10, MONDAY, 2),  # Columbus Day
        _nth_weekday(year, 11, THURSDAY, 4),  # Thanksgiving Day
    }
    # Next year's New Year's Day on a Saturday is observed on this year's Dec 31.
    days.add(_observed(dt.date(year + 1, 1, 1)))
    return frozenset(d for d in days if d.year == year)


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def add_business_days(start: dt.date, count: int) -> dt.date:
    day = start
    while count > 0:
        day += dt.timedelta(days=1)
        count -= is_business_day(day)
    return day
