"""Validating the regular-expression rules: phrases, quoted instructions, false positives. PURE."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain.normalise import folded, strip_accents
from gateway.domain.rules import CategoryRule, KeyPath, KeywordGroup, TextRule
from gateway.domain.schema_reader import LANGUAGE, Reader, describe
from gateway.domain.schema_words import read_scope


def keyword_alternation(groups: Sequence[KeywordGroup]) -> str:
    """`{keyword}` in a pattern: any keyword, as it reads in the folded text. Written as a
    trie ("s(?:top(?:all)?|alir)…"): a plain list of 150 words makes every search slow."""
    words = {folded(w) for g in groups for ws in g.words.values() for w in ws}
    return _trie({w for w in words if w})


def _trie(words: set[str]) -> str:
    if not words:
        return "(?!)"
    ends = "" in words
    by_first: dict[str, set[str]] = {}
    for word in words - {""}:
        by_first.setdefault(word[0], set()).add(word[1:])
    branches = [_letter(first) + _trie(rest) for first, rest in sorted(by_first.items())]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if not branches:
        return ""
    return f"(?:{body})?" if ends else body


def _letter(ch: str) -> str:
    return r"[\s-]+" if ch == " " else re.escape(ch)


def read_text_rules(
    reader: Reader,
    top: Mapping[Any, Any],
    section: str,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
    keyword_pattern: str,
) -> tuple[TextRule, ...]:
    keys = (
        ("id", "language", "pattern", "scope")
        if section == "phrases"
        else ("id", "language", "pattern")
    )
    rules: list[TextRule] = []
    for i, body in enumerate(reader.items(top.get(section), (section,))):
        where: KeyPath = (section, i)
        spec = reader.mapping(body, where, keys, ("id", "language", "pattern"))
        rule_id = reader.text(spec.get("id"), (*where, "id")) if "id" in spec else None
        language = _language(reader, spec.get("language"), (*where, "language"), languages)
        pattern = _pattern(reader, spec.get("pattern"), (*where, "pattern"), keyword_pattern)
        scope = read_scope(reader, spec.get("scope"), (*where, "scope"), categories)
        if rule_id and any(r.id == rule_id for r in rules):
            reader.error((*where, "id"), f"the id '{rule_id}' is used twice in {section}")
        if rule_id and language and pattern:
            rules.append(TextRule(rule_id, language, pattern, scope))
    return tuple(rules)


def _language(reader: Reader, value: Any, path: KeyPath, languages: Sequence[str]) -> str | None:
    if value in languages or (isinstance(value, str) and LANGUAGE.fullmatch(value)):
        return str(value)  # a rule of a language not switched on still reads its texts
    reader.error(path, f"unknown language {describe(value)}; configured: {', '.join(languages)}")
    return None


def _pattern(
    reader: Reader, value: Any, path: KeyPath, keyword_pattern: str
) -> re.Pattern[str] | None:
    source = reader.text(value, path)
    if source is None:
        return None
    # Texts are matched without accents, so patterns are read without them too.
    source = strip_accents(source).replace("{keyword}", keyword_pattern)
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as exc:
        reader.error(path, f"not a valid regular expression: {exc}")
        return None
