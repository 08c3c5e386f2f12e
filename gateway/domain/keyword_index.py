"""The lookup tables the classifier reads, built once per rules (SPEC §5.4). PURE."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.domain.normalise import WORDS, compacted, folded, plain, squeezed
from gateway.domain.rules import Classification, Intent, KeywordGroup


@dataclass(frozen=True)
class Keyword:
    group: KeywordGroup
    language: str
    word: str  # as written in the file
    standard: bool  # the carrier answers this word itself

    def read(self, how: str, *, standard: bool = False) -> Classification:
        rule = f"{how}:{self.language}:{self.word}"
        return Classification(self.group.intent, self.group.scope, self.language, rule, standard)


@dataclass
class KeywordIndex:
    exact: dict[str, Keyword] = field(default_factory=dict)
    sequences: dict[tuple[str, ...], Keyword | None] = field(default_factory=dict)
    compact: dict[str, Keyword] = field(default_factory=dict)
    squeezed: dict[str, list[Keyword]] = field(default_factory=dict)
    typo_targets: list[tuple[str, Keyword]] = field(default_factory=list)
    main: dict[Intent, KeywordGroup] = field(default_factory=dict)
    opt_out_words: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        groups: Iterable[KeywordGroup],
        carrier_keywords: frozenset[str],
        filler_words: Mapping[str, tuple[str, ...]],
        opt_out_words: Mapping[str, tuple[str, ...]],
        fuzzy_min_length: int,
    ) -> KeywordIndex:
        index = cls()
        for group in groups:
            index.main.setdefault(group.intent, group)
            for language, words in group.words.items():
                for word in words:
                    standard = plain(word) in carrier_keywords
                    index.add(Keyword(group, language, word, standard), fuzzy_min_length)
        for words in filler_words.values():
            for word in words:
                index.sequences.setdefault(tuple(WORDS.findall(plain(word))), None)
        for language, words in opt_out_words.items():
            index.opt_out_words.append((language, _word_pattern(words)))
        return index

    def add(self, keyword: Keyword, min_length: int) -> None:
        self.exact.setdefault(plain(keyword.word), keyword)
        self.sequences[tuple(WORDS.findall(plain(keyword.word)))] = keyword
        compact = compacted(folded(keyword.word))
        self.compact.setdefault(compact, keyword)
        self.squeezed.setdefault(squeezed(compact), []).append(keyword)
        if len(compact) >= min_length:
            self.typo_targets.append((compact, keyword))

    @property
    def longest_sequence(self) -> int:
        return max((len(k) for k in self.sequences), default=0)


def _word_pattern(words: Iterable[str]) -> re.Pattern[str]:
    forms = sorted({folded(w) for w in words if folded(w)}, key=len, reverse=True)
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in forms)
    return re.compile(rf"\b(?:{alternatives})\b" if forms else r"(?!)")
