"""Keyword rules and the classifier (SPEC §5). PURE: standard library only.

`KeywordRules.from_mapping` turns the parsed keywords.yml into rules, reporting every problem
at once (clinic staff edit the file by hand). `classify` reads one inbound text;
`scoped_categories` says which categories it revokes or grants; `compose_reply` words the
answer. Regular expressions are compiled once, when the rules are built.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

# ---------------------------------------------------------------------------------------------
# The rules, as plain data
# ---------------------------------------------------------------------------------------------


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    REVIEW = "review"
    NONE = "none"


KeyPath = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a look) in the keywords file, at a key path."""

    path: KeyPath
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.path) or "(top)"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {label}{self.message}"


class KeywordsError(ValueError):
    """The keywords mapping is invalid; `problems` lists every error (and the warnings)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class CategoryRule:
    name: str
    requires_grant: bool  # marketing: True (express written consent); transactional: False
    labels: Mapping[str, str]  # language -> human label used in replies ("promotional")


@dataclass(frozen=True)
class Sender:
    number: str  # E.164
    categories: tuple[str, ...]
    carrier_replies: bool = False


@dataclass(frozen=True)
class Program:
    """What every reply names (CTIA): the program, who to contact, how often we text."""

    name: str
    contact: str
    frequency: Mapping[str, str]  # language -> "Msg frequency varies"


@dataclass(frozen=True)
class KeywordGroup:
    """Words with one meaning: `scope` says what they revoke or grant."""

    id: str
    intent: Intent
    scope: tuple[str, ...]
    words: Mapping[str, tuple[str, ...]]  # language -> words as written in the file


@dataclass(frozen=True)
class TextRule:
    """A phrase, quoted-instruction or false-positive rule: a regex over the folded text."""

    id: str
    language: str
    pattern: re.Pattern[str]
    scope: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimeWindow:
    """The hours in which a message may be sent, local time, start inclusive, end exclusive."""

    start: dt.time
    end: dt.time

    def allows(self, at: dt.time) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class StateWindow:
    """A state's sending window per weekday (Monday = 0); None: no messages that day."""

    state: str
    days: tuple[TimeWindow | None, ...]

    def on(self, weekday: int) -> TimeWindow | None:
        return self.days[weekday]


@dataclass(frozen=True)
class FrequencyCap:
    count: int
    hours: int
    enabled: bool = True


@dataclass(frozen=True)
class Template:
    name: str
    category: str
    text: str
    fields: tuple[str, ...]
    phi_fields: tuple[str, ...]


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
    program: Program = Program("", "", {})
    keyword_groups: tuple[KeywordGroup, ...] = ()
    carrier_keywords: frozenset[str] = frozenset()  # casefolded words the carrier answers
    filler_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    phrases: tuple[TextRule, ...] = ()
    quoted_instructions: tuple[TextRule, ...] = ()
    false_positives: tuple[TextRule, ...] = ()
    opt_out_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fuzzy_min_length: int = 4
    real_words: frozenset[str] = frozenset()
    replies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    quiet_hours: Mapping[str, TimeWindow] = field(default_factory=dict)
    state_windows: Mapping[str, StateWindow] = field(default_factory=dict)
    frequency_caps: Mapping[str, tuple[FrequencyCap, ...]] = field(default_factory=dict)
    phi_fields: frozenset[str] = frozenset()
    templates: Mapping[str, Template] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _Index.build(self))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> KeywordRules:
        """Build and validate; raises KeywordsError listing every problem found."""
        return _build_rules(data)

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


@dataclass(frozen=True)
class Classification:
    intent: Intent
    scope: tuple[str, ...]  # scope words of the matched rule: category names, "sender", "all"
    language: str
    rule: str  # names what matched, e.g. "keyword:en:STOP"
    standard: bool  # a standard keyword (carrier answers it itself when carrier_replies)


# ---------------------------------------------------------------------------------------------
# Normalising a text
# ---------------------------------------------------------------------------------------------

# Invisible characters people (and spoofers) leave inside words: zero-width space/joiners,
# direction marks, soft hyphen, word joiner, BOM, emoji variation selectors and tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})


def _look_alikes() -> dict[int, str]:
    """Letters from other scripts that read as Latin ones (NFKC leaves them alone)."""
    pairs = {
        # Cyrillic
        "А": "A", "а": "a", "В": "B", "Е": "E", "е": "e", "Ё": "E", "ё": "e", "К": "K",
        "к": "k", "М": "M", "м": "m", "Н": "H", "О": "O", "о": "o", "Р": "P", "р": "p",
        "С": "C", "с": "c", "Т": "T", "т": "t", "У": "Y", "у": "y", "Х": "X", "х": "x",
        "Ѕ": "S", "ѕ": "s", "І": "I", "і": "i", "Ї": "I", "ї": "i", "Ј": "J", "ј": "j",
        "Ԁ": "D", "ԁ": "d", "Ү": "Y", "ү": "y", "Ԛ": "Q", "ԛ": "q", "Ԝ": "W", "ԝ": "w",
        "Һ": "H", "һ": "h", "Ӏ": "I", "ӏ": "l", "Ɡ": "G", "ɡ": "g", "Ꮪ": "S", "Ꭲ": "T",
        # Greek
        "Α": "A", "α": "a", "Β": "B", "Ε": "E", "ε": "e", "Ζ": "Z", "Η": "H", "Ι": "I",
        "ι": "i", "Κ": "K", "κ": "k", "Μ": "M", "Ν": "N", "ν": "v", "Ο": "O", "ο": "o",
        "Ρ": "P", "ρ": "p", "Τ": "T", "τ": "t", "Υ": "Y", "υ": "u", "Χ": "X", "χ": "x",
        "ϲ": "c", "Ϲ": "C", "ϳ": "j",
        # Latin small capitals and other look-alikes
        "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h",
        "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p",
        "ǫ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y",
        "ᴢ": "z", "ı": "i", "ȷ": "j", "ø": "o", "Ø": "O", "ß": "ss",
    }  # fmt: skip
    table = {ord(k): v for k, v in pairs.items()}
    # Emoji letters NFKC keeps: regional indicators 🇸🇹🇴🇵 and (negative) circled/squared 🅢🆂.
    for first in (0x1F1E6, 0x1F150, 0x1F170):
        table.update({first + i: chr(ord("a") + i) for i in range(26)})
    return table


