"""Reassigned numbers (FCC §64.1200(m), SPEC §10), end to end: API → queue → worker → Twilio
Lookup v2's reassigned_number package, faked at HTTP with `responses` (the SDK's own code
runs) → the ledger, the message's decision and the record of every check."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from gateway.adapters.twilio_lookup import TwilioReassignedNumbers
from tests.conftest import PATIENT, Clock, Phone
from tests.workers.fixtures import ACCOUNT, FakeTwilio
from workers.runtime import WorkerRuntime

LOOKUP_URL = f"https://lookups.twilio.com/v2/PhoneNumbers/{PATIENT}"
PAPER = {"disclosure_version": "mkt-2026-01", "form_id": "PF-7", "staff": "ana"}
OFFER = "Flu shots are in!"
GRANTED_ON = "20261124"  # the conftest clock's date: when the paper form was recorded


class FakeLookup:
    """Lookup's PhoneNumbers endpoint: queue answers, record what was asked."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.answers: list[Any] = []
        self.asked: list[dict[str, str]] = []
        self.meanwhile: Callable[[], None] | None = None  # what happens while Twilio answers
        mock.add_callback(responses.GET, LOOKUP_URL, callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.asked.append(query)
        if self.meanwhile:
            self.meanwhile()
        answer = self.answers.pop(0)
        if isinstance(answer, tuple) and isinstance(answer[0], int):
            status, code = answer
            return status, {}, json.dumps({"code": code, "message": "nope", "status": status})
        asked = query.get("LastVerifiedDate", "")
        echoed = f"{asked[:4]}-{asked[4:6]}-{asked[6:]}"  # Twilio echoes the date asked about
        if isinstance(answer, tuple):
            answer, echoed = answer  # ("yes", "2027-01-10"): reassigned since that date
        body = {
            "phone_number": PATIENT,
            "valid": True,
            "reassigned_number": {
                "last_verified_date": echoed,
                "is_number_reassigned": answer,
                "error_code": None,
            },
            "url": LOOKUP_URL,
        }
        return 200, {}, json.dumps(body)

    def answer(self, *answers: Any) -> None:
        self.answers.extend(answers)


@pytest.fixture
def lookup(twilio: FakeTwilio, worker: WorkerRuntime) -> Iterator[FakeLookup]:
    fake = FakeLookup(twilio.mock)
    worker.numbers = TwilioReassignedNumbers(ACCOUNT, "token")
    yield fake


def grant(client: Any, auth: Any) -> int:
    body = {
        "number": PATIENT,
        "category": "marketing",
        "action": "grant",
        "source": "paper_form",
        "evidence": PAPER,
    }
    response = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["event"]["id"])


def consent(client: Any, auth: Any) -> dict[str, Any]:
    found = client.get(f"/api/v1/consent/{PATIENT}", headers=auth("auditor")).get_json()
    return dict(found["categories"])


