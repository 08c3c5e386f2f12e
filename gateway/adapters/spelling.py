"""Real words, from a maintained word-frequency list (pyspellchecker: English, Spanish,
French and more, from large public corpora) instead of a list we would keep by hand.

The classifier asks it once per rules build which look-alikes of a keyword are real words
("step", "shop" beside STOP; "star" beside START): those go to staff review instead of
being read as the keyword.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from spellchecker import SpellChecker

# Seen at least this often in the list's corpus: rarer entries are mostly typos and names
# that the list keeps ("stp" is not there at all; "sop" is seen 272 times, "step" 247,917).
MIN_COUNT = 100


@functools.cache
def _frequencies(language: str) -> Any | None:
    try:
        return SpellChecker(language=language, distance=1).word_frequency
    except ValueError:
        return None  # no list ships for that language: its look-alikes are not checked


def dictionary_for(languages: Iterable[object]) -> Callable[[str], bool]:
    """Whether a word is a real word in any of the languages."""
    lists = [
        frequencies.dictionary
        for language in languages
        if isinstance(language, str) and (frequencies := _frequencies(language)) is not None
    ]

    def is_word(word: str) -> bool:
        return any(counts.get(word, 0) >= MIN_COUNT for counts in lists)

    return is_word
