"""Auditors and patients' rights: access log, disclosures, proof, verify, export, erasure."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from flask import Flask
from sqlalchemy import JSON, String, Text, cast, func, select, text
from sqlalchemy.types import TypeDecorator

from gateway.db import Base
from gateway.runtime import Runtime
from tests.conftest import PATIENT, Clock, Phone

OTHER = "+13055550142"
PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}


def grant(client: Any, auth: Any, number: str = PATIENT, **evidence: Any) -> dict[str, Any]:
    body = {
        "number": number,
        "category": "marketing",
        "action": "grant",
        "source": "paper_form",
        "evidence": {**PAPER, **evidence},
    }
    response = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json()["event"])


def queue_message(
    client: Any,
    auth: Any,
    body: str = "Your visit is Monday",
    category: str = "transactional",
    to: str = PATIENT,
) -> str:
    response = client.post(
        "/api/v1/messages",
        headers=auth("front_desk"),
        json={"to": to, "body": body, "category": category},
    )
    return str(response.get_json()["id"])


READS = [
    ("consent.read", "/api/v1/consent/{number}"),
    ("inbound.list", "/api/v1/inbound"),
    ("reviews.list", "/api/v1/reviews"),
    ("messages.list", "/api/v1/messages"),
    ("messages.read", "/api/v1/messages/{message}"),
    ("messages.proof", "/api/v1/messages/{message}/proof"),
    ("ledger.events", "/api/v1/ledger/events"),
    ("ledger.export", "/api/v1/ledger/export"),
    ("ledger.verify", "/api/v1/ledger/verify"),
    ("numbers.export", "/api/v1/numbers/{number}/export"),
    ("numbers.disclosures", "/api/v1/numbers/{number}/disclosures"),
    ("audit.access", "/api/v1/audit/access"),
    ("numbers.checks", "/api/v1/numbers/{number}/checks"),
]


def test_the_list_of_reads_covers_every_read_endpoint(app: Flask) -> None:
    rules = {
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or set()) and r.rule.startswith("/api/")
    }
    listed = {
        path.replace("{number}", "<path:number>").replace("{message}", "<message_id>")
        for _, path in READS
    }
    assert rules == listed


def test_every_read_endpoint_appears_in_the_access_log(client, auth, phone: Phone) -> None:
    phone.text("STOP")
    message = queue_message(client, auth)
    for i, (_, path) in enumerate(READS):
        url = path.format(number=PATIENT, message=message)
        response = client.get(url, headers={**auth("auditor"), "X-Request-Id": f"read-{i}"})
        assert response.status_code == 200, (url, response.get_json())
        assert response.headers["X-Request-Id"] == f"read-{i}"
    log = client.get("/api/v1/audit/access?limit=500", headers=auth("admin")).get_json()["items"]
    seen = {entry["request_id"]: entry for entry in log}
    for i, (action, _) in enumerate(READS):
        entry = seen[f"read-{i}"]
        assert (entry["action"], entry["actor"], entry["role"]) == (
            action,
            "token:auditor",
            "auditor",
        )
    assert seen["read-0"]["numbers"] == [PATIENT]
    assert seen["read-7"]["numbers"] == "all"  # an unfiltered export may disclose anyone


def test_an_auditor_reading_consent_shows_in_that_numbers_disclosures(client, auth) -> None:
    client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor"))
    client.get(f"/api/v1/consent/{OTHER}", headers=auth("front_desk"))
    mine = client.get(f"/api/v1/numbers/{PATIENT}/disclosures", headers=auth("admin")).get_json()
    reads = [(e["actor"], e["action"]) for e in mine["items"]]
    assert ("token:auditor", "consent.read") in reads
    assert ("token:front_desk", "consent.read") not in reads
    assert (
        client.get(f"/api/v1/numbers/{PATIENT}/disclosures", headers=auth("front_desk")).status_code
        == 403
    )


def test_the_access_log_filters(client, auth) -> None:
    client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor"))
    client.get("/api/v1/inbound", headers=auth("front_desk"))
    by_actor = client.get("/api/v1/audit/access?actor=token:front_desk", headers=auth("admin"))
    assert [e["action"] for e in by_actor.get_json()["items"]] == ["inbound.list"]
    by_number = client.get(f"/api/v1/audit/access?number={PATIENT}", headers=auth("admin"))
    assert "consent.read" in [e["action"] for e in by_number.get_json()["items"]]
    assert client.get("/api/v1/audit/access", headers=auth("front_desk")).status_code == 403


def _proof(client: Any, auth: Any, message: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/messages/{message}/proof", headers=auth("auditor"))
    assert response.status_code == 200
    return dict(response.get_json())


def _recomputes(event: dict[str, Any]) -> bool:
    return hashlib.sha256(event["canonical"].encode()).hexdigest() == event["hash"]


def test_proof_of_a_blocked_message_names_the_revoke(
    client, auth, phone: Phone, drain, twilio
) -> None:
    grant(client, auth)
    phone.text("STOP")
    message = queue_message(client, auth, "Flu shots are in", "marketing")
    drain()
    proof = _proof(client, auth, message)
    assert proof["decision"]["outcome"] == "blocked" and proof["decision"]["reason"] == "opted_out"
    decisive = proof["decisive_event"]
    assert (decisive["action"], decisive["source"]) == ("revoke", "sms_keyword")
    assert decisive["id"] == proof["decision"]["consent_event_id"]
    assert proof["consent_at_decision"]["events_in_force"]["marketing"]["id"] == decisive["id"]
    assert _recomputes(decisive)


def test_proof_of_a_sent_marketing_message_names_the_grant(
    client, auth, drain, twilio, phone: Phone, clock: Clock
) -> None:
    event = grant(client, auth)
    message = queue_message(client, auth, "Flu shots are in", "marketing")
    drain()
    clock.advance(hours=1)
    phone.text("STOP")  # later events do not change what was in force then
    proof = _proof(client, auth, message)
    assert proof["message"]["status"] == "sent"
    assert proof["decisive_event"]["id"] == event["id"]
    in_force = proof["consent_at_decision"]["events_in_force"]["marketing"]
    assert in_force["action"] == "grant" and in_force["evidence"]["form_id"] == "PF-7"
    assert _recomputes(in_force) and json.loads(in_force["canonical"])["prev_hash"]


def test_verify_names_the_tampered_event_and_not_an_erasure(
    client, auth, phone: Phone, engine, runtime: Runtime
) -> None:
    for number in (PATIENT, OTHER):
        phone.text("please stop texting me", frm=number)
    assert client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()["ok"]
    assert client.post(f"/api/v1/numbers/{PATIENT}/erase", headers=auth("admin")).status_code == 200
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert verdict["ok"] and verdict["count"] == 4 and verdict["first_bad_id"] is None
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_events SET category = 'transactional' WHERE id = 3")
        )
    verdict = client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, 3)
    assert client.get("/api/v1/ledger/verify", headers=auth("front_desk")).status_code == 403


def _text_hits(engine: Any, needle: str) -> list[str]:
    hits = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                # a decorated type by what it stores (the evidence: CanonicalJSON over JSON)
                kind = column.type
                if isinstance(kind, TypeDecorator):
                    kind = kind.impl_instance
                if isinstance(kind, String | Text | JSON):
                    query = (
                        select(func.count())
                        .select_from(table)
                        .where(cast(column, Text).like(f"%{needle}%"))
                    )
                    if connection.execute(query).scalar_one():
                        hits.append(f"{table.name}.{column.name}")
    return hits


def test_erasure_leaves_no_trace_of_the_numbers_text_and_keeps_consent(
    client, auth, phone: Phone, engine, drain, twilio
) -> None:
    phone.text("Please stop texting me, SECRET-knee-surgery")
    phone.text("Reply STOP to unsubscribe SECRET-echo")  # a review item
    queue_message(client, auth, "Your SECRET-knee-surgery follow-up is Monday")
    drain()
    phone.text("Please stop texting me, SECRET-other", frm=OTHER)
    reviews = client.get("/api/v1/reviews", headers=auth("admin")).get_json()["items"]
    mine = next(r for r in reviews if r["number"] == PATIENT)
    client.post(
        f"/api/v1/reviews/{mine['id']}",
        headers=auth("admin"),
        json={"resolution": "opt_out", "note": "SECRET-note"},
    )
    before = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()
    assert {"inbound_messages.body", "consent_events.evidence"} <= set(_text_hits(engine, "SECRET"))

    assert (
        client.post(f"/api/v1/numbers/{PATIENT}/erase", headers=auth("front_desk")).status_code
        == 403
    )
    erased = client.post(f"/api/v1/numbers/{PATIENT}/erase", headers=auth("admin")).get_json()
    assert erased["erasure"]["counts"]["inbound_texts"] == 2

    assert _text_hits(engine, "SECRET-knee") == []
    assert _text_hits(engine, "SECRET-echo") == [] and _text_hits(engine, "SECRET-note") == []
    assert _text_hits(engine, "SECRET-other") != []  # the other patient's text is theirs
    after = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("admin")).get_json()

    def kept(state: dict[str, Any]) -> dict[str, Any]:
        return {
            c: (v["status"], v["event"]["id"], v["event"]["hash"])
            for c, v in state["categories"].items()
        }

    assert kept(after) == kept(before)
    assert client.get("/api/v1/ledger/verify", headers=auth("auditor")).get_json()["ok"]
    held = client.get(f"/api/v1/numbers/{PATIENT}/export", headers=auth("auditor")).get_json()
    assert held["erasures"] and all(m["body"] is None for m in held["messages"])


def test_a_patients_export_holds_everything_about_the_number(
    client, auth, phone: Phone, drain, twilio
) -> None:
    grant(client, auth)
    phone.text("HELP")
    queue_message(client, auth)
    drain()
    held = client.get(f"/api/v1/numbers/{PATIENT}/export", headers=auth("auditor")).get_json()
    assert held["number"] == PATIENT
    assert held["consent"]["marketing"]["status"] == "granted"
    assert [e["category"] for e in held["events"]] == ["marketing"]
    assert [i["body"] for i in held["inbound"]] == ["HELP"]
    assert held["messages"][0]["status"] == "sent" and held["messages"][0]["attempts"]


def _events(client: Any, auth: Any, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/ledger/events{query}", headers=auth("auditor"))
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["items"])


def test_ledger_events_filter_and_page_stably_under_inserts(client, auth, phone: Phone) -> None:
    grant(client, auth)
    phone.text("STOP")
    phone.text("STOP", frm=OTHER)
    everything = _events(client, auth)
    assert [e["id"] for e in everything] == [1, 2, 3, 4, 5]
    assert [e["id"] for e in _events(client, auth, f"?number={OTHER}")] == [4, 5]
    assert {e["action"] for e in _events(client, auth, "?action=grant")} == {"grant"}
    assert [e["source"] for e in _events(client, auth, "?source=paper_form")] == ["paper_form"]
    assert len(_events(client, auth, "?category=marketing")) == 3
    assert _events(client, auth, "?since=2026-11-24T18:00:01Z") == []
    first = client.get("/api/v1/ledger/events?limit=2", headers=auth("auditor")).get_json()
    phone.text("STOP", frm="+14055550150")  # arrives between pages
    second = client.get(
        f"/api/v1/ledger/events?limit=2&cursor={first['next_cursor']}", headers=auth("auditor")
    ).get_json()
    assert [e["id"] for e in first["items"] + second["items"]] == [1, 2, 3, 4]
    for bad in ("?action=maybe", "?source=gossip", "?number=123", "?category=x", "?since=no"):
        assert client.get(f"/api/v1/ledger/events{bad}", headers=auth("auditor")).status_code == 422


def test_csv_export_round_trips_and_cannot_inject_formulas(client, auth, phone: Phone) -> None:
    grant(client, auth, note='=HYPERLINK("http://evil.test")', staff="@ana")
    phone.text("-STOP-")
    phone.text("STOP", frm=OTHER)
    response = client.get("/api/v1/ledger/export?format=csv", headers=auth("auditor"))
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "number", "category"] and len(body) == 5
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    events = _events(client, auth)
    for row, event in zip(body, events, strict=True):
        record = dict(zip(header, row, strict=True))
        assert record["number"] == "'" + event["number"]  # "+1…" is a formula to a spreadsheet
        assert record["occurred_at"].endswith("Z") and record["hash"] == event["hash"]
        evidence = json.loads(record["evidence"].removeprefix("'"))
        assert evidence == event["evidence"]
    jsonl = client.get(
        f"/api/v1/ledger/export?format=jsonl&number={OTHER}", headers=auth("auditor")
    ).get_data(as_text=True)
    assert [json.loads(line)["number"] for line in jsonl.splitlines()] == [OTHER, OTHER]
    assert (
        client.get("/api/v1/ledger/export?format=xls", headers=auth("auditor")).status_code == 422
    )
    assert client.get("/api/v1/ledger/export", headers=auth("front_desk")).status_code == 403
