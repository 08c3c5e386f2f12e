"""The auditor's ledger pages (SPEC §7): search the consent events, export them, verify the
hash chain, find a message's proof. Every query is the API's own (gateway.ledger, the export's
stream); every read is in the access log, as the API's are."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from gateway import ledger
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.domain.restriction import RESTRICTIONS
from gateway.exports import event_record
from gateway.models import ConsentEventRow, OutboundMessage
from gateway.web import params
from gateway.web.api.ledger import download
from gateway.web.audit import audited, touch
from gateway.web.auth import READ
from gateway.web.console.nav import AUDIT
from gateway.web.console.pages import page, render
from gateway.web.console.query_form import QueryForm
from gateway.web.context import runtime

bp = Blueprint("ledger_pages", __name__)
PAGE_SIZE = 50
FILTERS = ("number", "category", "action", "source", "since", "until")
FORMATS = {"csv": "CSV (spreadsheets)", "jsonl": "JSON Lines (one event per line)"}


def event_filter(form: QueryForm) -> ledger.EventFilter:
    """The API's filter from the page's form; the dates are clinic days."""
    rt = runtime()
    since, until = form.days(ZoneInfo(rt.settings.clinic_timezone))
    f = ledger.EventFilter(
        number=form.phone("number", rt.settings.default_region),
        category=form.choice("category", [*rt.rules.categories, *RESTRICTIONS]),
        action=form.choice("action", [a.value for a in Action]),
        source=form.choice("source", [s.value for s in Source]),
        since=since,
        until=until,
    )
    if f.number:
        touch([f.number])
    return f


def choices() -> dict[str, list[str]]:
    return {
        "category": [*runtime().rules.categories, *RESTRICTIONS],
        "action": [a.value for a in Action],
        "source": [s.value for s in Source],
    }


@bp.get("/ledger")
@page(*READ)
@audited("console.ledger")
def search() -> tuple[str, int]:
    form = QueryForm(request.args, (*FILTERS, "cursor"))
    f, after = event_filter(form), form.cursor()
    events: list[dict[str, Any]] = []
    more = None
    if form.ok:
        with transaction(runtime().sessions) as session:
            rows = session.execute(ledger.events_query(f, after).limit(PAGE_SIZE)).scalars()
            events = [shown(row) for row in rows]
        touch(e["number"] for e in events)
        last = events[-1]["id"] if events else None
        more = params.next_cursor(events, PAGE_SIZE, last)
    filters: dict[str, Any] = {k: v for k, v in form.values.items() if k in FILTERS and v}
    return render(
        "console/ledger.html",
        200 if form.ok else 422,
        form=form,
        choices=choices(),
        events=events,
        next_url=url_for(".search", **filters, cursor=more) if more else None,
        first_url=url_for(".search", **filters) if after else None,
        export_url=url_for(".export", **filters),
    )


def shown(row: ConsentEventRow) -> dict[str, Any]:
    """The event as the API gives it, with its times for the page and its evidence laid out."""
    return {
        **event_record(row),
        "occurred": row.occurred_at,
        "recorded": row.recorded_at,
        "evidence_json": json.dumps(row.evidence, indent=2, sort_keys=True, ensure_ascii=False),
    }


@bp.get("/ledger/export")
@page(*AUDIT)
def export() -> tuple[str, int] | Response:
    """The form; with a format chosen, the file itself."""
    if "format" not in request.args:
        form = QueryForm(request.args, FILTERS)
        return render("console/export.html", form=form, choices=choices(), formats=FORMATS)
    return export_file()


@audited("console.ledger.export")
def export_file() -> tuple[str, int] | Response:
    form = QueryForm(request.args, (*FILTERS, "format"))
    kind = form.choice("format", FORMATS)
    f = event_filter(form)
    if not form.ok or kind is None:
        if kind is None:
            form.errors.setdefault("format", "choose CSV or JSON Lines")
        return render("console/export.html", 422, form=form, choices=choices(), formats=FORMATS)
    return download(f, kind)


@bp.route("/verify", methods=["GET", "POST"])
@page(*AUDIT)
def verify() -> tuple[str, int]:
    """The button; pressed (a POST, with its CSRF token), the chain walked and the verdict."""
    if request.method == "POST":
        return verify_run()
    return render("console/verify.html", verdict=None)


@audited("console.ledger.verify")
def verify_run() -> tuple[str, int]:
    rt = runtime()
    with transaction(rt.sessions) as session:
        verdict = ledger.verify(session)
    said = verdict.summary
    return render("console/verify.html", verdict=verdict, said=said, now=rt.clock())


@bp.get("/proof")
@page(*AUDIT)
def proof() -> tuple[str, int] | Response:
    """A message id to its page, where the decision and its proof are shown."""
    if "message_id" not in request.args:
        return render("console/proof.html", given="", error=None)
    return proof_lookup()


@audited("console.proof")
def proof_lookup() -> tuple[str, int] | Response:
    given = request.args.get("message_id", "").strip()[:100]
    with transaction(runtime().sessions) as session:
        found = session.execute(
            select(OutboundMessage.id, OutboundMessage.to_number).where(OutboundMessage.id == given)
        ).first()
    if found is None:
        error = f"No message with the id “{given}”." if given else "Enter a message id."
        return render("console/proof.html", 404 if given else 422, given=given, error=error)
    touch([found.to_number])
    if (page_url := message_page(found.id)) is not None:
        return redirect(page_url, code=303)
    api = url_for("messages.proof", message_id=found.id)
    return render("console/proof.html", given=given, error=None, api_url=api)


def message_page(message_id: str) -> str | None:
    """The front desk's page for the message, when this console serves one."""
    path = f"/messages/{message_id}"
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return path
