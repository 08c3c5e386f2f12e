"""Keyword rules and the classifier (SPEC §5): the one import for the rest of the gateway. PURE.

`KeywordRules.from_mapping` turns the parsed keywords.yml into rules, reporting every problem
at once (clinic staff edit the file by hand). `classify` reads one inbound text;
`scoped_categories` says which categories it revokes or grants; `compose_reply` words the
answer. Regular expressions are compiled once, when the rules are built.

The pieces live beside this module, one concern each: `rules` (the plain data), `normalise`,
`segments`, `keyword_schema` with its `schema_*` sections, `keyword_index`, `classify`,
`fuzzy` and `replies`.
"""

from gateway.domain.classify import classify
from gateway.domain.join_form import Disclosure, JoinRules, form_disclosure
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.keyword_schema import REQUIRED_TOP_KEYS, TOP_KEYS
from gateway.domain.normalise import folded, plain
from gateway.domain.replies import compose_reply, join_text, scoped_categories
from gateway.domain.rules import (
    SCOPE_WORDS,
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
from gateway.domain.schema_replies import REPLY_FIELDS, REPLY_KEYS
from gateway.domain.schema_sending import WEEKDAYS
from gateway.domain.schema_words import INTENTS_IN_FILE
from gateway.domain.segments import non_gsm7, segment_size

__all__ = [
    "INTENTS_IN_FILE",
    "REPLY_FIELDS",
    "REPLY_KEYS",
    "REQUIRED_TOP_KEYS",
    "SCOPE_WORDS",
    "TOP_KEYS",
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
