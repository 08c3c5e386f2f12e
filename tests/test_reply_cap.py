"""The hourly reply cap never swallows an opt-out confirmation (SPEC §5.7; issue 8, finding 4).

The cap is there to break auto-responder loops. The FCC requires the one confirmation of an
opt-out (§64.1200(a)(12)); a STOP when the opt-out is already in force still gets none.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.domain.keywords import KeywordRules
from tests.conftest import PATIENT, Phone
from tests.web.test_inbound import consent, grant_marketing, reply_of


@pytest.fixture
def admin(auth: Any) -> dict[str, str]:
    return dict(auth("admin"))


def fill_the_cap(phone: Phone, rules: KeywordRules) -> None:
    replies = [reply_of(phone.text("HELP")) for _ in range(rules.reply_cap_per_hour)]
    assert all(replies)
    assert reply_of(phone.text("HELP")) is None  # the cap is reached


def inbound(client: FlaskClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/inbound?from={PATIENT}", headers=admin).get_json()["items"])


def test_a_stop_after_five_helps_revokes_and_is_confirmed(
    phone: Phone, client, admin, rules: KeywordRules
) -> None:
    fill_the_cap(phone, rules)
    reply = reply_of(phone.text("STOP"))
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}
    assert reply is not None and "unsubscribed" in reply
    stop = inbound(client, admin)[0]
    assert stop["intent"] == "opt_out" and stop["reply"] == reply  # recorded as proof


def test_a_repeated_stop_after_the_confirmation_gets_nothing(
    phone: Phone, client, admin, rules: KeywordRules
) -> None:
    fill_the_cap(phone, rules)
    assert reply_of(phone.text("STOP")) is not None
    assert reply_of(phone.text("STOP")) is None
    assert reply_of(phone.text("stop")) is None
    assert [len(i["events"]) for i in inbound(client, admin)[:3]] == [0, 0, 2]


def test_the_cap_still_holds_for_everything_but_the_confirmation(
    phone: Phone, client, admin, rules: KeywordRules
) -> None:
    grant_marketing(client, admin)
    fill_the_cap(phone, rules)
    assert reply_of(phone.text("STOP")) is not None
    assert reply_of(phone.text("START")) is None  # restored, but no opt-in confirmation
    assert consent(client, admin) == {"transactional": "granted", "marketing": "granted"}
    assert reply_of(phone.text("HELP")) is None


def test_each_new_opt_out_gets_its_one_confirmation(
    phone: Phone, client, admin, rules: KeywordRules
) -> None:
    """STOP PROMOS, then STOP: the second stops what the first left; each is confirmed once."""
    grant_marketing(client, admin)
    fill_the_cap(phone, rules)
    promos = reply_of(phone.text("STOP PROMOS"))
    assert promos is not None and "STOPALL" in promos
    assert reply_of(phone.text("STOP PROMOS")) is None
    everything = reply_of(phone.text("STOP"))
    assert everything is not None
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}
