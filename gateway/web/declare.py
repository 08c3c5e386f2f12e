"""The API's edge, declared once: each operation's body, query and answer are pydantic models.

`@declared(...)` validates after authentication (the view's `@requires` runs first), so no
unauthenticated request has its body parsed; every refusal is the JSON error shape with the
field it names. `gateway.web.openapi` builds /openapi.json from the same declarations.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, TypeVar, cast

from flask import g, request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from gateway.services import MAX_EVIDENCE_BYTES, Problem

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 16  # nesting a person writes; deeper is a 400, never a RecursionError
MAX_EVIDENCE_DEPTH = 6
MAX_EVIDENCE_FIELDS = 50


class Body(BaseModel):
    """A request body or query: unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Answer(BaseModel):
    """An answer's shape, for the document: fields may be added, never renamed (SPEC §11)."""

    model_config = ConfigDict(extra="allow")


def _utc(value: Any) -> Any:
    """ISO-8601; a time without an offset is taken as UTC; years 1970-9000."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "invalid_time", "use ISO-8601, e.g. 2026-11-24T18:00:00Z"
            ) from None
        value = parsed
    if not isinstance(value, dt.datetime):
        raise PydanticCustomError("invalid_time", "use ISO-8601, e.g. 2026-11-24T18:00:00Z")
    try:
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise PydanticCustomError("invalid_time", "the time is out of range") from None
    if not 1970 <= utc.year <= 9000:
        raise PydanticCustomError("invalid_time", "the year is 1970 to 9000")
    return utc


def _zoned(value: Any) -> Any:
    """A time that says its own offset: when a message goes out is too important to guess
    (10:00 read as UTC reaches an Eastern patient at 5 in the morning)."""
    if isinstance(value, str):
        try:
            naive = dt.datetime.fromisoformat(value.strip()).tzinfo is None
        except ValueError:
            naive = False  # not ISO-8601 at all: _utc says so
        if naive:
            raise PydanticCustomError(
                "invalid_time",
                "give the time with its offset, e.g. 2026-11-24T18:00:00Z (UTC) or "
                "2026-11-24T13:00:00-05:00; a time without one would be a guess",
            )
    return _utc(value)


_TIME_SCHEMA = {"type": "string", "format": "date-time", "examples": ["2026-11-24T18:00:00Z"]}
Timestamp = Annotated[dt.datetime, BeforeValidator(_utc), WithJsonSchema(_TIME_SCHEMA)]
# When to send: the offset is required (a naive time is refused, not read as UTC).
ZonedTimestamp = Annotated[
    dt.datetime,
    BeforeValidator(_zoned),
    WithJsonSchema({**_TIME_SCHEMA, "description": "ISO-8601 with an offset (Z or ±hh:mm)"}),
]
# A phone number as typed; the view parses it in the clinic's region (422 invalid_phone).
PhoneText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 40, "examples": ["+12015550123"]}
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Limit = Annotated[int, Field(ge=1, le=500, description="page size, default 50")]


def _depth(value: Any, limit: int) -> int:
    """How deep a parsed JSON value nests (iterative: never a RecursionError)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _evidence(value: Any) -> Any:
    if not isinstance(value, dict):
        raise PydanticCustomError("invalid", "evidence must be a JSON object")
    if len(value) > MAX_EVIDENCE_FIELDS:
        raise PydanticCustomError(
            "too_large", "evidence has at most {limit} fields", {"limit": MAX_EVIDENCE_FIELDS}
        )
    if _depth(value, MAX_EVIDENCE_DEPTH) > MAX_EVIDENCE_DEPTH:
        raise PydanticCustomError(
            "too_deep", "evidence nests at most {limit} levels", {"limit": MAX_EVIDENCE_DEPTH}
        )
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_EVIDENCE_BYTES:
        raise PydanticCustomError(
            "too_large",
            "evidence is at most {limit} bytes as JSON (this was {size})",
            {"limit": MAX_EVIDENCE_BYTES, "size": size},
        )
    return value


Evidence = Annotated[
    dict[str, Any],
    BeforeValidator(_evidence),
    WithJsonSchema(
        {
            "type": "object",
            "description": f"at most {MAX_EVIDENCE_BYTES} bytes as JSON, "
            f"{MAX_EVIDENCE_DEPTH} levels deep",
            "maxProperties": MAX_EVIDENCE_FIELDS,
        }
    ),
]


