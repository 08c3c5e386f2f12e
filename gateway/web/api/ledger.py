"""The ledger for auditors: events with filters, streamed exports, chain verification."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context

from gateway import ledger
from gateway.db import transaction
from gateway.domain.consent import Action, Source
from gateway.exports import FORMATS, event_record
from gateway.web import params
from gateway.web.audit import audited, touch, touch_all
from gateway.web.auth import READ, requires
from gateway.web.context import runtime
from gateway.web.errors import FieldError

bp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")
AUDIT = ("admin", "auditor")


def event_filter() -> ledger.EventFilter:
    rt, args = runtime(), request.args
    number = args.get("number")
    f = ledger.EventFilter(
        number=params.phone(number, "number", rt.settings.default_region) if number else None,
        category=_one_of(args.get("category"), rt.rules.categories, "category"),
        action=_one_of(args.get("action"), [a.value for a in Action], "action"),
        source=_one_of(args.get("source"), [s.value for s in Source], "source"),
        since=params.timestamp(args.get("since"), "since"),
        until=params.timestamp(args.get("until"), "until"),
    )
    if f.number:
        touch([f.number])
    return f


def _one_of(value: str | None, allowed: Iterable[str], field: str) -> str | None:
    if value is None or value == "":
        return None
    choices = list(allowed)
    if value not in choices:
        raise FieldError("invalid", f"{field} is one of: {', '.join(choices)}", field)
    return value


@bp.get("/events")
@requires(*READ)
@audited("ledger.events")
def events() -> Response:
    f, size, after = event_filter(), params.limit(), params.cursor()
    with transaction(runtime().sessions) as session:
        rows = list(session.execute(ledger.events_query(f, after).limit(size)).scalars())
        items = [event_record(row) for row in rows]
    touch(item["number"] for item in items)
    last = rows[-1].id if rows else None
    return jsonify({"items": items, "next_cursor": params.next_cursor(items, size, last)})


@bp.get("/export")
@requires(*AUDIT)
@audited("ledger.export")
def export() -> Response:
    kind = request.args.get("format", "csv")
    if kind not in FORMATS:
        raise FieldError("invalid", "format is csv or jsonl", "format")
    f = event_filter()
    if f.number is None:
        touch_all()
    lines, mimetype = FORMATS[kind]
    sessions = runtime().sessions

    def generate() -> Iterator[str]:
        with transaction(sessions) as session:
            yield from lines(ledger.stream(session, f))

    response = Response(stream_with_context(generate()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="ledger.{kind}"'
    return response


@bp.get("/verify")
@requires(*AUDIT)
@audited("ledger.verify")
def verify() -> Response:
    with transaction(runtime().sessions) as session:
        verdict = ledger.verify(session)
    return jsonify(
        {
            "ok": verdict.ok,
            "count": verdict.count,
            "head": verdict.head,
            "first_bad_id": verdict.first_bad_id,
            "reason": verdict.reason,
        }
    )
