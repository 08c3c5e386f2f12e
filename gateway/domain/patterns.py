"""How a phrase, quoted-instruction or false-positive pattern is read (SPEC §5). PURE."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from gateway.domain.normalise import folded, strip_accents
from gateway.domain.rules import KeywordGroup


def keyword_alternation(groups: Sequence[KeywordGroup]) -> str:
    """`{keyword}` in a pattern: any keyword, as it reads in the folded text. Written as a
    trie ("s(?:top(?:all)?|alir)…"): a plain list of 150 words makes every search slow."""
    return words_alternation(w for g in groups for ws in g.words.values() for w in ws)


def words_alternation(words: Iterable[str]) -> str:
    """`{keyword}` for these words (the same trie `keyword_alternation` writes)."""
    return _trie({f for w in words if (f := folded(w))})


def compile_pattern(source: str, keyword_pattern: str) -> re.Pattern[str]:
    """A rule's pattern as it is matched; raises re.error when it is not a regular expression."""
    # Texts are matched without accents, so patterns are read without them too.
    source = strip_accents(source).replace("{keyword}", keyword_pattern)
    return re.compile(source, re.IGNORECASE)


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
