"""What the send-time decision sees, read without a lock or a write (SPEC §6).

The worker (`outbound.deliver`, holding the number's lock) and the console's Send page (a
preview, holding nothing) both gather the decision's grounds here and apply the one rule,
`domain.policy.decide`, to them: the page cannot tell the front desk something the worker
would not do. Takes the caller's session; reads only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain import policy
from gateway.domain.consent import Event, Status, status_of
from gateway.domain.keywords import KeywordRules, TimeWindow
from gateway.domain.phone import Phone
from gateway.domain.restriction import NO_PHI_BY_TEXT, in_force
from gateway.models import OutboundMessage

# A number phonenumbers cannot place is held to the clinic's own zone (the US default).
FALLBACK_ZONE = "America/New_York"


@dataclass(frozen=True)
class Grounds:
    """Everything the rule is applied to, for one number and one category."""

    number: str
    category: str
    requires_grant: bool
    event: Event | None  # the consent event in force for the category, if any
    status: Status
    sender: str | None  # the clinic number that would send it
    zones: tuple[str, ...]  # () where not looked up (see grounds_of)
    state: str | None  # the number's US state, for its own quiet hours
    week: policy.Week
    caps: tuple[policy.Cap, ...]
    sent_at: tuple[dt.datetime, ...]  # this category's sends to the number within the caps
    restriction: Event | None = None  # the number's no_phi_by_text event, if any

    @property
    def restricted(self) -> bool:
        return in_force(self.restriction)

    def recipient(self) -> policy.Recipient:
        return policy.Recipient(
            status=self.status,
            event_id=self.event.id if self.event else None,
            zones=self.zones,
            week=self.week,
            restricted=self.restricted,
        )

    def decide(self, now: dt.datetime, *, private_text: bool = False) -> policy.Decision:
        """`private_text`: the message has a text without PHI for a restricted number."""
        return policy.decide(
            recipient=self.recipient(),
            requires_grant=self.requires_grant,
            sender=self.sender,
            caps=self.caps,
            sent_at=self.sent_at,
            now=now,
            private_text=private_text,
        )


def grounds(
    session: Session,
    rules: KeywordRules,
    *,
    number: str,
    category: str,
    requested_sender: str | None,
    now: dt.datetime,
) -> Grounds:
    """Read what the decision needs. The caller holds the number's lock or accepts that a STOP
    may land a moment later (a preview: the worker decides again at send time)."""
    in_force_now = ledger.current(session, number)  # the category and the restriction at once
    since = caps_since(rules, category, now)
    return grounds_of(
        rules,
        number=number,
        category=category,
        requested_sender=requested_sender,
        in_force=in_force_now,
        sent_at=_recent_sends(session, number, category, since) if since else (),
    )


def caps_since(rules: KeywordRules, category: str, now: dt.datetime) -> dt.datetime | None:
    """Since when the category's sends to a number count against its caps (None: no caps)."""
    caps = _caps(rules, category)
    return now - max(c.period for c in caps) if caps else None


def _caps(rules: KeywordRules, category: str) -> tuple[policy.Cap, ...]:
    return tuple(policy.Cap(c.count, dt.timedelta(hours=c.hours)) for c in rules.caps_for(category))


def grounds_of(
    rules: KeywordRules,
    *,
    number: str,
    category: str,
    requested_sender: str | None,
    in_force: Mapping[str, Event],
    sent_at: Iterable[dt.datetime | None],
    locate: bool = True,
) -> Grounds:
    """The grounds from what was read: the number's events in force (by category, the
    restriction among them) and the category's sends to it since `caps_since`. `locate`
    False: where the number is (its zones and state, phonenumbers' parse and geocoder) is
    looked up only if the category has quiet hours — without them nothing in the rule
    depends on it (the worker's pass; a preview shows it always)."""
    event = in_force.get(category)
    zones: tuple[str, ...] = ()
    state = None
    if locate or category in rules.quiet_hours:
        phone = Phone(number)
        zones, state = phone.zones or (FALLBACK_ZONE,), phone.state
    return Grounds(
        number=number,
        category=category,
        requires_grant=rules.categories[category].requires_grant,
        event=event,
        status=status_of(event),
        sender=choose_sender(rules, category, requested_sender),
        zones=zones,
        state=state,
        week=week(rules, category, state),
        caps=_caps(rules, category),
        sent_at=tuple(t for t in sent_at if t is not None),
        restriction=in_force.get(NO_PHI_BY_TEXT),
    )


