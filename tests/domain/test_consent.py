"""Pure rules: what START may restore, what each status allows, business days, masking."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.calendar import add_business_days, federal_holidays
from gateway.domain.consent import Action, Event, Source, Status, may_send, restorable
from gateway.domain.phone import InvalidPhone, Phone, mask

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def ev(i: int, action: str, source: str) -> Event:
    t = T0 + dt.timedelta(days=i)
    return Event(i, "+12015550123", "marketing", Action(action), Source(source), t, t, "x")


@pytest.mark.parametrize(
    ("history", "requires_grant", "restore"),
    [
        ([], True, False),
        ([], False, False),
        ([ev(1, "revoke", "sms_keyword")], False, True),
        ([ev(1, "revoke", "sms_keyword")], True, False),
        ([ev(1, "grant", "web_form"), ev(2, "revoke", "sms_keyword")], True, True),
        ([ev(1, "grant", "web_form"), ev(2, "revoke", "carrier_block")], True, True),
        (
            [
                ev(1, "grant", "web_form"),
                ev(2, "revoke", "front_desk"),
                ev(3, "revoke", "sms_keyword"),
            ],
            True,
            False,
        ),
        (
            [
                ev(1, "grant", "web_form"),
                ev(2, "revoke", "sms_keyword"),
                ev(3, "grant", "sms_keyword"),
            ],
            True,
            False,
        ),
        ([ev(1, "revoke", "review")], False, False),
    ],
)
def test_start_restores_only_what_the_patients_own_revocations_took(
    history, requires_grant, restore
) -> None:
    assert restorable(history, requires_grant) is restore


@pytest.mark.parametrize(
    ("status", "requires_grant", "allowed"),
    [
        (Status.GRANTED, True, True),
        (Status.NONE, True, False),
        (Status.REVOKED, True, False),
        (Status.NONE, False, True),
        (Status.GRANTED, False, True),
        (Status.REVOKED, False, False),
    ],
)
def test_marketing_needs_a_grant_care_needs_no_revocation(status, requires_grant, allowed) -> None:
    assert may_send(status, requires_grant) is allowed


def test_federal_holidays_follow_the_observed_day_rules() -> None:
    assert dt.date(2026, 7, 3) in federal_holidays(2026)  # July 4th on a Saturday
    assert dt.date(2027, 12, 24) in federal_holidays(2027)  # Christmas on a Saturday
    assert dt.date(2027, 12, 31) in federal_holidays(2027)  # New Year 2028 on a Saturday
    assert dt.date(2026, 11, 26) in federal_holidays(2026)  # Thanksgiving
    assert dt.date(2026, 5, 25) in federal_holidays(2026)  # Memorial Day
    assert len(federal_holidays(2026)) == 11


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (dt.date(2026, 11, 24), dt.date(2026, 12, 9)),  # over Thanksgiving
        (dt.date(2026, 12, 18), dt.date(2027, 1, 5)),  # over Christmas and New Year
        (dt.date(2026, 11, 28), dt.date(2026, 12, 11)),  # received on a Saturday
    ],
)
def test_reviews_are_due_ten_business_days_later(start, due) -> None:
    assert add_business_days(start, 10) == due


@pytest.mark.parametrize(
    ("text", "e164", "state"),
    [
        ("+1 201 555 0123", "+12015550123", "New Jersey"),
        ("(305) 555-0142", "+13055550142", "Florida"),
        ("405.555.0150", "+14055550150", "Oklahoma"),
    ],
)
def test_numbers_are_e164_with_their_state(text, e164, state) -> None:
    phone = Phone.parse(text)
    assert (phone.e164, phone.state) == (e164, state)
    assert phone.zones


@pytest.mark.parametrize("text", ["", "12345", "call me", "+1 201 555 012", "+999 1234"])
def test_unusable_numbers_are_refused(text) -> None:
    with pytest.raises(InvalidPhone):
        Phone.parse(text)


def test_mask_keeps_only_the_last_four_digits() -> None:
    assert mask("+12015550123") == "***0123"
    assert mask(None) == "-"
    assert "201555" not in mask("+1 (201) 555-0123")
