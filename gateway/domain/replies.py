"""What a classification changes, and the one automatic answer to it (SPEC §5). PURE."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.rules import Classification, Intent

REPLY_KEYS = ("opt_out", "opt_out_partial", "opt_in", "help")
REPLY_FIELDS = frozenset(
    {"program", "contact", "frequency", "stopped", "continuing", "Stopped", "Continuing"}
)


def scoped_categories(
    c: Classification, rules: KeywordRules, to: str | None, today: dt.date
) -> tuple[str, ...]:
    """Category names the classification revokes/grants when sent to clinic number `to`."""
    if c.intent not in (Intent.OPT_OUT, Intent.OPT_IN):
        return ()
    revoke_all = rules.revoke_all_from is not None and today >= rules.revoke_all_from
    if c.intent is Intent.OPT_OUT and revoke_all:
        return tuple(sorted(rules.categories))  # FCC §64.1200(a)(10) revoke-all
    names: set[str] = set()
    for word in c.scope:
        if word == "all":
            names.update(rules.categories)
        elif word == "sender":
            names.update(rules.sender_categories(to))
        elif word in rules.categories:
            names.add(word)
    return tuple(sorted(names))


def compose_reply(
    rules: KeywordRules,
    language: str,
    intent: Intent,
    changed: tuple[str, ...],
    continuing: tuple[str, ...],
) -> str | None:
    """The one automatic answer, in the patient's language; None when nothing is to be said."""
    key = _reply_key(intent, changed, continuing)
    if key is None:
        return None
    if language not in rules.replies:
        language = rules.default_language
    return render(rules, language, key, changed, continuing)


def _reply_key(intent: Intent, changed: tuple[str, ...], continuing: tuple[str, ...]) -> str | None:
    if intent is Intent.OPT_OUT:
        # Already opted out of that scope: nothing (FCC: one confirmation, no repeats).
        if not changed:
            return None
        return "opt_out_partial" if continuing else "opt_out"
    return {Intent.OPT_IN: "opt_in", Intent.HELP: "help"}.get(intent)


def render(
    rules: KeywordRules, language: str, key: str, stopped: Sequence[str], continuing: Sequence[str]
) -> str:
    texts = rules.replies.get(language, {})
    conjunction = texts.get("conjunction", "and")
    stopped_text = _join_labels(rules, language, stopped, conjunction)
    continuing_text = _join_labels(rules, language, continuing, conjunction)
    return texts.get(key, "").format_map(
        {
            "program": rules.program.name or rules.program_name,
            "contact": rules.program.contact,
            "frequency": rules.program.frequency.get(language, ""),
            "stopped": stopped_text,
            "continuing": continuing_text,
            "Stopped": stopped_text[:1].upper() + stopped_text[1:],
            "Continuing": continuing_text[:1].upper() + continuing_text[1:],
        }
    )


def _join_labels(rules: KeywordRules, language: str, names: Sequence[str], conjunction: str) -> str:
    labels = [_label(rules, name, language) for name in names]
    if len(labels) <= 1:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} {conjunction} {labels[-1]}"


def _label(rules: KeywordRules, name: str, language: str) -> str:
    category = rules.categories.get(name)
    return category.labels.get(language, name) if category is not None else name


def join_text(
    rules: KeywordRules,
    language: str,
    key: str,
    categories: Sequence[str],
    pending: Sequence[str],
) -> str:
    """A text after the hosted form (`join.texts`): `categories` are granted, `pending` wait for
    the patient's YES. Empty when the file has no `join:`."""
    if rules.join is None:
        return ""
    if language not in rules.join.texts:
        language = rules.default_language
    conjunction = rules.replies.get(language, {}).get("conjunction", "and")
    return (
        rules.join.texts.get(language, {})
        .get(key, "")
        .format_map(
            {
                "program": rules.program.name or rules.program_name,
                "contact": rules.program.contact,
                "frequency": rules.program.frequency.get(language, ""),
                "categories": _join_labels(rules, language, categories, conjunction),
                "pending": _join_labels(rules, language, pending, conjunction),
            }
        )
    )
