"""Reassigned numbers (FCC §64.1200(m), SPEC §10): consent given by a number's previous holder
never covers the new one. Pure: dates and answers come in as arguments.

Each number has the instant it was last known to be the patient's — its latest consent event,
a front-desk "verified", a database answer "not reassigned since then". Marketing to a number
not known for `days` first asks the FCC's Reassigned Numbers Database (through a provider)
whether the number was permanently disconnected since that date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Answer(StrEnum):
    YES = "yes"  # disconnected since the date asked about: someone else may hold it now
    NO = "no"  # still the same subscriber: the safe harbor, from the date asked about
    NO_DATA = "no_data"  # the database knows nothing of it (dates before 2021, say)


@dataclass(frozen=True)
class ReassignedAnswer:
    """What the database said about a number since `since` (the date it echoes back, which
    is the date asked about), with the provider's raw answer kept as evidence."""

    answer: Answer
    since: dt.date | None
    raw: Mapping[str, Any] = field(default_factory=dict)


def last_known(instants: Iterable[dt.datetime | None]) -> dt.datetime | None:
    """The latest instant the number was known to be the patient's, of those on record."""
    return max((t for t in instants if t is not None), default=None)


def due(last_verified: dt.datetime | None, now: dt.datetime, days: int) -> bool:
    """Ask before marketing when the number was not verified within `days` (0: always)."""
    return last_verified is None or now - last_verified >= dt.timedelta(days=days)


def asked_date(last_verified: dt.datetime | None) -> dt.date:
    """The date sent to the database: the last verification's UTC date. Nothing on record
    at all (marketing needs a grant, so only by a race): the earliest the database answers
    for, so any disconnection on file counts."""
    return last_verified.astimezone(dt.UTC).date() if last_verified else EARLIEST


# The FCC's database holds disconnections from 2021-01-27 on (FCC 18-177 as implemented).
EARLIEST = dt.date(2021, 1, 27)


class Outcome(StrEnum):
    """What a check on record says; the row's `outcome`."""

    REASSIGNED = "reassigned"  # consent on file is the previous holder's: revoke it all
    NOT_REASSIGNED = "not_reassigned"  # still the patient's: the check date is kept
    NO_DATA = "no_data"  # nothing either way: the message goes, the next one asks again
    ERROR = "error"  # the provider did not answer: marketing waits (never sent on an unknown)
    SKIPPED = "skipped"  # dry-run, no credentials: nothing was asked, and the decision says so
    VERIFIED = "verified"  # the front desk confirmed the number is still the patient's


# The outcomes that show the number was still the patient's at the check.
KNOWN_THEIRS = frozenset({Outcome.NOT_REASSIGNED, Outcome.VERIFIED})


def verdict(answer: ReassignedAnswer, asked: dt.date) -> Outcome:
    """What the database's answer means for consent recorded up to `asked`. A "yes" speaks of
    disconnections after the date it names: it covers our consent only when that date is not
    before the one asked about; a "no" only when it is not after it. Twilio echoes the date
    asked, so the other cases are inconclusive, never taken as either."""
    since = answer.since or asked
    if answer.answer is Answer.YES and since >= asked:
        return Outcome.REASSIGNED
    if answer.answer is Answer.NO and since <= asked:
        return Outcome.NOT_REASSIGNED
    return Outcome.NO_DATA
