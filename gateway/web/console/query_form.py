"""A search form's query as the page reads it: each value as typed (shown back in the form),
parsed, or an error under its field. Dates are days in the clinic's zone (CLINIC_TIMEZONE),
the way staff think of them; the database is asked in UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from gateway.dashboard import local_midnight
from gateway.domain.phone import InvalidPhone, Phone
from gateway.web import params
from gateway.web.errors import FieldError

FIRST_YEAR, LAST_YEAR = 1970, 9000  # the API's bounds for a timestamp
MAX_VALUE = 200  # longer than any number, name or cursor a form sends


class QueryForm:
    def __init__(self, args: Mapping[str, str], fields: Iterable[str]) -> None:
        self.values = {name: str(args.get(name, "")).strip()[:MAX_VALUE] for name in fields}
        self.errors: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self, name: str) -> str | None:
        return self.values[name] or None

    def phone(self, name: str, region: str) -> str | None:
        given = self.values[name]
        if not given:
            return None
        try:
            return Phone.parse(given, region).e164
        except InvalidPhone:
            self.errors[name] = f"“{given}” is not a phone number we can read"
            return None

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        given, options = self.values[name], list(allowed)
        if given and given not in options:
            self.errors[name] = f"choose one of: {', '.join(options)}"
            return None
        return given or None

    def day(self, name: str) -> dt.date | None:
        given = self.values[name]
        if not given:
            return None
        try:
            day = dt.date.fromisoformat(given)
        except ValueError:
            self.errors[name] = "a date like 2026-11-24"
            return None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            # Year 1 or 9999 would overflow when turned into a UTC instant.
            self.errors[name] = f"a date between {FIRST_YEAR} and {LAST_YEAR}"
            return None
        return day

    def days(self, zone: ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
        """`since` and `until` as clinic days, both included: from the first day's midnight
        to the midnight after the last day, in UTC."""
        first, last = self.day("since"), self.day("until")
        if first and last and last < first:
            self.errors["until"] = "the last day is before the first"
        start = local_midnight(first, zone) if first else None
        end = local_midnight(last + dt.timedelta(days=1), zone) if last else None
        return start, end

    def cursor(self) -> int | None:
        try:
            return params.cursor(self.values.get("cursor"))
        except FieldError:
            self.errors["cursor"] = "this page link is broken: start from the first page"
            return None
