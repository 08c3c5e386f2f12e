"""Number (every role reads; admin and front desk record): consent per category with the event
behind each, recent texts both ways with what they meant or what was decided, and the forms
that record a patient's opt-in or opt-out — through services.record_consent, the API's own
path, so the page demands the same proof (SPEC §4, 422 unprovable_consent) the API does — and
whether the number is still the patient's: its reassigned-number checks and the front desk's
"verified" (SPEC §10)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import phonenumbers
from flask import Blueprint, current_app, g, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from gateway import corrections, number_checks, records, services
from gateway.db import transaction
from gateway.domain.consent import LIFT_METHODS, Action, Source
from gateway.domain.phone import Phone
from gateway.domain.restriction import NO_PHI_BY_TEXT, in_force
from gateway.services import Problem
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor
from gateway.web.console.front_desk import REASONS, TONES, Errors, parse_number
from gateway.web.console.pages import page, redirect_to, render
from gateway.web.context import runtime

bp = Blueprint("number_pages", __name__)
SOURCES = {
    "grant": (("paper_form", "Paper form the patient signed"), ("front_desk", "At the front desk")),
    "revoke": (
        ("front_desk", "At the front desk"),
        ("paper_form", "Paper form the patient signed"),
    ),
}
EVIDENCE = ("disclosure_version", "disclosure_text", "form_id", "staff", "method", "note")
RESTRICTION_EVIDENCE = ("staff", "method", "note")
# What each reassigned-number check said, as the front desk would say it.
OUTCOMES = {
    "reassigned": "the database says the number changed hands: every category was revoked",
    "not_reassigned": "still the patient's, says the database",
    "no_data": "the database had nothing either way",
    "error": "Twilio gave no answer (the message waited)",
    "skipped": "not asked: dry-run, no Twilio credentials",
    "verified": "the patient confirmed it at the front desk",
}
EVERY = "*"  # the revoke form's "every category"
MAX_TEXT = 2000


View = Callable[[str], "tuple[str, int] | Response"]


def numbered(view: View) -> View:
    """A form posted to /numbers/<number>/…: the view gets the number in E.164; a number that
    cannot be read is the lookup page again with why (422)."""

    @functools.wraps(view)
    def parsed(number: str) -> tuple[str, int] | Response:
        try:
            e164 = parse_number(number)
        except ValueError as exc:
            return not_a_number(number, exc)
        return view(e164)

    return parsed


def not_a_number(typed: str, exc: ValueError) -> tuple[str, int]:
    return render(
        "console/number_lookup.html", 422, title="Numbers", typed=typed[:40], problem=str(exc)
    )


@bp.get("/numbers")
@page(*READ)
def lookup() -> tuple[str, int] | Response:
    typed = request.args.get("number")
    if typed is None:
        return render("console/number_lookup.html", title="Numbers", typed="", problem=None)
    try:
        number = parse_number(typed)
    except ValueError as exc:
        return not_a_number(typed, exc)
    return redirect_to("number_pages.number", number=number)


@bp.get("/numbers/<number>")
@page(*READ)
def number(number: str) -> tuple[str, int] | Response:
    try:
        e164 = parse_number(number)
    except ValueError as exc:
        return not_a_number(number, exc)
    if e164 != number:  # one address per number: (201) 555-0123 → +12015550123
        return redirect_to("number_pages.number", number=e164)
    return _shown(e164)


@bp.post("/numbers/<number>/consent")
@page(*WRITE_CONSENT)
@numbered
def record(e164: str) -> tuple[str, int] | Response:
    form = request.form
    action = "grant" if form.get("action") == "grant" else "revoke"
    errors = Errors()
    try:
        ids = _record(e164, action, form)
    except Problem as exc:
        _place(errors, exc)
        return _shown(e164, status=exc.status, failed=action, errors=errors, posted=form)
    return redirect_to("number_pages.number", number=e164, recorded=",".join(map(str, ids)))


@bp.post("/numbers/<number>/corrections")
@page("admin")
@numbered
def correct(e164: str) -> tuple[str, int] | Response:
    """An admin voids the event in force for a category (SPEC §4 amendment), with a reason."""
    form, rt = request.form, runtime()
    event_id = form.get("event_id", "")
    try:
        if not (event_id.isdigit() and len(event_id) <= 10):
            raise Problem(404, "not_found", "That event is not on this number's record.", "reason")
        with transaction(rt.sessions) as session:
            fixed = corrections.correct(
                session,
                event_id=int(event_id),
                reason=form.get("reason", "")[:MAX_TEXT],
                actor=str(current_actor()),
                now=rt.clock(),
                number=e164,
            )
    except Problem as exc:
        errors = Errors()
        errors.add("reason", exc.message)
        failed = f"correct:{event_id[:10]}"
        return _shown(e164, status=exc.status, failed=failed, errors=errors, posted=form)
    return redirect_to("number_pages.number", number=e164, recorded=str(fixed.id))


@bp.post("/numbers/<number>/restriction")
@page(*WRITE_CONSENT)
@numbered
def restriction(e164: str) -> tuple[str, int] | Response:
    """Record or lift the patient's request for no PHI by text (HIPAA §164.522(b)): a ledger
    event through the API's own path, with who heard it, how the patient asked, and a note."""
    form = request.form
    action = Action.REVOKE if form.get("action") == "revoke" else Action.GRANT
    rt = runtime()
    evidence = {k: v for k in RESTRICTION_EVIDENCE if (v := form.get(k, "").strip()[:MAX_TEXT])}
    try:
        with transaction(rt.sessions) as session:
            event = services.record_consent(
                session,
                rt.rules,
                number=e164,
                category=NO_PHI_BY_TEXT,
                action=action,
                source=Source.FRONT_DESK,
                evidence=evidence,
                actor=str(current_actor()),
                now=rt.clock(),
            )
    except Problem as exc:
        errors = Errors()
        _place(errors, exc)
        return _shown(e164, status=exc.status, failed="restriction", errors=errors, posted=form)
    return redirect_to("number_pages.number", number=e164, recorded=event.id)