@dataclass(frozen=True)
class Declaration:
    summary: str
    answer: type[BaseModel] | None
    status: int = 200
    body: type[Body] | None = None
    query: type[Body] | None = None
    headers: tuple[dict[str, Any], ...] = ()
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: tuple[str, ...] = ("application/json",)
    errors: tuple[int, ...] = ()
    form: type[BaseModel] | None = None  # a form body, documented; read by the view itself


def declared(
    summary: str,
    *,
    answer: type[BaseModel] | None,
    status: int = 200,
    body: type[Body] | None = None,
    query: type[Body] | None = None,
    headers: tuple[dict[str, Any], ...] = (),
    links: dict[str, dict[str, Any]] | None = None,
    media: tuple[str, ...] = ("application/json",),
    errors: tuple[int, ...] = (),
    form: type[BaseModel] | None = None,
) -> Callable[[F], F]:
    """Validate the query (into `g.query`) and the JSON body (into `g.body`), then call the view.

    A `form` operation (Twilio's webhooks) is documented here and read by its view, which
    must check the signature over the form first."""
    declaration = Declaration(
        summary, answer, status, body, query, headers, links or {}, media, errors, form
    )

    def decorate(view: F) -> F:
        @wraps(view)
        def validated(*args: Any, **kwargs: Any) -> Any:
            for name, value in kwargs.items():
                if isinstance(value, str):
                    _no_nul(value, name)
            if form is None:
                g.query = _validate(query, _query_values(), "query") if query else None
                if query is None:
                    _no_query()
                g.body = _validate(body, json_object(), "body") if body else None
            return view(*args, **kwargs)

        validated.declaration = declaration  # type: ignore[attr-defined]
        return cast(F, validated)

    return decorate


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: what a later call takes from this answer (testers follow them)."""
    return {"operationId": operation_id, "parameters": parameters}


def declaration_of(view: Callable[..., Any]) -> Declaration | None:
    return cast(Declaration | None, getattr(view, "declaration", None))


def given_body(model: type[M]) -> M:
    """The validated body of this request."""
    return cast(M, g.body)


def given_query(model: type[M]) -> M:
    """The validated query of this request."""
    return cast(M, g.query)


def _query_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for key in request.args:
        given = request.args.getlist(key)
        if len(given) > 1:
            raise Problem(422, "repeated", f"{key} is given more than once", key)
        _no_nul(given[0], key)
        values[key] = given[0]
    return values


def _no_query() -> None:
    for key in request.args:
        raise Problem(422, "unknown_field", f"this operation takes no parameter {key}", key)


def _no_nul(value: str, name: str) -> None:
    if "\x00" in value:
        raise Problem(400, "malformed", f"{name} contains a NUL character", name)


def json_object() -> dict[str, Any]:
    """The body as a JSON object: 400 for anything else (including nesting past a sane depth)."""
    if request.mimetype not in ("application/json", "") and not request.mimetype.endswith("+json"):
        raise Problem(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise Problem(400, "malformed", "the JSON nests too deeply") from None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "malformed", "the body must be a JSON object")
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Problem(400, "malformed", f"the JSON nests more than {MAX_JSON_DEPTH} levels")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800): no database can store it
        raise Problem(400, "malformed", "the body is not valid Unicode text") from None
    if _has_nul(body):  # no text column stores U+0000 (PostgreSQL refuses it)
        raise Problem(400, "malformed", "the body contains a NUL character")
    return cast(dict[str, Any], body)


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: no database stores them


def _validate(model: type[Body], values: dict[str, Any], where: str) -> Body:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or where
        raise Problem(422, _code(first["type"]), _message(name, first), name) from None


def _code(kind: str) -> str:
    return {
        "extra_forbidden": "unknown_field",
        "missing": "required",
        "string_too_long": "too_long",
        "too_long": "too_long",
        "too_large": "too_large",
        "too_deep": "too_large",
        "invalid_time": "invalid_time",
    }.get(kind, "invalid")


def _message(name: str, error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{name} is not a field of this request"
    if kind == "missing":
        return f"{name} is required"
    if kind in ("literal_error", "enum"):
        allowed = error.get("ctx", {}).get("expected", "")
        return f"{name} must be one of: {allowed.replace(chr(39), '')}"
    return f"{name}: {error['msg']}"
