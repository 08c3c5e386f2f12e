"""Preferences by text (SPEC §10): the HELP reply's signed link, and the patient's page that
shows and changes the number's categories through the ledger's own rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway import inbound, preference_links, preferences
from gateway.db import transaction
from gateway.domain.preference_link import link_key
from gateway.models import AccessLog, AccessNumber, ConsentEventRow, PreferenceLink
from gateway.runtime import Runtime
from tests.conftest import BASE_URL, CLINIC, PATIENT, Clock, Phone, with_rules

LINK = re.compile(re.escape(BASE_URL) + r"/p/([A-Za-z0-9_-]{20})$")


@pytest.fixture
def on(runtime: Runtime) -> Runtime:
    runtime.settings = replace(runtime.settings, preference_links=True)
    return runtime


def _reply(answer: object) -> str:
    text = answer.get_data(as_text=True)  # type: ignore[attr-defined]
    found = re.search(r"<Message>(.*)</Message>", text, re.S)
    assert found, text
    return html.unescape(found.group(1))


def _link(phone: Phone, body: str = "HELP") -> str:
    """Text HELP; the path of the link the reply ends with."""
    reply = _reply(phone.text(body))
    found = LINK.search(reply)
    assert found, reply
    return f"/p/{found.group(1)}"


def _csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _events(runtime: Runtime) -> list[ConsentEventRow]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(ConsentEventRow).order_by(ConsentEventRow.id)).scalars()
        found = list(rows)
        session.expunge_all()
        return found


def _consent(client: FlaskClient, auth, category: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor"))
    return answer.get_json()["categories"][category]  # type: ignore[no-any-return]


def test_help_has_no_link_while_links_are_off(runtime: Runtime, phone: Phone) -> None:
    reply = _reply(phone.text("HELP"))
    assert "Msg & data rates may apply" in reply and "/p/" not in reply


def test_help_ends_with_a_short_signed_link_that_shows_no_number(on: Runtime, phone) -> None:
    reply = _reply(phone.text("HELP"))
    assert reply.startswith("Riverside Family Clinic: For help call")
    assert reply.endswith(LINK.search(reply).group(0))  # type: ignore[union-attr]
    assert "Choose your texts: https://" in reply
    assert "5550123" not in reply.split("Choose your texts:")[1]


def test_a_spanish_help_gets_the_link_in_spanish(on: Runtime, phone, client) -> None:
    reply = _reply(phone.text("AYUDA"))
    assert "Elija sus mensajes: https://" in reply
    page = client.get(_link(phone, "AYUDA")).get_data(as_text=True)
    assert '<html lang="es">' in page and "Sus mensajes de Riverside Family Clinic" in page
    assert "recordatorios de citas" in page.lower()


def test_stop_and_start_get_no_link(on: Runtime, phone) -> None:
    assert "/p/" not in _reply(phone.text("STOP"))
    assert "/p/" not in _reply(phone.text("START"))


def test_twilio_retrying_a_help_gets_the_same_link_not_a_second(on: Runtime, phone) -> None:
    first = _reply(phone.text("HELP", sid="SM" + "a" * 32))
    again = _reply(phone.text("HELP", sid="SM" + "a" * 32))
    assert first == again
    with transaction(on.sessions) as session:
        assert session.execute(select(func.count(PreferenceLink.id))).scalar_one() == 1


def test_the_page_shows_what_the_number_receives_and_logs_the_read(on, phone, client) -> None:
    path = _link(phone)
    answer = client.get(path)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "ending in 0123" in page and PATIENT not in page
    care = page.split("Appointment reminders and care messages")[1].split("</li>")[0]
    assert "You receive these." in care and "Stop appointment reminders" in care
    promos = page.split("Promotional messages")[1].split("</li>")[0]
    assert "You do not receive these." in promos and "Receive promotional messages" in promos
    assert "also text START" not in page  # no STOP was texted
    # The hosted form's disclosure, word for word, and a box nobody ticked for the patient.
    text = on.rules.disclosures["mkt-2026-01"]
    assert text in page.replace("&amp;", "&")
    box = re.search(r'<input type="checkbox"[^>]*>', promos)
    assert box and "checked" not in box.group(0)
    with transaction(on.sessions) as session:
        read = session.execute(select(AccessLog)).scalars().all()[-1]
        numbers = session.execute(select(AccessNumber.number)).scalars().all()
        assert read.actor.startswith("preference_link:") and read.role == "patient"
        assert read.action == "preferences.view" and PATIENT in numbers
        assert path.removeprefix("/p/") not in str(read.detail)  # the token is a key: never logged


def test_stop_on_the_page_is_the_patients_own_revocation(on, phone, client, auth) -> None:
    path = _link(phone)
    form = {"csrf_token": _csrf(client, path), "category": "transactional"}
    answer = client.post(f"{path}/stop", data=form, headers={"User-Agent": "PhoneBrowser/1.0"})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Done: you will no longer receive appointment reminders" in page
    care = _consent(client, auth, "transactional")
    assert care["status"] == "revoked" and care["may_send"] is False
    event = _events(on)[-1]
    assert (event.source, event.action, event.actor) == ("web_form", "revoke", PATIENT)
    link_id = event.evidence["preference_link"]
    assert event.evidence["page_url"] == f"{BASE_URL}/p/link-{link_id}"
    assert event.evidence["ip"] == "127.0.0.1"
    assert event.evidence["user_agent"] == "PhoneBrowser/1.0"
    # Only the patient lifts it: an API grant is refused.
    grant = {"number": PATIENT, "category": "transactional", "action": "grant", "source": "api"}
    refused = client.post("/api/v1/consent", json=grant, headers=auth("front_desk"))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "unprovable_consent"


def test_ticking_the_box_starts_marketing_again_after_a_stop(on, phone, client, auth) -> None:
    phone.text("STOP")
    path = _link(phone)
    page = client.get(path).get_data(as_text=True)
    assert "Start promotional messages again" in page
    assert "also text START to our number" in page  # the carrier holds texts after a STOP
    form = {
        "csrf_token": _csrf(client, path),
        "category": "marketing",
        "disclosure_version": "mkt-2026-01",
        "agree": "yes",
    }
    answer = client.post(f"{path}/start", data=form, headers={"User-Agent": "PhoneBrowser/1.0"})
    assert answer.status_code == 303
    assert _consent(client, auth, "marketing")["may_send"] is True
    event = _events(on)[-1]
    assert (event.source, event.action, event.category) == ("web_form", "grant", "marketing")
    text = on.rules.disclosures["mkt-2026-01"]
    assert event.evidence["disclosure_version"] == "mkt-2026-01"
    assert event.evidence["disclosure_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert event.evidence["checkbox_unchecked_by_default"] is True
    assert event.evidence["language"] == "en" and event.evidence["user_agent"]
    page = client.get(path).get_data(as_text=True)
    assert "Done: you will receive promotional messages." in page
    assert "Stop promotional messages" in page


def test_an_unticked_box_changes_nothing_and_says_so(on, phone, client) -> None:
    path = _link(phone)
    before = len(_events(on))
    form = {
        "csrf_token": _csrf(client, path),
        "category": "marketing",
        "disclosure_version": "mkt-2026-01",
    }
    answer = client.post(f"{path}/start", data=form)
    assert answer.status_code == 422
    assert "tick the box to agree first" in answer.get_data(as_text=True)
    assert len(_events(on)) == before


def test_a_disclosure_other_than_the_one_on_the_page_is_not_recorded(on, phone, client) -> None:
    path = _link(phone)
    form = {
        "csrf_token": _csrf(client, path),
        "category": "marketing",
        "disclosure_version": "mkt-2025-old",
        "agree": "yes",
    }
    answer = client.post(f"{path}/start", data=form)
    assert answer.status_code == 409
    assert "has just changed" in answer.get_data(as_text=True)
    assert all(e.category != "marketing" or e.action != "grant" for e in _events(on))


def test_a_form_without_its_csrf_token_is_refused(on, phone, client) -> None:
    path = _link(phone)
    client.get(path)
    answer = client.post(f"{path}/stop", data={"category": "transactional"})
    assert answer.status_code == 400
    assert "This page has expired" in answer.get_data(as_text=True)
    assert _events(on) == []


def test_an_expired_link_says_how_to_get_a_new_one(on, phone, client, clock: Clock) -> None:
    path = _link(phone)
    clock.advance(days=7, seconds=1)
    answer = client.get(path)
    assert answer.status_code == 410
    page = answer.get_data(as_text=True)
    assert "This link has expired" in page and "Text HELP to our number" in page


def test_a_revoked_link_is_gone(on, phone, client) -> None:
    path = _link(phone)
    with transaction(on.sessions) as session:
        assert preference_links.revoke_links(session, PATIENT, on.clock()) == 1
    assert client.get(path).status_code == 410


def test_a_forged_link_is_a_readable_404_and_guessing_is_stopped(on, phone, client) -> None:
    path = _link(phone)
    token = path.removeprefix("/p/")
    forged = "/p/" + token[:-1] + ("A" if token[-1] != "A" else "B")
    answer = client.get(forged)
    assert answer.status_code == 404
    assert "This link does not work" in answer.get_data(as_text=True)
    for _ in range(on.settings.auth_failures_per_minute):
        client.get("/p/" + "x" * 20)
    assert client.get(path).status_code == 429  # even the right link, from this address


def test_the_page_is_not_served_while_links_are_off(runtime, phone, client) -> None:
    runtime.settings = replace(runtime.settings, preference_links=True)
    path = _link(phone)
    runtime.settings = replace(runtime.settings, preference_links=False)
    assert client.get(path).status_code == 404


def test_lang_and_the_browser_choose_the_pages_language(on, phone, client) -> None:
    path = _link(phone)
    assert "Sus mensajes de" in client.get(f"{path}?lang=es").get_data(as_text=True)
    assert "Your texts from" in client.get(path).get_data(as_text=True)
    spanish = {"Accept-Language": "es-US,es;q=0.9"}
    assert "Este enlace no funciona" in client.get("/p/nothing", headers=spanish).get_data(
        as_text=True
    )


def test_an_expired_spanish_link_says_so_in_spanish(on, phone, client, clock: Clock) -> None:
    path = _link(phone, "AYUDA")
    clock.advance(days=8)
    page = client.get(path).get_data(as_text=True)
    assert "Este enlace ha vencido" in page and "Envíe AYUDA" in page


def _links_issued(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.execute(select(func.count(PreferenceLink.id))).scalar_one())


def test_no_link_is_made_when_the_carrier_answers_help(on: Runtime, phone, rules) -> None:
    senders = {CLINIC: {"categories": ["transactional", "marketing"], "carrier_replies": True}}
    with_rules(on, rules, senders=senders)
    assert "<Message>" not in phone.text("HELP").get_data(as_text=True)
    assert _links_issued(on) == 0


def test_a_help_replayed_from_the_journal_makes_no_link(on: Runtime) -> None:
    links = preferences.Links(BASE_URL, link_key("k" * 16), dt.timedelta(days=7))
    now = on.clock()
    late = inbound.Inbound("SM" + "b" * 32, PATIENT, CLINIC, "HELP", received_at=now)
    with transaction(on.sessions) as session:
        row = inbound.handle(session, on.rules, late, now, "US", links)
        assert row.reply is None
    assert _links_issued(on) == 0


def test_pressing_start_twice_records_one_grant(on, phone, client) -> None:
    path = _link(phone)
    form = {
        "csrf_token": _csrf(client, path),
        "category": "marketing",
        "disclosure_version": "mkt-2026-01",
        "agree": "yes",
    }
    assert client.post(f"{path}/start", data=form).status_code == 303
    assert client.post(f"{path}/start", data=form).status_code == 303
    grants = [e for e in _events(on) if e.category == "marketing" and e.action == "grant"]
    assert len(grants) == 1


def test_a_wrong_number_resolved_ends_the_numbers_links(on, phone, client, auth) -> None:
    # The link went to whoever held the phone then; once staff find the number is someone
    # else's, that link must not change the new holder's texts.
    path = _link(phone)
    phone.text("wrong number, who is this?")
    [review] = client.get("/api/v1/reviews", headers=auth("front_desk")).get_json()["items"]
    assert review["kind"] == "wrong_number"
    answer = client.post(
        f"/api/v1/reviews/{review['id']}",
        json={"resolution": "wrong_number", "note": "not our patient's phone any more"},
        headers=auth("front_desk"),
    )
    assert answer.status_code == 200, answer.get_json()
    assert client.get(path).status_code == 410