_LOOK_ALIKES = _look_alikes()
_STOP_SIGNS = frozenset({"🛑"})
_WORDS = re.compile(r"\w+")


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _trim(text: str) -> str:
    """Strip surrounding punctuation, symbols (emoji) and spaces; keep what is inside."""
    start, end = 0, len(text)
    while start < end and not _is_word_char(text[start]):
        start += 1
    while end > start and not _is_word_char(text[end - 1]):
        end -= 1
    return text[start:end]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def _visible(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def plain(text: str) -> str:
    """SPEC §5.4 normal form: NFKC, no invisibles, case-folded, trimmed, single spaces."""
    folded = _visible(text).casefold().translate(_APOSTROPHES)
    return " ".join(_trim(" ".join(folded.split())).split())


def folded(text: str) -> str:
    """The plain form read more loosely: look-alike letters mapped, accents removed."""
    mapped = _visible(text).translate(_LOOK_ALIKES)
    return plain(_strip_accents(mapped.casefold()))


def _compact(text: str) -> str:
    """Letters and digits only: "s.t.o.p" and "s t o p" read as "stop"."""
    return "".join(ch for ch in text if ch.isalnum())


def _squeeze(text: str) -> str:
    """Repeated letters read once: "STOPPPP" and "sstop" read as "stop"."""
    return re.sub(r"(.)\1+", r"\1", text)


# ---------------------------------------------------------------------------------------------
# SMS segments (the warnings about long replies)
# ---------------------------------------------------------------------------------------------

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each costs two septets (escape + char)


def non_gsm7(text: str) -> str:
    """The characters of `text` outside the GSM-7 alphabet (they force UCS-2: 70 per SMS)."""
    seen = dict.fromkeys(ch for ch in text if ch not in _GSM7_BASIC and ch not in _GSM7_EXTENSION)
    return "".join(seen)


def segment_size(text: str) -> tuple[int, int]:
    """(length in the encoding's units, units that fit in one SMS) for `text`."""
    if non_gsm7(text):
        return len(text.encode("utf-16-le")) // 2, 70
    return sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text), 160


# ---------------------------------------------------------------------------------------------
# Validation: a reader that collects every problem
# ---------------------------------------------------------------------------------------------

INTENTS_IN_FILE = (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP)
SCOPE_WORDS = ("sender", "all")
REPLY_KEYS = ("opt_out", "opt_out_partial", "opt_in", "help")
REPLY_FIELDS = frozenset(
    {"program", "contact", "frequency", "stopped", "continuing", "Stopped", "Continuing"}
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]+)?")
_CONJUNCTIONS = {"en": "and", "es": "y"}


