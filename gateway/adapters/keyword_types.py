"""The values keywords.yml holds (a text, a time, a category's name …), as pydantic types whose
errors are worded for the clinic's staff, and the context they are checked against.

A value that names something declared elsewhere in the file (a category, a language, a
disclosure) is checked against `Known`, read leniently from the raw file before validation,
so a scope naming an unknown category is reported even when the categories have errors too.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from gateway.domain.normalise import plain
from gateway.domain.patterns import compile_pattern, words_alternation
from gateway.domain.restriction import RESTRICTIONS
from gateway.domain.rules import INTENTS_IN_FILE, SCOPE_WORDS, KeyPath, Problem
from gateway.domain.us_states import canonical_state
from gateway.domain.vocabulary import NAME, word_key

HHMM = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]+)?")
LANGUAGE_CODE = f"^{LANGUAGE.pattern}$"
E164 = r"^\+[1-9]\d{6,14}$"
CATEGORY = re.compile(r"[a-z][a-z0-9_]*")
ANSWER_LENGTH = 40  # what an answer means ("confirm"), as stored with the inbound text


@dataclass
class Known:
    """What the file declares, read before validation; `problems` gathers the rules that span
    sections (a word in two groups), each with its full key path."""

    languages: tuple[str, ...] = ()
    categories: Mapping[str, bool] = field(default_factory=dict)  # name -> requires_grant
    disclosures: frozenset[str] = frozenset()  # version ids on file
    phi_fields: frozenset[str] = frozenset()
    # `{keyword}` as the patterns are compiled with it (from every word written as text), so
    # a pattern that only breaks once the keywords are put in is reported with its line.
    keyword_pattern: str = "(?!)"
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Known:
        languages = data.get("languages")
        categories = data.get("categories")
        disclosures = data.get("disclosures")
        phi = data.get("phi_fields")
        return cls(
            # Only codes that are valid: `ES` is reported once, not again under every label.
            tuple(
                dict.fromkeys(
                    x for x in _list(languages) if isinstance(x, str) and LANGUAGE.fullmatch(x)
                )
            ),
            {
                k: not (isinstance(v, Mapping) and v.get("requires_grant") is False)
                for k, v in (categories.items() if isinstance(categories, Mapping) else ())
                if isinstance(k, str)
            },
            frozenset(k for k in _mapping(disclosures) if isinstance(k, str)),
            frozenset(x for x in _list(phi) if isinstance(x, str)),
            words_alternation(_words(data.get("keywords"))),
        )

    def note(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(path, message))


def known(info: ValidationInfo) -> Known:
    context = info.context
    found = context.get("known") if isinstance(context, Mapping) else None
    return found if isinstance(found, Known) else Known()


def fail(message: str) -> PydanticCustomError:
    """An error in the project's words (the message is passed as data: it may hold braces)."""
    return PydanticCustomError("keywords", "{message}", {"message": message})


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no)"
    if isinstance(value, str):
        return f"'{value}'" if value.strip() else "an empty text"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def joined(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def template_fields(text: str) -> list[str]:
    """Placeholder names in a `{field}` text; raises ValueError on bad braces."""
    names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"'{{{name}}}' is not a field name (write {{{{ for a literal brace)")
    return names


def _words(groups: Any) -> Iterator[str]:
    for group in _list(groups):
        for words in _mapping(_mapping(group).get("words")).values():
            yield from (w for w in _list(words) if isinstance(w, str))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


# --- plain values --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    hint = ""
    if isinstance(value, bool | int | float):
        hint = "; write it in quotes (YAML reads YES, NO, ON, OFF and numbers as values)"
    raise fail(f"expected a non-empty text, got {describe(value)}{hint}")


Text = Annotated[str, Field(min_length=1), BeforeValidator(_text)]


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise fail(f"expected true or false, got {describe(value)}")


Flag = Annotated[bool, BeforeValidator(_flag)]


def at_least(minimum: int) -> Callable[[Any], int]:
    """A whole number of at least `minimum`."""

    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        raise fail(f"expected a whole number of at least {minimum}, got {describe(value)}")

    return check


Hours = Annotated[int, Field(ge=1), BeforeValidator(at_least(1))]


