"""Validating who texts: the program, the categories and the clinic's numbers. PURE."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain.restriction import RESTRICTIONS
from gateway.domain.rules import SCOPE_WORDS, CategoryRule, KeyPath, Program, Sender
from gateway.domain.schema_reader import Reader, joined

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def read_program(reader: Reader, value: Any, languages: Sequence[str]) -> Program:
    path: KeyPath = ("program",)
    found = reader.mapping(value, path, ("name", "contact", "frequency"), ("name", "contact"))
    name = reader.text(found.get("name"), (*path, "name")) if "name" in found else None
    contact = reader.text(found.get("contact"), (*path, "contact")) if "contact" in found else None
    return Program(name or "", contact or "", _frequency(reader, found.get("frequency"), languages))


def _frequency(reader: Reader, value: Any, languages: Sequence[str]) -> dict[str, str]:
    path: KeyPath = ("program", "frequency")
    if value is None or isinstance(value, str):
        text = reader.text(value, path) if value is not None else "Msg frequency varies"
        return dict.fromkeys(languages, text or "")
    found = reader.language_map(value, path, languages, every=True)
    return {k: reader.text(v, (*path, k)) or "" for k, v in found.items()}


def read_categories(
    reader: Reader, value: Any, languages: Sequence[str]
) -> dict[str, CategoryRule]:
    path: KeyPath = ("categories",)
    found = reader.mapping(value, path)
    if value is not None and not found:
        reader.error(path, "declare at least one category (transactional, marketing)")
    categories: dict[str, CategoryRule] = {}
    for name, body in found.items():
        where = (*path, str(name))
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in SCOPE_WORDS:
            reader.error(where, "a category name is lower-case letters, digits, _ (not all/sender)")
            continue
        if name in RESTRICTIONS:
            reader.error(where, f"'{name}' is a patient's restriction, recorded per number")
            continue
        spec = reader.mapping(body, where, ("requires_grant", "labels"), ("requires_grant",))
        labels = reader.language_map(spec.get("labels"), (*where, "labels"), languages, every=True)
        categories[name] = CategoryRule(
            name=name,
            requires_grant=reader.boolean(
                spec.get("requires_grant"), (*where, "requires_grant"), True
            ),
            labels={k: reader.text(v, (*where, "labels", k)) or name for k, v in labels.items()},
        )
    return categories


def read_senders(
    reader: Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, Sender]:
    path: KeyPath = ("senders",)
    senders: dict[str, Sender] = {}
    for number, body in reader.mapping(value or {}, path).items():
        where = (*path, str(number))
        if not isinstance(number, str):
            reader.error(where, 'write the number in quotes, e.g. "+12015550100"')
            continue
        if not _E164.fullmatch(number):
            reader.error(where, "expected an E.164 number: + then country code and digits only")
            continue
        spec = reader.mapping(body, where, ("categories", "carrier_replies"), ("categories",))
        carried = _category_names(
            reader, spec.get("categories"), (*where, "categories"), categories
        )
        replies = reader.boolean(spec.get("carrier_replies"), (*where, "carrier_replies"), False)
        senders[number] = Sender(number, carried, replies)
    return senders


def _category_names(
    reader: Reader, value: Any, path: KeyPath, categories: Mapping[str, CategoryRule]
) -> tuple[str, ...]:
    names = reader.texts(value, path)
    for i, name in enumerate(names):
        if name not in categories:
            reader.error((*path, i), f"unknown category '{name}'; known: {joined(categories)}")
    return tuple(dict.fromkeys(n for n in names if n in categories))
