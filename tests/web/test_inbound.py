"""POST /twilio/inbound: what a patient's STOP, HELP or START does, end to end."""

from __future__ import annotations

import logging
from typing import Any
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient

from gateway.runtime import Runtime
from tests.conftest import BASE_URL, CLINIC, PATIENT, Clock, Phone, with_rules

MARKETING_NO = "+12015550110"
CARE_NO = "+12015550111"
SPLIT_SENDERS = {
    MARKETING_NO: {"categories": ["marketing"]},
    CARE_NO: {"categories": ["transactional"]},
}


def reply_of(response: Any) -> str | None:
    assert response.status_code == 200, response.data
    message = ElementTree.fromstring(response.get_data()).find("Message")
    return None if message is None else message.text


def consent(client: FlaskClient, admin: dict[str, str], number: str = PATIENT) -> dict[str, str]:
    body = client.get(f"/api/v1/consent/{number}", headers=admin).get_json()
    return {name: c["status"] for name, c in body["categories"].items()}


def grant_marketing(client: FlaskClient, admin: dict[str, str], number: str = PATIENT) -> None:
    response = client.post(
        "/api/v1/consent",
        headers=admin,
        json={
            "number": number,
            "category": "marketing",
            "action": "grant",
            "source": "paper_form",
            "evidence": {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"},
        },
    )
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def admin(auth: Any) -> dict[str, str]:
    return dict(auth("admin"))


def test_stop_revokes_both_categories_on_a_shared_number(phone: Phone, client, admin) -> None:
    grant_marketing(client, admin)
    reply = reply_of(phone.text("STOP"))
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}
    assert reply and "STOPALL" not in reply


def test_stop_to_marketing_number_leaves_reminders_and_says_so(
    phone: Phone, client, admin, runtime: Runtime, rules
) -> None:
    with_rules(runtime, rules, senders=SPLIT_SENDERS)
    grant_marketing(client, admin)
    reply = reply_of(phone.text("STOP", to=MARKETING_NO))
    assert consent(client, admin) == {"transactional": "none", "marketing": "revoked"}
    assert reply is not None and "STOPALL" in reply
    assert "continue" in reply.lower()


def test_stop_to_care_number_revokes_both(phone: Phone, client, admin, runtime, rules) -> None:
    with_rules(runtime, rules, senders=SPLIT_SENDERS)
    grant_marketing(client, admin)
    reply_of(phone.text("stop", to=CARE_NO))
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}


@pytest.mark.parametrize("to", [MARKETING_NO, CARE_NO])
def test_stopall_revokes_both_anywhere(phone: Phone, client, admin, runtime, rules, to) -> None:
    with_rules(runtime, rules, senders=SPLIT_SENDERS)
    reply_of(phone.text("STOPALL", to=to))
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}


def test_stop_promos_revokes_marketing_only(phone: Phone, client, admin) -> None:
    grant_marketing(client, admin)
    reply = reply_of(phone.text("STOP PROMOS"))
    assert consent(client, admin) == {"transactional": "none", "marketing": "revoked"}
    assert reply is not None and "STOPALL" in reply


def test_revoke_all_from_in_the_past_makes_every_stop_revoke_all(
    phone: Phone, client, admin, runtime, rules
) -> None:
    with_rules(runtime, rules, senders=SPLIT_SENDERS, revoke_all_from="2026-01-01")
    reply_of(phone.text("STOP", to=MARKETING_NO))
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}


def test_start_restores_what_stop_took_away(phone: Phone, client, admin) -> None:
    grant_marketing(client, admin)
    reply_of(phone.text("STOP"))
    reply = reply_of(phone.text("START"))
    assert consent(client, admin) == {"transactional": "granted", "marketing": "granted"}
    assert reply is not None and "HELP" in reply


def test_start_never_grants_marketing_that_was_never_granted(phone: Phone, client, admin) -> None:
    reply_of(phone.text("STOP"))
    reply_of(phone.text("START"))
    assert consent(client, admin) == {"transactional": "granted", "marketing": "revoked"}