class _Reader:
    """Reads the mapping section by section, noting problems instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(path, message))

    def warn(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(path, message, "warning"))

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def mapping(
        self, value: Any, path: KeyPath, keys: Iterable[str] = (), required: Iterable[str] = ()
    ) -> Mapping[Any, Any]:
        """A mapping; when `keys` is given, only those keys (and all `required` ones)."""
        if not isinstance(value, Mapping):
            self.error(path, f"expected a mapping (key: value), got {_kind(value)}")
            return {}
        allowed = set(keys)
        if allowed:
            for key in value:
                if key not in allowed:
                    self.error((*path, str(key)), f"unknown key; expected one of {_list(allowed)}")
        for key in required:
            if key not in value:
                self.error(path, f"missing required key '{key}'")
        return value

    def items(self, value: Any, path: KeyPath) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {_kind(value)}")
            return []
        return value

    def text(self, value: Any, path: KeyPath) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        hint = ""
        if isinstance(value, bool | int | float):
            hint = "; write it in quotes (YAML reads YES, NO, ON, OFF and numbers as values)"
        self.error(path, f"expected a non-empty text, got {_kind(value)}{hint}")
        return None

    def texts(self, value: Any, path: KeyPath) -> list[str]:
        found = (self.text(item, (*path, i)) for i, item in enumerate(self.items(value, path)))
        return [t for t in found if t is not None]

    def boolean(self, value: Any, path: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.error(path, f"expected true or false, got {_kind(value)}")
        return default

    def integer(self, value: Any, path: KeyPath, minimum: int, default: int) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.error(path, f"expected a whole number of at least {minimum}, got {_kind(value)}")
        return default

    def time(self, value: Any, path: KeyPath) -> dt.time | None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.error(path, 'write the time in quotes, e.g. "21:00" (YAML read it as a number)')
            return None
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            self.error(path, f'expected a time "HH:MM" (24-hour clock), got {_kind(value)}')
            return None
        return dt.time.max if value == "24:00" else dt.time.fromisoformat(value)

    def language_map(
        self, value: Any, path: KeyPath, languages: Sequence[str], *, every: bool
    ) -> dict[str, Any]:
        """A mapping keyed by configured languages; `every`: all of them must be there."""
        found = self.mapping(value, path, keys=languages) if languages else {}
        if every and isinstance(value, Mapping):
            for language in languages:
                if language not in value:
                    self.error(path, f"missing language '{language}'")
        return {k: v for k, v in found.items() if k in languages}


def _kind(value: Any) -> str:
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


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _template_fields(text: str) -> list[str]:
    """Placeholder names in a `{field}` text; raises ValueError on bad braces."""
    names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"'{{{name}}}' is not a field name (write {{{{ for a literal brace)")
    return names


# ---------------------------------------------------------------------------------------------
# Validation: the sections of keywords.yml
# ---------------------------------------------------------------------------------------------

TOP_KEYS = (
    "program", "languages", "categories", "senders", "revoke_all_from", "reply_cap_per_hour",
    "keywords", "carrier_keywords", "filler_words", "phrases", "quoted_instructions",
    "opt_out_words", "false_positives", "fuzzy", "replies", "disclosures", "quiet_hours",
    "state_windows", "frequency_caps", "phi_fields", "templates",
)  # fmt: skip
REQUIRED_TOP_KEYS = ("program", "languages", "categories", "keywords", "replies")


def _build_rules(data: Mapping[str, Any]) -> KeywordRules:
    reader = _Reader()
    top = reader.mapping(data, (), TOP_KEYS, REQUIRED_TOP_KEYS)
    languages = _languages(reader, top.get("languages"))
    categories = _categories(reader, top.get("categories"), languages)
    groups = _keyword_groups(reader, top.get("keywords"), languages, categories)
    keyword_pattern = _keyword_alternation(groups)
    program = _program(reader, top.get("program"), languages)
    fuzzy = reader.mapping(top.get("fuzzy", {}), ("fuzzy",), ("min_length", "real_words"))
    replies = _replies(reader, top.get("replies"), languages)
    phi_fields = frozenset(reader.texts(top.get("phi_fields"), ("phi_fields",)))
    rules = KeywordRules(
        program_name=program.name,
        categories=categories,
        senders=_senders(reader, top.get("senders"), categories),
        languages=languages,
        revoke_all_from=_revoke_all_from(reader, top.get("revoke_all_from")),
        reply_cap_per_hour=_reply_cap(reader, top.get("reply_cap_per_hour", 5)),
        disclosures=_disclosures(reader, top.get("disclosures")),
        raw=dict(top),
        program=program,
        keyword_groups=groups,
        carrier_keywords=_carrier_keywords(reader, top.get("carrier_keywords"), groups),
        filler_words=_word_lists(reader, top.get("filler_words"), ("filler_words",), languages),
        phrases=_text_rules(reader, top, "phrases", languages, categories, keyword_pattern),
        quoted_instructions=_text_rules(
            reader, top, "quoted_instructions", languages, categories, keyword_pattern
        ),
        false_positives=_text_rules(
            reader, top, "false_positives", languages, categories, keyword_pattern
        ),
        opt_out_words=_word_lists(reader, top.get("opt_out_words"), ("opt_out_words",), languages),
        fuzzy_min_length=reader.integer(fuzzy.get("min_length", 4), ("fuzzy", "min_length"), 3, 4),
        real_words=_real_words(reader, fuzzy.get("real_words"), languages, groups),
        replies=replies,
        quiet_hours=_quiet_hours(reader, top.get("quiet_hours"), categories),
        state_windows=_state_windows(reader, top.get("state_windows")),
        frequency_caps=_frequency_caps(reader, top.get("frequency_caps"), categories),
        phi_fields=phi_fields,
        templates=_templates(reader, top.get("templates"), categories, phi_fields),
    )
    _warn_long_replies(reader, rules)
    if reader.failed:
        raise KeywordsError(reader.problems)
    return replace(rules, warnings=tuple(reader.problems))


def _languages(reader: _Reader, value: Any) -> tuple[str, ...]:
    path: KeyPath = ("languages",)
    names = reader.texts(value, path)
    for i, name in enumerate(names):
        if not _LANGUAGE.fullmatch(name):
            reader.error((*path, i), f"'{name}' is not a language code like en or es")
    if value is not None and not names:
        reader.error(path, "list at least one language; the first is the default")
    if len(set(names)) != len(names):
        reader.error(path, "a language is listed twice")
    return tuple(dict.fromkeys(names))


def _program(reader: _Reader, value: Any, languages: Sequence[str]) -> Program:
    path: KeyPath = ("program",)
    found = reader.mapping(value, path, ("name", "contact", "frequency"), ("name", "contact"))
    name = reader.text(found.get("name"), (*path, "name")) if "name" in found else None
    contact = reader.text(found.get("contact"), (*path, "contact")) if "contact" in found else None
    return Program(name or "", contact or "", _frequency(reader, found.get("frequency"), languages))


def _frequency(reader: _Reader, value: Any, languages: Sequence[str]) -> dict[str, str]:
    path: KeyPath = ("program", "frequency")
    if value is None or isinstance(value, str):
        text = reader.text(value, path) if value is not None else "Msg frequency varies"
        return dict.fromkeys(languages, text or "")
    found = reader.language_map(value, path, languages, every=True)
    return {k: reader.text(v, (*path, k)) or "" for k, v in found.items()}


def _categories(reader: _Reader, value: Any, languages: Sequence[str]) -> dict[str, CategoryRule]:
    path: KeyPath = ("categories",)
    found = reader.mapping(value, path)
    if value is not None and not found:
        reader.error(path, "declare at least one category (transactional, marketing)")
    categories: dict[str, CategoryRule] = {}
    for name, body in found.items():
        where = (*path, str(name))
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in SCOPE_WORDS:
            reader.error(where, "a category name is lower-case letters, digits, _ (not all/sender)")
            continue
        spec = reader.mapping(body, where, ("requires_grant", "labels"), ("requires_grant",))
        labels = reader.language_map(spec.get("labels"), (*where, "labels"), languages, every=True)
        categories[name] = CategoryRule(
            name=name,
            requires_grant=reader.boolean(
                spec.get("requires_grant"), (*where, "requires_grant"), True
            ),
            labels={k: reader.text(v, (*where, "labels", k)) or name for k, v in labels.items()},
        )
    return categories


def _senders(
    reader: _Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, Sender]:
    path: KeyPath = ("senders",)
    senders: dict[str, Sender] = {}
    for number, body in reader.mapping(value or {}, path).items():
        where = (*path, str(number))
        if not isinstance(number, str):
            reader.error(where, 'write the number in quotes, e.g. "+12015550100"')
            continue
        if not _E164.fullmatch(number):
            reader.error(where, "expected an E.164 number: + then country code and digits only")
            continue
        spec = reader.mapping(body, where, ("categories", "carrier_replies"), ("categories",))
        carried = _category_names(
            reader, spec.get("categories"), (*where, "categories"), categories
        )
        replies = reader.boolean(spec.get("carrier_replies"), (*where, "carrier_replies"), False)
        senders[number] = Sender(number, carried, replies)
    return senders


def _category_names(
    reader: _Reader, value: Any, path: KeyPath, categories: Mapping[str, CategoryRule]
) -> tuple[str, ...]:
    names = reader.texts(value, path)
    for i, name in enumerate(names):
        if name not in categories:
            reader.error((*path, i), f"unknown category '{name}'; known: {_list(categories)}")
    return tuple(dict.fromkeys(n for n in names if n in categories))


def _revoke_all_from(reader: _Reader, value: Any) -> dt.date | None:
    path: KeyPath = ("revoke_all_from",)
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    reader.error(path, f"expected a date YYYY-MM-DD or null, got {_kind(value)}")
    return None


def _reply_cap(reader: _Reader, value: Any) -> int:
    return reader.integer(value, ("reply_cap_per_hour",), 1, 5)


def _disclosures(reader: _Reader, value: Any) -> dict[str, str]:
    path: KeyPath = ("disclosures",)
    found: dict[str, str] = {}
    for version, text in reader.mapping(value or {}, path).items():
        where = (*path, str(version))
        body = reader.text(text, where)
        if not isinstance(version, str):
            reader.error(where, "write the version id as text, e.g. mkt-2026-01")
        elif body is not None:
            found[version] = " ".join(body.split())
    return found


def _keyword_groups(
    reader: _Reader, value: Any, languages: Sequence[str], categories: Mapping[str, CategoryRule]
) -> tuple[KeywordGroup, ...]:
    path: KeyPath = ("keywords",)
    groups: list[KeywordGroup] = []
    seen_words: dict[str, KeyPath] = {}
    for i, body in enumerate(reader.items(value, path)):
        group = _keyword_group(reader, body, (*path, i), languages, categories)
        if group is None:
            continue
        if any(g.id == group.id for g in groups):
            reader.error((*path, i, "id"), f"the group id '{group.id}' is used twice")
        _note_duplicate_words(reader, group, (*path, i), seen_words)
        groups.append(group)
    present = {g.intent for g in groups}
    for intent in INTENTS_IN_FILE:
        if value is not None and intent not in present:
            reader.error(path, f"no keyword group with intent {intent}")
    return tuple(groups)


def _keyword_group(
    reader: _Reader,
    body: Any,
    where: KeyPath,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
) -> KeywordGroup | None:
    spec = reader.mapping(
        body, where, ("id", "intent", "scope", "words"), ("id", "intent", "words")
    )
    if not spec:
        return None
    group_id = reader.text(spec.get("id"), (*where, "id")) if "id" in spec else None
    intent = _intent(reader, spec.get("intent"), (*where, "intent"))
    scope = _scope(reader, spec.get("scope"), (*where, "scope"), categories)
    if intent in (Intent.OPT_OUT, Intent.OPT_IN) and not scope and "scope" not in spec:
        reader.error(where, "missing required key 'scope' (what the keyword revokes or grants)")
    words = _word_lists(reader, spec.get("words"), (*where, "words"), languages)
    for language, listed in words.items():
        for j, word in enumerate(listed):
            if plain(word) != " ".join(word.casefold().split()):
                reader.error(
                    (*where, "words", language, j),
                    f"'{word}' can never match: punctuation and emoji around a text are removed",
                )
    if group_id is None or intent is None:
        return None
    return KeywordGroup(group_id, intent, scope, words)


def _intent(reader: _Reader, value: Any, path: KeyPath) -> Intent | None:
    if value in [i.value for i in INTENTS_IN_FILE]:
        return Intent(value)
    reader.error(path, f"unknown intent {_kind(value)}; expected opt_out, opt_in or help")
    return None


def _scope(
    reader: _Reader, value: Any, path: KeyPath, categories: Mapping[str, CategoryRule]
) -> tuple[str, ...]:
    words = reader.texts(value, path)
    for i, word in enumerate(words):
        if word not in categories and word not in SCOPE_WORDS:
            known = _list([*categories, *SCOPE_WORDS])
            reader.error((*path, i), f"unknown category '{word}' in scope; expected one of {known}")
    return tuple(dict.fromkeys(words))


def _note_duplicate_words(
    reader: _Reader, group: KeywordGroup, where: KeyPath, seen: dict[str, KeyPath]
) -> None:
    """A word means one thing in one language, so a reply's language is never a guess."""
    for language, words in group.words.items():
        for j, word in enumerate(words):
            key, path = plain(word), (*where, "words", language, j)
            if key in seen and seen[key][:-1] != path[:-1]:
                first = ".".join(str(p) for p in seen[key])
                reader.error(path, f"'{word}' is already a keyword at {first}")
            seen.setdefault(key, path)


