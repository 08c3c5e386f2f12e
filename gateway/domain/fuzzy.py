"""A keyword despite spacing, repeats, look-alikes or one slip of the thumb (SPEC §5.4). PURE."""

from __future__ import annotations

from gateway.domain.keyword_index import Keyword
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import compacted, squeezed
from gateway.domain.rules import Classification, Intent


def fuzzy_keyword(loose: str, rules: KeywordRules) -> Classification | None:
    """A keyword despite spacing, repeats, look-alikes or one typo; real words go to review."""
    tokens = loose.split()
    if not tokens or (len(tokens) > 3 and any(len(t) > 1 for t in tokens)):
        return None
    compact = compacted(loose)
    index = rules.index
    if compact in index.compact:
        return index.compact[compact].read("fuzzy")
    candidates = index.squeezed.get(squeezed(compact)) or _typo_candidates(compact, rules)
    if not candidates:
        return None
    first = candidates[0]
    if compact in rules.real_words or len({k.group.intent for k in candidates}) > 1:
        rule = f"fuzzy_uncertain:{first.language}:{first.word}"
        return Classification(Intent.REVIEW, (), first.language, rule, False)
    return first.read("fuzzy")


def _typo_candidates(compact: str, rules: KeywordRules) -> list[Keyword]:
    if len(compact) < rules.fuzzy_min_length - 1:
        return []
    return [
        keyword
        for target, keyword in rules.index.typo_targets
        if _one_slip(compact, target) or _anagram(compact, target)
    ]


def _anagram(text: str, target: str) -> bool:
    """ "POTS" and "SPOT" hold STOP's letters: only ever a candidate, never a match alone."""
    return len(text) == len(target) and sorted(text) == sorted(target)


def _one_slip(text: str, target: str) -> bool:
    """One letter wrong, missing, extra, or two neighbours swapped (Damerau, distance ≤ 1)."""
    if text == target:
        return True
    if len(text) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(text, target, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and text[diffs[0]] == target[diffs[1]]
            and text[diffs[1]] == target[diffs[0]]
        )
    shorter, longer = sorted((text, target), key=len)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
