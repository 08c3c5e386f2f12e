"""The ledger for auditors: events with filters, streamed exports, chain verification."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from flask import Blueprint, Response, jsonify, stream_with_context

from gateway import corrections, exports, ledger
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.domain.restriction import RESTRICTIONS
from gateway.exports import FORMATS, event_record
from gateway.web import params
from gateway.web.audit import audited, touch, touch_all
from gateway.web.auth import READ, requires
from gateway.web.context import runtime
from gateway.web.declare import (
    Body,
    Cursor,
    Limit,
    Name,
    PhoneText,
    Timestamp,
    declared,
    given_query,
)
from gateway.web.errors import FieldError
from gateway.web.shapes import EventPage, Verdict

bp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")
AUDIT = ("admin", "auditor")


class Filter(Body):
    number: PhoneText | None = None
    category: Name | None = None
    action: Action | None = None
    source: Source | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


class Events(Filter):
    cursor: Cursor | None = None
    limit: Limit = params.DEFAULT_LIMIT


class Export(Filter):
    format: Literal["csv", "jsonl"] = "csv"


def event_filter(given: Filter) -> ledger.EventFilter:
    rt = runtime()
    known = [*rt.rules.categories, *RESTRICTIONS]  # a restriction is a ledger event too
    if given.category is not None and given.category not in known:
        allowed = ", ".join(known)
        raise FieldError("invalid", f"category is one of: {allowed}", "category")
    number = given.number
    f = ledger.EventFilter(
        number=params.phone(number, "number", rt.settings.default_region) if number else None,
        category=given.category,
        action=given.action.value if given.action else None,
        source=given.source.value if given.source else None,
        since=given.since,
        until=given.until,
    )
    if f.number:
        touch([f.number])
    return f


@bp.get("/events")
@requires(*READ)
@declared("Consent events, oldest first", query=Events, answer=EventPage)
@audited("ledger.events")
def events() -> Response:
    given = given_query(Events)
    f, size, after = event_filter(given), given.limit, params.cursor(given.cursor)
    with transaction(runtime().sessions) as session:
        rows = list(session.execute(ledger.events_query(f, after).limit(size)).scalars())
        voided = corrections.corrected_by(session, (row.number for row in rows))
        items = [{**event_record(row), "corrected_by": voided.get(row.id)} for row in rows]
    touch(item["number"] for item in items)
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})


@bp.get("/export")
@requires(*AUDIT)
@declared(
    "The ledger streamed as CSV or JSON Lines",
    query=Export,
    answer=None,
    media=("text/csv", "application/x-ndjson"),
)
@audited("ledger.export")
def export() -> Response:
    given = given_query(Export)
    return download(event_filter(given), given.format)


def download(f: ledger.EventFilter, kind: str) -> Response:
    """The export as a file: the API's and the console's, byte for byte."""
    if f.number is None:
        touch_all()
    _, mimetype = FORMATS[kind]
    sessions = runtime().sessions

    def generate() -> Iterator[str]:
        with transaction(sessions) as session:
            yield from exports.export(session, f, kind)

    response = Response(stream_with_context(generate()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="ledger.{kind}"'
    return response


@bp.get("/verify")
@requires(*AUDIT)
@declared("Walk the old chain, each number's chain and head, and the seals", answer=Verdict)
@audited("ledger.verify")
def verify() -> Response:
    with transaction(runtime().sessions) as session:
        verdict = ledger.verify(session)
    # A failure names the events on file and no head: "0 events, head 000…" read like an
    # empty ledger when the first event had been altered.
    return jsonify(
        {
            "ok": verdict.ok,
            "count": verdict.on_file,
            "verified": verdict.count,
            "head": verdict.head if verdict.ok else None,
            "first_bad_id": verdict.first_bad_id,
            "reason": verdict.reason,
            "message": verdict.summary,
            "unsealed": verdict.unsealed if verdict.ok else None,
            "seal": verdict.seal,
        }
    )
