"""The hosted opt-in form /join and its double opt-in (SPEC §10, issue 10 items 1-2), through
the Flask test client, on SQLite and PostgreSQL; the browser's walk is in tests/browser/."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from gateway import ledger
from gateway.db import transaction
from gateway.domain.consent import Status
from gateway.domain.keywords import KeywordRules
from gateway.models import ConsentEventRow, OptInRequest, OutboundMessage
from gateway.runtime import Runtime
from tests.conftest import CLINIC, PATIENT, Clock, Phone, with_rules

UA = "Mozilla/5.0 (test) Chromium"


def token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def join(
    client: FlaskClient,
    number: str = "(201) 555-0123",
    *,
    marketing: bool = False,
    query: str = "",
    ip: str = "203.0.113.7",
    **fields: str,
) -> Any:
    page = client.get(f"/join{query}").get_data(as_text=True)
    form = {"token": token(page), "number": number, **fields}
    if marketing:
        form["offer_marketing"] = "yes"
    return client.post(
        f"/join{query}",
        data=form,
        headers={"User-Agent": UA},
        environ_base={"REMOTE_ADDR": ip},
    )


def events(runtime: Runtime, number: str = PATIENT) -> list[ConsentEventRow]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(ConsentEventRow)
            .where(ConsentEventRow.number == number)
            .order_by(ConsentEventRow.id)
        ).scalars()
        return list(rows)


def status(runtime: Runtime, category: str, number: str = PATIENT) -> Status:
    with transaction(runtime.sessions) as session:
        return ledger.current_status(session, number, category)


def outbox(runtime: Runtime) -> list[OutboundMessage]:
    with transaction(runtime.sessions) as session:
        return list(session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())


def test_the_form_shows_the_disclosures_word_for_word_and_an_unchecked_box(
    client: FlaskClient, runtime: Runtime
) -> None:
    response = client.get("/join")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for version in ("care-2026-01", "mkt-2026-01"):
        text = runtime.rules.disclosures[version]
        assert f'data-version="{version}">{escape(text)}</p>' in page
    box = re.search(r'<input type="checkbox"[^>]*>', page)
    assert box is not None and "checked" not in box.group(0)
    assert '<label for="number">' in page
    assert "<script" not in page


def test_spanish_by_query_or_by_the_browser_language(client: FlaskClient) -> None:
    by_query = client.get("/join?lang=es").get_data(as_text=True)
    by_browser = client.get("/join", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(
        as_text=True
    )
    for page in (by_query, by_browser):
        assert '<html lang="es">' in page
        assert 'data-version="mkt-2026-01-es"' in page
        assert "Número de teléfono móvil" in page
    english = client.get("/join?lang=en", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in english


def test_the_form_records_care_with_web_form_evidence_and_queues_the_confirmation(
    client: FlaskClient, runtime: Runtime, dry_drain: Callable[[], None]
) -> None:
    response = join(client, marketing=True)
    assert response.status_code == 303
    assert "pending=marketing" in response.headers["Location"]
    [care] = events(runtime)
    assert (care.category, care.action, care.source) == ("transactional", "grant", "web_form")
    shown = runtime.rules.disclosures["care-2026-01"]
    assert care.evidence["disclosure_version"] == "care-2026-01"
    assert care.evidence["disclosure_sha256"] == hashlib.sha256(shown.encode()).hexdigest()
    assert care.evidence["page_url"] == "https://gateway.clinic.test/join"
    assert care.evidence["ip"] == "203.0.113.7"
    assert care.evidence["user_agent"] == UA
    assert care.evidence["marketing_checked"] is True
    assert care.evidence["checkbox_unchecked_by_default"] is True
    assert care.evidence["submitted_at"] == "2026-11-24T18:00:00Z"
    assert status(runtime, "marketing") is Status.NONE  # pending, not granted
    dry_drain()
    [confirmation] = outbox(runtime)
    assert (confirmation.category, confirmation.status) == ("transactional", "dry_run")
    assert confirmation.sender == CLINIC
    assert confirmation.body is not None
    assert "Reply YES for promotional messages" in confirmation.body
    assert "Msg & data rates may apply" in confirmation.body


def test_yes_grants_the_pending_marketing_naming_the_forms_event(
    client: FlaskClient, runtime: Runtime, phone: Phone
) -> None:
    join(client, marketing=True)
    [care] = events(runtime)
    reply = phone.text("YES").get_data(as_text=True)
    assert status(runtime, "marketing") is Status.GRANTED
    grant = events(runtime)[-1]
    assert (grant.category, grant.source) == ("marketing", "sms_keyword")
    assert grant.evidence["confirms_form_event"] == care.id
    assert grant.evidence["disclosure_version"] == "mkt-2026-01"
    assert "now also get promotional messages" in reply
    phone.text("YES")  # a second YES confirms nothing more
    assert len(events(runtime)) == 2


def test_without_yes_a_marketing_send_is_blocked_no_consent(
    client: FlaskClient, send: Callable[..., dict[str, Any]], fetch: Any, drain: Any
) -> None:
    join(client, marketing=True)
    message = send(PATIENT, "Flu shots are in. Reply STOP to opt out.", category="marketing")
    drain()
    assert fetch(message["id"])["decision"]["reason"] == "no_consent"


def test_after_expiry_a_yes_restores_nothing(
    client: FlaskClient, runtime: Runtime, phone: Phone, clock: Clock
) -> None:
    join(client, marketing=True)
    clock.advance(hours=runtime.rules.join.pending_hours + 1)  # type: ignore[union-attr]
    assert "<Message>" not in phone.text("YES").get_data(as_text=True)
    assert status(runtime, "marketing") is Status.NONE
    assert len(events(runtime)) == 1


def test_a_stop_after_the_form_withdraws_the_request(
    client: FlaskClient, runtime: Runtime, phone: Phone
) -> None:
    join(client, marketing=True)
    phone.text("STOP")
    phone.text("YES")  # restores care (the START rule), never the offers the STOP declined
    assert status(runtime, "transactional") is Status.GRANTED
    assert status(runtime, "marketing") is Status.REVOKED


def test_without_the_box_nothing_is_pending(client: FlaskClient, runtime: Runtime) -> None:
    response = join(client)
    assert "pending" not in response.headers["Location"]
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OptInRequest)).first() is None
    [confirmation] = outbox(runtime)
    assert confirmation.body is not None and "YES" not in confirmation.body


def test_a_form_does_not_undo_the_patients_own_stop_but_their_start_confirms_it(
    client: FlaskClient, runtime: Runtime, phone: Phone, clock: Clock
) -> None:
    phone.text("STOP")
    clock.advance(minutes=1)
    assert join(client, marketing=True).status_code == 303  # anyone may type the number
    assert status(runtime, "transactional") is Status.REVOKED
    assert outbox(runtime) == []  # no text to a number that asked us to stop (Twilio: 21610)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(OptInRequest.category)).scalars().all() == [
            "transactional",
            "marketing",
        ]
    clock.advance(minutes=1)
    assert "promotional" in phone.text("START").get_data(as_text=True)  # the phone itself
    assert status(runtime, "transactional") is Status.GRANTED
    assert status(runtime, "marketing") is Status.GRANTED
    grant = events(runtime)[-1]
    assert (grant.category, grant.source) == ("marketing", "sms_keyword")
    assert grant.evidence["confirms_form_event"] is None
    assert grant.evidence["form"]["ip"] == "203.0.113.7"
    assert grant.evidence["form"]["checkboxes"] == {"marketing": True}


def test_a_form_does_not_give_a_new_holder_the_previous_patients_care_texts(
    client: FlaskClient,
    runtime: Runtime,
    phone: Phone,
    auth: Callable[[str], dict[str, str]],
    clock: Clock,
) -> None:
    phone.text("wrong number")
    [review] = client.get("/api/v1/reviews?status=open", headers=auth("admin")).get_json()["items"]
    resolved = client.post(
        f"/api/v1/reviews/{review['id']}",
        headers=auth("admin"),
        json={"resolution": "wrong_number"},
    )
    assert resolved.status_code == 200, resolved.get_json()
    clock.advance(days=20)  # the number's new holder signs up
    assert join(client).status_code == 303
    assert status(runtime, "transactional") is Status.REVOKED
    assert outbox(runtime) == []
    phone.text("START")  # the new holder asks from the phone: START alone would not restore it
    assert status(runtime, "transactional") is Status.GRANTED


def test_the_thanks_page_is_the_same_whatever_the_number_did_before(
    client: FlaskClient, phone: Phone
) -> None:
    stopped, fresh = PATIENT, "+13055550142"
    phone.text("STOP", frm=stopped)

    def thanks(number: str) -> str:
        response = join(client, number, marketing=True, ip=f"198.51.100.{number[-2:]}")
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        return page.replace(number[-4:], "####")

    page = thanks(stopped)
    assert page == thanks(fresh)
    assert "If you texted STOP to us before, text START to (201) 555-0100" in page
    assert "reply YES to that text within 72 hours" in page


def test_a_bad_number_is_the_form_again_with_a_readable_message(
    client: FlaskClient, runtime: Runtime
) -> None:
    response = join(client, "555-12")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="number-problem" role="alert">Enter a mobile phone number we can text' in page
    assert 'value="555-12"' in page
    assert events(runtime, "+1555") == [] and outbox(runtime) == []


def test_the_eleventh_form_from_one_address_in_the_window_is_429(
    client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    numbers = [f"+1201555{n:04d}" for n in range(100, 111)]
    codes = [join(client, n).status_code for n in numbers[:10]]
    assert codes == [303] * 3 + [303] * 7
    eleventh = join(client, numbers[10])
    assert eleventh.status_code == 429
    assert "Too many sign-ups" in eleventh.get_data(as_text=True)
    assert events(runtime, numbers[10]) == []
    assert join(client, numbers[10], ip="198.51.100.9").status_code == 303  # another address
    clock.advance(minutes=runtime.settings.join_limit_window_minutes)
    assert join(client, "+12015550199").status_code == 303  # the next window


def test_one_number_gets_at_most_three_forms_in_the_window(
    client: FlaskClient, runtime: Runtime
) -> None:
    codes = [join(client, ip=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    assert len(outbox(runtime)) == 3


def test_a_filled_honeypot_looks_accepted_but_records_nothing(
    client: FlaskClient, runtime: Runtime
) -> None:
    response = join(client, website="http://spam.example")
    assert response.status_code == 303
    assert events(runtime) == [] and outbox(runtime) == []


def test_a_post_without_the_forms_token_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    response = client.post("/join", data={"number": PATIENT, "token": "forged"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert events(runtime) == []


def test_only_the_embed_may_be_framed_and_only_by_the_named_origins(
    client: FlaskClient, runtime: Runtime
) -> None:
    assert client.get("/join?embed=1").headers["X-Frame-Options"] == "DENY"
    runtime.settings = replace(
        runtime.settings, join_frame_ancestors=("https://www.riverside.example",)
    )
    embed = client.get("/join?embed=1")
    assert "X-Frame-Options" not in embed.headers
    policy = embed.headers["Content-Security-Policy"]
    assert "frame-ancestors https://www.riverside.example" in policy
    assert "script-src 'self'" in policy
    assert 'class="embed"' in embed.get_data(as_text=True)
    assert client.get("/join").headers["X-Frame-Options"] == "DENY"


def test_the_done_page_says_what_happens_next(client: FlaskClient) -> None:
    response = join(client, marketing=True, query="?lang=es")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "número que termina en 0123" in page
    assert "responda SI a ese texto en las próximas 72 horas" in page


@pytest.mark.parametrize("path", ["/join", "/join/done"])
def test_without_a_join_section_the_form_is_not_there(
    client: FlaskClient, runtime: Runtime, path: str
) -> None:
    runtime.rules = replace(runtime.rules, join=None)
    assert client.get(path).status_code == 404


def test_a_spanish_form_is_confirmed_in_spanish_and_so_is_the_yes(
    client: FlaskClient, runtime: Runtime, phone: Phone
) -> None:
    join(client, marketing=True, query="?lang=es")
    [confirmation] = outbox(runtime)
    assert confirmation.body is not None
    assert "Responda SI para mensajes promocionales" in confirmation.body
    [care] = events(runtime)
    assert care.evidence["disclosure_version"] == "care-2026-01-es"
    assert "Ahora recibira mensajes promocionales" in phone.text("SI").get_data(as_text=True)
    assert events(runtime)[-1].evidence["disclosure_version"] == "mkt-2026-01-es"


def test_without_double_opt_in_a_ticked_box_is_a_web_form_grant_at_once(
    client: FlaskClient, runtime: Runtime, rules: KeywordRules
) -> None:
    join_section = {**rules.raw["join"], "double_opt_in": []}
    with_rules(runtime, rules, join=join_section)
    join(client, marketing=True)
    care, marketing = events(runtime)
    assert care.category == "transactional"
    assert (marketing.category, marketing.source) == ("marketing", "web_form")
    assert marketing.evidence["disclosure_version"] == "mkt-2026-01"
    assert status(runtime, "marketing") is Status.GRANTED
    [confirmation] = outbox(runtime)
    assert confirmation.body is not None and "YES" not in confirmation.body


def test_a_patient_who_asked_for_no_health_details_by_text_still_gets_the_confirmation(
    client: FlaskClient, runtime: Runtime, auth: Callable[[str], dict[str, str]], dry_drain: Any
) -> None:
    asked = {"staff": "Dana", "method": "in_person", "note": "no details by text"}
    restriction = {"number": PATIENT, "category": "no_phi_by_text", "action": "grant"}
    restriction |= {"source": "front_desk", "evidence": asked}
    assert (
        client.post("/api/v1/consent", headers=auth("front_desk"), json=restriction).status_code
        == 201
    )
    join(client, marketing=True)
    dry_drain()
    [confirmation] = outbox(runtime)
    assert (confirmation.status, confirmation.reason) == ("dry_run", "ok")
    assert confirmation.body is not None and "Reply YES" in confirmation.body


def test_a_yes_to_a_number_without_marketing_confirms_no_marketing(
    client: FlaskClient, runtime: Runtime, rules: KeywordRules, phone: Phone
) -> None:
    care_only = "+12015550101"
    senders = {
        CLINIC: {"categories": ["transactional", "marketing"], "carrier_replies": False},
        care_only: {"categories": ["transactional"], "carrier_replies": False},
    }
    with_rules(runtime, rules, senders=senders)
    join(client, marketing=True)
    assert "promotional" not in phone.text("YES", to=care_only).get_data(as_text=True)
    assert status(runtime, "marketing") is Status.NONE
    assert "now also get promotional" in phone.text("YES").get_data(as_text=True)
    assert status(runtime, "marketing") is Status.GRANTED


def test_a_stop_withdraws_the_request_though_marketing_was_already_revoked(
    client: FlaskClient, runtime: Runtime, phone: Phone, clock: Clock
) -> None:
    phone.text("STOP")
    clock.advance(minutes=1)
    join(client, marketing=True)
    clock.advance(minutes=1)
    phone.text("STOP")  # marketing was revoked already: no marketing event this time
    clock.advance(minutes=1)
    reply = phone.text("START").get_data(as_text=True)
    assert "promotional" not in reply
    assert status(runtime, "marketing") is Status.REVOKED


@pytest.mark.parametrize(
    ("language", "says"),
    [("en", "Enter a US mobile number"), ("es", "Ingrese un número móvil de EE. UU.")],
)
def test_a_premium_rate_number_is_refused_under_the_field(
    client: FlaskClient, runtime: Runtime, language: str, says: str
) -> None:
    response = join(client, "+1 900 555 0123", query=f"?lang={language}")
    assert response.status_code == 422
    assert f'id="number-problem" role="alert">{says}' in response.get_data(as_text=True)
    assert events(runtime, "+19005550123") == [] and outbox(runtime) == []


def test_a_number_of_another_country_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    runtime.settings = replace(runtime.settings, default_region="GB")  # a clinic in the UK
    response = join(client, "+1 201 555 0123")
    assert response.status_code == 422
    assert events(runtime) == [] and outbox(runtime) == []


def test_a_number_gets_at_most_the_daily_number_of_confirmation_texts(
    client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    runtime.settings = replace(runtime.settings, join_texts_per_number_per_day=4)
    for hour in range(6):
        assert join(client, ip=f"198.51.100.{hour}").status_code == 303
        clock.advance(hours=1)
    assert len(outbox(runtime)) == 4
    clock.advance(hours=18)  # a day after the first
    assert join(client, ip="198.51.100.99").status_code == 303
    assert len(outbox(runtime)) == 5