def _word_lists(
    reader: _Reader, value: Any, path: KeyPath, languages: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    found = reader.language_map(value or {}, path, languages, every=False)
    return {k: tuple(reader.texts(v, (*path, k))) for k, v in found.items()}


def _carrier_keywords(
    reader: _Reader, value: Any, groups: Sequence[KeywordGroup]
) -> frozenset[str]:
    path: KeyPath = ("carrier_keywords",)
    known = {plain(w) for g in groups for words in g.words.values() for w in words}
    words = reader.texts(value, path)
    for i, word in enumerate(words):
        if plain(word) not in known:
            reader.warn((*path, i), f"'{word}' is not one of the keywords; it has no effect")
    return frozenset(plain(w) for w in words)


def _keyword_alternation(groups: Sequence[KeywordGroup]) -> str:
    """`{keyword}` in a pattern: any keyword, as it reads in the folded text."""
    words = {folded(w) for g in groups for ws in g.words.values() for w in ws}
    ordered = sorted((w for w in words if w), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in ordered) + ")"


def _text_rules(
    reader: _Reader,
    top: Mapping[Any, Any],
    section: str,
    languages: Sequence[str],
    categories: Mapping[str, CategoryRule],
    keyword_pattern: str,
) -> tuple[TextRule, ...]:
    keys = (
        ("id", "language", "pattern", "scope")
        if section == "phrases"
        else ("id", "language", "pattern")
    )
    rules: list[TextRule] = []
    for i, body in enumerate(reader.items(top.get(section), (section,))):
        where: KeyPath = (section, i)
        spec = reader.mapping(body, where, keys, ("id", "language", "pattern"))
        rule_id = reader.text(spec.get("id"), (*where, "id")) if "id" in spec else None
        language = _language(reader, spec.get("language"), (*where, "language"), languages)
        pattern = _pattern(reader, spec.get("pattern"), (*where, "pattern"), keyword_pattern)
        scope = _scope(reader, spec.get("scope"), (*where, "scope"), categories)
        if rule_id and any(r.id == rule_id for r in rules):
            reader.error((*where, "id"), f"the id '{rule_id}' is used twice in {section}")
        if rule_id and language and pattern:
            rules.append(TextRule(rule_id, language, pattern, scope))
    return tuple(rules)


def _language(reader: _Reader, value: Any, path: KeyPath, languages: Sequence[str]) -> str | None:
    if value in languages:
        return str(value)
    reader.error(path, f"unknown language {_kind(value)}; configured: {', '.join(languages)}")
    return None


def _pattern(
    reader: _Reader, value: Any, path: KeyPath, keyword_pattern: str
) -> re.Pattern[str] | None:
    source = reader.text(value, path)
    if source is None:
        return None
    # Texts are matched without accents, so patterns are read without them too.
    source = _strip_accents(source).replace("{keyword}", keyword_pattern)
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as exc:
        reader.error(path, f"not a valid regular expression: {exc}")
        return None


def _real_words(
    reader: _Reader, value: Any, languages: Sequence[str], groups: Sequence[KeywordGroup]
) -> frozenset[str]:
    path: KeyPath = ("fuzzy", "real_words")
    lists = _word_lists(reader, value, path, languages)
    keywords = {_compact(folded(w)) for g in groups for ws in g.words.values() for w in ws}
    found: set[str] = set()
    for language, words in lists.items():
        for i, word in enumerate(words):
            key = _compact(folded(word))
            if key in keywords:
                reader.error((*path, language, i), f"'{word}' is a keyword, not a look-alike")
            found.add(key)
    return frozenset(found)


def _replies(reader: _Reader, value: Any, languages: Sequence[str]) -> dict[str, dict[str, str]]:
    path: KeyPath = ("replies",)
    found = reader.language_map(value, path, languages, every=True)
    replies: dict[str, dict[str, str]] = {}
    for language, body in found.items():
        where = (*path, language)
        spec = reader.mapping(body, where, (*REPLY_KEYS, "conjunction"), REPLY_KEYS)
        texts = {k: _reply_text(reader, spec[k], (*where, k)) for k in REPLY_KEYS if k in spec}
        conjunction = spec.get("conjunction", _CONJUNCTIONS.get(language, "and"))
        texts["conjunction"] = reader.text(conjunction, (*where, "conjunction")) or "and"
        replies[language] = texts
    return replies


def _reply_text(reader: _Reader, value: Any, path: KeyPath) -> str:
    text = reader.text(value, path)
    if text is None:
        return ""
    try:
        unknown = set(_template_fields(text)) - REPLY_FIELDS
    except ValueError as exc:
        reader.error(path, f"bad placeholder: {exc}")
        return ""
    if unknown:
        reader.error(path, f"unknown placeholder {_list(unknown)}; use {_list(REPLY_FIELDS)}")
        return ""
    return " ".join(text.split())


def _quiet_hours(
    reader: _Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, TimeWindow]:
    path: KeyPath = ("quiet_hours",)
    windows: dict[str, TimeWindow] = {}
    for name, body in reader.mapping(value or {}, path).items():
        where = (*path, str(name))
        if name not in categories:
            reader.error(where, f"unknown category '{name}'; known: {_list(categories)}")
        window = _window(reader, body, where)
        if window is not None and name in categories:
            windows[name] = window
    return windows


def _window(reader: _Reader, value: Any, path: KeyPath) -> TimeWindow | None:
    spec = reader.mapping(value, path, ("start", "end"), ("start", "end"))
    start = reader.time(spec["start"], (*path, "start")) if "start" in spec else None
    end = reader.time(spec["end"], (*path, "end")) if "end" in spec else None
    if start is None or end is None:
        return None
    if start >= end:
        reader.error(path, "start must be before end (windows do not cross midnight)")
        return None
    return TimeWindow(start, end)


def _state_windows(reader: _Reader, value: Any) -> dict[str, StateWindow]:
    path: KeyPath = ("state_windows",)
    states: dict[str, StateWindow] = {}
    for state, body in reader.mapping(value or {}, path).items():
        where = (*path, str(state))
        if not isinstance(state, str):
            reader.error(where, "write the state's name, e.g. Florida")
            continue
        spec = reader.mapping(body, where, ("daily", *WEEKDAYS))
        if isinstance(body, Mapping) and not spec:
            reader.error(where, "give a window for daily or for named days (mon … sun)")
        windows = {day: _window(reader, w, (*where, day)) for day, w in spec.items()}
        daily = windows.get("daily")
        days = tuple(windows.get(day, daily) for day in WEEKDAYS)
        states[state] = StateWindow(state, days)
    return states


def _frequency_caps(
    reader: _Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, tuple[FrequencyCap, ...]]:
    path: KeyPath = ("frequency_caps",)
    caps: dict[str, tuple[FrequencyCap, ...]] = {}
    for name, body in reader.mapping(value or {}, path).items():
        where = (*path, str(name))
        if name not in categories:
            reader.error(where, f"unknown category '{name}'; known: {_list(categories)}")
        found = tuple(
            _cap(reader, cap, (*where, i)) for i, cap in enumerate(reader.items(body, where))
        )
        caps[str(name)] = found
    return caps


def _cap(reader: _Reader, value: Any, path: KeyPath) -> FrequencyCap:
    spec = reader.mapping(value, path, ("count", "hours", "enabled"), ("count", "hours"))
    return FrequencyCap(
        count=reader.integer(spec.get("count", 1), (*path, "count"), 1, 1),
        hours=reader.integer(spec.get("hours", 24), (*path, "hours"), 1, 24),
        enabled=reader.boolean(spec.get("enabled"), (*path, "enabled"), True),
    )


def _templates(
    reader: _Reader, value: Any, categories: Mapping[str, CategoryRule], phi: frozenset[str]
) -> dict[str, Template]:
    path: KeyPath = ("templates",)
    templates: dict[str, Template] = {}
    for name, body in reader.mapping(value or {}, path).items():
        where = (*path, str(name))
        template = _template(reader, str(name), body, where, categories, phi)
        if template is not None:
            templates[template.name] = template
    return templates


def _template(
    reader: _Reader,
    name: str,
    body: Any,
    where: KeyPath,
    categories: Mapping[str, CategoryRule],
    phi: frozenset[str],
) -> Template | None:
    spec = reader.mapping(body, where, ("category", "text", "phi"), ("category", "text"))
    category = (
        reader.text(spec.get("category"), (*where, "category")) if "category" in spec else None
    )
    if category is not None and category not in categories:
        reader.error(
            (*where, "category"), f"unknown category '{category}'; known: {_list(categories)}"
        )
    text = reader.text(spec.get("text"), (*where, "text")) if "text" in spec else None
    if text is None or category is None or category not in categories:
        return None
    try:
        fields = tuple(dict.fromkeys(_template_fields(text)))
    except ValueError as exc:
        reader.error((*where, "text"), f"bad placeholder: {exc}")
        return None
    marked = phi | set(reader.texts(spec.get("phi"), (*where, "phi")))
    phi_used = tuple(f for f in fields if f in marked)
    if phi_used and categories[category].requires_grant:
        # HIPAA §164.501/§164.508: marketing never carries protected health information.
        reader.error(
            (*where, "text"),
            f"a {category} template may not use protected health information: "
            + ", ".join(phi_used),
        )
    return Template(name, category, text, fields, phi_used)


def _warn_long_replies(reader: _Reader, rules: KeywordRules) -> None:
    """CTIA asks for short confirmations; a reply over one segment costs twice and may split."""
    for language, texts in rules.replies.items():
        for key in REPLY_KEYS:
            if not texts.get(key):
                continue
            samples = [(segment_size(t), t) for t in _sample_replies(rules, language, key)]
            over = [(size, limit, text) for (size, limit), text in samples if size > limit]
            if over:
                size, limit, longest = max(over)
                reader.warn(("replies", language, key), _long_reply_message(longest, size, limit))


def _long_reply_message(text: str, size: int, limit: int) -> str:
    if limit == 160:
        return f"{size} characters: longer than one SMS segment (160 GSM-7 characters)"
    outside = non_gsm7(text)
    return (
        f"{size} characters: longer than one SMS segment (70 characters, because "
        f"{', '.join(repr(c) for c in outside[:5])} is outside the GSM-7 alphabet)"
    )


def _sample_replies(rules: KeywordRules, language: str, key: str) -> Iterator[str]:
    """The reply as it could go out: every category stopped, each one continuing."""
    names = tuple(rules.categories)
    if key != "opt_out_partial":
        yield _render(rules, language, key, names, ())
        return
    for name in names if len(names) > 1 else ():
        yield _render(rules, language, key, (name,), tuple(n for n in names if n != name))


# ---------------------------------------------------------------------------------------------
# The index the classifier reads (built once per rules)
# ---------------------------------------------------------------------------------------------

_PRIORITY = {Intent.OPT_OUT: 0, Intent.OPT_IN: 1, Intent.HELP: 2}


@dataclass(frozen=True)
class _Keyword:
    group: KeywordGroup
    language: str
    word: str  # as written in the file
    standard: bool  # the carrier answers this word itself

    def read(self, how: str, *, standard: bool = False) -> Classification:
        rule = f"{how}:{self.language}:{self.word}"
        return Classification(self.group.intent, self.group.scope, self.language, rule, standard)


@dataclass
class _Index:
    exact: dict[str, _Keyword] = field(default_factory=dict)
    sequences: dict[tuple[str, ...], _Keyword | None] = field(default_factory=dict)
    compact: dict[str, _Keyword] = field(default_factory=dict)
    squeezed: dict[str, list[_Keyword]] = field(default_factory=dict)
    typo_targets: list[tuple[str, _Keyword]] = field(default_factory=list)
    main: dict[Intent, KeywordGroup] = field(default_factory=dict)
    opt_out_words: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def build(cls, rules: KeywordRules) -> _Index:
        index = cls()
        for group in rules.keyword_groups:
            index.main.setdefault(group.intent, group)
            for language, words in group.words.items():
                for word in words:
                    standard = plain(word) in rules.carrier_keywords
                    index.add(_Keyword(group, language, word, standard), rules.fuzzy_min_length)
        for words in rules.filler_words.values():
            for word in words:
                index.sequences.setdefault(tuple(_WORDS.findall(plain(word))), None)
        for language, words in rules.opt_out_words.items():
            index.opt_out_words.append((language, _word_pattern(words)))
        return index

    def add(self, keyword: _Keyword, min_length: int) -> None:
        self.exact.setdefault(plain(keyword.word), keyword)
        self.sequences[tuple(_WORDS.findall(plain(keyword.word)))] = keyword
        compact = _compact(folded(keyword.word))
        self.compact.setdefault(compact, keyword)
        self.squeezed.setdefault(_squeeze(compact), []).append(keyword)
        if len(compact) >= min_length:
            self.typo_targets.append((compact, keyword))

    @property
    def longest_sequence(self) -> int:
        return max((len(k) for k in self.sequences), default=0)


def _word_pattern(words: Iterable[str]) -> re.Pattern[str]:
    forms = sorted({folded(w) for w in words if folded(w)}, key=len, reverse=True)
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in forms)
    return re.compile(rf"\b(?:{alternatives})\b" if forms else r"(?!)")


