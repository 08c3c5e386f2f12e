"""Only the patient lifts the patient's own STOP (SPEC §4; issue 8, finding 3).

After a number's own revocation (its STOP text, a carrier block, a review of its text, a web
or paper form), a grant of that category is refused with 422 `unprovable_consent` unless it is
the patient's START/YES, a new web form with the form's evidence, or a front-desk grant that
records who took it, how the patient asked and a note. The API, the importer and the CLI all
go through the same rule; the send-time check keeps blocking after a refused lift.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import services
from gateway.cli.ledger_import import import_command
from gateway.db import transaction
from gateway.domain.consent import Action, Event, Source, patient_revocation_in_force
from gateway.models import ConsentEventRow
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock, Phone, with_rules

ROOT = Path(__file__).resolve().parent.parent
MARKETING_NO = "+12015550110"
CARE_NO = "+12015550111"
SPLIT_SENDERS = {
    MARKETING_NO: {"categories": ["marketing"]},
    CARE_NO: {"categories": ["transactional"]},
}
DISCLOSURE = {"disclosure_version": "mkt-2026-01"}
FRONT_DESK = {"staff": "Ana Ruiz", "method": "in_person", "note": "asked at check-in to resume"}
WEB_FORM = {
    "page_url": "https://clinic.test/join",
    "ip": "192.0.2.7",
    "user_agent": "Mozilla/5.0",
    "checkbox_unchecked_by_default": True,
}


def post(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    payload = {"number": PATIENT, "category": "transactional", "action": "grant", **body}
    return client.post("/api/v1/consent", headers=headers, json=payload)


def status(client: FlaskClient, headers: dict[str, str], category: str) -> dict[str, Any]:
    body = client.get(f"/api/v1/consent/{PATIENT}", headers=headers).get_json()
    return dict(body["categories"][category])


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.get_json()
    return dict(response.get_json()["error"])


@pytest.fixture
def desk(auth: Any) -> dict[str, str]:
    return dict(auth("front_desk"))


# --- through the API -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["api", "import", "paper_form"])
def test_a_stop_is_not_lifted_by_a_source_the_patient_did_not_use(
    phone: Phone, client, desk, source: str
) -> None:
    phone.text("STOP")
    evidence = {**FRONT_DESK, "form_id": "PF-7"}  # even with a full story, not from these
    error = error_of(post(client, desk, source=source, evidence=evidence))
    assert (error["code"], error["field"]) == ("unprovable_consent", "source")
    assert "STOP" in error["message"] or "sms_keyword" in error["message"]
    assert source in error["message"]
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_a_front_desk_grant_with_empty_evidence_names_everything_missing(
    phone: Phone, client, desk
) -> None:
    phone.text("STOP")
    error = error_of(post(client, desk, source="front_desk", evidence={}))
    assert (error["code"], error["field"]) == ("unprovable_consent", "evidence")
    for piece in ("staff", "method", "note", "in_person", "phone_call", "signed_form"):
        assert piece in error["message"]
    care = status(client, desk, "transactional")
    assert (care["status"], care["may_send"]) == ("revoked", False)


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"staff": ""}, "staff"),
        ({"staff": None}, "staff"),
        ({"method": "telepathy"}, "method"),
        ({"method": None}, "method"),
        ({"note": "   "}, "note"),
        ({"note": 7}, "note"),
    ],
)
def test_a_front_desk_grant_needs_who_how_and_a_note(
    phone: Phone, client, desk, change: dict[str, Any], missing: str
) -> None:
    phone.text("STOP")
    evidence = {k: v for k, v in {**FRONT_DESK, **change}.items() if v is not None}
    error = error_of(post(client, desk, source="front_desk", evidence=evidence))
    assert (error["code"], error["field"]) == ("unprovable_consent", "evidence")
    assert missing in error["message"]
    assert status(client, desk, "transactional")["status"] == "revoked"


@pytest.mark.parametrize("method", ["in_person", "phone_call", "signed_form"])
def test_a_front_desk_grant_that_records_who_how_and_why_lifts_the_stop(
    phone: Phone, client, desk, method: str
) -> None:
    phone.text("STOP")
    evidence = {**FRONT_DESK, "method": method}
    response = post(client, desk, source="front_desk", evidence=evidence)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["event"]["evidence"] == evidence
    assert status(client, desk, "transactional")["may_send"] is True


def test_a_new_web_form_lifts_the_stop_and_needs_the_forms_evidence(
    phone: Phone, client, desk
) -> None:
    phone.text("STOP")
    partial = {k: v for k, v in WEB_FORM.items() if k != "ip"}
    error = error_of(post(client, desk, source="web_form", evidence=partial))
    assert error["field"] == "evidence" and "ip" in error["message"]
    assert post(client, desk, source="web_form", evidence=WEB_FORM).status_code == 201
    assert status(client, desk, "transactional")["status"] == "granted"


def test_the_patients_own_start_still_lifts_it(phone: Phone, client, desk) -> None:
    phone.text("STOP")
    phone.text("START")
    assert status(client, desk, "transactional")["status"] == "granted"


def test_once_the_patient_restored_it_staff_may_undo_their_own_revoke(
    phone: Phone, client, desk
) -> None:
    phone.text("STOP")
    phone.text("START")
    assert post(client, desk, action="revoke", source="api").status_code == 201
    assert post(client, desk, source="api").status_code == 201
    assert status(client, desk, "transactional")["status"] == "granted"


def test_a_grant_where_the_patient_never_revoked_stays_as_it_was(client, desk) -> None:
    assert post(client, desk, action="revoke", source="front_desk").status_code == 201
    assert post(client, desk, source="api", evidence={}).status_code == 201
    assert post(client, desk, source="import").status_code == 201
    assert status(client, desk, "transactional")["status"] == "granted"


def test_a_staff_revoke_on_top_of_a_stop_does_not_hide_the_stop(phone: Phone, client, desk) -> None:
    phone.text("STOP")
    assert post(client, desk, action="revoke", source="front_desk").status_code == 201
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_an_old_unproven_grant_does_not_count_as_the_patient_lifting_it(
    phone: Phone, client, desk, runtime: Runtime, clock: Clock
) -> None:
    """A lift recorded before this rule (an `api` grant after a STOP) is no proof either: a
    later staff revoke and an `api` grant are still refused."""
    phone.text("STOP")
    clock.advance(minutes=1)
    with transaction(runtime.sessions) as session:  # as the ledger may hold from before
        from gateway import ledger

        ledger.append(
            session,
            number=PATIENT,
            category="transactional",
            action=Action.GRANT,
            source=Source.API,
            actor="old",
            evidence={},
            now=clock.now,
        )
    clock.advance(minutes=1)
    assert post(client, desk, action="revoke", source="api").status_code == 201
    clock.advance(minutes=1)
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"


def test_a_grant_dated_before_the_stop_is_no_lift_and_changes_nothing(
    phone: Phone, client, desk, clock: Clock
) -> None:
    """An old paper form recorded late: the STOP, being newer, stays in force (SPEC §4)."""
    before = clock.now - dt.timedelta(days=3)
    phone.text("STOP")
    clock.advance(minutes=5)
    response = post(client, desk, source="api", occurred_at=f"{before:%Y-%m-%dT%H:%M:%SZ}")
    assert response.status_code == 201
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_a_grant_back_dated_between_the_stop_and_now_is_a_lift(
    phone: Phone, client, desk, clock: Clock
) -> None:
    phone.text("STOP")
    after_stop = clock.now + dt.timedelta(minutes=1)
    clock.advance(hours=1)
    response = post(client, desk, source="api", occurred_at=f"{after_stop:%Y-%m-%dT%H:%M:%SZ}")
    assert error_of(response)["code"] == "unprovable_consent"


def test_stopall_makes_a_grant_of_any_category_a_lift(
    phone: Phone, client, desk, runtime: Runtime, rules
) -> None:
    """STOPALL to the marketing number revokes care messages too: lifting either is the
    patient's to do, and a paper form is no longer enough for marketing."""
    with_rules(runtime, rules, senders=SPLIT_SENDERS)
    paper = {**DISCLOSURE, "form_id": "PF-7", "staff": "Ana Ruiz"}
    granted = post(client, desk, category="marketing", source="paper_form", evidence=paper)
    assert granted.status_code == 201
    phone.text("STOPALL", to=MARKETING_NO)
    for category in ("transactional", "marketing"):
        assert status(client, desk, category)["status"] == "revoked"
    assert error_of(post(client, desk, source="api"))["field"] == "source"
    refused = post(client, desk, category="marketing", source="paper_form", evidence=paper)
    assert error_of(refused)["field"] == "source"
    # Front desk for marketing: the lift's story and the express written consent, both named.
    error = error_of(post(client, desk, category="marketing", source="front_desk", evidence={}))
    for piece in ("method", "note", "disclosure"):
        assert piece in error["message"]
    full = {**FRONT_DESK, **DISCLOSURE}
    response = post(client, desk, category="marketing", source="front_desk", evidence=full)
    assert response.status_code == 201, response.get_json()
    assert status(client, desk, "marketing")["may_send"] is True
    assert status(client, desk, "transactional")["may_send"] is False


