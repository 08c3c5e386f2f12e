"""Keyword rules and the classifier (SPEC §5): the one import for the rest of the gateway. PURE.

`KeywordRules` is everything keywords.yml says, as frozen data (the file is read and checked
by `gateway.adapters.keyword_file`). `classify` reads one inbound text;
`scoped_categories` says which categories it revokes or grants; `compose_reply` words the
answer. Regular expressions are compiled once, when the rules are built.

The pieces live beside this module, one concern each: `rules` (the plain data), `normalise`,
`segments`, `patterns`, `keyword_index`, `classify`, `fuzzy` and `replies`.
"""

from gateway.domain.classify import classify
from gateway.domain.join_form import Disclosure, JoinRules, form_disclosure
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import folded, plain
from gateway.domain.replies import (
    REPLY_FIELDS,
    REPLY_KEYS,
    compose_reply,
    join_text,
    scoped_categories,
)
from gateway.domain.rules import (
    INTENTS_IN_FILE,
    SCOPE_WORDS,
    WEEKDAYS,
    CategoryRule,
    Classification,
    FrequencyCap,
    Intent,
    KeyPath,
    KeywordGroup,
    KeywordsError,
    Problem,
    Program,
    Sender,
    Severity,
    StateWindow,
    Template,
    TextRule,
    TimeWindow,
)
from gateway.domain.segments import non_gsm7, segment_size

__all__ = [
    "INTENTS_IN_FILE",
    "REPLY_FIELDS",
    "REPLY_KEYS",
    "SCOPE_WORDS",
    "WEEKDAYS",
    "CategoryRule",
    "Classification",
    "Disclosure",
    "FrequencyCap",
    "Intent",
    "JoinRules",
    "KeyPath",
    "KeywordGroup",
    "KeywordRules",
    "KeywordsError",
    "Problem",
    "Program",
    "Sender",
    "Severity",
    "StateWindow",
    "Template",
    "TextRule",
    "TimeWindow",
    "classify",
    "compose_reply",
    "folded",
    "form_disclosure",
    "join_text",
    "non_gsm7",
    "plain",
    "scoped_categories",
    "segment_size",
]
