"""pydantic's errors in the clinic's words, each at the key path written in the file."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from gateway.adapters.keyword_types import MissingLanguage, describe, joined
from gateway.domain.rules import KeyPath, Problem

_EXPECTED = {
    "model_type": "expected a mapping (key: value), got {got}",
    "model_attributes_type": "expected a mapping (key: value), got {got}",
    "dict_type": "expected a mapping (key: value), got {got}",
    "list_type": "expected a list, got {got}",
    "bool_type": "expected true or false, got {got}",
    "string_type": "expected a non-empty text, got {got}",
    "int_type": "expected a whole number, got {got}",
}


def problem(error: ErrorDetails, data: Any, model: type[BaseModel]) -> Problem:
    """One pydantic error as the project words it: "missing required key 'x'" at the mapping
    that lacks it, "unknown key; expected one of …" at the key, the validators' own words."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    path = written(loc, data)
    kind = error["type"]
    if isinstance(error["input"], MissingLanguage):
        return Problem(path[:-1], error["input"].message)
    if kind == "missing":
        return Problem(path[:-1], f"missing required key '{path[-1]}'")
    if kind in ("extra_forbidden", "invalid_key"):  # invalid_key: a number, null or yes/no
        allowed = _keys_at(model, loc[:-1])
        if allowed:
            return Problem(path, f"unknown key; expected one of {joined(allowed)}")
        return Problem(path, "write the key as text in quotes")
    if kind in _EXPECTED:
        return Problem(path, _EXPECTED[kind].format(got=describe(error["input"])))
    return Problem(path, error["msg"])


def written(loc: tuple[str | int, ...], data: Any) -> KeyPath:
    """The key path as the file has it: a mapping's keys as text (a number written as a key
    is reported as written), a list's positions as numbers."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, list) and isinstance(part, int):
            path.append(part)
            data = data[part] if 0 <= part < len(data) else None
        elif isinstance(data, Mapping):
            # pydantic keeps a key YAML read as true/false as 1/0: name the file's own key
            # ("NO" read as False is reported as False, at its line), not pydantic's.
            key = next((k for k in data if k == part), part)
            path.append(str(key))
            data = data.get(key)
        else:
            path.append(str(part))
            data = None
    return tuple(path)


def _keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys the mapping at `loc` may hold: the fields of the model found there."""
    shape: Any = model
    for part in loc:
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            field = shape.model_fields.get(str(part))
            shape = field.annotation if field is not None else None
        else:  # a list, a mapping or an optional: one step into its value type
            shape = _value_type(shape)
        shape = _model_in(shape)
    is_model = isinstance(shape, type) and issubclass(shape, BaseModel)
    return list(shape.model_fields) if is_model else []


def _value_type(shape: Any) -> Any:
    args = [a for a in typing.get_args(_model_in(shape)) if a is not type(None)]
    return args[-1] if args else None


def _model_in(shape: Any) -> Any:
    """Unwraps Annotated[…] and X | None down to the model or container inside."""
    while True:
        if typing.get_origin(shape) is typing.Annotated:
            shape = typing.get_args(shape)[0]
            continue
        args = [a for a in typing.get_args(shape) if a is not type(None)]
        if type(None) in typing.get_args(shape) and len(args) == 1:
            shape = args[0]
            continue
        return shape
