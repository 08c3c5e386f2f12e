"""Classifying one inbound text (SPEC §5.4). PURE.

The steps run from the surest reading to the loosest; opt-out wins over everything else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator

from gateway.domain.fuzzy import fuzzy_keyword
from gateway.domain.keyword_index import Keyword, KeywordIndex
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import WORDS, folded, plain, visible
from gateway.domain.rules import Classification, Intent, TextRule

_STOP_SIGNS = frozenset({"🛑"})
_PRIORITY = {Intent.OPT_OUT: 0, Intent.OPT_IN: 1, Intent.HELP: 2}


def classify(text: str, rules: KeywordRules, opt_out_type: str | None = None) -> Classification:
    """What the patient's text asks for. Opt-out wins over everything else in one message."""
    local = _read_text(text, rules)
    return _with_carrier_verdict(local, rules, opt_out_type)


def _read_text(text: str, rules: KeywordRules) -> Classification:
    index = rules.index
    exact = plain(text)
    keyword = index.exact.get(exact)
    if keyword is not None:
        return keyword.read("keyword", standard=keyword.standard)
    loose = folded(text)
    steps: tuple[Callable[[], Classification | None], ...] = (
        lambda: _stop_sign(text, rules),
        lambda: _keyword_sequence(exact, index),
        lambda: fuzzy_keyword(loose, rules),
        lambda: _quoted_instruction(loose, rules),
        lambda: _phrase(loose, rules),
    )
    for step in steps:
        found = step()
        if found is not None:
            return found
    return _opt_out_word(loose, rules)


def _stop_sign(text: str, rules: KeywordRules) -> Classification | None:
    """🛑 alone (or repeated) reads as STOP."""
    marks = {ch for ch in visible(text) if not ch.isspace() and not _is_punctuation(ch)}
    group = rules.main_group(Intent.OPT_OUT)
    if not marks or not marks <= _STOP_SIGNS or group is None:
        return None
    return Classification(Intent.OPT_OUT, group.scope, rules.default_language, "emoji:🛑", False)


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _keyword_sequence(exact: str, index: KeywordIndex) -> Classification | None:
    """Only keywords and polite words ("STOP please", "HELP STOP"): the strongest one wins."""
    tokens = WORDS.findall(exact)
    found: list[Keyword] = []
    position, longest = 0, index.longest_sequence
    while position < len(tokens):
        for size in range(min(longest, len(tokens) - position), 0, -1):
            key = tuple(tokens[position : position + size])
            if key in index.sequences:
                if (keyword := index.sequences[key]) is not None:
                    found.append(keyword)
                position += size
                break
        else:
            return None
    if not found:
        return None
    best = min(found, key=lambda k: _PRIORITY[k.group.intent])
    same = [k for k in found if k.group.intent is best.group.intent]
    scope = tuple(dict.fromkeys(s for k in same for s in k.group.scope))
    return Classification(
        best.group.intent, scope, best.language, f"keyword:{best.language}:{best.word}", False
    )


def _quoted_instruction(loose: str, rules: KeywordRules) -> Classification | None:
    """An echoed "Reply STOP to unsubscribe" is not a request, and is never answered (loops)."""
    for rule in rules.quoted_instructions:
        if rule.pattern.search(loose):
            return Classification(Intent.REVIEW, (), rule.language, "quoted_instruction", False)
    return None


def _phrase(loose: str, rules: KeywordRules) -> Classification | None:
    """Free-text opt-outs: FCC §64.1200(a)(10) "any reasonable means"."""
    for rule in rules.phrases:
        if rule.pattern.search(loose):
            scope = rule.scope or _main_scope(rules, Intent.OPT_OUT)
            return Classification(
                Intent.OPT_OUT, scope, rule.language, f"phrase:{rule.language}:{rule.id}", False
            )
    return None


def _opt_out_word(loose: str, rules: KeywordRules) -> Classification:
    """An opt-out word in another sentence: `none` only when every such word is explained."""
    words = _opt_out_word_spans(loose, rules)
    if not words:
        return Classification(Intent.NONE, (), rules.default_language, "none", False)
    explained = [(span, rule) for span, rule in _false_positive_spans(loose, rules)]
    for (start, end), language, word in words:
        if not any(a <= start and end <= b for (a, b), _ in explained):
            rule = f"opt_out_word:{language}:{word}"
            return Classification(Intent.REVIEW, (), language, rule, False)
    (start, end), _, _ = words[0]
    covering = next(rule for (a, b), rule in explained if a <= start and end <= b)
    rule_name = f"false_positive:{covering.language}:{covering.id}"
    return Classification(Intent.NONE, (), covering.language, rule_name, False)


def _opt_out_word_spans(loose: str, rules: KeywordRules) -> list[tuple[tuple[int, int], str, str]]:
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for language, pattern in rules.index.opt_out_words:
        for match in pattern.finditer(loose):
            found.setdefault(match.span(), (language, " ".join(match.group(0).split())))
    return [(span, lang, word) for span, (lang, word) in sorted(found.items())]


def _false_positive_spans(
    loose: str, rules: KeywordRules
) -> Iterator[tuple[tuple[int, int], TextRule]]:
    for rule in rules.false_positives:
        for match in rule.pattern.finditer(loose):
            yield match.span(), rule


def _main_scope(rules: KeywordRules, intent: Intent) -> tuple[str, ...]:
    group = rules.main_group(intent)
    return group.scope if group is not None else ("sender",)


_CARRIER_INTENTS = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}


def _with_carrier_verdict(
    local: Classification, rules: KeywordRules, opt_out_type: str | None
) -> Classification:
    """Twilio's OptOutType counts unless our own reading is stronger (opt-out always is)."""
    kind = (opt_out_type or "").strip().upper()
    carrier = _CARRIER_INTENTS.get(kind)
    if carrier is None or local.intent is Intent.OPT_OUT:
        return local
    if carrier is Intent.OPT_OUT or local.intent in (Intent.REVIEW, Intent.NONE):
        scope = _main_scope(rules, carrier) if carrier is not Intent.HELP else ()
        return Classification(carrier, scope, local.language, f"optout_type:{kind}", True)
    return local