# ---------------------------------------------------------------------------------------------
# Classifying one text (SPEC §5.4)
# ---------------------------------------------------------------------------------------------


def classify(text: str, rules: KeywordRules, opt_out_type: str | None = None) -> Classification:
    """What the patient's text asks for. Opt-out wins over everything else in one message."""
    local = _read_text(text, rules)
    return _with_carrier_verdict(local, rules, opt_out_type)


def _read_text(text: str, rules: KeywordRules) -> Classification:
    index = rules._index
    exact = plain(text)
    keyword = index.exact.get(exact)
    if keyword is not None:
        return keyword.read("keyword", standard=keyword.standard)
    loose = folded(text)
    steps: tuple[Callable[[], Classification | None], ...] = (
        lambda: _stop_sign(text, rules),
        lambda: _keyword_sequence(exact, index),
        lambda: _fuzzy_keyword(loose, rules),
        lambda: _quoted_instruction(loose, rules),
        lambda: _phrase(loose, rules),
    )
    for step in steps:
        found = step()
        if found is not None:
            return found
    return _opt_out_word(loose, rules)


def _stop_sign(text: str, rules: KeywordRules) -> Classification | None:
    """🛑 alone (or repeated) reads as STOP."""
    marks = {ch for ch in _visible(text) if not ch.isspace() and not _is_punctuation(ch)}
    group = rules.main_group(Intent.OPT_OUT)
    if not marks or not marks <= _STOP_SIGNS or group is None:
        return None
    return Classification(Intent.OPT_OUT, group.scope, rules.default_language, "emoji:🛑", False)


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _keyword_sequence(exact: str, index: _Index) -> Classification | None:
    """Only keywords and polite words ("STOP please", "HELP STOP"): the strongest one wins."""
    tokens = _WORDS.findall(exact)
    found: list[_Keyword] = []
    position, longest = 0, index.longest_sequence
    while position < len(tokens):
        for size in range(min(longest, len(tokens) - position), 0, -1):
            key = tuple(tokens[position : position + size])
            if key in index.sequences:
                if (keyword := index.sequences[key]) is not None:
                    found.append(keyword)
                position += size
                break
        else:
            return None
    if not found:
        return None
    best = min(found, key=lambda k: _PRIORITY[k.group.intent])
    same = [k for k in found if k.group.intent is best.group.intent]
    scope = tuple(dict.fromkeys(s for k in same for s in k.group.scope))
    return Classification(
        best.group.intent, scope, best.language, f"keyword:{best.language}:{best.word}", False
    )


