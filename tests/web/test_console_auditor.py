"""The auditor's pages: the ledger searched by a person, exported byte for byte as the API
exports it, verified with a plain sentence, the access log and a number's disclosures — every
read in the access log, as the API's are."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from gateway import ledger, outbound
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.models import AccessLog, AccessNumber
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Phone
from tests.web.test_console_sign_in import csrf, make_user, sign_in

OTHER = "+13055550142"
Client = Callable[[str], FlaskClient]


@pytest.fixture
def as_role(app: Flask, runtime: Runtime) -> Client:
    """A browser of its own, signed in as a new user of the role (named after it)."""

    def signed_in(role: str) -> FlaskClient:
        client = app.test_client()
        name = role.replace("_", "-")
        make_user(runtime, name, role)
        assert sign_in(client, name).status_code == 303
        return client

    return signed_in


def grant(runtime: Runtime, number: str, at: dt.datetime, category: str = "marketing") -> int:
    with transaction(runtime.sessions) as session:
        return ledger.append(
            session,
            number=number,
            category=category,
            action=Action.GRANT,
            source=Source.PAPER_FORM,
            actor="user:maria",
            evidence={"form_id": "P-7", "disclosure": "Offers by text, up to 4 a month"},
            now=at,
        ).id


def page_text(answer: Any) -> str:
    return html.unescape(answer.get_data(as_text=True))


def event_ids(answer: Any) -> list[int]:
    return [int(i) for i in re.findall(r'class="event-id">#(\d+)<', answer.get_data(as_text=True))]


def reads(runtime: Runtime, action: str) -> list[tuple[str, bool, list[str]]]:
    """(actor, all numbers, numbers) of each access-log row with this action."""
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(AccessLog).where(AccessLog.action == action)).scalars()
        found = []
        for row in rows:
            named = select(AccessNumber.number).where(AccessNumber.access_id == row.id)
            found.append((row.actor, row.all_numbers, sorted(session.execute(named).scalars())))
        return found


@pytest.fixture
def stop(phone: Phone, runtime: Runtime) -> None:
    """The patient texts STOP (21:30 on 23 November in New York), the other number signs a
    paper form the next afternoon."""
    runtime.clock.now = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    assert phone.text("STOP").status_code == 200
    runtime.clock.now = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    grant(runtime, OTHER, runtime.clock())


# --- Ledger -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "auditor", "admin"])
def test_every_role_may_read_the_ledger(as_role: Client, stop: None, role: str) -> None:
    answer = as_role(role).get("/ledger")
    assert answer.status_code == 200
    assert event_ids(answer) == [1, 2, 3]


def test_a_stranger_is_sent_to_sign_in(client: FlaskClient) -> None:
    for path in ("/ledger", "/ledger/export", "/verify", "/access-log", "/proof"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/sign-in?next=" in answer.headers["Location"]


def test_the_ledger_is_searched_by_number_category_action_and_source(
    as_role: Client, stop: None
) -> None:
    auditor = as_role("auditor")
    assert event_ids(auditor.get("/ledger", query_string={"number": "(201) 555-0123"})) == [1, 2]
    assert event_ids(auditor.get("/ledger?category=marketing")) == [1, 3]
    assert event_ids(auditor.get("/ledger?action=grant")) == [3]
    assert event_ids(auditor.get("/ledger?source=sms_keyword&category=transactional")) == [2]


def test_dates_are_the_clinics_days(as_role: Client, stop: None) -> None:
    auditor = as_role("auditor")
    # The STOP came at 02:30 UTC on the 24th: 21:30 on the 23rd in New York.
    assert event_ids(auditor.get("/ledger?since=2026-11-23&until=2026-11-23")) == [1, 2]
    assert event_ids(auditor.get("/ledger?since=2026-11-24")) == [3]
    assert event_ids(auditor.get("/ledger?until=2026-11-22")) == []
    assert "No events match" in page_text(auditor.get("/ledger?until=2026-11-22"))


def test_each_event_shows_its_evidence_and_its_hashes(
    as_role: Client, stop: None, runtime: Runtime
) -> None:
    shown = page_text(as_role("front_desk").get("/ledger?number=%2B12015550123"))
    with transaction(runtime.sessions) as session:
        first, second = ledger.history(session, PATIENT)
    assert "<details>" in shown and f"Evidence and hash chain of event {first.id}" in shown
    assert '"body": "STOP"' in shown or '"text": "STOP"' in shown  # pretty JSON, indented
    assert "\n  " in shown.split('<pre class="evidence">')[1]
    assert first.hash in shown and second.hash in shown
    assert shown.count("0" * 64) == 1  # the first event's prev_hash is the chain's start
    assert 'datetime="2026-11-24T02:30:00Z"' in shown and "2026-11-23 21:30 EST" in shown


def test_reading_the_ledger_is_in_the_access_log_with_the_numbers_shown(
    as_role: Client, stop: None, runtime: Runtime
) -> None:
    as_role("auditor").get("/ledger?category=marketing")
    assert reads(runtime, "console.ledger") == [("user:auditor", False, [PATIENT, OTHER])]


@pytest.mark.parametrize("path", ["/ledger", "/ledger/export", "/access-log"])
def test_a_date_past_year_9000_is_said_under_its_field_not_a_500(
    as_role: Client, path: str
) -> None:
    answer = as_role("auditor").get(f"{path}?format=csv&since=0001-01-01&until=9999-12-31")
    assert answer.status_code == 422
    assert "a date between 1970 and 9000" in page_text(answer)


def test_a_wrong_filter_is_said_under_its_field(as_role: Client, stop: None) -> None:
    answer = as_role("auditor").get("/ledger?number=12345&since=yesterday&category=promos")
    assert answer.status_code == 422
    shown = page_text(answer)
    assert "“12345” is not a phone number we can read" in shown
    assert "a date like 2026-11-24" in shown
    assert "choose one of: transactional, marketing" in shown
    assert event_ids(answer) == []


def test_the_ledger_pages_fifty_at_a_time(as_role: Client, runtime: Runtime) -> None:
    for i in range(55):
        grant(runtime, OTHER, runtime.clock() + dt.timedelta(seconds=i))
    auditor = as_role("auditor")
    first = auditor.get("/ledger?number=%2B13055550142")
    assert event_ids(first) == list(range(1, 51))
    more = re.search(r'<a href="([^"]+)" rel="next">', first.get_data(as_text=True))
    assert more
    second = auditor.get(html.unescape(more.group(1)))
    assert event_ids(second) == list(range(51, 56))
    assert 'rel="next"' not in second.get_data(as_text=True)
    assert auditor.get("/ledger?cursor=nonsense").status_code == 422


# --- Export -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize("filters", [{}, {"number": PATIENT, "category": "marketing"}])
def test_the_pages_export_is_the_apis_byte_for_byte(
    as_role: Client,
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    stop: None,
    kind: str,
    filters: dict[str, str],
) -> None:
    query = {**filters, "format": kind}
    page = as_role("auditor").get("/ledger/export", query_string=query)
    page_bytes = page.get_data()
    page.close()  # a streamed answer holds its request until it is read to the end
    api = client.get("/api/v1/ledger/export", query_string=query, headers=auth("auditor"))
    assert page.status_code == api.status_code == 200
    assert page_bytes == api.get_data() and page_bytes
    api.close()
    assert page.headers["Content-Type"] == api.headers["Content-Type"]
    assert page.headers["Content-Disposition"] == f'attachment; filename="ledger.{kind}"'


def test_an_export_is_in_the_access_log_like_the_apis(
    as_role: Client, stop: None, runtime: Runtime
) -> None:
    auditor = as_role("auditor")
    auditor.get("/ledger/export?format=csv").close()
    auditor.get("/ledger/export?format=jsonl&number=%2B13055550142").close()
    assert reads(runtime, "console.ledger.export") == [
        ("user:auditor", True, []),  # the whole ledger: any number
        ("user:auditor", False, [OTHER]),
    ]


def test_the_export_form_keeps_the_ledgers_filters(as_role: Client) -> None:
    shown = as_role("admin").get("/ledger/export?category=marketing&since=2026-11-01")
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert '<option value="marketing" selected>' in body and 'value="2026-11-01"' in body
    assert 'name="format" value="csv" checked' in body


def test_a_bad_export_filter_is_shown_on_the_form_not_downloaded(as_role: Client) -> None:
    answer = as_role("auditor").get("/ledger/export?format=xlsx&until=2026-13-01")
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert "choose one of: csv, jsonl" in page_text(answer)


def test_the_front_desk_may_not_export_verify_or_read_the_access_log(as_role: Client) -> None:
    desk = as_role("front_desk")
    for path in (
        "/ledger/export",
        "/ledger/export?format=csv",
        "/verify",
        "/access-log",
        "/disclosures",
        f"/numbers/{PATIENT}/disclosures",
        "/proof",
    ):
        answer = desk.get(path)
        assert answer.status_code == 403, path
        assert "Not for your role" in answer.get_data(as_text=True)
    assert desk.post("/verify", data={"csrf_token": csrf(desk, "/ledger")}).status_code == 403


# --- Verify -----------------------------------------------------------------------------


def test_verify_says_ok_with_the_count(as_role: Client, stop: None, runtime: Runtime) -> None:
    auditor = as_role("auditor")
    form = auditor.get("/verify")
    assert form.status_code == 200 and "OK:" not in page_text(form)
    answer = auditor.post("/verify", data={"csrf_token": csrf(auditor, "/verify")})
    assert answer.status_code == 200
    assert "OK: 3 events verified" in page_text(answer)
    assert reads(runtime, "console.ledger.verify") == [("user:auditor", False, [])]


def test_verify_names_the_first_tampered_event(
    as_role: Client, stop: None, engine: Engine, runtime: Runtime
) -> None:
    grant(runtime, PATIENT, runtime.clock(), "transactional")
    with engine.begin() as connection:
        edited = "UPDATE consent_events SET action = 'grant' WHERE id = 2"
        assert connection.execute(text(edited)).rowcount == 1
    admin = as_role("admin")
    shown = page_text(admin.post("/verify", data={"csrf_token": csrf(admin, "/verify")}))
    assert "FAILED at event 2: event hash does not match its content" in shown
    assert "Event 1 checks out; from event 2 on, the record cannot be trusted" in shown


def test_verify_without_its_csrf_token_is_refused(as_role: Client, runtime: Runtime) -> None:
    answer = as_role("auditor").post("/verify")
    assert answer.status_code == 400
    assert reads(runtime, "console.ledger.verify") == []


# --- Access log and disclosures ---------------------------------------------------------


def test_the_access_log_lists_reads_and_its_own_reading(
    as_role: Client, stop: None, runtime: Runtime
) -> None:
    as_role("front_desk").get("/ledger?number=%2B12015550123")
    auditor = as_role("auditor")
    shown = page_text(auditor.get("/access-log?actor=user:front-desk"))
    assert "console.ledger" in shown and "/ledger" in shown and PATIENT in shown
    by_number = page_text(auditor.get("/access-log?number=%2B12015550123&action=console.ledger"))
    assert "user:front-desk" in by_number
    nothing = page_text(auditor.get("/access-log?action=console.ledger&until=2026-11-01"))
    assert "No reads match" in nothing
    # Reading the log named the patient's number: that reading is logged with it.
    logged = reads(runtime, "console.access_log")
    assert logged[0] == ("user:auditor", False, [PATIENT])
    assert len(logged) == 3


def test_the_access_log_filters_by_the_clinics_days(
    as_role: Client, runtime: Runtime, clock: Any
) -> None:
    clock.now = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)  # 22:00 on the 24th, New York
    admin = as_role("admin")
    admin.get("/ledger")
    on_24th = page_text(
        admin.get("/access-log?action=console.ledger&since=2026-11-24&until=2026-11-24")
    )
    on_25th = page_text(admin.get("/access-log?action=console.ledger&since=2026-11-25"))
    assert "2026-11-24 22:00 EST" in on_24th
    assert "No reads match" in on_25th


def test_the_access_log_pages(as_role: Client) -> None:
    admin = as_role("admin")
    for _ in range(51):
        admin.get("/ledger")
    first = admin.get("/access-log?action=console.ledger").get_data(as_text=True)
    assert first.count("<tr>") == 51  # the header row and fifty reads
    more = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert more
    second = admin.get(html.unescape(more.group(1))).get_data(as_text=True)
    assert second.count("<tr>") == 2


def test_a_numbers_disclosures_name_who_read_it_and_how(
    as_role: Client,
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    stop: None,
    runtime: Runtime,
) -> None:
    as_role("front_desk").get("/ledger?number=%2B12015550123")
    client.get(f"/api/v1/consent/{PATIENT}", headers=auth("front_desk"))
    auditor = as_role("auditor")
    lookup = auditor.get("/disclosures?number=(201)+555-0123")
    assert lookup.status_code == 303
    assert lookup.headers["Location"] == "/numbers/+12015550123/disclosures"
    shown = page_text(auditor.get(lookup.headers["Location"]))
    assert "user:front-desk" in shown and "console.ledger" in shown
    assert "token:front_desk" in shown and "/api/v1/consent/+12015550123" in shown
    assert reads(runtime, "console.disclosures")[0] == ("user:auditor", False, [PATIENT])


def test_an_unreadable_number_is_said_so(as_role: Client) -> None:
    auditor = as_role("auditor")
    assert "is not a phone number" in page_text(auditor.get("/disclosures?number=555"))
    answer = auditor.get("/numbers/not-a-number/disclosures")
    assert answer.status_code == 404 and "is not a phone number" in page_text(answer)


# --- Proof ------------------------------------------------------------------------------


def submitted(runtime: Runtime) -> str:
    request = outbound.Request(to=OTHER, category="transactional", body="Hi", actor="user:x")
    with transaction(runtime.sessions) as session:
        msg, _ = outbound.submit(session, runtime.rules, request, runtime.clock())
        return msg.id


def test_proof_finds_a_message_and_points_at_its_proof(as_role: Client, runtime: Runtime) -> None:
    message_id = submitted(runtime)
    auditor = as_role("auditor")
    answer = auditor.get("/proof", query_string={"message_id": message_id})
    if answer.status_code == 303:  # the front desk's message page is served
        assert answer.headers["Location"] == f"/messages/{message_id}"
    else:
        assert f"/api/v1/messages/{message_id}/proof" in answer.get_data(as_text=True)
    assert reads(runtime, "console.proof") == [("user:auditor", False, [OTHER])]
    missing = auditor.get("/proof?message_id=msg_nothing")
    assert missing.status_code == 404 and "No message with the id" in page_text(missing)


def test_proof_goes_to_the_message_page_when_there_is_one(
    app: Flask, as_role: Client, runtime: Runtime
) -> None:
    if "/messages/<message_id>" not in {r.rule for r in app.url_map.iter_rules()}:
        app.add_url_rule("/messages/<message_id>", "message_page", lambda message_id: "")
    message_id = submitted(runtime)
    answer = as_role("auditor").get(f"/proof?message_id={message_id}")
    assert answer.status_code == 303 and answer.headers["Location"] == f"/messages/{message_id}"
