"""GET /api/v1/consent/{number} (state per category, ?at= as-of) and POST /api/v1/consent."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from flask import Blueprint, Response, jsonify
from pydantic import BeforeValidator, Field, StrictInt, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from gateway import corrections, ledger, services
from gateway.db import reading, transaction
from gateway.domain.consent import Action, Event, Source, may_send, status_of
from gateway.domain.restriction import RESTRICTIONS, in_force
from gateway.web import params
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor, requires
from gateway.web.context import runtime
from gateway.web.declare import (
    Body,
    Evidence,
    Name,
    PhoneText,
    Timestamp,
    declared,
    given_body,
    given_query,
    link,
)
from gateway.web.errors import FieldError
from gateway.web.shapes import ConsentState, Corrected, Recorded

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
        # A correction names the event it voided (SPEC §4); every other event: null.
        "corrects": event.evidence.get("corrects") if event.source is Source.CORRECTION else None,
    }


ApiSource = Literal["web_form", "front_desk", "paper_form", "api", "import"]


def _given(value: Any) -> Any:
    """Left out, `source` is None (a revoke: `api`; a grant: named as missing); never null."""
    if value is None:
        raise PydanticCustomError("invalid", "source may be left out, not null")
    return value


class AsOf(Body):
    at: Timestamp | None = None


class NewCorrection(Body):
    corrects: Annotated[
        StrictInt, Field(ge=1, le=2**31 - 1, description="the id of the event recorded wrongly")
    ]
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=corrections.MAX_REASON),
        Field(description="why the event was wrong, e.g. the STOP was logged on the wrong number"),
    ]


class NewEvent(Body):
    number: PhoneText
    category: Annotated[
        Name,
        Field(
            description="a category from keywords.yml, or no_phi_by_text: the patient's request "
            "that no health details be texted (grant: in force; revoke: lifted)"
        ),
    ]
    action: Action
    source: Annotated[
        ApiSource | None,
        BeforeValidator(_given),
        WithJsonSchema(
            {
                "type": "string",
                "enum": list(get_args(ApiSource)),
                "description": "how consent was given: required for a grant (no_phi_by_text: "
                "front_desk, the default); a revoke "
                "without it is recorded as api",
            }
        ),
    ] = None
    occurred_at: Timestamp | None = None
    evidence: Evidence = Field(default_factory=dict)


@bp.get("/<path:number>")
@requires(*READ)
@declared(
    "Consent per category, with the event behind each (?at= for as of a time)",
    query=AsOf,
    answer=ConsentState,
)
@audited("consent.read")
def show(number: str) -> Response:
    rt = runtime()
    e164 = params.phone(number, "number", rt.settings.default_region)
    touch([e164])
    at = given_query(AsOf).at
    # One statement, then the voided events by id (an event never changes): no snapshot to
    # share, so no BEGIN and COMMIT round trips.
    with reading(rt.sessions) as session:
        in_force_events, fixes = ledger.consent_of(session, e164, at)
        # Both sides of an amendment: what a correction voided, and (as of a time before it)
        # the correction that later voided the event then in force.
        voided_by = corrections.voided_by(fixes)
        voided = {e.id: ledger.get(session, fixed) for fixed, e in voided_by.items()}
    categories = {}
    for name, rule in rt.rules.categories.items():
        event = in_force_events.get(name)
        status = status_of(event)
        corrected = voided.get(event.id) if event else None
        later = voided_by.get(event.id) if event else None
        categories[name] = {
            "status": status.value,
            "may_send": may_send(status, rule.requires_grant),
            "event": {**event_json(event), "corrected_by": later.id if later else None}
            if event
            else None,
            "corrected_event": event_json(corrected) if corrected else None,
        }
    # HIPAA §164.522(b): what the patient asked about how we text them, with its event.
    restrictions = {
        name: {
            "in_force": in_force(event := in_force_events.get(name)),
            "event": event_json(event) if event else None,
        }
        for name in RESTRICTIONS
    }
    return jsonify(
        {
            "number": e164,
            "at": params.iso(at or rt.clock()),
            "categories": categories,
            "restrictions": restrictions,
        }
    )


@bp.post("")
@requires(*WRITE_CONSENT)
@declared(
    "Record a grant or revoke with its evidence",
    body=NewEvent,
    answer=Recorded,
    status=201,
    links={
        "ConsentOfNumber": link("consent.show", number="$response.body#/event/number"),
        "EventsOfNumber": link("ledger.events", number="$response.body#/event/number"),
    },
)
def record() -> tuple[Response, int]:
    rt = runtime()
    body = given_body(NewEvent)
    number = params.phone(body.number, "number", rt.settings.default_region)
    source = _source(body)
    with transaction(rt.sessions) as session:
        event = services.record_consent(
            session,
            rt.rules,
            number=number,
            category=body.category,
            action=body.action,
            source=source,
            evidence=body.evidence,
            actor=str(current_actor()),
            now=rt.clock(),
            occurred_at=body.occurred_at,
        )
    return jsonify({"event": event_json(event)}), 201


@bp.post("/corrections")
@requires("admin")
@declared(
    "Correct a wrongly recorded event (admin): a new event voids it; nothing is rewritten",
    body=NewCorrection,
    answer=Corrected,
    status=201,
    errors=(404, 409),
    links={
        "ConsentOfNumber": link("consent.show", number="$response.body#/event/number"),
    },
)
@audited("consent.correct")
def correct() -> tuple[Response, int]:
    rt = runtime()
    body = given_body(NewCorrection)
    with transaction(rt.sessions) as session:
        event = corrections.correct(
            session,
            event_id=body.corrects,
            reason=body.reason,
            actor=str(current_actor()),
            now=rt.clock(),
        )
        corrected = ledger.get(session, body.corrects)
    touch([event.number])  # the answer shows the number the corrected event was about
    assert corrected is not None  # correct() refused a missing event with a 404
    return jsonify({"event": event_json(event), "corrected_event": event_json(corrected)}), 201


def _source(body: NewEvent) -> Source:
    """A grant says how consent was given: left out, it is named as missing, not defaulted to
    `api` and then refused as unprovable (which sent people looking at their evidence)."""
    if body.source is not None:
        return Source(body.source)
    if body.category in RESTRICTIONS:
        return Source.FRONT_DESK  # the desk that heard the patient ask; evidence says who
    if body.action is Action.GRANT:
        allowed = ", ".join(get_args(ApiSource))
        raise FieldError("required", f"source is required for a grant: one of {allowed}", "source")
    return Source.API
