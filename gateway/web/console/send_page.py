"""Send (admin, front desk): a number, a category, a text or a template, now or at a clinic
time. "Check" shows what the worker would decide — by the worker's own code
(gateway.decision), reading without a lock or a write; "Send" queues it through the API's own
path (messages.queue_message) and opens the message's page."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response

from gateway import decision, number_checks, outbound
from gateway.db import transaction
from gateway.domain import policy, reassigned
from gateway.domain.restriction import Text
from gateway.services import Problem
from gateway.web.api.messages import queue_message
from gateway.web.audit import audited, touch
from gateway.web.auth import WRITE_CONSENT, current_actor
from gateway.web.console.front_desk import (
    OUTCOMES,
    REASONS,
    TONES,
    Errors,
    clinic_time,
    clinic_zone,
    parse_number,
)
from gateway.web.console.pages import page, redirect_to, render
from gateway.web.context import runtime

bp = Blueprint("send_pages", __name__)
FIELD_PREFIX = "field."
MAX_FIELD = 500  # a template field's value, as the API bounds it
PAST_GRACE = dt.timedelta(minutes=1)  # "now" typed as a time a moment ago is still now


@dataclass
class Draft:
    """The form as typed, and what could be read from it."""

    form: dict[str, str]
    fields: dict[str, str]
    errors: Errors
    to: str | None = None
    category: str | None = None
    body: str | None = None
    send_at: dt.datetime | None = None


@bp.get("/send")
@page(*WRITE_CONSENT)
def send() -> tuple[str, int]:
    form = {"number": request.args.get("number", "")[:40], "when": "now"}
    return _page(form, {}, Errors())


@bp.post("/send")
@page(*WRITE_CONSENT)
def send_post() -> tuple[str, int] | Response:
    draft = _read(request.form)
    if request.form.get("do") == "send":
        return _send(draft)
    return _check(draft)


def _check(draft: Draft) -> tuple[str, int]:
    if draft.to is None or draft.category is None:
        return _page(draft.form, draft.fields, draft.errors, status=422)

    known: dict[str, dt.datetime | None] = {}

    def look() -> decision.Preview:
        assert draft.to is not None and draft.category is not None
        touch([draft.to])
        rt = runtime()
        with transaction(rt.sessions) as session:
            known["last"] = number_checks.last_verified(session, draft.to)
            return decision.preview(
                session,
                rt.rules,
                number=draft.to,
                category=draft.category,
                now=rt.clock(),
                send_at=draft.send_at,
                private_text=_private_text(rt.rules, draft) is not None,
            )

    preview = audited("console.send.preview")(look)()
    days = runtime().settings.reassigned_check_days
    still_theirs = StillTheirs(
        known["last"], reassigned.due(known["last"], preview.at, days) and preview.may_send
    )
    return _page(
        draft.form,
        draft.fields,
        draft.errors,
        preview=preview,
        draft=draft,
        still_theirs=still_theirs,
    )


@dataclass(frozen=True)
class StillTheirs:
    """For marketing: when the number was last known to be the patient's, and whether the
    worker will first ask the reassigned-numbers database (FCC §64.1200(m))."""

    last: dt.datetime | None
    will_ask: bool


def _send(draft: Draft) -> tuple[str, int] | Response:
    if draft.errors or draft.to is None or draft.category is None or draft.body is None:
        return _page(draft.form, draft.fields, draft.errors, status=422)
    template = draft.form.get("template") or None
    message = outbound.Request(
        to=draft.to,
        category=draft.category,
        body=draft.body,
        actor=str(current_actor()),
        send_at=draft.send_at,
        template=template,
        idempotency_key=_idempotency_key(draft.form.get("key", "")),
        private_body=(
            outbound.render_private(runtime().rules, template, draft.fields) if template else None
        ),
    )
    try:
        row = queue_message(message)
    except Problem as exc:
        if exc.code == "idempotency_conflict":
            exc.message = "This form already sent a message: open Send again for a new one."
        draft.errors.problem(exc, "body")
        return _page(draft.form, draft.fields, draft.errors, status=exc.status)
    return redirect_to("message_pages.message", message_id=row.id, sent=1)


def _private_text(rules: Any, draft: Draft) -> str | None:
    """The template's private text, filled in: what a number with no PHI by text receives."""
    template = draft.form.get("template") or None
    if template is None or draft.body is None or template not in rules.templates:
        return None
    return outbound.render_private(rules, template, draft.fields)