def _fuzzy_keyword(loose: str, rules: KeywordRules) -> Classification | None:
    """A keyword despite spacing, repeats, look-alikes or one typo; real words go to review."""
    tokens = loose.split()
    if not tokens or (len(tokens) > 3 and any(len(t) > 1 for t in tokens)):
        return None
    compact = _compact(loose)
    index = rules._index
    if compact in index.compact:
        return index.compact[compact].read("fuzzy")
    candidates = index.squeezed.get(_squeeze(compact)) or _typo_candidates(compact, rules)
    if not candidates:
        return None
    first = candidates[0]
    if compact in rules.real_words or len({k.group.intent for k in candidates}) > 1:
        rule = f"fuzzy_uncertain:{first.language}:{first.word}"
        return Classification(Intent.REVIEW, (), first.language, rule, False)
    return first.read("fuzzy")


def _typo_candidates(compact: str, rules: KeywordRules) -> list[_Keyword]:
    if len(compact) < rules.fuzzy_min_length - 1:
        return []
    return [
        keyword
        for target, keyword in rules._index.typo_targets
        if _one_slip(compact, target) or _anagram(compact, target)
    ]


def _anagram(text: str, target: str) -> bool:
    """ "POTS" and "SPOT" hold STOP's letters: only ever a candidate, never a match alone."""
    return len(text) == len(target) and sorted(text) == sorted(target)