def _time(value: Any) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        raise fail('write the time in quotes, e.g. "21:00" (YAML read it as a number)')
    if not isinstance(value, str) or not re.fullmatch(HHMM, value):
        raise fail(f'expected a time "HH:MM" (24-hour clock), got {describe(value)}')
    return dt.time.max if value == "24:00" else dt.time.fromisoformat(value)


Time = Annotated[
    dt.time, BeforeValidator(_time), WithJsonSchema({"type": "string", "pattern": HHMM})
]


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise fail(f"'{value}' is not a date on the calendar") from None
    raise fail(f"expected a date YYYY-MM-DD or null, got {describe(value)}")


Date = Annotated[
    dt.date | None,
    BeforeValidator(_date),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, {"type": "null"}]}
    ),
]


def fields_among(allowed: frozenset[str]) -> Callable[[str], str]:
    """A text whose `{fields}` are among `allowed`; its spacing is made single."""

    def check(value: str) -> str:
        try:
            unknown = set(template_fields(value)) - allowed
        except ValueError as exc:
            raise fail(f"bad placeholder: {exc}") from None
        if unknown:
            raise fail(f"unknown placeholder {joined(unknown)}; use {joined(allowed)}")
        return " ".join(value.split())

    return check


def _template_text(value: str) -> str:
    try:
        template_fields(value)
    except ValueError as exc:
        raise fail(f"bad placeholder: {exc}") from None
    return value


TemplateText = Annotated[Text, AfterValidator(_template_text)]


# --- names declared in the file ------------------------------------------------------------


def _language(value: Any) -> str:
    # Checked before pydantic's own pattern, which would say "String should match pattern".
    text = _text(value)
    if not LANGUAGE.fullmatch(text):
        raise fail(f"'{text}' is not a language code like en or es")
    return text


Language = Annotated[str, Field(min_length=1, pattern=LANGUAGE_CODE), BeforeValidator(_language)]


def _language_key(value: Any, info: ValidationInfo) -> str:
    languages = known(info).languages
    if value in languages or (isinstance(value, str) and LANGUAGE.fullmatch(value)):
        return str(value)
    raise fail(f"unknown key; expected a language ({joined(languages)})")


LanguageKey = Annotated[str, Field(pattern=LANGUAGE_CODE), BeforeValidator(_language_key)]


@dataclass(frozen=True)
class MissingLanguage:
    """Put in for a language a mapping lacks: validating it fails, so the absence is reported
    together with the problems of the languages given (a check after them would run only
    when they are valid). `keyword_wording` reports it at the mapping."""

    message: str


def every_language(value: Any, info: ValidationInfo) -> Any:
    """Every language switched on is there (replies, labels, frequencies)."""
    if not isinstance(value, Mapping):
        return value
    languages = known(info).languages
    missing = [language for language in languages if language not in value]
    return {**value, **{k: MissingLanguage(f"missing language '{k}'") for k in missing}}


def default_language(value: Any, info: ValidationInfo) -> Any:
    """The form needs its default language; another listed language without its own version
    falls back to the default (as the form and its texts do: `form_disclosure`, `join_text`)."""
    languages = known(info).languages
    if not isinstance(value, Mapping) or not languages or languages[0] in value:
        return value
    default = MissingLanguage(f"missing language '{languages[0]}' (the default language)")
    return {**value, languages[0]: default}


def _category_name(value: Any) -> str:
    if not isinstance(value, str) or not CATEGORY.fullmatch(value) or value in SCOPE_WORDS:
        raise fail("a category name is lower-case letters, digits, _ (not all/sender)")
    if value in RESTRICTIONS:
        raise fail(f"'{value}' is a patient's restriction, recorded per number")
    return value


CategoryName = Annotated[
    str, Field(pattern=f"^{CATEGORY.pattern}$"), BeforeValidator(_category_name)
]


def _category(value: Any, info: ValidationInfo) -> str:
    categories = known(info).categories
    if value not in categories:
        raise fail(f"unknown category '{value}'; known: {joined(categories)}")
    return str(value)


Category = Annotated[Text, AfterValidator(_category)]
CategoryKey = Annotated[str, BeforeValidator(_category)]


