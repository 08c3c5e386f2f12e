"""The OpenAPI 3.1 document, built from what the app serves: every route's declaration
(declare.py), its roles (auth.py) and its answer's model (shapes.py). A route without a
declaration is a bug the tests catch; nothing here is written twice."""

from __future__ import annotations

import re
from typing import Any, cast

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from gateway.web.console import PAGE_BLUEPRINTS
from gateway.web.declare import Declaration, declaration_of
from gateway.web.shapes import Error

REF = "#/components/schemas/{model}"
Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]]
ERRORS = {
    400: "malformed request (not JSON, a NUL character, nested too deeply)",
    401: "no token, or an unknown or revoked one",
    403: "this token's role may not do this",
    404: "no such resource",
    409: "conflicts with what is stored",
    413: "the body is larger than this route takes",
    415: "the body is not JSON",
    422: "a field is invalid, unknown or missing: `error.field` names it",
    429: "too many failed sign-ins from this address; see Retry-After",
    503: "the database or Redis is unavailable; try again shortly",
}
PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
MESSAGE_ID = "^msg_[0-9A-Z]{26}$"
# Flask's own static route (unused) and the console's pages, which answer HTML to people.
UNDOCUMENTED = frozenset({"static", "console.static"})


def document(app: Flask) -> dict[str, Any]:
    operations = [
        (rule, method, _declaration(app, rule))
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if rule.endpoint not in UNDOCUMENTED and not _page(rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for rule, method, declaration in operations:
        path = PARAM.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        view = app.view_functions[rule.endpoint]
        paths.setdefault(path, {})[method.lower()] = _operation(
            rule, declaration, getattr(view, "roles", None), refs, schemas
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgate",
            "version": "1",
            "description": "SMS consent gateway: consent ledger, outbound checks, audits. "
            'Errors are always `{"error": {"code", "message", "field"?}}`.',
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    }


def _page(endpoint: str) -> bool:
    return endpoint.partition(".")[0] in PAGE_BLUEPRINTS


def _declaration(app: Flask, rule: Rule) -> Declaration:
    found = declaration_of(app.view_functions[rule.endpoint])
    if found is None:
        raise LookupError(f"{rule.rule} ({rule.endpoint}) is served but not declared")
    return found


def _schemas(
    operations: list[tuple[Rule, str, Declaration]],
) -> tuple[Refs, dict[str, Any]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for _, _, d in operations:
        wanted += [(m, "validation") for m in (d.body, d.form, d.query) if m is not None]
        if d.answer is not None:
            wanted.append((d.answer, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    return cast(Refs, refs), cast(dict[str, Any], top.get("$defs", {}))


def _operation(
    rule: Rule,
    d: Declaration,
    roles: tuple[str, ...] | None,
    refs: Refs,
    schemas: dict[str, Any],
) -> dict[str, Any]:
    query: list[dict[str, Any]] = []
    if d.query is not None:
        query = _query_parameters(schemas[refs[(d.query, "validation")]["$ref"].split("/")[-1]])
    parameters = _path_parameters(rule) + query + list(d.headers)
    answer: dict[str, Any] = {"description": d.summary}
    if d.answer is not None:
        answer["content"] = {
            media: {"schema": refs[(d.answer, "serialization")]} for media in d.media
        }
    elif d.status != 204:
        answer["content"] = {media: {"schema": {"type": "string"}} for media in d.media}
    if d.links:
        answer["links"] = d.links
    statuses = {400, 422, 503, *d.errors}
    if roles is not None:
        statuses |= {401, 403, 429}
    if rule.arguments:
        statuses |= {404}
    if d.body is not None:
        statuses |= {413, 415}
    error = {"application/json": {"schema": refs[(Error, "serialization")]}}
    responses: dict[str, Any] = {str(d.status): answer}
    for status in sorted(statuses):
        responses[str(status)] = {"description": ERRORS[status], "content": error}
    operation: dict[str, Any] = {
        "operationId": rule.endpoint,
        "summary": d.summary,
        "tags": [rule.rule.split("/")[3] if rule.rule.startswith("/api/") else "service"],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}] if roles is not None else [],
    }
    if roles is not None:
        operation["description"] = f"Roles: {', '.join(roles)}."
    if d.body is not None:
        schema = refs[(d.body, "validation")]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    if d.form is not None:
        schema = refs[(d.form, "validation")]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    return operation


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    found = []
    for match in PARAM.finditer(rule.rule):
        if match["converter"] == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
        elif match["name"] == "message_id":
            schema = {"type": "string", "pattern": MESSAGE_ID}
        elif match["name"] == "number":
            schema = {"type": "string", "minLength": 1, "maxLength": 40}
            schema["examples"] = ["+12015550123"]
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 100}
        found.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return found


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query value is never null: absent is how one says "none"."""
    options = [p for p in prop.get("anyOf", ()) if p.get("type") != "null"]
    if len(options) == 1:
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**options[0], **rest}
    return {k: v for k, v in prop.items() if k != "default"} | (
        {"default": prop["default"]} if prop.get("default") is not None else {}
    )
