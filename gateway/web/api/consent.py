"""GET /api/v1/consent/{number} (state per category, ?at= as-of) and POST /api/v1/consent."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request

from gateway import ledger, services
from gateway.db import transaction
from gateway.domain.consent import Action, Event, Source, may_send, state_as_of, status_of
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor, requires
from gateway.web.context import runtime
from gateway.web.errors import FieldError

E = TypeVar("E", Action, Source)

bp = Blueprint("consent", __name__, url_prefix="/api/v1/consent")


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "number": event.number,
        "category": event.category,
        "action": event.action.value,
        "source": event.source.value,
        "occurred_at": params.iso(event.occurred_at),
        "recorded_at": params.iso(event.recorded_at),
        "actor": event.actor,
        "evidence": dict(event.evidence),
        "hash": event.hash,
    }


@bp.get("/<path:number>")
@requires(*READ)
@audited("consent.read")
def show(number: str) -> Response:
    rt = runtime()
    e164 = params.phone(number, "number", rt.settings.default_region)
    touch([e164])
    at = params.timestamp(request.args.get("at"), "at")
    with transaction(rt.sessions) as session:
        if at is None:
            in_force = ledger.current(session, e164)
        else:
            in_force = state_as_of(ledger.history(session, e164), at)
    categories = {}
    for name, rule in rt.rules.categories.items():
        event = in_force.get(name)
        status = status_of(event)
        categories[name] = {
            "status": status.value,
            "may_send": may_send(status, rule.requires_grant),
            "event": event_json(event) if event else None,
        }
    return jsonify({"number": e164, "at": params.iso(at or rt.clock()), "categories": categories})


@bp.post("")
@requires(*WRITE_CONSENT)
def record() -> tuple[Response, int]:
    rt = runtime()
    body = params.json_body()
    number = params.phone(body.get("number"), "number", rt.settings.default_region)
    category = params.text(body, "category") or ""
    action = _choice(Action, body.get("action"), "action")
    source = _choice(Source, body.get("source", "api"), "source")
    evidence = body.get("evidence", {})
    if not isinstance(evidence, dict):
        raise FieldError("invalid", "evidence must be a JSON object", "evidence")
    with transaction(rt.sessions) as session:
        event = services.record_consent(
            session,
            rt.rules,
            number=number,
            category=category,
            action=action,
            source=source,
            evidence=evidence,
            actor=str(current_actor()),
            now=rt.clock(),
            occurred_at=params.timestamp(body.get("occurred_at"), "occurred_at"),
        )
    return jsonify({"event": event_json(event)}), 201


def _choice(kind: type[E], value: Any, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise FieldError("invalid", f"{field} must be one of: {allowed}", field) from None