def _scope_word(value: str, info: ValidationInfo) -> str:
    categories = known(info).categories
    if value not in categories and value not in SCOPE_WORDS:
        expected = joined([*categories, *SCOPE_WORDS])
        raise fail(f"unknown category '{value}' in scope; expected one of {expected}")
    return value


Scope = list[Annotated[Text, AfterValidator(_scope_word)]] | None


def _intent(value: Any) -> str:
    if value in [i.value for i in INTENTS_IN_FILE]:
        return str(value)
    raise fail(f"unknown intent {describe(value)}; expected opt_out, opt_in or help")


Intent = Annotated[
    str,
    BeforeValidator(_intent),
    WithJsonSchema({"enum": [i.value for i in INTENTS_IN_FILE]}),
]


def _rule_language(value: Any, info: ValidationInfo) -> str:
    languages = known(info).languages
    if value in languages or (isinstance(value, str) and LANGUAGE.fullmatch(value)):
        return str(value)  # a rule of a language not switched on still reads its texts
    raise fail(f"unknown language {describe(value)}; configured: {', '.join(languages)}")


RuleLanguage = Annotated[str, Field(pattern=LANGUAGE_CODE), BeforeValidator(_rule_language)]


def _disclosure_version(value: str, info: ValidationInfo) -> str:
    on_file = known(info).disclosures
    if value not in on_file:
        raise fail(f"'{value}' is not under disclosures; known: {joined(on_file)}")
    return value


DisclosureVersion = Annotated[Text, AfterValidator(_disclosure_version)]


def _version_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise fail("write the version id as text, e.g. mkt-2026-01")


VersionId = Annotated[str, BeforeValidator(_version_id)]


def _sender_number(value: Any) -> str:
    if not isinstance(value, str):
        raise fail('write the number in quotes, e.g. "+12015550100"')
    if not re.fullmatch(E164, value):
        raise fail("expected an E.164 number: + then country code and digits only")
    return value


SenderNumber = Annotated[str, Field(pattern=E164), BeforeValidator(_sender_number)]


def _state(value: Any) -> str:
    """Keyed by the canonical name the number's state is looked up by (Phone.state): a key
    that names no state would never apply, so it is refused, not ignored."""
    if not isinstance(value, str):
        raise fail("write the state's name, e.g. Florida")
    if canonical_state(value) is None:
        raise fail(
            f"'{value}' is not a US state or territory; write its name (Washington) "
            "or USPS code (WA)"
        )
    return value


StateName = Annotated[str, BeforeValidator(_state)]


def _answer_key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail('write the answer as text in quotes, e.g. "NO"')
    return value


AnswerKey = Annotated[str, BeforeValidator(_answer_key)]


def _meaning(value: Any) -> str:
    # Checked before pydantic's own max_length, which would say "String should have at most".
    text = _text(value)
    if len(text) > ANSWER_LENGTH:
        raise fail(f"an answer's meaning is at most {ANSWER_LENGTH} characters")
    return text


Meaning = Annotated[str, Field(min_length=1, max_length=ANSWER_LENGTH), BeforeValidator(_meaning)]


# --- words ---------------------------------------------------------------------------------


def _keyword(value: str) -> str:
    if plain(value) != " ".join(value.casefold().split()):
        raise fail(f"'{value}' can never match: punctuation and emoji around a text are removed")
    return value


KeywordText = Annotated[Text, AfterValidator(_keyword)]


def _reading_word(names: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        key = word_key(value)
        if not key:
            raise fail(f"'{value}' has no letters or digits to match")
        if NAME in key and (not names or key[0] == NAME):
            where = "inside a phrase, after its first word" if names else "only in phrases"
            raise fail(f"{NAME} may stand {where}")
        return value

    return check


ReadingWords = list[Annotated[Text, AfterValidator(_reading_word(names=False))]] | None
PhraseWords = list[Annotated[Text, AfterValidator(_reading_word(names=True))]] | None


def _pattern(value: str, info: ValidationInfo) -> str:
    try:
        compile_pattern(value, known(info).keyword_pattern)
    except re.error as exc:
        raise fail(f"not a valid regular expression: {exc}") from None
    return value


Pattern = Annotated[Text, AfterValidator(_pattern)]
