"""What is kept forever has a bound (issue 8, finding 7; SPEC §8): consent evidence, a
reviewer's note, an inbound text, an imported row's note. The HTTP body limits (413) are the
edge's; these hold for every caller — the API, the CLI, the importer, the journal's replay."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway import importer, inbound, services
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.models import ConsentEventRow, InboundMessage
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock, Phone

LIMIT = 8 * 1024
TWILIO_LONGEST = 1600
KEPT = TWILIO_LONGEST * 4


BASE = len(json.dumps({"note": ""}, separators=(",", ":")).encode())


def evidence_of_size(size: int) -> dict[str, Any]:
    """Evidence whose compact UTF-8 JSON is exactly `size` bytes."""
    return {"note": "x" * (size - BASE)}


def evidence_just_over(filler: str) -> dict[str, Any]:
    """Evidence one `filler` past the limit: fewer characters than bytes when it is not ASCII."""
    return {"note": filler * ((LIMIT - BASE) // len(filler.encode()) + 1)}


def revoke(client: Any, headers: dict[str, str], evidence: Any) -> Any:
    body = {
        "number": PATIENT,
        "category": "transactional",
        "action": "revoke",
        "source": "front_desk",
        "evidence": evidence,
    }
    return client.post("/api/v1/consent", headers=headers, json=body)


def count_events(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.execute(select(func.count()).select_from(ConsentEventRow)).scalar_one())


# --- consent evidence ----------------------------------------------------------------------


@pytest.mark.parametrize("filler", ["x", "é", "🙂"])  # counted in bytes, as stored
def test_evidence_over_8_kb_is_refused_and_nothing_is_appended(
    client, auth, runtime: Runtime, filler: str
) -> None:
    response = revoke(client, auth("front_desk"), evidence_just_over(filler))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("too_large", "evidence")
    assert "8192" in error["message"]
    assert count_events(runtime) == 0


def test_evidence_of_exactly_8_kb_is_kept(client, auth, runtime: Runtime) -> None:
    response = revoke(client, auth("front_desk"), evidence_of_size(LIMIT))
    assert response.status_code == 201, response.get_json()
    assert count_events(runtime) == 1


def test_megabytes_of_evidence_are_refused_by_the_service_whoever_calls_it(
    runtime: Runtime, clock: Clock
) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(services.Problem) as refused:
        services.record_consent(
            session,
            runtime.rules,
            number=PATIENT,
            category="transactional",
            action=Action.REVOKE,
            source=Source.API,
            evidence={"blob": "x" * 10_000_000},
            actor="script",
            now=clock.now,
        )
    problem = refused.value
    assert (problem.status, problem.code, problem.field) == (422, "too_large", "evidence")


# --- a reviewer's note ---------------------------------------------------------------------


def open_review(phone: Phone, client: Any, headers: dict[str, str]) -> int:
    phone.text("NO")  # out of the blue: a review
    [review] = client.get("/api/v1/reviews?status=open", headers=headers).get_json()["items"]
    return int(review["id"])


def test_a_review_note_over_2000_characters_is_refused(
    phone: Phone, client, auth, runtime: Runtime
) -> None:
    desk = auth("front_desk")
    review = open_review(phone, client, desk)
    events = count_events(runtime)
    body = {"resolution": "opt_out", "note": "n" * 2001}
    response = client.post(f"/api/v1/reviews/{review}", headers=desk, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "note" and "2000" in error["message"]
    still = client.get("/api/v1/reviews?status=open", headers=desk).get_json()["items"]
    assert [r["id"] for r in still] == [review]
    assert count_events(runtime) == events


def test_a_review_note_of_2000_characters_is_kept(phone: Phone, client, auth) -> None:
    desk = auth("front_desk")
    review = open_review(phone, client, desk)
    body = {"resolution": "no_action", "note": "ñ" * 2000}
    response = client.post(f"/api/v1/reviews/{review}", headers=desk, json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["note"] == "ñ" * 2000


# --- an inbound text -----------------------------------------------------------------------


def stored(runtime: Runtime) -> InboundMessage:
    """The latest text received."""
    with transaction(runtime.sessions) as session:
        query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(1)
        row = session.execute(query).scalar_one()
        session.expunge(row)
        return row


def test_a_text_of_twilios_longest_is_stored_whole(phone: Phone, runtime: Runtime) -> None:
    body = ("Please call me about my appointment. " * 50)[:TWILIO_LONGEST]
    phone.text(body)
    row = stored(runtime)
    assert row.body == body and row.note is None


def test_a_text_far_past_twilios_maximum_is_stored_cut_with_a_note_and_still_read(
    phone: Phone,
    runtime: Runtime,
    client,
    auth,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    handed: list[int] = []
    classify = inbound.classify

    def measured(text: str, *args: Any) -> Any:
        handed.append(len(text))
        return classify(text, *args)

    monkeypatch.setattr(inbound, "classify", measured)
    # 50 KB: as much as the webhook's 64 KB bound lets through (10 MB is a 413 at the edge,
    # tests/web/test_edge.py), and eight times what is kept.
    body = "Stop texting me. " + "blah " * 10_000
    response = phone.text(body)
    assert response.status_code == 200
    assert handed == [KEPT]  # the classifier is never handed megabytes
    row = stored(runtime)
    assert row.body == body[:KEPT]
    assert row.note is not None and "truncated" in row.note and str(len(body)) in row.note
    assert row.intent == "opt_out"  # read from the start, as the patient wrote it
    state = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    event = state["categories"]["transactional"]["event"]
    assert event["evidence"]["text"] == body[:KEPT]  # the ledger keeps the bounded text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(len(body)) in logged and "blah" not in logged and PATIENT not in logged


def test_a_cut_text_keeps_the_reply_caps_note_too(
    phone: Phone, runtime: Runtime, rules: Any
) -> None:
    for _ in range(rules.reply_cap_per_hour):
        phone.text("HELP")
    phone.text("HELP " + "x" * KEPT)
    row = stored(runtime)
    assert row.note is not None and "truncated" in row.note and "reply_cap" in row.note


# --- an imported row's note ----------------------------------------------------------------


def test_an_imported_note_is_bounded_by_its_line(rules: Any, tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "number,category,action,occurred_at,source,note\n"
        f"{PATIENT},transactional,revoke,2025-03-01,old_crm,{'n' * 2000}\n"
        f"{PATIENT},transactional,revoke,2025-03-02,old_crm,{'n' * 2001}\n",
        encoding="utf-8",
    )
    _, problems = importer.read(path, rules, "US", clock.now)
    assert [(p.line, p.field) for p in problems] == [(3, "note")]
    assert "2000" in problems[0].message
