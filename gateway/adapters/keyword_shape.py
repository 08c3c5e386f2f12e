"""The shape of keywords.yml, declared once: these models check the file, give editors its
JSON Schema (`smsgate keywords schema`), and are what `keyword_build` turns into the domain's
frozen rules.

A rule within one value is its type (`keyword_types`); a rule across values is a validator
here. A rule across sections notes its problem on `Known` with the full key path, so one
broken section does not hide another's problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from gateway.adapters.keyword_types import (
    AnswerKey,
    Category,
    CategoryKey,
    CategoryName,
    Date,
    DisclosureVersion,
    Flag,
    Hours,
    Intent,
    KeywordText,
    Known,
    Language,
    LanguageKey,
    Meaning,
    Pattern,
    PhraseWords,
    ReadingWords,
    RuleLanguage,
    Scope,
    SenderNumber,
    StateName,
    TemplateText,
    Text,
    Time,
    VersionId,
    at_least,
    default_language,
    every_language,
    fail,
    fields_among,
    known,
    template_fields,
)
from gateway.domain.join_form import JOIN_TEXT_FIELDS
from gateway.domain.normalise import compacted, folded, plain
from gateway.domain.replies import REPLY_FIELDS
from gateway.domain.rules import INTENTS_IN_FILE
from gateway.domain.rules import Intent as Meaningful
from gateway.domain.us_states import canonical_state
from gateway.domain.vocabulary import Phrase, Role, Thing

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"

Texts = list[Text] | None
WordLists = dict[LanguageKey, Texts] | None
ReplyText = Annotated[Text, AfterValidator(fields_among(REPLY_FIELDS))]
JoinText = Annotated[Text, AfterValidator(fields_among(JOIN_TEXT_FIELDS))]


class Shape(BaseModel):
    """A mapping of the file: only its own keys, values as written (no coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- who texts -----------------------------------------------------------------------------


def _frequency(value: Any, info: ValidationInfo) -> Any:
    """One text for every language, or one per language."""
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(known(info).languages, value)
    return value


Frequency = Annotated[
    Annotated[dict[LanguageKey, Text], BeforeValidator(every_language)] | None,
    BeforeValidator(_frequency),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
            ]
        }
    ),
]


class ProgramShape(Shape):
    """What every reply names (CTIA): the program, who to contact, how often we text."""

    name: Text
    contact: Text
    frequency: Frequency = None


class CategoryShape(Shape):
    requires_grant: Flag
    labels: Annotated[dict[LanguageKey, Text], BeforeValidator(every_language)]


class SenderShape(Shape):
    categories: list[Category] | None
    carrier_replies: Flag = False


def _some_language(value: list[str]) -> list[str]:
    if not value:
        raise fail("list at least one language; the first is the default")
    if len(set(value)) != len(value):
        raise fail("a language is listed twice")
    return value


def _some_category(value: dict[str, CategoryShape]) -> dict[str, CategoryShape]:
    if not value:
        raise fail("declare at least one category (transactional, marketing)")
    return value


# --- words ---------------------------------------------------------------------------------


class KeywordGroupShape(Shape):
    """Words with one meaning: `scope` says what they revoke or grant."""

    id: Text
    intent: Intent
    scope: Scope = None
    words: dict[LanguageKey, list[KeywordText] | None] | None

    @model_validator(mode="after")
    def _scope_given(self) -> KeywordGroupShape:
        if self.intent in ("opt_out", "opt_in") and "scope" not in self.model_fields_set:
            raise fail("missing required key 'scope' (what the keyword revokes or grants)")
        return self


class TextRuleShape(Shape):
    """A quoted-instruction or false-positive rule: a regular expression over the folded text
    (`{keyword}` stands for any keyword)."""

    id: Text
    language: RuleLanguage
    pattern: Pattern


class PhraseShape(TextRuleShape):
    scope: Scope = None


