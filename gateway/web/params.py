"""What the declared edge (declare.py) cannot say alone: numbers in the clinic's region, times
out, and opaque cursors."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from gateway.domain.phone import InvalidPhone, Phone
from gateway.web.errors import FieldError

DEFAULT_LIMIT = 50


def phone(value: Any, field: str, region: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("invalid_phone", "a phone number is required", field)
    try:
        return Phone.parse(value, region).e164
    except InvalidPhone as exc:
        raise FieldError("invalid_phone", f"{exc} (write it like +12015550123)", field) from None


def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def cursor(raw: str | None) -> int | None:
    """Cursors are opaque; inside, the last id of the previous page (stable under inserts)."""
    if not raw:
        return None
    try:
        value = int(_decode(raw))
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
        value = _decode(raw)
    except ValueError:
        value = ""
    if not re.fullmatch(r"msg_[0-9A-Z]{26}", value):
        raise FieldError("invalid_cursor", "cursor is not one we issued", "cursor")
    return value


def _decode(raw: str) -> str:
    try:
        return base64.urlsafe_b64decode(raw.encode()).decode()
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError(str(exc)) from None