def test_yes_from_a_number_without_marketing_grant_changes_nothing(
    phone: Phone, client, admin
) -> None:
    reply = reply_of(phone.text("YES"))
    assert reply is None
    assert consent(client, admin) == {"transactional": "none", "marketing": "none"}
    inbound = client.get("/api/v1/inbound", headers=admin).get_json()["items"][0]
    assert inbound["intent"] == "opt_in" and inbound["events"] == []


def test_start_does_not_undo_a_front_desk_revoke(phone: Phone, client, admin) -> None:
    grant_marketing(client, admin)
    revoke = {
        "number": PATIENT,
        "category": "marketing",
        "action": "revoke",
        "source": "front_desk",
    }
    assert client.post("/api/v1/consent", headers=admin, json=revoke).status_code == 201
    reply_of(phone.text("STOP"))
    reply_of(phone.text("START"))
    assert consent(client, admin)["marketing"] == "revoked"


@pytest.mark.parametrize("first", [None, "STOP"])
def test_help_changes_nothing_and_answers_whatever_the_state(
    phone: Phone, client, admin, rules, first
) -> None:
    if first:
        reply_of(phone.text(first))
    before = consent(client, admin)
    reply = reply_of(phone.text("HELP"))
    assert consent(client, admin) == before
    assert reply is not None
    assert rules.program_name in reply and "Msg & data rates may apply" in reply


def test_spanish_keyword_gets_the_spanish_reply(phone: Phone, client, admin) -> None:
    english = reply_of(phone.text("STOP", frm="+13055550142"))
    spanish = reply_of(phone.text("PARAR", frm="+14055550150"))
    assert english and spanish and english != spanish
    assert consent(client, admin, "+14055550150")["transactional"] == "revoked"
    items = client.get("/api/v1/inbound?from=%2B14055550150", headers=admin).get_json()["items"]
    assert items[0]["language"] == "es"


def test_carrier_replies_sender_gets_no_reply_but_the_same_events(
    phone: Phone, client, admin, runtime, rules
) -> None:
    senders = {CLINIC: {"categories": ["transactional", "marketing"], "carrier_replies": True}}
    with_rules(runtime, rules, senders=senders)
    assert reply_of(phone.text("STOP")) is None
    assert consent(client, admin) == {"transactional": "revoked", "marketing": "revoked"}


def test_already_opted_out_number_gets_no_second_confirmation(phone: Phone, client, admin) -> None:
    assert reply_of(phone.text("STOP")) is not None
    assert reply_of(phone.text("STOP")) is None
    events = client.get("/api/v1/inbound", headers=admin).get_json()["items"]
    assert [len(i["events"]) for i in events] == [0, 2]


def test_free_text_opt_out_revokes(phone: Phone, client, admin) -> None:
    reply_of(phone.text("Please stop texting me"))
    assert consent(client, admin)["transactional"] == "revoked"


@pytest.mark.parametrize("text", ["I'll stop by at 3", "can I cancel my appointment?"])
def test_everyday_words_are_not_opt_outs(phone: Phone, client, admin, text) -> None:
    assert reply_of(phone.text(text)) is None
    assert consent(client, admin) == {"transactional": "none", "marketing": "none"}


def test_twilio_opt_out_type_is_honoured(phone: Phone, client, admin) -> None:
    reply_of(phone.text("hmm whatever", OptOutType="STOP"))
    assert consent(client, admin)["transactional"] == "revoked"


def test_reply_cap_stops_auto_replies_but_not_the_ledger(
    phone: Phone, client, admin, rules
) -> None:
    replies = [reply_of(phone.text("HELP")) for _ in range(rules.reply_cap_per_hour + 2)]
    assert all(replies[: rules.reply_cap_per_hour])
    assert replies[rules.reply_cap_per_hour :] == [None, None]
    # The one confirmation of a new opt-out is never capped (tests/test_reply_cap.py).
    assert reply_of(phone.text("STOP")) is not None
    assert consent(client, admin)["transactional"] == "revoked"
    assert reply_of(phone.text("HELP")) is None


