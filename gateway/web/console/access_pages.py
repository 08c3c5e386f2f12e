"""Who read what (HIPAA §164.312(b)): the access log, and one number's accounting of
disclosures. The API's queries (gateway.access); reading them is logged too, since the log
names numbers, exactly as GET /api/v1/audit/access and /numbers/<n>/disclosures do."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import Select
from werkzeug.wrappers import Response

from gateway import access
from gateway.db import transaction
from gateway.domain.phone import InvalidPhone, Phone
from gateway.models import AccessLog
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.console.nav import AUDIT
from gateway.web.console.pages import page, render
from gateway.web.console.query_form import QueryForm
from gateway.web.context import runtime

bp = Blueprint("access_pages", __name__)
PAGE_SIZE = 50
FILTERS = ("actor", "action", "number", "since", "until")


def entries(query: Select[AccessLog]) -> list[dict[str, Any]]:
    """One page of the log, newest first; the numbers each entry names are disclosed here."""
    with transaction(runtime().sessions) as session:
        rows = list(session.execute(query.limit(PAGE_SIZE)).scalars())
        items = [{**access.as_json(session, row), "when": row.at} for row in rows]
    touch(n for item in items if isinstance(item["numbers"], list) for n in item["numbers"])
    return items


def later(items: list[dict[str, Any]], endpoint: str, **values: Any) -> str | None:
    last = items[-1]["id"] if items else None
    cursor = params.next_cursor(items, PAGE_SIZE, last)
    return url_for(endpoint, **values, cursor=cursor) if cursor else None


@bp.get("/access-log")
@page(*AUDIT)
@audited("console.access_log")
def log() -> tuple[str, int]:
    rt = runtime()
    form = QueryForm(request.args, (*FILTERS, "cursor"))
    since, until = form.days(ZoneInfo(rt.settings.clinic_timezone))
    number = form.phone("number", rt.settings.default_region)
    query = access.query(
        actor=form.text("actor"),
        action=form.text("action"),
        number=number,
        since=since,
        until=until,
        after=form.cursor(),
    )
    items = entries(query) if form.ok else []
    filters: dict[str, Any] = {k: v for k, v in form.values.items() if k in FILTERS and v}
    return render(
        "console/access_log.html",
        200 if form.ok else 422,
        form=form,
        items=items,
        next_url=later(items, ".log", **filters),
        first_url=url_for(".log", **filters) if form.values["cursor"] else None,
    )


@bp.get("/disclosures")
@page(*AUDIT)
def lookup() -> tuple[str, int] | Response:
    """A number to its accounting of disclosures."""
    given = request.args.get("number", "").strip()[:40]
    if "number" not in request.args:
        return render("console/disclosures_lookup.html", given="", error=None)
    try:
        number = Phone.parse(given, runtime().settings.default_region).e164
    except InvalidPhone:
        error = f"“{given}” is not a phone number we can read." if given else "Enter a number."
        return render("console/disclosures_lookup.html", 422, given=given, error=error)
    return redirect(url_for(".disclosures", number=number), code=303)


@bp.get("/numbers/<number>/disclosures")
@page(*AUDIT)
@audited("console.disclosures")
def disclosures(number: str) -> tuple[str, int]:
    rt = runtime()
    try:
        e164 = Phone.parse(number, rt.settings.default_region).e164
    except InvalidPhone:
        error = f"“{number[:40]}” is not a phone number we can read."
        return render("console/disclosures_lookup.html", 404, given=number[:40], error=error)
    touch([e164])
    form = QueryForm(request.args, ("cursor",))
    after = form.cursor()
    items = entries(access.query(number=e164, after=after)) if form.ok else []
    return render(
        "console/disclosures.html",
        200 if form.ok else 422,
        number=e164,
        form=form,
        items=items,
        next_url=later(items, ".disclosures", number=e164),
        first_url=url_for(".disclosures", number=e164) if after else None,
    )
