"""Validating keywords.yml `join:`, the hosted opt-in form (SPEC §10). PURE."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain.join_form import JOIN_TEXT_FIELDS, JOIN_TEXT_KEYS, JoinRules
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.replies import join_text
from gateway.domain.rules import CategoryRule, KeyPath
from gateway.domain.schema_reader import Reader, joined, template_fields
from gateway.domain.segments import segment_size

JOIN_KEYS = ("disclosures", "double_opt_in", "pending_hours", "texts")
DEFAULT_PENDING_HOURS = 72


def read_join(
    reader: Reader,
    value: Any,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
    disclosures: Mapping[str, str],
) -> JoinRules | None:
    """None when the file has no `join:` (the form is then not offered)."""
    if value is None:
        return None
    path: KeyPath = ("join",)
    spec = reader.mapping(value, path, JOIN_KEYS, ("disclosures", "texts"))
    shown = _disclosures(reader, spec.get("disclosures"), languages, categories, disclosures)
    default = ["marketing"] if "marketing" in categories else []
    double = _categories(reader, spec.get("double_opt_in", default), categories)
    for i, name in enumerate(double):
        if name in categories and not categories[name].requires_grant:
            reader.error(
                ("join", "double_opt_in", i),
                f"'{name}' needs no grant, so there is nothing for a YES to confirm",
            )
    hours = reader.integer(
        spec.get("pending_hours", DEFAULT_PENDING_HOURS),
        ("join", "pending_hours"),
        1,
        DEFAULT_PENDING_HOURS,
    )
    texts = _texts(reader, spec.get("texts"), languages)
    return JoinRules(shown, tuple(double), hours, texts)


def _disclosures(
    reader: Reader,
    value: Any,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
    on_file: Mapping[str, str],
) -> dict[str, dict[str, str]]:
    path: KeyPath = ("join", "disclosures")
    found: dict[str, dict[str, str]] = {}
    spec = reader.mapping(value, path)
    if isinstance(value, Mapping) and not spec:
        reader.error(path, "name the disclosure shown for at least one category")
    for name, body in spec.items():
        where = (*path, str(name))
        if name not in categories:
            reader.error(where, f"unknown category '{name}'; known: {joined(categories)}")
            continue
        versions: dict[str, str] = {}
        for language, version in _by_language(reader, body, where, languages).items():
            at = (*where, language)
            text = reader.text(version, at)
            if text is None:
                continue
            if text not in on_file:
                reader.error(at, f"'{text}' is not under disclosures; known: {joined(on_file)}")
                continue
            versions[language] = text
        found[str(name)] = versions
    if found and all(categories[name].requires_grant for name in found):
        reader.error(
            path,
            "name a category that needs no grant (transactional): entering the number on "
            "the form agrees to it, and the confirmation text is one of its messages",
        )
    return found


def _categories(reader: Reader, value: Any, categories: Mapping[str, CategoryRule]) -> list[str]:
    path: KeyPath = ("join", "double_opt_in")
    names = reader.texts(value, path)
    for i, name in enumerate(names):
        if name not in categories:
            reader.error((*path, i), f"unknown category '{name}'; known: {joined(categories)}")
    return list(dict.fromkeys(names))


def _texts(reader: Reader, value: Any, languages: Sequence[str]) -> dict[str, dict[str, str]]:
    path: KeyPath = ("join", "texts")
    texts: dict[str, dict[str, str]] = {}
    for language, body in _by_language(reader, value, path, languages).items():
        where = (*path, language)
        spec = reader.mapping(body, where, JOIN_TEXT_KEYS, JOIN_TEXT_KEYS)
        texts[language] = {
            key: _text(reader, spec[key], (*where, key)) for key in JOIN_TEXT_KEYS if key in spec
        }
    return texts


def _by_language(
    reader: Reader, value: Any, path: KeyPath, languages: Sequence[str]
) -> dict[str, Any]:
    """The form needs its default language; another listed language without its own version
    falls back to the default (a clinic may answer French texts before its web form speaks
    French), as the form and its texts do (`form_disclosure`, `join_text`)."""
    found = reader.language_map(value, path, languages, every=False)
    if isinstance(value, Mapping) and languages and languages[0] not in value:
        reader.error(path, f"missing language '{languages[0]}' (the default language)")
    return found


def _text(reader: Reader, value: Any, path: KeyPath) -> str:
    text = reader.text(value, path)
    if text is None:
        return ""
    try:
        unknown = set(template_fields(text)) - JOIN_TEXT_FIELDS
    except ValueError as exc:
        reader.error(path, f"bad placeholder: {exc}")
        return ""
    if unknown:
        reader.error(path, f"unknown placeholder {joined(unknown)}; use {joined(JOIN_TEXT_FIELDS)}")
        return ""
    return " ".join(text.split())


def warn_long_join_texts(reader: Reader, rules: KeywordRules) -> None:
    """CTIA asks for short confirmations; rendered as they go out after a form with every box
    ticked: the form's other categories granted, the double opt-in ones pending, then YES."""
    if rules.join is None:
        return
    double = tuple(n for n in rules.join.disclosures if n in rules.join.double_opt_in)
    granted = tuple(n for n in rules.join.disclosures if n not in double)
    for language, by_key in rules.join.texts.items():
        for key in by_key:
            named = double if key == "confirmed" else granted
            text = join_text(rules, language, key, named, double)
            size, limit = segment_size(text)
            if size > limit:
                reader.warn(
                    ("join", "texts", language, key),
                    f"{size} characters: longer than one SMS segment ({limit} characters)",
                )