def test_reply_cap_frees_up_after_an_hour(phone: Phone, rules, clock: Clock) -> None:
    for _ in range(rules.reply_cap_per_hour):
        reply_of(phone.text("HELP"))
    clock.advance(minutes=61)
    assert reply_of(phone.text("HELP")) is not None


def test_same_message_sid_twice_records_one_message_and_one_event_each(
    phone: Phone, client, admin
) -> None:
    first = reply_of(phone.text("STOP", sid="SM" + "a" * 32))
    again = reply_of(phone.text("STOP", sid="SM" + "a" * 32))
    assert first == again
    items = client.get("/api/v1/inbound", headers=admin).get_json()["items"]
    assert len(items) == 1 and len(items[0]["events"]) == 2
    body = client.get(f"/api/v1/consent/{PATIENT}", headers=admin).get_json()
    assert {c["event"]["id"] for c in body["categories"].values()} == set(items[0]["events"])


def _post(client: FlaskClient, params: dict[str, str], signature: str | None, path: str) -> Any:
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=params, headers=headers)


@pytest.mark.parametrize("forgery", ["missing", "garbage", "other_url", "other_params"])
def test_bad_signature_is_403_and_records_nothing(client, admin, forgery) -> None:
    from gateway.adapters.twilio_sms import sign
    from tests.conftest import AUTH_TOKEN

    params = {"MessageSid": "SM" + "b" * 32, "From": PATIENT, "To": CLINIC, "Body": "STOP"}
    signature = {
        "missing": None,
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "other_url": sign(AUTH_TOKEN, "https://elsewhere.test/twilio/inbound", params),
        "other_params": sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", {**params, "Body": "hi"}),
    }[forgery]
    response = _post(client, params, signature, "/twilio/inbound")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert client.get("/api/v1/inbound", headers=admin).get_json()["items"] == []
    assert consent(client, admin) == {"transactional": "none", "marketing": "none"}


def test_unparsable_sender_is_recorded_and_ignored(phone: Phone, client, admin) -> None:
    assert reply_of(phone.text("STOP", frm="not-a-number")) is None
    items = client.get("/api/v1/inbound", headers=admin).get_json()["items"]
    assert items[0]["rule"] == "invalid_phone" and items[0]["events"] == []


def test_missing_message_sid_is_a_400(client) -> None:
    from gateway.adapters.twilio_sms import sign
    from tests.conftest import AUTH_TOKEN

    params = {"From": PATIENT, "To": CLINIC, "Body": "STOP"}
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", params)
    response = _post(client, params, signature, "/twilio/inbound")
    assert response.status_code == 400


def test_quoted_instructions_enter_review_due_in_ten_business_days(
    phone: Phone, client, admin
) -> None:
    # Received Tue 24 Nov 2026; Thanksgiving (26 Nov) is not a business day.
    assert reply_of(phone.text("Reply STOP to unsubscribe")) is None  # never answer: loops
    items = client.get("/api/v1/reviews?status=open", headers=admin).get_json()["items"]
    assert len(items) == 1
    assert items[0]["due_at"] == "2026-12-09T23:59:59Z" and items[0]["overdue"] is False
    assert items[0]["number"] == PATIENT
    assert consent(client, admin) == {"transactional": "none", "marketing": "none"}


def test_no_log_line_holds_a_full_number_or_a_body(
    phone: Phone, client, admin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_body = "Please stop texting me about my knee surgery"
    phone.text(secret_body)
    phone.text("HELP")
    phone.text("STOP", frm="garbage-number-12015550199")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "inbound" in logged
    for needle in (PATIENT, PATIENT[2:], "2015550123", "knee surgery", "12015550199"):
        assert needle not in logged
