"""The lookup tables the classifier reads, built once per rules (SPEC §5.4). PURE."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.domain.normalise import WORDS, compacted, folded, plain, squeezed
from gateway.domain.rules import Classification, Intent, KeywordGroup, TextRule
from gateway.domain.vocabulary import tokens


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
    # The same, as words of the folded text (no accents, look-alikes mapped): for clauses.
    folded_sequences: dict[tuple[str, ...], Keyword | None] = field(default_factory=dict)
    fillers: set[tuple[str, ...]] = field(default_factory=set)
    reactions: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    longest: int = 0  # words in the longest keyword or filler
    quoted: tuple[re.Pattern[str], ...] = ()  # the quoted-instruction rules, for folded text
    compact: dict[str, Keyword] = field(default_factory=dict)
    squeezed: dict[str, list[Keyword]] = field(default_factory=dict)
    # Keywords a typo may stand for, by each form less one letter, and by their letters.
    # (positions in `typos`, in file order).
    typos: list[tuple[str, Keyword]] = field(default_factory=list)
    typo_targets: dict[str, list[int]] = field(default_factory=dict)
    anagrams: dict[str, list[int]] = field(default_factory=dict)
    main: dict[Intent, KeywordGroup] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        groups: Iterable[KeywordGroup],
        carrier_keywords: frozenset[str],
        filler_words: Mapping[str, tuple[str, ...]],
        reactions: Mapping[str, tuple[str, ...]],
        fuzzy_min_length: int,
        languages: Iterable[str],
    ) -> KeywordIndex:
        index, switched_on = cls(), set(languages)
        for group in groups:
            index.main.setdefault(group.intent, group)
            for language, words in group.words.items():
                for word in words:
                    standard = plain(word) in carrier_keywords
                    keyword = Keyword(group, language, word, standard)
                    index.add(keyword, fuzzy_min_length, fuzzy=language in switched_on)
        for words in filler_words.values():
            for word in words:
                index.sequences.setdefault(tuple(WORDS.findall(plain(word))), None)
                index.folded_sequences.setdefault(tuple(tokens(folded(word))), None)
                index.fillers.add(tuple(WORDS.findall(plain(word))))
        for language, prefixes in reactions.items():
            index.reactions.append((language, _reaction_pattern(prefixes)))
        return index.finish()

    def add(self, keyword: Keyword, min_length: int, *, fuzzy: bool) -> None:
        """Every keyword is read exactly; only those of the languages switched on through
        typos and look-alikes (French AIDE must not make "side" a typo)."""
        self.exact.setdefault(plain(keyword.word), keyword)
        self.sequences[tuple(WORDS.findall(plain(keyword.word)))] = keyword
        self.folded_sequences.setdefault(tuple(tokens(folded(keyword.word))), keyword)
        if not fuzzy:
            return
        compact = compacted(folded(keyword.word))
        self.compact.setdefault(compact, keyword)
        self.squeezed.setdefault(squeezed(compact), []).append(keyword)
        if len(compact) >= min_length:
            at = len(self.typos)
            self.typos.append((compact, keyword))
            for deleted in {
                compact,
                *(compact[:i] + compact[i + 1 :] for i in range(len(compact))),
            }:
                self.typo_targets.setdefault(deleted, []).append(at)
            self.anagrams.setdefault("".join(sorted(compact)), []).append(at)

    def finish(self) -> KeywordIndex:
        self.longest = max((len(k) for k in (*self.sequences, *self.folded_sequences)), default=0)
        return self


def lower_case(rules: Iterable[TextRule]) -> tuple[re.Pattern[str], ...]:
    """The rules as they run on a folded (lower-case) text: without IGNORECASE where the
    pattern names no capital letter — three times faster, and most texts match none."""
    found = []
    for rule in rules:
        source = rule.pattern.pattern
        caseless = re.sub(r"\\.", "", source) == re.sub(r"\\.", "", source).lower()
        found.append(re.compile(source) if caseless else rule.pattern)
    return tuple(found)


_QUOTE = "\"“”«‘'"
_MEDIA = r"(?:an?\s+)?(?:image|photo|picture|attachment|video|movie|sticker|gif|imagen|foto)"


def _reaction_pattern(prefixes: Iterable[str]) -> re.Pattern[str]:
    """`Liked “…”`, `Reacted 👍 to “…”`, `Loved an image`: a reaction, not words of its own."""
    forms = sorted({" ".join(folded(p).split()) for p in prefixes if folded(p)}, key=len)
    names = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in reversed(forms))
    quoted = rf"[^{_QUOTE}\n]{{0,24}}[{_QUOTE}]"
    emoji_to = rf"[^\w\s]{{1,8}}\s+to\s+[{_QUOTE}]"  # Android: 👍 to “…”
    if not forms:
        return re.compile(emoji_to)
    return re.compile(rf"\s*(?:(?:{names})(?:{quoted}|\s+{_MEDIA}\s*$)|{emoji_to})")