def test_a_stop_to_the_marketing_number_leaves_care_grants_as_they_were(
    phone: Phone, client, desk, runtime: Runtime, rules
) -> None:
    with_rules(runtime, rules, senders=SPLIT_SENDERS)
    phone.text("STOP", to=MARKETING_NO)
    assert post(client, desk, source="api").status_code == 201  # care was never revoked
    assert error_of(post(client, desk, category="marketing", source="api"))


def test_a_review_resolved_as_opt_out_is_the_patients_revocation(
    phone: Phone, client, desk
) -> None:
    phone.text("NO")  # out of the blue: a review, not an automatic opt-out
    [review] = client.get("/api/v1/reviews?status=open", headers=desk).get_json()["items"]
    resolved = client.post(
        f"/api/v1/reviews/{review['id']}", headers=desk, json={"resolution": "opt_out"}
    )
    assert resolved.status_code == 200, resolved.get_json()
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"
    assert post(client, desk, source="front_desk", evidence=FRONT_DESK).status_code == 201


@pytest.mark.parametrize("source", ["web_form", "paper_form"])
def test_a_form_opt_out_is_the_patients_revocation(client, desk, source: str) -> None:
    evidence = WEB_FORM if source == "web_form" else {"form_id": "PF-9", "staff": "Ana Ruiz"}
    assert post(client, desk, action="revoke", source=source, evidence=evidence).status_code == 201
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"
    assert post(client, desk, source="web_form", evidence=WEB_FORM).status_code == 201


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"checkbox_unchecked_by_default": False}, "checkbox_unchecked_by_default"),
        ({"ip": "-"}, "ip"),
        ({"page_url": "-"}, "page_url"),
        ({"page_url": "javascript:alert(1)"}, "page_url"),
    ],
)
def test_a_web_form_lift_needs_a_real_forms_evidence(
    phone: Phone, client, desk, change: dict[str, Any], missing: str
) -> None:
    """Placeholders are not a form: a desk token cannot dress up a lift as one."""
    phone.text("STOP")
    error = error_of(post(client, desk, source="web_form", evidence=WEB_FORM | change))
    assert error["code"] == "unprovable_consent" and missing in error["message"]
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_an_imported_opt_out_is_lifted_only_with_the_patients_proof(
    client, desk, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        services.record_consent(
            session,
            runtime.rules,
            number=PATIENT,
            category="transactional",
            action=Action.REVOKE,
            source=Source.IMPORT,
            evidence={"file": "old-vendor-optouts.csv", "line": 7},
            actor="cli:import",
            now=runtime.clock(),
        )
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"
    assert post(client, desk, source="front_desk", evidence=FRONT_DESK).status_code == 201


def test_a_carrier_block_is_the_patients_revocation(
    send, fetch, drain, twilio, client, desk
) -> None:
    twilio.answer((400, 21610))  # the patient texted STOP to the carrier, not to us
    message = send(PATIENT)
    drain()
    assert fetch(message["id"])["decision"]["reason"] == "carrier_block"
    assert error_of(post(client, desk, source="api"))["code"] == "unprovable_consent"


def test_after_a_refused_lift_the_send_time_check_still_blocks(
    phone: Phone, client, desk, send, fetch, drain, twilio
) -> None:
    phone.text("STOP")
    assert error_of(post(client, desk, source="api", evidence={}))
    assert error_of(post(client, desk, source="front_desk", evidence={}))
    message = send(PATIENT)
    drain()
    decided = fetch(message["id"])
    assert (decided["status"], decided["decision"]["reason"]) == ("blocked", "opted_out")
    assert twilio.sent == []


# --- through the service, the importer and the CLI ----------------------------------------


def test_the_service_refuses_the_lift_whoever_calls_it(
    phone: Phone, runtime: Runtime, clock: Clock
) -> None:
    phone.text("STOP")
    with transaction(runtime.sessions) as session, pytest.raises(services.Problem) as refused:
        services.record_consent(
            session,
            runtime.rules,
            number=PATIENT,
            category="transactional",
            action=Action.GRANT,
            source=Source.API,
            evidence={},
            actor="script",
            now=clock.now,
        )
    assert (refused.value.status, refused.value.code) == (422, "unprovable_consent")


def events(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return int(session.execute(select(func.count()).select_from(ConsentEventRow)).scalar_one())


def test_an_import_row_that_would_lift_a_stop_is_refused_and_nothing_is_applied(
    env: None, phone: Phone, client, desk, sessions, tmp_path: Path, clock: Clock
) -> None:
    phone.text("STOP")  # 2026-11-24 18:00 UTC
    other = "+13055550142"
    path = tmp_path / "crm.csv"
    path.write_text(
        "number,category,action,occurred_at,source,note\n"
        f"{other},transactional,grant,2026-11-01,old_crm,fine\n"
        f"{PATIENT},transactional,grant,2026-11-01,old_crm,older than the STOP: no lift\n"
        f"{PATIENT},transactional,grant,2026-11-24T18:30:00Z,old_crm,after the STOP\n",
        encoding="utf-8",
    )
    before = events(sessions)
    clock.advance(hours=1)
    for args in ((path, "--dry-run"), (path,)):
        result = CliRunner().invoke(import_command, [str(a) for a in args])
        assert result.exit_code == 1, result.output
        lines = result.output.splitlines()
        assert [line for line in lines if line.startswith(f"{path}:")] == [
            f"{path}:4: action: unprovable_consent: this grant would lift the patient's own "
            "opt-out (sms_keyword, 2026-11-24T18:00:00Z); an imported list cannot. The patient "
            "texts START, or the front desk records it through the API with evidence staff, "
            "method and note"
        ]
        assert lines[-1] == "1 problem; nothing was applied"
    assert events(sessions) == before
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_an_import_still_applies_when_no_row_lifts_a_stop(
    env: None, phone: Phone, client, desk, sessions, tmp_path: Path, clock: Clock
) -> None:
    phone.text("STOP")
    path = tmp_path / "crm.csv"
    path.write_text(
        "number,category,action,occurred_at,source,note\n"
        f"{PATIENT},transactional,grant,2026-11-01,old_crm,older than the STOP\n"
        f"{PATIENT},marketing,revoke,2026-11-25T00:00:00Z,old_crm,\n",
        encoding="utf-8",
    )
    clock.advance(hours=7)
    result = CliRunner().invoke(import_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert status(client, desk, "transactional")["status"] == "revoked"


def test_the_importer_refuses_the_lift_when_applied_directly(
    phone: Phone, runtime: Runtime, clock: Clock, tmp_path: Path
) -> None:
    """`apply` checks under the numbers' locks, so a STOP that lands between `read` and
    `apply` is honoured too."""
    from gateway import importer

    path = tmp_path / "crm.csv"
    path.write_text(
        "number,category,action,occurred_at,source,note\n"
        f"{PATIENT},transactional,grant,2026-11-24T17:00:00Z,old_crm,\n",
        encoding="utf-8",
    )
    rows, problems = importer.read(path, runtime.rules, "US", clock.now)
    assert problems == []
    start = clock.now
    clock.now = start - dt.timedelta(hours=1, minutes=30)  # a STOP at 16:30, before the row
    phone.text("STOP")
    clock.now = start
    with transaction(runtime.sessions) as session, pytest.raises(importer.Refused) as refused:
        importer.apply(session, rows, actor="cli:maria", now=clock.now)
    [problem] = refused.value.problems
    assert problem.line == 2 and "unprovable_consent" in problem.message


# --- the rule itself (pure) ----------------------------------------------------------------

T0 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)


def ev(i: int, action: str, source: str, minutes: int = 0) -> Event:
    at = T0 + dt.timedelta(minutes=minutes if minutes else i)
    return Event(i, PATIENT, "transactional", Action(action), Source(source), at, at, "x")


@pytest.mark.parametrize(
    ("history", "lifted"),
    [
        ([], None),
        ([ev(1, "revoke", "api")], None),
        ([ev(1, "revoke", "sms_keyword")], 1),
        ([ev(1, "revoke", "carrier_block")], 1),
        ([ev(1, "revoke", "review")], 1),
        ([ev(1, "revoke", "web_form")], 1),
        ([ev(1, "revoke", "paper_form")], 1),
        ([ev(1, "revoke", "front_desk")], None),
        ([ev(1, "revoke", "import")], 1),  # a previous vendor's opt-out list: patients' STOPs
        ([ev(1, "revoke", "sms_keyword"), ev(2, "grant", "sms_keyword")], None),
        ([ev(1, "revoke", "sms_keyword"), ev(2, "grant", "front_desk")], None),
        ([ev(1, "revoke", "sms_keyword"), ev(2, "grant", "web_form")], None),
        ([ev(1, "revoke", "sms_keyword"), ev(2, "grant", "api")], 1),
        ([ev(1, "revoke", "sms_keyword"), ev(2, "grant", "import")], 1),
        ([ev(1, "revoke", "sms_keyword"), ev(2, "revoke", "front_desk")], 1),
        (
            [ev(1, "revoke", "sms_keyword"), ev(2, "grant", "sms_keyword"), ev(3, "revoke", "api")],
            None,
        ),
        ([ev(1, "revoke", "sms_keyword", minutes=90)], None),  # after the grant's time
    ],
)
def test_which_revocation_a_grant_would_lift(history: list[Event], lifted: int | None) -> None:
    found = patient_revocation_in_force(history, T0 + dt.timedelta(minutes=60))
    assert (found.id if found else None) == lifted
