"""What the front desk's pages share: reading a number or a clinic-local time from a form,
errors kept next to the field they belong to, and the words for the decision's reason codes.

The pages themselves: send_page (Send), number_page (Number), messages_page (Messages),
reviews_page (Reviews)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from gateway.domain.phone import InvalidPhone, Phone
from gateway.services import Problem
from gateway.web.context import runtime

# What each reason code means, as the front desk would say it (SPEC §6 and §11).
REASONS: Mapping[str, str] = {
    "ok": "every check passed",
    "send_at": "waiting for its scheduled time",
    "no_consent": "no consent on record: marketing needs the patient's express written consent",
    "opted_out": "the patient opted out",
    "no_sender": "none of the clinic's numbers carries this category",
    "quiet_hours": "quiet hours in the patient's time zone: it waits for the window to open",
    "frequency_cap": "the frequency cap is reached: it waits until a send leaves the period",
    "invalid_number": "the carrier says the number cannot receive texts",
    "carrier_block": "the patient blocked the clinic's number at the carrier (texted STOP there)",
    "provider_error": "Twilio could not be reached or refused it",
    "erased": "its text was erased at the patient's request before it was sent",
    "reassigned": "the number now belongs to someone else",
    "restricted": "the patient asked that no health details be texted",
}
OUTCOMES: Mapping[str, str] = {"send": "will be sent", "blocked": "blocked", "deferred": "waits"}
# Badge tone per message status: words carry the meaning, the colour only repeats it.
TONES: Mapping[str, str] = {
    "sent": "ok",
    "delivered": "ok",
    "dry_run": "ok",
    "send": "ok",
    "queued": "",
    "sending": "",
    "deferred": "warn",
    "unknown": "warn",
    "blocked": "bad",
    "failed": "bad",
    "undelivered": "bad",
}


@dataclass
class Errors:
    """Problems with a form, by field: shown under that field, and counted at the top."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, message[:1].upper() + message[1:])

    def problem(self, exc: Problem, fallback: str) -> None:
        self.add(exc.field or fallback, exc.message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def get(self, name: str) -> str | None:
        return self.by_field.get(name)


def friendly_phone_error(value: str) -> str:
    """The project's own words, never the parsing library's."""
    shown = value.strip()[:40]
    if not shown:
        return "Enter a phone number, with its area code: (201) 555-0123 or +1 201 555 0123."
    return (
        f"“{shown}” is not a phone number we can text. Write it with its area code, "
        "like (201) 555-0123, or with its country code, like +1 201 555 0123."
    )


def parse_number(value: str) -> str:
    """E.164, or ValueError with the friendly message."""
    try:
        return Phone.parse(value, runtime().settings.default_region).e164
    except InvalidPhone:
        raise ValueError(friendly_phone_error(value)) from None


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(runtime().settings.clinic_timezone)


def clinic_time(day: str, time: str, zone: ZoneInfo) -> dt.datetime:
    """A date and a wall-clock time typed in the clinic's zone, as UTC. ValueError says what is
    wrong in words: a missing part, a bad format, or a time the clocks skip (spring forward)."""
    if not day.strip() or not time.strip():
        raise ValueError("Give both a date and a time (clinic time), or choose Now.")
    try:
        date_part = dt.date.fromisoformat(day.strip())
        time_part = dt.time.fromisoformat(time.strip())
    except ValueError:
        raise ValueError("Write the date as YYYY-MM-DD and the time as HH:MM.") from None
    if time_part.tzinfo is not None:
        raise ValueError(f"Write the time without an offset: it is read as {zone.key} time.")
    if not 1970 <= date_part.year <= 9000:
        raise ValueError("Give a date between 1970 and 9000.")
    local = dt.datetime.combine(date_part, time_part.replace(tzinfo=None), tzinfo=zone)
    utc = local.astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(
            f"{time_part:%H:%M} does not exist on {date_part:%Y-%m-%d} in {zone.key}: "
            "the clocks skip that hour. Choose a later time."
        )
    return utc