def _idempotency_key(key: str) -> str | None:
    """The form's own key: a double click or a resubmitted page sends one message. Scoped to
    the person, as the API scopes a key to its token."""
    key = key.strip()[:200]
    if not key:
        return None
    return hashlib.sha256(f"{current_actor()}\n{key}".encode()).hexdigest()


def _read(posted: Any) -> Draft:
    rt = runtime()
    form = {k: str(posted.get(k, ""))[:1700] for k in _FORM_KEYS}
    draft = Draft(form=form, fields={}, errors=Errors())
    try:
        draft.to = parse_number(form["number"])
    except ValueError as exc:
        draft.errors.add("number", str(exc))
    _read_text(draft, rt.rules, posted)
    _read_when(draft, rt.clock())
    if draft.to is not None and draft.category is not None and draft.body is not None:
        try:  # the API's own checks: length, category
            outbound.validate(rt.rules, outbound.Request(draft.to, draft.category, draft.body, ""))
        except Problem as exc:
            draft.errors.problem(exc, "body")
    return draft


_FORM_KEYS = ("number", "category", "body", "template", "when", "date", "time", "key")


def _read_text(draft: Draft, rules: Any, posted: Any) -> None:
    """A body with its category, or a template with its fields (its category is its own)."""
    form, errors = draft.form, draft.errors
    chosen = form["category"] or None
    if chosen is not None and chosen not in rules.categories:
        errors.add("category", f"Choose one of: {', '.join(rules.categories)}.")
        chosen = None
    template = form["template"] or None
    if template is None:
        draft.category = chosen
        if chosen is None and "category" not in errors.by_field:
            errors.add("category", "Choose a category.")
        if not form["body"].strip():
            errors.add("body", "Write the text, or choose a template.")
        else:
            draft.body = form["body"]
        return
    found = rules.templates.get(template)
    if found is None:
        errors.add("template", "Choose one of the templates listed.")
        return
    draft.fields = {
        name: str(posted.get(field_name(template, name), "")).strip()[:MAX_FIELD]
        for name in found.fields
    }
    if form["body"].strip():
        errors.add("body", "Send a template or a text, not both: clear the text.")
    if chosen is not None and chosen != found.category:
        errors.add("category", f"Template {template} is {found.category}.")
    draft.category = found.category
    for name, value in draft.fields.items():
        if not value:
            errors.add(field_name(template, name), f"Fill in {name.replace('_', ' ')}.")
    if not any(k.startswith(FIELD_PREFIX) for k in errors.by_field):
        try:
            draft.body, _ = outbound.render(rules, template, draft.fields)
        except Problem as exc:
            errors.problem(exc, "template")


def field_name(template: str, name: str) -> str:
    """A template field's input: named per template, as two templates may share a name."""
    return f"{FIELD_PREFIX}{template}.{name}"


def _read_when(draft: Draft, now: dt.datetime) -> None:
    form = draft.form
    if form["when"] != "later":
        form["when"] = "now"
        return
    try:
        at = clinic_time(form["date"], form["time"], clinic_zone())
    except ValueError as exc:
        draft.errors.add("when", str(exc))
        return
    if at < now - PAST_GRACE:
        draft.errors.add("when", "That time has passed. Choose Now, or a later time.")
        return
    draft.send_at = at


def _page(
    form: dict[str, str],
    fields: dict[str, str],
    errors: Errors,
    *,
    status: int = 200,
    preview: decision.Preview | None = None,
    draft: Draft | None = None,
    still_theirs: StillTheirs | None = None,
) -> tuple[str, int]:
    rules = runtime().rules
    form["key"] = form.get("key") or secrets.token_urlsafe(16)
    final_body = None
    if preview is not None and draft is not None and draft.body is not None:
        going = draft.body
        if preview.decision.text is Text.PRIVATE_TEXT:
            going = _private_text(rules, draft) or draft.body
        if preview.grounds.requires_grant:
            going = policy.with_opt_out_wording(going)
        final_body = going if going != draft.body else None
    return render(
        "console/send.html",
        status,
        title="Send",
        form=form,
        fields=fields,
        field_name=field_name,
        errors=errors,
        preview=preview,
        draft=draft,
        still_theirs=still_theirs,
        final_body=final_body,
        categories=rules.categories,
        templates=rules.templates,
        reasons=REASONS,
        outcomes=OUTCOMES,
        tones=TONES,
        zone=clinic_zone().key,
        now_utc=runtime().clock(),
    )
