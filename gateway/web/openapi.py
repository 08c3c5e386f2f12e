"""The OpenAPI 3.1 description of the JSON API (SPEC §10 shapes)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, roles: str, ok: int = 200, **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = {str(ok): {"description": "OK"}}
    for status in ("400", "401", "403", "404", "409", "422", "503"):
        responses[status] = {
            "description": "error",
            "content": {"application/json": {"schema": ERROR}},
        }
    return {
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": responses,
        "security": [{"bearer": []}],
        **extra,
    }


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
    ]


def _path(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


CONSENT_BODY = {
    "type": "object",
    "required": ["number", "category", "action"],
    "properties": {
        "number": {"type": "string", "example": "+12015550123"},
        "category": {"type": "string", "example": "marketing"},
        "action": {"enum": ["grant", "revoke"]},
        "source": {"enum": ["web_form", "front_desk", "paper_form", "api", "import"]},
        "occurred_at": {"type": "string", "format": "date-time"},
        "evidence": {"type": "object"},
    },
}

MESSAGE_BODY = {
    "type": "object",
    "required": ["to"],
    "properties": {
        "to": {"type": "string", "example": "+12015550123"},
        "body": {"type": "string", "maxLength": 1600},
        "category": {"type": "string", "example": "transactional"},
        "template": {"type": "string"},
        "fields": {"type": "object"},
        "send_at": {"type": "string", "format": "date-time"},
        "sender": {"type": "string"},
    },
}

REVIEW_BODY = {
    "type": "object",
    "required": ["resolution"],
    "properties": {
        "resolution": {"enum": ["opt_out", "wrong_number", "no_action"]},
        "note": {"type": "string"},
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "smsgate", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
        "paths": {
            "/api/v1/consent/{number}": {
                "get": _op(
                    "Consent per category, with the event behind each",
                    "any",
                    parameters=_path("number") + _query("at"),
                ),
            },
            "/api/v1/consent": {
                "post": _op(
                    "Record a grant or revoke with its evidence",
                    "front_desk, admin",
                    201,
                    requestBody=_json_body(CONSENT_BODY),
                ),
            },
            "/api/v1/inbound": {
                "get": _op(
                    "Received texts and what they did",
                    "any",
                    parameters=_query("from", "intent", "since", "until", "cursor", "limit"),
                ),
            },
            "/api/v1/reviews": {
                "get": _op(
                    "The review queue", "any", parameters=_query("status", "cursor", "limit")
                ),
            },
            "/api/v1/reviews/{id}": {
                "post": _op(
                    "Resolve a review",
                    "front_desk, admin",
                    parameters=_path("id"),
                    requestBody=_json_body(REVIEW_BODY),
                ),
            },
            "/api/v1/messages": {
                "post": _op(
                    "Queue a message (202); the worker decides at send time",
                    "front_desk, admin",
                    202,
                    requestBody=_json_body(MESSAGE_BODY),
                    parameters=[
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                ),
                "get": _op(
                    "Messages",
                    "any",
                    parameters=_query(
                        "to", "status", "category", "since", "until", "cursor", "limit"
                    ),
                ),
            },
            "/api/v1/messages/{id}": {
                "get": _op("A message, its decision and attempts", "any", parameters=_path("id")),
            },
            "/api/v1/messages/{id}/proof": {
                "get": _op(
                    "The proof document: decision and the consent events in force",
                    "auditor, admin",
                    parameters=_path("id"),
                ),
            },
            "/api/v1/ledger/events": {
                "get": _op(
                    "Consent events, oldest first",
                    "any",
                    parameters=_query(
                        "number",
                        "category",
                        "action",
                        "source",
                        "since",
                        "until",
                        "cursor",
                        "limit",
                    ),
                ),
            },
            "/api/v1/ledger/export": {
                "get": _op(
                    "Streamed export (CSV or JSON Lines)",
                    "auditor, admin",
                    parameters=_query(
                        "format", "number", "category", "action", "source", "since", "until"
                    ),
                ),
            },
            "/api/v1/ledger/verify": {"get": _op("Walk the hash chain", "auditor, admin")},
            "/api/v1/numbers/{number}/export": {
                "get": _op(
                    "Everything held about a number", "auditor, admin", parameters=_path("number")
                ),
            },
            "/api/v1/numbers/{number}/erase": {
                "post": _op(
                    "Erase a number's texts; consent events kept",
                    "admin",
                    parameters=_path("number"),
                ),
            },
            "/api/v1/numbers/{number}/disclosures": {
                "get": _op(
                    "Who accessed this number's records",
                    "auditor, admin",
                    parameters=_path("number") + _query("cursor", "limit"),
                ),
            },
            "/api/v1/audit/access": {
                "get": _op(
                    "The access log",
                    "auditor, admin",
                    parameters=_query(
                        "actor", "action", "number", "since", "until", "cursor", "limit"
                    ),
                ),
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness and database",
                    "responses": {
                        "200": {"description": "OK"},
                        "503": {"description": "database down"},
                    },
                }
            },
        },
    }
