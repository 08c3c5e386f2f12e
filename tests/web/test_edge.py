"""Issue 8's findings at the HTTP edge, each as the behaviour a caller or an auditor notices."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import services
from gateway.adapters.twilio_sms import sign
from gateway.db import transaction
from gateway.runtime import Runtime
from gateway.web.console import PAGE_BLUEPRINTS
from tests.conftest import AUTH_TOKEN, BASE_URL, CLINIC, PATIENT, Phone, bearer

MESSAGE = {"to": PATIENT, "body": "Your appointment is at 3pm", "category": "transactional"}


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert body is not None, response.data[:200]
    return dict(body["error"])


# 1 — bounded bodies, refused before anything reads them


def test_an_oversized_api_body_is_413_before_the_token_is_checked(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/messages",
        data=b"x" * (300 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_an_oversized_webhook_is_413_before_its_form_is_parsed(client: FlaskClient) -> None:
    form = {"MessageSid": "SM" + "0" * 32, "From": PATIENT, "To": CLINIC, "Body": "x" * 70_000}
    response = client.post("/twilio/inbound", data=form)
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"


@pytest.mark.parametrize(("size", "status"), [(300 * 1024, 413), (1024, 401)])
def test_a_chunked_body_is_refused_past_the_bound_not_cut(
    client: FlaskClient, size: int, status: int
) -> None:
    response = client.post(
        "/api/v1/messages",
        input_stream=io.BytesIO(b"x" * size),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == status


def test_a_chunked_body_within_the_bound_arrives_whole(client: FlaskClient, auth) -> None:
    body = json.dumps(MESSAGE).encode()
    response = client.post(
        "/api/v1/messages",
        input_stream=io.BytesIO(body),
        headers={**auth("front_desk"), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 202 and response.get_json()["body"] == MESSAGE["body"]


class Tattletale(io.BytesIO):
    """A request body that remembers being read."""

    touched = False

    def read(self, size: int | None = -1) -> bytes:
        self.touched = True
        return super().read(size)

    readline = read  # type: ignore[assignment]


@pytest.mark.parametrize("path", ["/api/v1/consent", "/api/v1/messages", "/api/v1/reviews/1"])
def test_an_unauthenticated_body_is_never_read(client: FlaskClient, path: str) -> None:
    """Without a valid token nothing reads the body: a 401, and nobody learns how we parse."""
    body = Tattletale(b'{"number": "+12015550123", "nested": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    for headers in ({}, {"Authorization": "Bearer sg_not-a-token"}):
        response = client.post(
            path,
            input_stream=body,
            headers={**headers, "Content-Type": "application/json", "Content-Length": "10011"},
        )
        assert response.status_code == 401
    assert not body.touched


def test_a_query_that_is_not_utf8_is_a_400(client: FlaskClient, auth) -> None:
    raw = {"QUERY_STRING": "from=\xff\xfe"}  # bytes as a server hands them over (latin-1)
    response = client.get("/api/v1/inbound", headers=auth("auditor"), environ_overrides=raw)
    assert response.status_code == 400 and error_of(response)["code"] == "malformed"


def test_the_accounting_of_disclosures_records_the_other_numbers_it_shows(
    client, auth, phone: Phone
) -> None:
    other = "+13055550142"
    phone.text("HELP")
    phone.text("HELP", frm=other)
    client.get("/api/v1/inbound", headers=auth("front_desk"))  # discloses both numbers
    shown = client.get(f"/api/v1/numbers/{other}/disclosures", headers=auth("auditor"))
    assert PATIENT in shown.get_json()["items"][0]["numbers"]
    log = client.get("/api/v1/audit/access?action=numbers.disclosures", headers=auth("admin"))
    [entry] = log.get_json()["items"]
    assert {other, PATIENT} <= set(entry["numbers"])


# 6 — deep JSON


@pytest.mark.parametrize("depth", [17, 5_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(client: FlaskClient, auth, depth: int) -> None:
    nested = '{"to": "+12015550123", "fields": ' + "[" * depth + "]" * depth + "}"
    response = client.post(
        "/api/v1/messages",
        data=nested,
        headers={**auth("front_desk"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and error_of(response)["code"] == "malformed"


# 7 and 17 — every field bounded, unknown fields refused by name


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"body": "x" * 1601}, "body", "too_long"),
        ({"send_at_": "2026-11-25T10:00:00Z"}, "send_at_", "unknown_field"),
        ({"sendAt": "2026-11-25T10:00:00Z"}, "sendAt", "unknown_field"),
        ({"category": "c" * 65}, "category", "too_long"),
        ({"to": "1" * 41}, "to", "too_long"),
        ({"send_at": "next tuesday"}, "send_at", "invalid_time"),
        ({"to": None}, "to", "invalid"),
    ],
)
def test_message_fields_are_bounded_and_named(client, auth, change, field, code) -> None:
    response = client.post("/api/v1/messages", headers=auth("front_desk"), json=MESSAGE | change)
    assert response.status_code == 422
    assert (error_of(response)["field"], error_of(response)["code"]) == (field, code)


def test_ten_kilobytes_of_evidence_are_refused_not_appended_forever(client, auth) -> None:
    body = {
        "number": PATIENT,
        "category": "transactional",
        "action": "revoke",
        "source": "front_desk",
        "evidence": {"note": "x" * 10_000},
    }
    response = client.post("/api/v1/consent", headers=auth("front_desk"), json=body)
    assert response.status_code == 422
    assert (error_of(response)["field"], error_of(response)["code"]) == ("evidence", "too_large")
    events = client.get("/api/v1/ledger/events", headers=auth("auditor")).get_json()["items"]
    assert events == []


def test_a_review_note_is_bounded(client, auth, phone: Phone) -> None:
    phone.text("please no more")
    [review] = client.get("/api/v1/reviews", headers=auth("admin")).get_json()["items"]
    response = client.post(
        f"/api/v1/reviews/{review['id']}",
        headers=auth("front_desk"),
        json={"resolution": "no_action", "note": "n" * 2001},
    )
    assert response.status_code == 422 and error_of(response)["field"] == "note"


def test_an_unknown_or_repeated_query_parameter_is_named(client, auth) -> None:
    unknown = client.get("/api/v1/inbound?frm=%2B12015550123", headers=auth("auditor"))
    assert unknown.status_code == 422 and error_of(unknown)["field"] == "frm"
    repeated = client.get("/api/v1/inbound?limit=1&limit=2", headers=auth("auditor"))
    assert repeated.status_code == 422 and error_of(repeated)["field"] == "limit"
    bounded = client.get("/api/v1/inbound?limit=501", headers=auth("auditor"))
    assert bounded.status_code == 422 and error_of(bounded)["field"] == "limit"


# 8 — protective headers


def test_answers_carrying_phi_are_never_cached_or_sniffed(client, auth, phone: Phone) -> None:
    phone.text("STOP")
    response = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    refused = client.get(f"/api/v1/consent/{PATIENT}")
    assert refused.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain http: no promise


def test_https_answers_promise_https(client, auth) -> None:
    response = client.get("/healthz", base_url="https://gateway.example")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_the_docs_page_runs_only_its_own_scripts(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # no CDN
    declared = client.get("/openapi.json").get_json()["paths"]["/docs/assets/{asset}"]
    media = set(declared["get"]["responses"]["200"]["content"])
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "start.js", "favicon-32x32.png"):
        assert asset == "favicon-32x32.png" or f"/docs/assets/{asset}" in html
        served = client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.data) > 20, asset
        assert served.mimetype in media, (asset, served.mimetype, media)  # as /openapi.json says
    assert client.get("/docs/assets/..%2fopenapi.json").status_code == 404


# 9 — the access log has no gaps; keys and ids are the caller's own


def test_reading_the_access_log_is_itself_recorded_with_the_numbers_it_shows(client, auth) -> None:
    client.get(f"/api/v1/consent/{PATIENT}", headers=auth("front_desk"))
    shown = client.get("/api/v1/audit/access", headers=auth("auditor")).get_json()["items"]
    assert PATIENT in shown[0]["numbers"]
    log = client.get("/api/v1/audit/access?action=audit.access", headers=auth("admin"))
    [entry] = log.get_json()["items"]
    assert entry["actor"] == "token:auditor" and PATIENT in entry["numbers"]


def test_resolving_a_review_records_the_read_of_the_patients_text(
    client, auth, phone: Phone
) -> None:
    phone.text("please no more")
    [review] = client.get("/api/v1/reviews", headers=auth("admin")).get_json()["items"]
    resolved = client.post(
        f"/api/v1/reviews/{review['id']}",
        headers=auth("front_desk"),
        json={"resolution": "no_action", "note": "asked about parking"},
    )
    assert resolved.status_code == 200 and resolved.get_json()["text"] == "please no more"
    disclosures = client.get(f"/api/v1/numbers/{PATIENT}/disclosures", headers=auth("auditor"))
    actions = [(i["actor"], i["action"]) for i in disclosures.get_json()["items"]]
    assert ("token:front_desk", "reviews.resolve") in actions


def test_an_idempotency_key_belongs_to_the_token_that_used_it(
    client, auth, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        other = services.create_token(
            session, name="desk-2", role="front_desk", now=runtime.clock()
        )
    key = {"Idempotency-Key": "appt-42"}
    first = client.post("/api/v1/messages", headers=auth("front_desk") | key, json=MESSAGE)
    again = client.post("/api/v1/messages", headers=auth("front_desk") | key, json=MESSAGE)
    theirs = client.post(
        "/api/v1/messages",
        headers=bearer(other) | key,
        json=MESSAGE | {"to": "+13055550142"},
    )
    assert first.status_code == again.status_code == theirs.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert theirs.get_json()["id"] != first.get_json()["id"]
    assert theirs.get_json()["to"] == "+13055550142"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-7f3a.1:2", True),
        ("x" * 65, False),
        ("bad id", False),
        ("id\r\nX-Injected: 1", False),
        ("<script>", False),
    ],
)
def test_a_request_id_is_kept_only_in_a_safe_form(client, given: str, kept: bool) -> None:
    environ = {"HTTP_X_REQUEST_ID": given}  # bypasses the test client's own header checks
    echoed = client.get("/healthz", environ_overrides=environ).headers["X-Request-Id"]
    assert (echoed == given) is kept
    assert (1 <= len(echoed) <= 64 and echoed.replace("-", "").isalnum()) or kept


# 11 — 405 keeps Allow; NUL in a query answers after the token


def test_a_wrong_method_names_the_methods_allowed(client, auth) -> None:
    response = client.delete("/api/v1/messages", headers=auth("admin"))
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_nul_in_a_query_is_refused_only_after_authentication(client, auth) -> None:
    assert client.get("/api/v1/inbound?intent=%00").status_code == 401
    response = client.get("/api/v1/inbound?intent=%00", headers=auth("auditor"))
    assert response.status_code == 400 and error_of(response)["field"] == "intent"


# 12 — Twilio's form: every value signed, read once; SIDs refused, never cleaned


def post_signed(client: FlaskClient, pairs: list[tuple[str, str]]) -> Any:
    from werkzeug.datastructures import MultiDict

    form = MultiDict(pairs)
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", form)
    return client.post("/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})


def base(sid: str = "SM" + "7" * 32) -> list[tuple[str, str]]:
    return [("MessageSid", sid), ("From", PATIENT), ("To", CLINIC)]


def test_a_repeated_body_is_refused_not_half_read(client, auth) -> None:
    response = post_signed(client, [*base(), ("Body", "HELP"), ("Body", "STOP")])
    assert response.status_code == 400 and error_of(response)["field"] == "Body"
    inbound = client.get("/api/v1/inbound", headers=auth("auditor")).get_json()["items"]
    assert inbound == []


def test_a_signature_over_one_value_does_not_cover_a_second(client) -> None:
    form = [*base(), ("Body", "HELP")]
    signature = sign(AUTH_TOKEN, f"{BASE_URL}/twilio/inbound", dict(form))
    from werkzeug.datastructures import MultiDict

    forged = MultiDict([*form, ("Body", "STOP")])
    response = client.post(
        "/twilio/inbound", data=forged, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("sid", ["\x00", "\x00\x00", "SM\x00" + "1" * 32, "SM 1", "S" * 65, ""])
def test_a_sid_that_is_not_twilios_shape_is_refused(client, auth, sid: str) -> None:
    response = post_signed(client, [*base(sid), ("Body", "STOP")])
    assert response.status_code == 400 and error_of(response)["field"] == "MessageSid"


def test_two_sids_that_differ_only_by_a_nul_do_not_become_one(client, auth) -> None:
    clean = "SM" + "2" * 32
    first = post_signed(client, [*base(clean), ("Body", "HELP")])
    second = post_signed(client, [*base(clean[:5] + "\x00" + clean[5:]), ("Body", "STOP")])
    assert first.status_code == 200 and second.status_code == 400
    stored = client.get("/api/v1/inbound", headers=auth("auditor")).get_json()["items"]
    assert [(i["sid"], i["body"]) for i in stored] == [(clean, "HELP")]


# 17 — one declaration: the document describes exactly what is served


def test_every_served_route_is_documented_and_every_documented_route_served(app) -> None:
    document = app.test_client().get("/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    served = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if rule.endpoint == "static" or blueprint in PAGE_BLUEPRINTS:
            continue  # the console's pages answer people, in HTML; they are not the API
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<path:{name}>", "{" + name + "}")
            path = path.replace(f"<int:{name}>", "{" + name + "}")
            path = path.replace(f"<{name}>", "{" + name + "}")
        served |= {(path, m) for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS")}
    assert documented == served


def test_the_document_says_what_each_field_takes(client) -> None:
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    message = schemas["NewMessage"]
    assert message["additionalProperties"] is False
    assert message["properties"]["body"]["anyOf"][0]["maxLength"] == 1600
    listing = document["paths"]["/api/v1/messages"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert "blocked" in status["schema"]["enum"]
    created = document["paths"]["/api/v1/messages"]["post"]["responses"]["202"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Message"
    }
    assert created["links"]["GetMessage"]["operationId"] == "messages.show"
    json.dumps(document)  # serialisable as served