class FuzzyShape(Shape):
    min_length: Annotated[int, Field(ge=3), BeforeValidator(at_least(3))] = 4
    real_words: WordLists = None


def _reading_model(name: str, fields: dict[str, Any]) -> Any:
    return create_model(name, __base__=Shape, **fields)


# The sentence-reading lists, one key per role, object and phrase the domain reads.
if TYPE_CHECKING:
    ReadingShape = BaseModel
else:
    ReadingShape = _reading_model(
        "ReadingShape",
        {
            **{role.value: (ReadingWords, None) for role in Role},
            "objects": (
                _reading_model(
                    "ReadingObjectsShape", {thing.value: (ReadingWords, None) for thing in Thing}
                )
                | None,
                None,
            ),
            "phrases": (
                _reading_model(
                    "ReadingPhrasesShape", {kind.value: (PhraseWords, None) for kind in Phrase}
                )
                | None,
                None,
            ),
        },
    )


# --- replies and the opt-in form -----------------------------------------------------------


class RepliesShape(Shape):
    """One language's answers to STOP, a partial STOP, START and HELP."""

    opt_out: ReplyText
    opt_out_partial: ReplyText
    opt_in: ReplyText
    help: ReplyText
    conjunction: Text | None = None


def _form_categories(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    if not value:
        raise fail("name the disclosure shown for at least one category")
    if all(known(info).categories.get(name, True) for name in value):
        raise fail(
            "name a category that needs no grant (transactional): entering the number on "
            "the form agrees to it, and the confirmation text is one of its messages"
        )
    return value


def _needs_grant(name: str, info: ValidationInfo) -> str:
    if not known(info).categories.get(name, True):
        raise fail(f"'{name}' needs no grant, so there is nothing for a YES to confirm")
    return name


class JoinTextsShape(Shape):
    confirmation: JoinText
    confirmation_pending: JoinText
    confirmed: JoinText


class JoinShape(Shape):
    """The hosted opt-in form (SPEC §10): the disclosure shown per category and language,
    which categories wait for the patient's YES, and the texts sent after the form."""

    disclosures: Annotated[
        dict[
            CategoryKey,
            Annotated[dict[LanguageKey, DisclosureVersion], BeforeValidator(default_language)],
        ],
        AfterValidator(_form_categories),
    ]
    double_opt_in: list[Annotated[Category, AfterValidator(_needs_grant)]] | None = None
    pending_hours: Hours = 72
    texts: Annotated[dict[LanguageKey, JoinTextsShape], BeforeValidator(default_language)]


# --- when and what the clinic may send -----------------------------------------------------


class WindowShape(Shape):
    """Local time, start inclusive, end exclusive."""

    start: Time
    end: Time

    @model_validator(mode="after")
    def _in_order(self) -> WindowShape:
        if self.start >= self.end:
            raise fail("start must be before end (windows do not cross midnight)")
        return self


_LEFT_OUT: Any = None  # a day's default: not one of the values a day accepts


class StateWindowShape(Shape):
    """A state's window every day (`daily`) or on named days; a day not named takes daily."""

    # A day may be left out, not left empty: `sun:` with nothing after it (YAML's null) is
    # refused, as the old validator did, not read as "take daily". Left out, a day is None.
    daily: WindowShape = _LEFT_OUT
    mon: WindowShape = _LEFT_OUT
    tue: WindowShape = _LEFT_OUT
    wed: WindowShape = _LEFT_OUT
    thu: WindowShape = _LEFT_OUT
    fri: WindowShape = _LEFT_OUT
    sat: WindowShape = _LEFT_OUT
    sun: WindowShape = _LEFT_OUT

    @model_validator(mode="after")
    def _some_day(self) -> StateWindowShape:
        if not self.model_fields_set:
            raise fail("give a window for daily or for named days (mon … sun)")
        return self


class CapShape(Shape):
    count: Hours
    hours: Hours
    enabled: Flag = True


class TemplateShape(Shape):
    """A message the clinic sends; `phi` marks this template's health-information fields."""

    category: Category
    phi: Texts = None
    text: TemplateText
    answers: dict[AnswerKey, Meaning] | None = None
    private_text: TemplateText | None = None

    @field_validator("text")
    @classmethod
    def _no_health_information_in_marketing(cls, text: str, info: ValidationInfo) -> str:
        # HIPAA §164.501/§164.508: marketing never carries protected health information.
        category = info.data.get("category")
        used = [f for f in dict.fromkeys(template_fields(text)) if f in _phi(info)]
        if used and known(info).categories.get(str(category), False):
            raise fail(
                f"a {category} template may not use protected health information: "
                + ", ".join(used)
            )
        return text

    @field_validator("private_text")
    @classmethod
    def _private_text(cls, private: str | None, info: ValidationInfo) -> str | None:
        """The text for a number with no PHI by text (HIPAA §164.522(b)): it may use only the
        template's own fields that are not PHI ("You have an appointment tomorrow. Call us")."""
        if private is None:
            return None
        used, phi = list(dict.fromkeys(template_fields(private))), _phi(info)
        problems = []
        if phi_used := [f for f in used if f in phi]:
            problems.append(
                "a private text may not use protected health information: " + ", ".join(phi_used)
            )
        own = template_fields(info.data["text"]) if "text" in info.data else None
        if own is not None and (unknown := [f for f in used if f not in phi and f not in own]):
            problems.append(
                "a private text may use only the template's own fields; not in its text: "
                + ", ".join(unknown)
            )
        if problems:
            raise fail("; ".join(problems))
        return private


def _phi(info: ValidationInfo) -> set[str]:
    return set(known(info).phi_fields) | set(info.data.get("phi") or ())


# --- the file ------------------------------------------------------------------------------


class KeywordsFile(Shape):
    """keywords.yml: what patients' texts mean, what we answer, and when we may text them."""

    model_config = ConfigDict(title="keywords.yml")

    program: ProgramShape
    languages: Annotated[list[Language], AfterValidator(_some_language)]
    categories: Annotated[dict[CategoryName, CategoryShape], AfterValidator(_some_category)]
    senders: dict[SenderNumber, SenderShape] | None = None
    revoke_all_from: Date = None
    reply_cap_per_hour: Hours = 5
    keywords: list[KeywordGroupShape]
    carrier_keywords: Texts = None
    filler_words: WordLists = None
    reading: dict[LanguageKey, ReadingShape] | None = None
    phrases: list[PhraseShape] | None = None
    quoted_instructions: list[TextRuleShape] | None = None
    reactions: WordLists = None
    false_positives: list[TextRuleShape] | None = None
    fuzzy: FuzzyShape | None = None
    answer_window_hours: Hours = 72
    replies: Annotated[dict[LanguageKey, RepliesShape], BeforeValidator(every_language)]
    disclosures: dict[VersionId, Text] | None = None
    join: JoinShape | None = None
    quiet_hours: dict[CategoryKey, WindowShape] | None = None
    state_windows: dict[StateName, StateWindowShape] | None = None
    frequency_caps: dict[CategoryKey, list[CapShape] | None] | None = None
    phi_fields: Texts = None
    templates: dict[Text, TemplateShape] | None = None

    @field_validator("keywords", mode="wrap")
    @classmethod
    def _one_meaning_per_word(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """A word means one thing in one language, so a reply's language is never a guess.
        Checked on the groups as written, so a group with another problem still counts."""
        try:
            return handler(value)
        finally:
            if isinstance(value, list):
                _words_in_one_group(value, known(info))

    @field_validator("phrases", "quoted_instructions", "false_positives")
    @classmethod
    def _one_rule_per_id(
        cls, rules: list[TextRuleShape] | None, info: ValidationInfo
    ) -> list[TextRuleShape] | None:
        seen: set[str] = set()
        for i, rule in enumerate(rules or ()):
            if rule.id in seen:
                known(info).note(
                    (str(info.field_name), i, "id"),
                    f"the id '{rule.id}' is used twice in {info.field_name}",
                )
            seen.add(rule.id)
        return rules

    @field_validator("fuzzy")
    @classmethod
    def _look_alikes_are_not_keywords(
        cls, fuzzy: FuzzyShape | None, info: ValidationInfo
    ) -> FuzzyShape | None:
        keywords = {compacted(folded(w)) for w in _keyword_words(info)}
        for language, words in ((fuzzy.real_words if fuzzy else None) or {}).items():
            for i, word in enumerate(words or ()):
                if compacted(folded(word)) in keywords:
                    known(info).note(
                        ("fuzzy", "real_words", language, i),
                        f"'{word}' is a keyword, not a look-alike",
                    )
        return fuzzy

    @field_validator("state_windows")
    @classmethod
    def _one_window_per_state(
        cls, windows: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        written_as: dict[str, str] = {}
        for written in windows or {}:
            state = str(canonical_state(written))
            if state in written_as:
                known(info).note(
                    ("state_windows", written),
                    f"{state} is given twice (also as '{written_as[state]}')",
                )
            written_as.setdefault(state, written)
        return windows

    @field_validator("templates")
    @classmethod
    def _answers_are_not_opt_outs(
        cls, templates: dict[str, TemplateShape] | None, info: ValidationInfo
    ) -> dict[str, TemplateShape] | None:
        """An opt-out always wins over an answer, so "CANCEL: decline" could never be read."""
        opt_outs = {plain(w) for w in _keyword_words(info, Meaningful.OPT_OUT)}
        for name, template in (templates or {}).items():
            for key in template.answers or {}:
                if plain(key) in opt_outs:
                    known(info).note(
                        ("templates", name, "answers", key),
                        f"'{key}' is an opt-out keyword: it always opts out, never answers",
                    )
        return templates


def _words_in_one_group(groups: list[Any], found: Known) -> None:
    ids, seen = set[str](), dict[str, tuple[str | int, ...]]()
    for i, group in enumerate(groups):
        spec = group if isinstance(group, Mapping) else {}
        if isinstance(group_id := spec.get("id"), str):
            if group_id in ids:
                found.note(("keywords", i, "id"), f"the group id '{group_id}' is used twice")
            ids.add(group_id)
        words = spec.get("words")
        for language, listed in words.items() if isinstance(words, Mapping) else ():
            for j, word in enumerate(listed if isinstance(listed, list) else ()):
                if not isinstance(word, str):
                    continue
                key, path = plain(word), ("keywords", i, "words", str(language), j)
                if key in seen and seen[key][:-1] != path[:-1]:
                    first = ".".join(str(p) for p in seen[key])
                    found.note(path, f"'{word}' is already a keyword at {first}")
                seen.setdefault(key, path)
    present = {g.get("intent") for g in groups if isinstance(g, Mapping)}
    for intent in INTENTS_IN_FILE:
        if intent.value not in present:
            found.note(("keywords",), f"no keyword group with intent {intent}")


def _keyword_words(info: ValidationInfo, intent: Meaningful | None = None) -> list[str]:
    """The keywords, when that section is valid (else its own problems are reported)."""
    groups: list[KeywordGroupShape] = info.data.get("keywords") or []
    return [
        word
        for group in groups
        if intent is None or group.intent == intent.value
        for words in (group.words or {}).values()
        for word in words or ()
    ]


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors check keywords.yml with (completion, inline errors)."""
    schema: dict[str, Any] = _closed({"$schema": SCHEMA_URL, **KeywordsFile.model_json_schema()})
    return schema


def _closed(node: Any) -> Any:
    """pydantic writes a mapping with keys of a pattern (senders, languages) as
    `patternProperties`, which lets any other key through; here, as in the models, they may
    not."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    found = {key: _closed(value) for key, value in node.items()}
    if "patternProperties" in found and "additionalProperties" not in found:
        found["additionalProperties"] = False
    return found
