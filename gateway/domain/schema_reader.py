"""A reader of the keywords mapping that notes every problem instead of stopping. PURE."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.domain.rules import KeyPath, Problem

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]+)?")


class Reader:
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
            self.error(path, f"expected a mapping (key: value), got {describe(value)}")
            return {}
        allowed = set(keys)
        if allowed:
            for key in value:
                if key not in allowed:
                    self.error((*path, str(key)), f"unknown key; expected one of {joined(allowed)}")
        for key in required:
            if key not in value:
                self.error(path, f"missing required key '{key}'")
        return value

    def items(self, value: Any, path: KeyPath) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {describe(value)}")
            return []
        return value

    def text(self, value: Any, path: KeyPath) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        hint = ""
        if isinstance(value, bool | int | float):
            hint = "; write it in quotes (YAML reads YES, NO, ON, OFF and numbers as values)"
        self.error(path, f"expected a non-empty text, got {describe(value)}{hint}")
        return None

    def texts(self, value: Any, path: KeyPath) -> list[str]:
        found = (self.text(item, (*path, i)) for i, item in enumerate(self.items(value, path)))
        return [t for t in found if t is not None]

    def boolean(self, value: Any, path: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.error(path, f"expected true or false, got {describe(value)}")
        return default

    def integer(self, value: Any, path: KeyPath, minimum: int, default: int) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.error(path, f"expected a whole number of at least {minimum}, got {describe(value)}")
        return default

    def time(self, value: Any, path: KeyPath) -> dt.time | None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.error(path, 'write the time in quotes, e.g. "21:00" (YAML read it as a number)')
            return None
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            self.error(path, f'expected a time "HH:MM" (24-hour clock), got {describe(value)}')
            return None
        return dt.time.max if value == "24:00" else dt.time.fromisoformat(value)

    def language_map(
        self,
        value: Any,
        path: KeyPath,
        languages: Sequence[str],
        *,
        every: bool,
        switched_off: bool = False,
    ) -> dict[str, Any]:
        """A mapping keyed by languages; `every`: all configured ones must be there.

        A language the file ships but does not list under `languages` (French, off by default)
        is allowed and left out — or kept, with `switched_off`."""
        if not isinstance(value, Mapping):
            self.mapping(value, path)
            return {}
        for key in value:
            if key not in languages and not (isinstance(key, str) and LANGUAGE.fullmatch(key)):
                known = joined(languages)
                self.error((*path, str(key)), f"unknown key; expected a language ({known})")
        if every:
            for language in languages:
                if language not in value:
                    self.error(path, f"missing language '{language}'")
        return {
            k: v
            for k, v in value.items()
            if k in languages or (switched_off and isinstance(k, str) and LANGUAGE.fullmatch(k))
        }


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
