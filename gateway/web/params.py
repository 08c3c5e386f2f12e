"""Reading request input strictly: each bad field is a 422 naming it, a bad body a 400."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

from flask import request

from gateway.domain.phone import InvalidPhone, Phone
from gateway.services import Problem
from gateway.web.errors import FieldError

MAX_LIMIT, DEFAULT_LIMIT = 500, 50


def json_body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(), parse_constant=_no_constants)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "malformed", "the body must be a JSON object")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800): no database can store it
        raise Problem(400, "malformed", "the body is not valid Unicode text") from None
    return body


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: no database stores them


def phone(value: Any, field: str, region: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("invalid_phone", "a phone number is required", field)
    try:
        return Phone.parse(value, region).e164
    except InvalidPhone as exc:
        raise FieldError("invalid_phone", str(exc), field) from None


def text(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError("invalid", f"{field} must be a non-empty string", field)
    return value.strip()


def timestamp(value: Any, field: str) -> dt.datetime | None:
    """ISO-8601; a time without an offset is taken as UTC."""
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
        utc = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
        if not 1970 <= utc.year <= 9000:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        raise FieldError("invalid_time", "use ISO-8601, e.g. 2026-11-24T18:00:00Z", field) from None
    return utc


def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def limit() -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    try:
        size = int(raw, 10) if raw.isascii() else 0
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_LIMIT:
        raise FieldError("invalid", f"limit is 1 to {MAX_LIMIT}", "limit")
    return size


def cursor() -> int | None:
    """Cursors are opaque; inside, the last id of the previous page (stable under inserts)."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        value = int(base64.urlsafe_b64decode(raw.encode()).decode())
        if not 0 <= value < 2**31:
            raise ValueError("out of range")
        return value
    except ValueError:
        raise FieldError("invalid_cursor", "cursor is not one we issued", "cursor") from None


def next_cursor(items: list[Any], size: int, last_id: int | None) -> str | None:
    if len(items) < size or last_id is None:
        return None
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def text_cursor(raw: str) -> str:
    try:
        value = base64.urlsafe_b64decode(raw.encode()).decode()
    except ValueError:
        value = ""
    if not re.fullmatch(r"msg_[0-9A-Z]{26}", value):
        raise FieldError("invalid_cursor", "cursor is not one we issued", "cursor")
    return value
