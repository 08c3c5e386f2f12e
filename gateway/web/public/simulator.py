"""The patient simulator (dev mode only; 404 otherwise): a phone-like page whose texts go
through the real signed `POST /twilio/inbound`, with the replies and every message the clinic
queued for the number shown in one conversation (issue 9, item 5).

It is the patient's phone, so nobody signs in; its reads are in the access log under
`dev:simulator`, like any other reader's."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

from gateway import conversation, ledger
from gateway.adapters.twilio_sms import sign
from gateway.db import transaction
from gateway.domain.consent import may_send, status_of
from gateway.domain.phone import InvalidPhone, Phone
from gateway.web.audit import audited, touch
from gateway.web.auth import Actor
from gateway.web.context import runtime

bp = Blueprint("simulator", __name__)
ACTOR = Actor("simulator", "dev", kind="dev")  # "dev:simulator" in the access log
# Fictional numbers (555-0100..0199 are reserved for fiction), in four states whose quiet
# hours differ: New Jersey, Florida, Oklahoma, Washington.
FICTIONAL = re.compile(r"\+1[2-9][0-9]{2}55501[0-9]{2}")
PATIENTS = ("+12015550123", "+13055550142", "+14055550150", "+12065550142")
MAX_TEXT = 1600  # Twilio's longest text
INBOUND = "/twilio/inbound"


@bp.record_once
def _checks_its_own_csrf(state: BlueprintSetupState) -> None:
    # Flask-WTF checks CSRF before any blueprint's own hook runs: exempt, the POST would be
    # answered "form expired" (400) rather than 404 outside dev mode. The token is still
    # required: `_dev_mode_only` checks it once dev mode is known to be on.
    state.app.extensions["csrf"].exempt(bp)


@bp.before_request
def _dev_mode_only() -> None:
    if not runtime().settings.dev_mode:
        abort(404)
    g.actor = ACTOR
    if request.method == "POST":
        current_app.extensions["csrf"].protect()


@dataclass(frozen=True)
class Phones:
    """Which phone is texting which clinic number."""

    patient: str
    clinic: str | None
    clinics: tuple[str, ...]
    patients: tuple[str, ...]


def _phones(patient: str | None, clinic: str | None) -> Phones:
    clinics = tuple(runtime().rules.senders)
    chosen = clinic if clinic in clinics else (clinics[0] if clinics else None)
    number = patient or PATIENTS[0]
    patients = PATIENTS if number in PATIENTS else (*PATIENTS, number)
    return Phones(number, chosen, clinics, patients)


def _parse(text: str) -> str:
    """Only a made-up patient: 555-0100..0199 in any North American area code. A dev server
    reached through a tunnel must not let a stranger forge a real patient's STOP or read a
    real number's texts."""
    number = Phone.parse(text, runtime().settings.default_region).e164
    if not FICTIONAL.fullmatch(number):
        raise InvalidPhone("not a fictional 555-0100…0199 number (the simulator texts as those)")
    return number


@bp.get("/simulator")
@audited("simulator.conversation")
def phone() -> tuple[str, int]:
    """The phone: pick the numbers, read the conversation, type a text."""
    typed = (request.args.get("other") or "").strip()[:40]
    problem = None
    try:
        number = _parse(typed or request.args.get("patient") or PATIENTS[0])
    except InvalidPhone as exc:
        number, problem = PATIENTS[0], f"{typed or 'That'} is {exc}; write it like +12015550123."
    phones = _phones(number, request.args.get("clinic"))
    return _page(phones, other=typed if problem else "", other_problem=problem)


@bp.get("/simulator/conversation")
@audited("simulator.conversation")
def thread() -> tuple[str, int]:
    """The conversation and the consent alone, for the page's optional refresh."""
    try:
        number = _parse(request.args.get("patient") or "")
    except InvalidPhone:
        abort(404)
    phones = _phones(number, request.args.get("clinic"))
    return render_template("console/simulator_live.html", **_conversation(phones)), 200