def _one_slip(text: str, target: str) -> bool:
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


def _quoted_instruction(loose: str, rules: KeywordRules) -> Classification | None:
    """An echoed "Reply STOP to unsubscribe" is not a request, and is never answered (loops)."""
    for rule in rules.quoted_instructions:
        if rule.pattern.search(loose):
            return Classification(Intent.REVIEW, (), rule.language, "quoted_instruction", False)
    return None


def _phrase(loose: str, rules: KeywordRules) -> Classification | None:
    """Free-text opt-outs: FCC §64.1200(a)(10) "any reasonable means"."""
    for rule in rules.phrases:
        if rule.pattern.search(loose):
            scope = rule.scope or _main_scope(rules, Intent.OPT_OUT)
            return Classification(
                Intent.OPT_OUT, scope, rule.language, f"phrase:{rule.language}:{rule.id}", False
            )
    return None


def _opt_out_word(loose: str, rules: KeywordRules) -> Classification:
    """An opt-out word in another sentence: `none` only when every such word is explained."""
    words = _opt_out_word_spans(loose, rules)
    if not words:
        return Classification(Intent.NONE, (), rules.default_language, "none", False)
    explained = [(span, rule) for span, rule in _false_positive_spans(loose, rules)]
    for (start, end), language, word in words:
        if not any(a <= start and end <= b for (a, b), _ in explained):
            rule = f"opt_out_word:{language}:{word}"
            return Classification(Intent.REVIEW, (), language, rule, False)
    (start, end), _, _ = words[0]
    covering = next(rule for (a, b), rule in explained if a <= start and end <= b)
    rule_name = f"false_positive:{covering.language}:{covering.id}"
    return Classification(Intent.NONE, (), covering.language, rule_name, False)


