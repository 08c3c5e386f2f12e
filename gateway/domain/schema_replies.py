"""Validating the replies, and warning when one would not fit in one SMS segment. PURE."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.replies import render
from gateway.domain.rules import KeyPath
from gateway.domain.schema_reader import Reader, joined, template_fields
from gateway.domain.segments import non_gsm7, segment_size

REPLY_KEYS = ("opt_out", "opt_out_partial", "opt_in", "help")
REPLY_FIELDS = frozenset(
    {"program", "contact", "frequency", "stopped", "continuing", "Stopped", "Continuing"}
)
_CONJUNCTIONS = {"en": "and", "es": "y"}


def read_replies(reader: Reader, value: Any, languages: Sequence[str]) -> dict[str, dict[str, str]]:
    path: KeyPath = ("replies",)
    found = reader.language_map(value, path, languages, every=True)
    replies: dict[str, dict[str, str]] = {}
    for language, body in found.items():
        where = (*path, language)
        spec = reader.mapping(body, where, (*REPLY_KEYS, "conjunction"), REPLY_KEYS)
        texts = {k: _reply_text(reader, spec[k], (*where, k)) for k in REPLY_KEYS if k in spec}
        conjunction = spec.get("conjunction", _CONJUNCTIONS.get(language, "and"))
        texts["conjunction"] = reader.text(conjunction, (*where, "conjunction")) or "and"
        replies[language] = texts
    return replies


def _reply_text(reader: Reader, value: Any, path: KeyPath) -> str:
    text = reader.text(value, path)
    if text is None:
        return ""
    try:
        unknown = set(template_fields(text)) - REPLY_FIELDS
    except ValueError as exc:
        reader.error(path, f"bad placeholder: {exc}")
        return ""
    if unknown:
        reader.error(path, f"unknown placeholder {joined(unknown)}; use {joined(REPLY_FIELDS)}")
        return ""
    return " ".join(text.split())


def warn_long_replies(reader: Reader, rules: KeywordRules) -> None:
    """CTIA asks for short confirmations; a reply over one segment costs twice and may split."""
    for language, texts in rules.replies.items():
        for key in REPLY_KEYS:
            if not texts.get(key):
                continue
            samples = [(segment_size(t), t) for t in _sample_replies(rules, language, key)]
            over = [(size, limit, text) for (size, limit), text in samples if size > limit]
            if over:
                size, limit, longest = max(over)
                reader.warn(("replies", language, key), _long_reply_message(longest, size, limit))


def _long_reply_message(text: str, size: int, limit: int) -> str:
    if limit == 160:
        return f"{size} characters: longer than one SMS segment (160 GSM-7 characters)"
    outside = non_gsm7(text)
    return (
        f"{size} characters: longer than one SMS segment (70 characters, because "
        f"{', '.join(repr(c) for c in outside[:5])} is outside the GSM-7 alphabet)"
    )


def _sample_replies(rules: KeywordRules, language: str, key: str) -> Iterator[str]:
    """The reply as it could go out: every category stopped, each one continuing."""
    names = tuple(rules.categories)
    if key != "opt_out_partial":
        yield render(rules, language, key, names, ())
        return
    for name in names if len(names) > 1 else ():
        yield render(rules, language, key, (name,), tuple(n for n in names if n != name))
