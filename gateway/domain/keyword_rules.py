"""`KeywordRules`: everything keywords.yml says, as frozen data, with the classifier's index.

PURE: reading and checking the file is the adapter's (`gateway.adapters.keyword_file`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.join_form import JoinRules
from gateway.domain.keyword_index import KeywordIndex, lower_case
from gateway.domain.rules import (
    CategoryRule,
    FrequencyCap,
    Intent,
    KeywordGroup,
    Problem,
    Program,
    Sender,
    StateWindow,
    Template,
    TextRule,
    TimeWindow,
)
from gateway.domain.vocabulary import Vocabulary


@dataclass(frozen=True)
class KeywordRules:
    program_name: str
    categories: Mapping[str, CategoryRule]
    senders: Mapping[str, Sender]  # E.164 -> Sender
    languages: tuple[str, ...]  # first is the default
    revoke_all_from: dt.date | None
    reply_cap_per_hour: int
    disclosures: Mapping[str, str]  # version id -> disclosure text on file
    raw: Mapping[str, Any] = field(default_factory=dict)
    program: Program = Program("", "", {})  # noqa: RUF009 (frozen: one shared default is safe)
    keyword_groups: tuple[KeywordGroup, ...] = ()
    carrier_keywords: frozenset[str] = frozenset()  # casefolded words the carrier answers
    filler_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    phrases: tuple[TextRule, ...] = ()
    quoted_instructions: tuple[TextRule, ...] = ()
    false_positives: tuple[TextRule, ...] = ()
    vocabularies: tuple[Vocabulary, ...] = ()  # sentence reading, one per language switched on
    reactions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    answer_window_hours: int = 72
    fuzzy_min_length: int = 4
    real_words: frozenset[str] = frozenset()
    replies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    quiet_hours: Mapping[str, TimeWindow] = field(default_factory=dict)
    state_windows: Mapping[str, StateWindow] = field(default_factory=dict)
    frequency_caps: Mapping[str, tuple[FrequencyCap, ...]] = field(default_factory=dict)
    phi_fields: frozenset[str] = frozenset()
    templates: Mapping[str, Template] = field(default_factory=dict)
    join: JoinRules | None = None  # the hosted opt-in form; None: not offered
    warnings: tuple[Problem, ...] = ()
    _index: KeywordIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = KeywordIndex.build(
            self.keyword_groups,
            self.carrier_keywords,
            self.filler_words,
            self.reactions,
            self.fuzzy_min_length,
            self.languages,
        )
        index.quoted = lower_case(self.quoted_instructions)
        object.__setattr__(self, "_index", index)

    @property
    def index(self) -> KeywordIndex:
        """The classifier's lookup tables, built with the rules."""
        return self._index

    def sender_categories(self, to: str | None) -> tuple[str, ...]:
        """Categories the clinic number carries; an unconfigured number carries all."""
        sender = self.senders.get(to) if to is not None else None
        return sender.categories if sender is not None else tuple(self.categories)

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else "en"

    def main_group(self, intent: Intent) -> KeywordGroup | None:
        """The first group of an intent: Twilio's OptOutType and the stop sign use its scope."""
        return self._index.main.get(intent)

    def caps_for(self, category: str) -> tuple[FrequencyCap, ...]:
        return tuple(cap for cap in self.frequency_caps.get(category, ()) if cap.enabled)
