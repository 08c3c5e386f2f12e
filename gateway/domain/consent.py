"""Consent events and the state they leave (SPEC §4). Pure: time comes in as an argument."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"


class Source(StrEnum):
    SMS_KEYWORD = "sms_keyword"
    WEB_FORM = "web_form"
    FRONT_DESK = "front_desk"
    PAPER_FORM = "paper_form"
    API = "api"
    CARRIER_BLOCK = "carrier_block"
    IMPORT = "import"
    REVIEW = "review"


class Status(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"
    NONE = "none"


# Revocations the patient made from the phone itself: START may undo exactly these.
SELF_SERVICE_REVOCATIONS = frozenset({Source.SMS_KEYWORD, Source.CARRIER_BLOCK})


@dataclass(frozen=True)
class Event:
    """One consent change as recorded; `id` orders recording, `occurred_at` orders truth."""

    id: int
    number: str
    category: str
    action: Action
    source: Source
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    hash: str = ""

    @property
    def order(self) -> tuple[dt.datetime, int]:
        # A back-dated import (earlier occurred_at, later id) never overrides a newer decision.
        return (self.occurred_at, self.id)


def status_of(event: Event | None) -> Status:
    if event is None:
        return Status.NONE
    return Status.GRANTED if event.action is Action.GRANT else Status.REVOKED


def may_send(status: Status, requires_grant: bool) -> bool:
    """Marketing needs a grant on record; care messages need only the absence of a revoke."""
    return status is Status.GRANTED if requires_grant else status is not Status.REVOKED


def deciding_events(events: Iterable[Event]) -> dict[str, Event]:
    """Per category, the event in force: the latest by (occurred_at, id)."""
    latest: dict[str, Event] = {}
    for event in events:
        current = latest.get(event.category)
        if current is None or event.order > current.order:
            latest[event.category] = event
    return latest


def state_as_of(events: Iterable[Event], at: dt.datetime) -> dict[str, Event]:
    """The events in force at `at`: those that had occurred by then, and been recorded."""
    return deciding_events(e for e in events if e.occurred_at <= at and e.recorded_at <= at)


def supersedes(new: Event, current: tuple[dt.datetime, int] | None) -> bool:
    """Does `new` become the category's current state? Only if it is newer than what is."""
    return current is None or new.order > current


def restorable(history: Iterable[Event], requires_grant: bool) -> bool:
    """May START restore this category? (SPEC §5.5)

    START undoes what the patient's own keyword or carrier revocations took away. Walking back
    past those, the first other decision tells what was there before: a grant is restored; a
    staff revoke stays; nothing at all restores a care category but never creates marketing
    consent that was never given ("YES" confirming an appointment is not a marketing opt-in).
    """
    ordered = sorted(history, key=lambda e: e.order, reverse=True)
    if not ordered or ordered[0].action is not Action.REVOKE:
        return False  # nothing to restore
    for event in ordered:
        if event.action is Action.REVOKE and event.source in SELF_SERVICE_REVOCATIONS:
            continue
        return event.action is Action.GRANT
    return not requires_grant
