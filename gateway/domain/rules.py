"""The keyword rules as plain data (SPEC §5), and the problems found reading them. PURE."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    REVIEW = "review"
    NONE = "none"
    ANSWER = "answer"  # the answer to a question our last text asked ("Reply C to confirm")


SCOPE_WORDS = ("sender", "all")  # scope words besides category names
INTENTS_IN_FILE = (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP)  # the file's keyword groups
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # a state window's days
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
    # The replies it asks for: {"C": "confirm", "NO": "decline"} (keys as written).
    answers: Mapping[str, str] = field(default_factory=dict)
    # What goes instead to a number with no PHI by text (HIPAA §164.522(b)): none of its
    # fields is PHI. None: such a number gets nothing from this template (reason restricted).
    private_text: str | None = None
    private_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    intent: Intent
    scope: tuple[str, ...]  # scope words of the matched rule: category names, "sender", "all"
    language: str
    rule: str  # names what matched, e.g. "keyword:en:STOP"
    standard: bool  # a standard keyword (carrier answers it itself when carrier_replies)
    why: str = ""  # for a review: why a person should look
    review: str = ""  # the review's kind: "opt_out" (maybe one) or "wrong_number"
    answer: str | None = None  # read as the answer a template asked for ("confirm")
