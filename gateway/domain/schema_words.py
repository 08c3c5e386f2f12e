"""Validating the words: keyword groups, scopes, word lists and fuzzy look-alikes. PURE."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain.normalise import compacted, folded, plain
from gateway.domain.rules import SCOPE_WORDS, CategoryRule, Intent, KeyPath, KeywordGroup
from gateway.domain.schema_reader import Reader, describe, joined

INTENTS_IN_FILE = (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP)


def read_keyword_groups(
    reader: Reader, value: Any, languages: Sequence[str], categories: Mapping[str, CategoryRule]
) -> tuple[KeywordGroup, ...]:
    path: KeyPath = ("keywords",)
    groups: list[KeywordGroup] = []
    seen_words: dict[str, KeyPath] = {}
    for i, body in enumerate(reader.items(value, path)):
        group = _keyword_group(reader, body, (*path, i), languages, categories)
        if group is None:
            continue
        if any(g.id == group.id for g in groups):
            reader.error((*path, i, "id"), f"the group id '{group.id}' is used twice")
        _note_duplicate_words(reader, group, (*path, i), seen_words)
        groups.append(group)
    present = {g.intent for g in groups}
    for intent in INTENTS_IN_FILE:
        if value is not None and intent not in present:
            reader.error(path, f"no keyword group with intent {intent}")
    return tuple(groups)


def _keyword_group(
    reader: Reader,
    body: Any,
    where: KeyPath,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
) -> KeywordGroup | None:
    spec = reader.mapping(
        body, where, ("id", "intent", "scope", "words"), ("id", "intent", "words")
    )
    if not spec:
        return None
    group_id = reader.text(spec.get("id"), (*where, "id")) if "id" in spec else None
    intent = _intent(reader, spec.get("intent"), (*where, "intent"))
    scope = read_scope(reader, spec.get("scope"), (*where, "scope"), categories)
    if intent in (Intent.OPT_OUT, Intent.OPT_IN) and not scope and "scope" not in spec:
        reader.error(where, "missing required key 'scope' (what the keyword revokes or grants)")
    # Every language's keywords are read, even one not switched on: a revocation in French
    # is a revocation (it is answered in the default language).
    words = read_word_lists(
        reader, spec.get("words"), (*where, "words"), languages, switched_off=True
    )
    for language, listed in words.items():
        for j, word in enumerate(listed):
            if plain(word) != " ".join(word.casefold().split()):
                reader.error(
                    (*where, "words", language, j),
                    f"'{word}' can never match: punctuation and emoji around a text are removed",
                )
    if group_id is None or intent is None:
        return None
    return KeywordGroup(group_id, intent, scope, words)


def _intent(reader: Reader, value: Any, path: KeyPath) -> Intent | None:
    if value in [i.value for i in INTENTS_IN_FILE]:
        return Intent(value)
    reader.error(path, f"unknown intent {describe(value)}; expected opt_out, opt_in or help")
    return None


def read_scope(
    reader: Reader, value: Any, path: KeyPath, categories: Mapping[str, CategoryRule]
) -> tuple[str, ...]:
    words = reader.texts(value, path)
    for i, word in enumerate(words):
        if word not in categories and word not in SCOPE_WORDS:
            known = joined([*categories, *SCOPE_WORDS])
            reader.error((*path, i), f"unknown category '{word}' in scope; expected one of {known}")
    return tuple(dict.fromkeys(words))


def _note_duplicate_words(
    reader: Reader, group: KeywordGroup, where: KeyPath, seen: dict[str, KeyPath]
) -> None:
    """A word means one thing in one language, so a reply's language is never a guess."""
    for language, words in group.words.items():
        for j, word in enumerate(words):
            key, path = plain(word), (*where, "words", language, j)
            if key in seen and seen[key][:-1] != path[:-1]:
                first = ".".join(str(p) for p in seen[key])
                reader.error(path, f"'{word}' is already a keyword at {first}")
            seen.setdefault(key, path)


def read_word_lists(
    reader: Reader,
    value: Any,
    path: KeyPath,
    languages: Sequence[str],
    *,
    switched_off: bool = False,
) -> dict[str, tuple[str, ...]]:
    found = reader.language_map(
        value or {}, path, languages, every=False, switched_off=switched_off
    )
    return {k: tuple(reader.texts(v, (*path, k))) for k, v in found.items()}


def read_carrier_keywords(
    reader: Reader, value: Any, groups: Sequence[KeywordGroup]
) -> frozenset[str]:
    path: KeyPath = ("carrier_keywords",)
    known = {plain(w) for g in groups for words in g.words.values() for w in words}
    words = reader.texts(value, path)
    for i, word in enumerate(words):
        if plain(word) not in known:
            reader.warn((*path, i), f"'{word}' is not one of the keywords; it has no effect")
    return frozenset(plain(w) for w in words)


def read_real_words(
    reader: Reader, value: Any, languages: Sequence[str], groups: Sequence[KeywordGroup]
) -> frozenset[str]:
    path: KeyPath = ("fuzzy", "real_words")
    lists = read_word_lists(reader, value, path, languages)
    keywords = {compacted(folded(w)) for g in groups for ws in g.words.values() for w in ws}
    found: set[str] = set()
    for language, words in lists.items():
        for i, word in enumerate(words):
            key = compacted(folded(word))
            if key in keywords:
                reader.error((*path, language, i), f"'{word}' is a keyword, not a look-alike")
            found.add(key)
    return frozenset(found)