def decide(
    session: Session, rules: KeywordRules, msg: OutboundMessage, now: dt.datetime
) -> policy.Decision:
    """The worker's decision for a message it has claimed and locked."""
    found = grounds(
        session,
        rules,
        number=msg.to_number,
        category=msg.category,
        requested_sender=msg.requested_sender,
        now=now,
    )
    return found.decide(now, private_text=msg.private_body is not None)


def choose_sender(rules: KeywordRules, category: str, requested: str | None) -> str | None:
    if requested:
        return requested
    return next((n for n, s in rules.senders.items() if category in s.categories), None)


def week(rules: KeywordRules, category: str, state: str | None) -> policy.Week:
    """The category's quiet-hours window, narrowed by the recipient's state's own rules."""
    quiet = rules.quiet_hours.get(category)
    if quiet is None:
        return {}
    state_rule = rules.state_windows.get(state) if state else None
    return {
        day: policy.narrow(quiet, state_rule.on(day)) if state_rule else quiet for day in range(7)
    }


# Built once per process: the worker asks it for every capped message.
_RECENT_SENDS = select(OutboundMessage.sent_at).where(
    OutboundMessage.to_number == bindparam("number"),
    OutboundMessage.category == bindparam("category"),
    OutboundMessage.sent_at > bindparam("since"),
)


def _recent_sends(
    session: Session, number: str, category: str, since: dt.datetime
) -> list[dt.datetime | None]:
    params = {"number": number, "category": category, "since": since}
    return list(session.execute(_RECENT_SENDS, params).scalars())


# --- The preview: the same decision, with what a person needs to see behind it. ---


@dataclass(frozen=True)
class LocalWindow:
    """Quiet hours as they stand in one of the number's zones at the moment decided for."""

    zone: str
    local: dt.datetime
    window: TimeWindow | None  # None: the category has no quiet hours that day
    allowed: bool


@dataclass(frozen=True)
class CapUse:
    """One frequency cap: how many of its sends the number has had in its rolling period."""

    count: int
    period: dt.timedelta
    used: int


@dataclass(frozen=True)
class Preview:
    at: dt.datetime  # the moment decided for: now, or the scheduled time
    grounds: Grounds
    decision: policy.Decision
    windows: tuple[LocalWindow, ...]
    caps: tuple[CapUse, ...]

    @property
    def may_send(self) -> bool:
        return self.decision.outcome is policy.Outcome.SEND


def preview(
    session: Session,
    rules: KeywordRules,
    *,
    number: str,
    category: str,
    sender: str | None = None,
    now: dt.datetime,
    send_at: dt.datetime | None = None,
    private_text: bool = False,
) -> Preview:
    """What the worker would decide for this number and category, at `send_at` (if later than
    now) or now; `private_text`: the template has one. No lock is taken, nothing written."""
    at = send_at if send_at is not None and send_at > now else now
    found = grounds(
        session, rules, number=number, category=category, requested_sender=sender, now=at
    )
    return Preview(
        at=at,
        grounds=found,
        decision=found.decide(at, private_text=private_text),
        windows=tuple(_window_in(zone, at, found.week) for zone in found.zones),
        caps=tuple(
            CapUse(cap.count, cap.period, sum(1 for t in found.sent_at if t > at - cap.period))
            for cap in found.caps
        ),
    )


def _window_in(zone: str, at: dt.datetime, days: policy.Week) -> LocalWindow:
    local = at.astimezone(policy.time_zone(zone))
    window = days.get(local.weekday())
    return LocalWindow(
        zone=zone,
        local=local,
        window=window,
        allowed=policy.allowed_at(at, (zone,), days),
    )