def _opt_out_word_spans(loose: str, rules: KeywordRules) -> list[tuple[tuple[int, int], str, str]]:
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for language, pattern in rules._index.opt_out_words:
        for match in pattern.finditer(loose):
            found.setdefault(match.span(), (language, " ".join(match.group(0).split())))
    return [(span, lang, word) for span, (lang, word) in sorted(found.items())]


def _false_positive_spans(
    loose: str, rules: KeywordRules
) -> Iterator[tuple[tuple[int, int], TextRule]]:
    for rule in rules.false_positives:
        for match in rule.pattern.finditer(loose):
            yield match.span(), rule


def _main_scope(rules: KeywordRules, intent: Intent) -> tuple[str, ...]:
    group = rules.main_group(intent)
    return group.scope if group is not None else ("sender",)


_CARRIER_INTENTS = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}


def _with_carrier_verdict(
    local: Classification, rules: KeywordRules, opt_out_type: str | None
) -> Classification:
    """Twilio's OptOutType counts unless our own reading is stronger (opt-out always is)."""
    kind = (opt_out_type or "").strip().upper()
    carrier = _CARRIER_INTENTS.get(kind)
    if carrier is None or local.intent is Intent.OPT_OUT:
        return local
    if carrier is Intent.OPT_OUT or local.intent in (Intent.REVIEW, Intent.NONE):
        scope = _main_scope(rules, carrier) if carrier is not Intent.HELP else ()
        return Classification(carrier, scope, local.language, f"optout_type:{kind}", True)
    return local


# ---------------------------------------------------------------------------------------------
# Scope and replies
# ---------------------------------------------------------------------------------------------


def scoped_categories(
    c: Classification, rules: KeywordRules, to: str | None, today: dt.date
) -> tuple[str, ...]:
    """Category names the classification revokes/grants when sent to clinic number `to`."""
    if c.intent not in (Intent.OPT_OUT, Intent.OPT_IN):
        return ()
    revoke_all = rules.revoke_all_from is not None and today >= rules.revoke_all_from
    if c.intent is Intent.OPT_OUT and revoke_all:
        return tuple(sorted(rules.categories))  # FCC §64.1200(a)(10) revoke-all
    names: set[str] = set()
    for word in c.scope:
        if word == "all":
            names.update(rules.categories)
        elif word == "sender":
            names.update(rules.sender_categories(to))
        elif word in rules.categories:
            names.add(word)
    return tuple(sorted(names))


def compose_reply(
    rules: KeywordRules,
    language: str,
    intent: Intent,
    changed: tuple[str, ...],
    continuing: tuple[str, ...],
) -> str | None:
    """The one automatic answer, in the patient's language; None when nothing is to be said."""
    key = _reply_key(intent, changed, continuing)
    if key is None:
        return None
    if language not in rules.replies:
        language = rules.default_language
    return _render(rules, language, key, changed, continuing)


def _reply_key(intent: Intent, changed: tuple[str, ...], continuing: tuple[str, ...]) -> str | None:
    if intent is Intent.OPT_OUT:
        # Already opted out of that scope: nothing (FCC: one confirmation, no repeats).
        if not changed:
            return None
        return "opt_out_partial" if continuing else "opt_out"
    return {Intent.OPT_IN: "opt_in", Intent.HELP: "help"}.get(intent)


def _render(
    rules: KeywordRules, language: str, key: str, stopped: Sequence[str], continuing: Sequence[str]
) -> str:
    texts = rules.replies.get(language, {})
    conjunction = texts.get("conjunction", "and")
    stopped_text = _join_labels(rules, language, stopped, conjunction)
    continuing_text = _join_labels(rules, language, continuing, conjunction)
    return texts.get(key, "").format_map(
        {
            "program": rules.program.name or rules.program_name,
            "contact": rules.program.contact,
            "frequency": rules.program.frequency.get(language, ""),
            "stopped": stopped_text,
            "continuing": continuing_text,
            "Stopped": stopped_text[:1].upper() + stopped_text[1:],
            "Continuing": continuing_text[:1].upper() + continuing_text[1:],
        }
    )


def _join_labels(rules: KeywordRules, language: str, names: Sequence[str], conjunction: str) -> str:
    labels = [_label(rules, name, language) for name in names]
    if len(labels) <= 1:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} {conjunction} {labels[-1]}"


def _label(rules: KeywordRules, name: str, language: str) -> str:
    category = rules.categories.get(name)
    return category.labels.get(language, name) if category is not None else name
