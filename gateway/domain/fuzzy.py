"""A keyword despite spacing, repeats, look-alikes or one slip of the thumb (SPEC §5.4). PURE."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import permutations
from typing import TYPE_CHECKING

from gateway.domain.keyword_index import Keyword
from gateway.domain.normalise import compacted, folded, squeezed
from gateway.domain.rules import Classification, Intent, KeywordGroup

if TYPE_CHECKING:
    from gateway.domain.keyword_rules import KeywordRules


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
        why = f"reads like {first.word}, but is also a word of its own"
        return Classification(Intent.REVIEW, (), first.language, rule, False, why, "opt_out")
    return first.read("fuzzy")


def _typo_candidates(compact: str, rules: KeywordRules) -> list[Keyword]:
    if len(compact) < rules.fuzzy_min_length - 1:
        return []
    index = rules.index
    near = {p for d in deletions(compact) for p in index.typo_targets.get(d, ())}
    near.update(index.anagrams.get("".join(sorted(compact)), ()))
    return [
        keyword
        for target, keyword in (index.typos[at] for at in sorted(near))
        if one_slip(compact, target) or _anagram(compact, target)
    ]


def deletions(word: str) -> set[str]:
    """The word and the word less one letter: two words one slip apart share one of these."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _anagram(text: str, target: str) -> bool:
    """ "POTS" and "SPOT" hold STOP's letters: only ever a candidate, never a match alone."""
    return len(text) == len(target) and sorted(text) == sorted(target)


def one_slip(text: str, target: str) -> bool:
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


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def dictionary_words(
    groups: Iterable[KeywordGroup],
    languages: Iterable[str],
    min_length: int,
    dictionary: Callable[[str], bool] | None,
) -> frozenset[str]:
    """The real words a typo of a keyword could be ("step" for STOP, "star" for START): asked
    of a maintained dictionary once, when the rules are built, so classifying stays a lookup."""
    if dictionary is None:
        return frozenset()
    near: set[str] = set()
    switched_on = set(languages)
    for group in groups:
        for language, words in group.words.items():
            if language not in switched_on:
                continue
            for word in words:
                compact = compacted(folded(word))
                if len(compact) >= min_length and compact.isalpha():
                    near |= _look_alikes_of(compact)
    return frozenset(w for w in near if dictionary(w))


def _look_alikes_of(word: str) -> set[str]:
    """One slip away (wrong, missing, extra or swapped letter), a letter doubled, or the same
    letters in another order (for short words)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    found = {a + b[1:] for a, b in splits if b}
    found |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    found |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    found |= {a + c + b for a, b in splits for c in _LETTERS}
    found |= {a + b[0] + b for a, b in splits if b}
    if len(word) <= 6:
        found |= {"".join(p) for p in permutations(word)}
    found.discard(word)
    return found
