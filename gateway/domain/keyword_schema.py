"""Validating keywords.yml (SPEC §5): the top level, section by section, every problem at once.

Clinic staff edit the file by hand, so `read_rules` reports all problems together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from gateway.domain.fuzzy import dictionary_words
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import plain
from gateway.domain.rules import Intent, KeyPath, KeywordsError
from gateway.domain.schema_join import read_join, warn_long_join_texts
from gateway.domain.schema_patterns import keyword_alternation, read_text_rules
from gateway.domain.schema_reader import LANGUAGE, Reader, describe
from gateway.domain.schema_reading import read_reactions, read_vocabularies
from gateway.domain.schema_replies import read_replies, warn_long_replies
from gateway.domain.schema_senders import read_categories, read_program, read_senders
from gateway.domain.schema_sending import (
    read_frequency_caps,
    read_quiet_hours,
    read_state_windows,
    read_templates,
)
from gateway.domain.schema_words import (
    read_carrier_keywords,
    read_keyword_groups,
    read_real_words,
    read_word_lists,
)

TOP_KEYS = (
    "program",
    "languages",
    "categories",
    "senders",
    "revoke_all_from",
    "reply_cap_per_hour",
    "keywords",
    "carrier_keywords",
    "filler_words",
    "reading",
    "phrases",
    "quoted_instructions",
    "reactions",
    "false_positives",
    "fuzzy",
    "answer_window_hours",
    "replies",
    "disclosures",
    "join",
    "quiet_hours",
    "state_windows",
    "frequency_caps",
    "phi_fields",
    "templates",
)
REQUIRED_TOP_KEYS = ("program", "languages", "categories", "keywords", "replies")


def read_rules(
    data: Mapping[str, Any], dictionary: Callable[[str], bool] | None = None
) -> KeywordRules:
    reader = Reader()
    top = reader.mapping(data, (), TOP_KEYS, REQUIRED_TOP_KEYS)
    languages = _languages(reader, top.get("languages"))
    categories = read_categories(reader, top.get("categories"), languages)
    groups = read_keyword_groups(reader, top.get("keywords"), languages, categories)
    keyword_pattern = keyword_alternation(groups)
    program = read_program(reader, top.get("program"), languages)
    fuzzy = reader.mapping(top.get("fuzzy", {}), ("fuzzy",), ("min_length", "real_words"))
    min_length = reader.integer(fuzzy.get("min_length", 4), ("fuzzy", "min_length"), 3, 4)
    replies = read_replies(reader, top.get("replies"), languages)
    phi_fields = frozenset(reader.texts(top.get("phi_fields"), ("phi_fields",)))
    disclosures = _disclosures(reader, top.get("disclosures"))
    rules = KeywordRules(
        program_name=program.name,
        categories=categories,
        senders=read_senders(reader, top.get("senders"), categories),
        languages=languages,
        revoke_all_from=_revoke_all_from(reader, top.get("revoke_all_from")),
        reply_cap_per_hour=_reply_cap(reader, top.get("reply_cap_per_hour", 5)),
        disclosures=disclosures,
        raw=dict(top),
        program=program,
        keyword_groups=groups,
        carrier_keywords=read_carrier_keywords(reader, top.get("carrier_keywords"), groups),
        filler_words=read_word_lists(
            reader, top.get("filler_words"), ("filler_words",), languages, switched_off=True
        ),
        phrases=read_text_rules(reader, top, "phrases", languages, categories, keyword_pattern),
        quoted_instructions=read_text_rules(
            reader, top, "quoted_instructions", languages, categories, keyword_pattern
        ),
        false_positives=read_text_rules(
            reader, top, "false_positives", languages, categories, keyword_pattern
        ),
        vocabularies=read_vocabularies(reader, top.get("reading"), languages),
        reactions=read_reactions(reader, top.get("reactions"), languages),
        answer_window_hours=reader.integer(
            top.get("answer_window_hours", 72), ("answer_window_hours",), 1, 72
        ),
        fuzzy_min_length=min_length,
        real_words=read_real_words(reader, fuzzy.get("real_words"), languages, groups)
        | dictionary_words(groups, languages, min_length, dictionary),
        replies=replies,
        quiet_hours=read_quiet_hours(reader, top.get("quiet_hours"), categories),
        state_windows=read_state_windows(reader, top.get("state_windows")),
        frequency_caps=read_frequency_caps(reader, top.get("frequency_caps"), categories),
        phi_fields=phi_fields,
        templates=read_templates(reader, top.get("templates"), categories, phi_fields),
        join=read_join(reader, top.get("join"), languages, categories, disclosures),
    )
    warn_long_replies(reader, rules)
    warn_long_join_texts(reader, rules)
    _refuse_opt_out_answers(reader, rules)
    if reader.failed:
        raise KeywordsError(reader.problems)
    return replace(rules, warnings=tuple(reader.problems))


def _refuse_opt_out_answers(reader: Reader, rules: KeywordRules) -> None:
    """An opt-out always wins over an answer, so "CANCEL: decline" could never be read."""
    for template in rules.templates.values():
        for key in template.answers:
            keyword = rules.index.exact.get(plain(key))
            if keyword is not None and keyword.group.intent is Intent.OPT_OUT:
                reader.error(
                    ("templates", template.name, "answers", key),
                    f"'{key}' is an opt-out keyword: it always opts out, never answers",
                )


def _languages(reader: Reader, value: Any) -> tuple[str, ...]:
    path: KeyPath = ("languages",)
    names = reader.texts(value, path)
    for i, name in enumerate(names):
        if not LANGUAGE.fullmatch(name):
            reader.error((*path, i), f"'{name}' is not a language code like en or es")
    if value is not None and not names:
        reader.error(path, "list at least one language; the first is the default")
    if len(set(names)) != len(names):
        reader.error(path, "a language is listed twice")
    return tuple(dict.fromkeys(names))


def _revoke_all_from(reader: Reader, value: Any) -> dt.date | None:
    path: KeyPath = ("revoke_all_from",)
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    reader.error(path, f"expected a date YYYY-MM-DD or null, got {describe(value)}")
    return None


def _reply_cap(reader: Reader, value: Any) -> int:
    return reader.integer(value, ("reply_cap_per_hour",), 1, 5)


def _disclosures(reader: Reader, value: Any) -> dict[str, str]:
    path: KeyPath = ("disclosures",)
    found: dict[str, str] = {}
    for version, text in reader.mapping(value or {}, path).items():
        where = (*path, str(version))
        body = reader.text(text, where)
        if not isinstance(version, str):
            reader.error(where, "write the version id as text, e.g. mkt-2026-01")
        elif body is not None:
            found[version] = " ".join(body.split())
    return found