def checks(client: Any, auth: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/numbers/{PATIENT}/checks", headers=auth("auditor"))
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def stale(clock: Clock) -> None:
    """Four months on: the grant is older than REASSIGNED_CHECK_DAYS (90)."""
    clock.now = dt.datetime(2027, 3, 24, 17, 0, tzinfo=dt.UTC)  # a Wednesday noon in NJ


def test_a_number_reassigned_since_its_grant_is_blocked_and_every_category_revoked(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    granted = grant(client, auth)
    stale(clock)
    lookup.answer(("yes", "2027-01-10"))  # reassigned since a date after the grant
    message = send(PATIENT, OFFER, "marketing")
    drain()

    assert lookup.asked == [{"Fields": "reassigned_number", "LastVerifiedDate": GRANTED_ON}]
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("blocked", "reassigned")
    assert twilio.sent == []
    check = done["decision"]["reassigned_check"]
    assert (check["outcome"], check["ran"], check["last_verified"]) == (
        "reassigned",
        True,
        "2026-11-24",
    )
    states = consent(client, auth)
    assert {c: s["status"] for c, s in states.items()} == {
        "marketing": "revoked",
        "transactional": "revoked",
    }
    revoke = states["marketing"]["event"]
    assert revoke["source"] == "reassigned" and revoke["id"] > granted
    assert done["decision"]["consent_event_id"] == revoke["id"]
    query = f"/api/v1/ledger/events?number=%2B{PATIENT[1:]}&source=reassigned"
    events = client.get(query, headers=auth("auditor")).get_json()["items"]
    assert sorted(e["category"] for e in events) == ["marketing", "transactional"]
    evidence = next(e for e in events if e["id"] == revoke["id"])["evidence"]
    assert evidence["check_id"] == check["id"] and evidence["asked_about"] == "2026-11-24"
    assert evidence["answer"]["is_number_reassigned"] == "yes"
    assert evidence["answer"]["last_verified_date"] == "2027-01-10"
    assert evidence["message_id"] == message["id"]
    # Care messages stop too: the consent on file was the previous holder's.
    reminder = send(PATIENT)
    drain()
    assert fetch(reminder["id"])["decision"]["reason"] == "opted_out" and twilio.sent == []


def test_a_number_not_reassigned_is_sent_and_the_check_is_on_record(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    lookup.answer("no")
    message = send(PATIENT, OFFER, "marketing")
    drain()

    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("sent", "ok")
    assert len(twilio.sent) == 1
    assert done["decision"]["reassigned_check"]["outcome"] == "not_reassigned"
    record = checks(client, auth)
    [check] = record["items"]
    assert (check["outcome"], check["message_id"], check["actor"]) == (
        "not_reassigned",
        message["id"],
        "worker",
    )
    assert check["evidence"]["answer"]["is_number_reassigned"] == "no"
    assert check["last_verified"] == "2026-11-24"
    held = client.get(f"/api/v1/numbers/{PATIENT}/export", headers=auth("auditor")).get_json()
    assert [c["id"] for c in held["checks"]] == [check["id"]]
    # A "no" keeps the check's date: the next offer within 90 days asks nothing.
    assert record["last_verified"] == check["asked_at"]
    clock.advance(days=10)
    again = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(again["id"])["status"] == "sent"
    assert fetch(again["id"])["decision"]["reassigned_check"] is None
    assert len(lookup.asked) == 1


def test_a_stop_while_the_database_is_asked_is_applied_at_once_and_blocks_the_message(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock, phone: Phone
) -> None:
    grant(client, auth)
    stale(clock)
    replies: list[int] = []
    lookup.meanwhile = lambda: replies.append(phone.text("STOP").status_code)
    lookup.answer("no")
    message = send(PATIENT, OFFER, "marketing")
    drain()
    # The number's lock is not held while Twilio answers: the STOP went straight in.
    assert replies == [200] and consent(client, auth)["marketing"]["status"] == "revoked"
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("blocked", "opted_out")
    assert twilio.sent == [] and len(lookup.asked) == 1


def test_an_answer_about_a_date_before_the_grant_takes_nothing(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    lookup.answer(("yes", "2026-01-05"))  # disconnected some time after January: maybe before
    message = send(PATIENT, OFFER, "marketing")
    drain()
    done = fetch(message["id"])
    assert done["status"] == "sent"
    assert done["decision"]["reassigned_check"]["outcome"] == "no_data"
    assert consent(client, auth)["marketing"]["status"] == "granted"


def test_no_data_sends_and_asks_again_next_time(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    lookup.answer("no_data_available", "no_data_available")
    first = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(first["id"])["decision"]["reassigned_check"]["outcome"] == "no_data"
    second = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(second["id"])["status"] == "sent" and len(lookup.asked) == 2


def test_a_recently_verified_number_is_not_asked_about(
    send, fetch, drain, twilio, lookup, client, auth
) -> None:
    grant(client, auth)
    message = send(PATIENT, OFFER, "marketing")
    care = send(PATIENT)
    drain()
    assert fetch(message["id"])["status"] == "sent"
    assert fetch(message["id"])["decision"]["reassigned_check"] is None
    assert fetch(care["id"])["status"] == "sent"
    assert lookup.asked == []


def test_check_days_zero_asks_before_every_marketing_message(
    send, fetch, drain, twilio, lookup, worker, client, auth
) -> None:
    from dataclasses import replace

    worker.settings = replace(worker.settings, reassigned_check_days=0)
    grant(client, auth)
    lookup.answer("no")
    message = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(message["id"])["status"] == "sent" and len(lookup.asked) == 1


def test_the_front_desks_verified_restarts_the_clock(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    url = f"/api/v1/numbers/{PATIENT}/verified"
    refused = client.post(url, headers=auth("auditor"), json={})
    assert refused.status_code == 403
    bad = client.post(url, headers=auth("front_desk"), json={"note": "x", "extra": 1})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"]
    done = client.post(
        url, headers=auth("front_desk"), json={"note": "confirmed at check-in, in person"}
    )
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["check"]["outcome"] == "verified"
    message = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(message["id"])["status"] == "sent" and lookup.asked == []
    record = checks(client, auth)
    assert record["items"][0]["evidence"] == {"note": "confirmed at check-in, in person"}


def test_without_an_answer_marketing_is_not_sent(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    lookup.answer(*[(503, 20500)] * 4)
    message = send(PATIENT, OFFER, "marketing")
    drain()
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("failed", "provider_error")
    assert twilio.sent == [] and len(lookup.asked) == 4  # the first try and three retries
    assert [c["outcome"] for c in checks(client, auth)["items"]] == ["error"] * 4
    assert consent(client, auth)["marketing"]["status"] == "granted"


def test_a_lookup_package_not_enabled_fails_at_once(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    lookup.answer((403, 60601))
    message = send(PATIENT, OFFER, "marketing")
    drain()
    done = fetch(message["id"])
    assert (done["status"], done["decision"]["reason"]) == ("failed", "provider_error")
    assert len(lookup.asked) == 1 and twilio.sent == []
    assert done["attempts"][-2]["error_code"] == 60601


def test_start_does_not_restore_the_previous_holders_consent(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock, phone: Phone
) -> None:
    grant(client, auth)
    phone.text("STOP")  # the previous holder's STOP: START alone would undo it
    phone.text("START")
    assert consent(client, auth)["marketing"]["status"] == "granted"
    stale(clock)
    lookup.answer("yes")
    send(PATIENT, OFFER, "marketing")
    drain()
    phone.text("START")  # the new holder
    states = consent(client, auth)
    assert states["marketing"]["status"] == "revoked"
    assert states["marketing"]["event"]["source"] == "reassigned"
    # An old list sent again through the API does not bring it back either…
    body = {
        "number": PATIENT,
        "category": "marketing",
        "action": "grant",
        "source": "api",
        "evidence": {**PAPER},
    }
    refused = client.post("/api/v1/consent", headers=auth("admin"), json=body)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "unprovable_consent"
    assert "changed hands" in refused.get_json()["error"]["message"]
    # …the new holder's own opt-in at the front desk does, and marketing goes again.
    evidence = {**PAPER, "method": "in_person", "note": "new patient, gave this number"}
    body = {**body, "source": "front_desk", "evidence": evidence}
    accepted = client.post("/api/v1/consent", headers=auth("front_desk"), json=body)
    assert accepted.status_code == 201, accepted.get_json()
    message = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(message["id"])["status"] == "sent" and len(lookup.asked) == 1


def test_dry_run_skips_the_check_and_the_decision_says_so(
    send, fetch, dry_drain, client, auth, clock: Clock
) -> None:
    grant(client, auth)
    stale(clock)
    message = send(PATIENT, OFFER, "marketing")
    dry_drain()
    done = fetch(message["id"])
    assert done["status"] == "dry_run"
    check = done["decision"]["reassigned_check"]
    assert (check["outcome"], check["ran"]) == ("skipped", False)
    assert checks(client, auth)["items"][0]["evidence"]["skipped"].startswith("dry-run")


def test_a_reassigned_number_ends_the_previous_holders_preference_links(
    send, drain, lookup, client, auth, clock: Clock, worker: WorkerRuntime
) -> None:
    from sqlalchemy import select

    from gateway.db import transaction
    from gateway.models import PreferenceLink

    grant(client, auth)
    with transaction(worker.sessions) as session:  # a HELP's link, texted to the old holder
        now = clock()
        session.add(
            PreferenceLink(
                number=PATIENT,
                language="en",
                inbound_sid="SM" + "0" * 32,
                issued_at=now,
                expires_at=now + dt.timedelta(days=365),
            )
        )
    stale(clock)
    lookup.answer(("yes", "2027-01-10"))
    send(PATIENT, OFFER, "marketing")
    drain()
    with transaction(worker.sessions) as session:
        [link] = session.execute(select(PreferenceLink)).scalars()
        assert link.revoked_at is not None


def test_a_join_form_anyone_could_send_does_not_make_the_number_the_patients_again(
    client, auth, phone: Phone, clock: Clock
) -> None:
    from tests.web.test_join import join

    assert join(client, marketing=True).status_code == 303  # typed by anyone
    assert checks(client, auth)["last_verified"] is None
    phone.text("YES")  # the phone itself confirms: the patient in touch
    assert checks(client, auth)["last_verified"] == "2026-11-24T18:00:00Z"
    stale(clock)
    assert join(client, ip="198.51.100.9").status_code == 303
    assert checks(client, auth)["last_verified"] == "2026-11-24T18:00:00Z"


def test_a_failure_after_the_claim_and_before_any_send_leaves_the_message_to_be_sent(
    send, fetch, drain, twilio, lookup, client, auth, clock: Clock, monkeypatch
) -> None:
    """The claim is committed before the send; if what comes between fails (here the look
    at the number's checks, on a statement timeout) nothing was sent, so the message waits
    to be sent again — never `sending`, to be written off as `unknown`."""
    from sqlalchemy.exc import OperationalError

    from gateway import number_checks
    from workers import jobs

    grant(client, auth)
    stale(clock)

    def timed_out(*args: Any) -> None:
        raise OperationalError("SELECT …", {}, Exception("canceling statement due to timeout"))

    monkeypatch.setattr(number_checks, "question", timed_out)
    # The worker's engine bounds every lock wait, so its claim commits by itself: that path.
    monkeypatch.setattr(jobs, "bounds_lock_waits", lambda *args: True)
    message = send(PATIENT, OFFER, "marketing")
    drain()
    assert fetch(message["id"])["status"] == "queued" and twilio.sent == []
    monkeypatch.undo()
    lookup.answer("no")
    clock.advance(minutes=1)
    drain()  # the retry the worker scheduled, or reconcile's
    assert fetch(message["id"])["status"] in ("queued", "sent")