@bp.post("/simulator/send")
def send() -> Response | tuple[str, int]:
    """Text the clinic as the patient would: through Twilio's webhook, signed, then back to
    the phone (post, redirect, get: a reload never sends twice)."""
    form = request.form
    body = form.get("body", "").replace("\x00", "").strip()
    try:
        number = _parse(form.get("patient", ""))
    except InvalidPhone as exc:
        return _refuse(_phones(None, form.get("clinic")), body, f"This phone's number is {exc}.")
    phones = _phones(number, form.get("clinic"))
    if phones.clinic is None or form.get("clinic") != phones.clinic:
        return _refuse(phones, body, "Pick one of the clinic's numbers (keywords.yml, senders).")
    if not body:
        return _refuse(phones, body, "Type a text to send.")
    if len(body) > MAX_TEXT:
        return _refuse(phones, body, f"A text is at most {MAX_TEXT} characters.")
    answer = _text_the_clinic(number, phones.clinic, body)
    if answer.status_code != 200:
        flash(f"The webhook refused the text: {answer.status} {answer.get_data(as_text=True)}")
    return redirect(url_for("simulator.phone", patient=number, clinic=phones.clinic), code=303)


def _text_the_clinic(patient: str, clinic: str, body: str) -> Any:
    """POST the text to /twilio/inbound as Twilio would: the form it sends, signed with the
    effective webhook token for PUBLIC_BASE_URL + /twilio/inbound.

    Dispatched in-process through the app's whole WSGI stack (the test client with the public
    base URL), not over HTTP to ourselves: every layer a Twilio request meets still runs —
    size bounds, the signature check, the route, its error handlers — but no socket is
    needed to an address this process may not reach (PUBLIC_BASE_URL can be a tunnel), and
    the dev server needs no second free thread for the nested request."""
    settings = runtime().settings
    sid = "SM" + secrets.token_hex(16)
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": patient,
        "To": clinic,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    token = settings.webhook_token
    assert token is not None  # dev mode always has one: Twilio's, or the development token
    signature = sign(token, settings.public_base_url + INBOUND, form)
    client = current_app.test_client()
    return client.post(
        INBOUND,
        data=form,
        headers={"X-Twilio-Signature": signature},
        base_url=settings.public_base_url,
    )


def _refuse(phones: Phones, body: str, problem: str) -> tuple[str, int]:
    """The phone again, with the problem: it shows the conversation, so it is a logged read."""

    def show() -> tuple[str, int]:
        return _page(phones, body=body, problem=problem, status=422)

    return audited("simulator.conversation")(show)()


def _page(phones: Phones, status: int = 200, **extra: Any) -> tuple[str, int]:
    # Flask's own render_template: the console package imports this module (its blueprint).
    page = render_template(
        "console/simulator.html",
        phones=phones,
        inbound_url=runtime().settings.public_base_url + INBOUND,
        **_conversation(phones),
        **extra,
    )
    return page, status


def _conversation(phones: Phones) -> dict[str, Any]:
    """What the phone shows, and the consent behind it (a read, logged under dev:simulator)."""
    rt = runtime()
    touch([phones.patient])
    with transaction(rt.sessions) as session:
        bubbles = conversation.conversation(session, phones.patient)
        in_force = ledger.current(session, phones.patient)
    consent = []
    for name, rule in rt.rules.categories.items():
        event = in_force.get(name)
        status = status_of(event)
        consent.append(
            {
                "category": name,
                "status": status.value,
                "may_send": may_send(status, rule.requires_grant),
                "event": event,
            }
        )
    refresh = url_for("simulator.thread", patient=phones.patient, clinic=phones.clinic)
    return {
        "bubbles": bubbles,
        "consent": consent,
        "moving": conversation.moving(bubbles),
        "clinic": phones.clinic,
        "refresh_url": refresh,
    }
