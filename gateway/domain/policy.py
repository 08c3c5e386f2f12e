"""The one send rule (SPEC §6): may this message go now, and if not, why and until when.

Checks in order — consent, the patient's restriction (no PHI by text), sender, quiet hours,
frequency caps — each with its reason code.
Pure: the caller passes the consent state, the recipient's zones, the windows, the times of
recent sends and `now`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway.domain.consent import Status, may_send
from gateway.domain.keywords import TimeWindow
from gateway.domain.restriction import Text

OPT_OUT_WORDING = re.compile(r"\b(reply|text|send)\s+[\"'“]?stop\b", re.IGNORECASE)


class Outcome(StrEnum):
    SEND = "send"
    BLOCK = "blocked"
    DEFER = "deferred"


class Reason(StrEnum):
    OK = "ok"
    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    NO_SENDER = "no_sender"
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    INVALID_NUMBER = "invalid_number"
    CARRIER_BLOCK = "carrier_block"
    PROVIDER_ERROR = "provider_error"
    ERASED = "erased"  # the patient's erasure took the text before it was sent
    RESTRICTED = "restricted"  # no PHI by text, and no private text to send instead
    REASSIGNED = "reassigned"  # the number changed hands since it was last the patient's


def narrow(window: TimeWindow, other: TimeWindow | None) -> TimeWindow:
    """Both rules at once; `other` None means no sending that day (an empty window)."""
    if other is None:
        return TimeWindow(window.start, window.start)
    return TimeWindow(max(window.start, other.start), min(window.end, other.end))


# Per weekday (Monday = 0) the window, or None for no restriction that day.
Week = Mapping[int, TimeWindow | None]


@dataclass(frozen=True)
class Cap:
    count: int
    period: dt.timedelta


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    until: dt.datetime | None = None
    event_id: int | None = None
    text: Text | None = None  # which text goes (or waits); None when blocked


@dataclass(frozen=True)
class Recipient:
    status: Status
    event_id: int | None
    zones: tuple[str, ...]
    week: Week  # the category's quiet-hours windows narrowed by the recipient's state
    restricted: bool = False  # no PHI by text (HIPAA §164.522(b)): only a private text goes


def decide(
    *,
    recipient: Recipient,
    requires_grant: bool,
    sender: str | None,
    caps: Sequence[Cap],
    sent_at: Iterable[dt.datetime],
    now: dt.datetime,
    private_text: bool = False,
) -> Decision:
    """`private_text`: the message's template has a text without PHI, for a restricted number."""
    event = recipient.event_id
    if not may_send(recipient.status, requires_grant):
        reason = Reason.OPTED_OUT if recipient.status is Status.REVOKED else Reason.NO_CONSENT
        return Decision(Outcome.BLOCK, reason, event_id=event)
    if recipient.restricted and not private_text:
        # A free text (or a template without a private text) may carry anything: not sent.
        return Decision(Outcome.BLOCK, Reason.RESTRICTED, event_id=event)
    text = Text.PRIVATE_TEXT if recipient.restricted else Text.BODY
    if sender is None:
        return Decision(Outcome.BLOCK, Reason.NO_SENDER, event_id=event)
    allowed = next_allowed(now, recipient.zones, recipient.week)
    if allowed > now:
        return Decision(Outcome.DEFER, Reason.QUIET_HOURS, allowed, event, text)
    capped = cap_until(now, list(sent_at), caps)
    if capped is not None:
        return Decision(Outcome.DEFER, Reason.FREQUENCY_CAP, capped, event, text)
    return Decision(Outcome.SEND, Reason.OK, event_id=event, text=text)


@functools.cache
def time_zone(name: str) -> ZoneInfo:
    """The zone, loaded once per process. ZoneInfo's own cache keeps only the last 8 zones
    strongly: US numbers name a few dozen, and each miss reads the zone's file again."""
    return ZoneInfo(name)


def allowed_at(t: dt.datetime, zones: Sequence[str], week: Week) -> bool:
    """Within the window in every zone of the number (several zones: the strictest)."""
    for zone in zones:
        local = t.astimezone(time_zone(zone))
        window = week.get(local.weekday())
        if window is not None and not window.allows(local.time()):
            return False
    return True


def next_allowed(now: dt.datetime, zones: Sequence[str], week: Week) -> dt.datetime:
    """`now` if allowed, else the earliest window opening (in any zone) when all allow."""
    if allowed_at(now, zones, week):
        return now
    candidates = sorted(
        opening
        for zone in zones
        for days in range(9)
        if (opening := _opening(now, zone, days, week)) is not None and opening > now
    )
    for candidate in candidates:
        if allowed_at(candidate, zones, week):
            return candidate
    raise ValueError("no sending window in the next week: check quiet_hours and state windows")


def _opening(now: dt.datetime, zone: str, days: int, week: Week) -> dt.datetime | None:
    tz = time_zone(zone)
    day = now.astimezone(tz).date() + dt.timedelta(days=days)
    window = week.get(day.weekday())
    start = window.start if window is not None else dt.time(0, 0)
    return dt.datetime.combine(day, start, tzinfo=tz).astimezone(dt.UTC)


def cap_until(
    now: dt.datetime, sent_at: list[dt.datetime], caps: Sequence[Cap]
) -> dt.datetime | None:
    """Rolling caps: when the oldest send that fills a cap leaves its period."""
    until: dt.datetime | None = None
    for cap in caps:
        recent = sorted(t for t in sent_at if t > now - cap.period)
        if len(recent) >= cap.count:
            free = recent[len(recent) - cap.count] + cap.period
            until = free if until is None else max(until, free)
    return until


def with_opt_out_wording(body: str) -> str:
    """CTIA: marketing carries how to opt out; appended when the text lacks it."""
    if OPT_OUT_WORDING.search(body):
        return body
    return f"{body}\nReply STOP to opt out"