@bp.post("/numbers/<number>/verified")
@page(*WRITE_CONSENT)
@numbered
def verified(e164: str) -> tuple[str, int] | Response:
    """The patient confirmed the number is still theirs: restarts REASSIGNED_CHECK_DAYS."""
    note = request.form.get("verified_note", "").strip()[:MAX_TEXT] or None
    rt = runtime()
    with transaction(rt.sessions) as session:
        number_checks.verified(session, e164, staff=str(current_actor()), note=note, now=rt.clock())
    return redirect_to("number_pages.number", number=e164, verified="1")


def _record(number: str, action: str, form: MultiDict[str, str]) -> list[int]:
    rt = runtime()
    category = form.get("category", "")
    if not category:
        raise Problem(422, "required", "Choose a category.", "category")
    source = form.get("source", "")
    if source not in dict(SOURCES[action]):
        raise Problem(422, "required", "Choose how the patient told us.", "source")
    evidence = {k: v for k in EVIDENCE if (v := form.get(k, "").strip()[:MAX_TEXT])}
    categories = list(rt.rules.categories) if category == EVERY else [category]
    with transaction(rt.sessions) as session:
        return [
            services.record_consent(
                session,
                rt.rules,
                number=number,
                category=name,
                action=Action(action),
                source=Source(source),
                evidence=evidence,
                actor=str(current_actor()),
                now=rt.clock(),
            ).id
            for name in categories
        ]


def _place(errors: Errors, exc: Problem) -> None:
    """A refusal next to the field it is about: the evidence's message also marks each piece
    of evidence it names as missing."""
    if exc.field != "evidence":
        errors.problem(exc, "category")
        return
    errors.add("evidence", exc.message)
    named = exc.message.partition("missing:")[2]
    for key in EVIDENCE:
        if key in named:
            errors.add(key, f"Needed: {key.replace('_', ' ')}.")
    if "disclosure" in named:
        errors.add("disclosure_version", "Needed: the disclosure the patient agreed to.")


def _shown(
    number: str,
    *,
    status: int = 200,
    failed: str | None = None,
    errors: Errors | None = None,
    posted: Any = None,
) -> tuple[str, int]:
    def read() -> dict[str, Any]:
        touch([number])
        rt = runtime()
        with transaction(rt.sessions) as session:
            consent = records.consent_of(session, rt.rules, number)
            restriction = records.restriction_of(session, number)
            inbound = records.recent_inbound(session, number)
            outbound = records.recent_outbound(session, number)
            checks = number_checks.checks(session, number, limit=5)
            last_verified = number_checks.last_verified(session, number)
            for row in (*inbound, *outbound, *checks):
                session.expunge(row)
        return {
            "consent": consent,
            "restriction": restriction,
            "restricted": in_force(restriction),
            "inbound": inbound,
            "outbound": outbound,
            "checks": checks,
            "last_verified": last_verified,
        }

    found = audited("console.consent.read")(read)()
    rt = runtime()
    recorded = [i for i in request.args.get("recorded", "").split(",") if i.isdigit()]
    return render(
        "console/number.html",
        status,
        title=number,
        number=number,
        where=_where(number),
        **found,
        recorded=recorded,
        just_verified=request.args.get("verified") == "1",
        check_due=(
            found["last_verified"] + dt.timedelta(days=rt.settings.reassigned_check_days)
            if found["last_verified"]
            else None
        ),
        outcomes=OUTCOMES,
        failed=failed,
        errors=errors or Errors(),
        posted=posted or {},
        may_record=g.actor.role in WRITE_CONSENT,
        may_correct=g.actor.role == "admin",
        categories=rt.rules.categories,
        disclosures=rt.rules.disclosures,
        sources=SOURCES,
        methods=LIFT_METHODS,
        every=EVERY,
        staff_name=g.actor.name,
        reasons=REASONS,
        tones=TONES,
        ledger_url=_endpoint_url("ledger_pages.search", number=number),
        disclosures_url=(
            _endpoint_url("access_pages.disclosures", number=number)
            if g.actor.role != "front_desk"
            else None
        ),
    )


def _where(number: str) -> str:
    """How staff would say the number, and where it is: "(201) 555-0123 · New Jersey"."""
    parsed = phonenumbers.parse(number)
    phone = Phone(number)
    spoken = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return " · ".join(p for p in (spoken, phone.state, ", ".join(phone.zones)) if p)


def _endpoint_url(endpoint: str, **values: Any) -> str | None:
    """A link to another console page, only where that page is served."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)
