"""Validating when and what the clinic may send: quiet hours, windows, caps, templates. PURE."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from gateway.domain.rules import (
    CategoryRule,
    FrequencyCap,
    KeyPath,
    StateWindow,
    Template,
    TimeWindow,
)
from gateway.domain.schema_reader import Reader, joined, template_fields
from gateway.domain.us_states import canonical_state

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANSWER_LENGTH = 40  # what an answer means ("confirm"), as stored with the inbound text


def read_quiet_hours(
    reader: Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, TimeWindow]:
    path: KeyPath = ("quiet_hours",)
    windows: dict[str, TimeWindow] = {}
    for name, body in reader.mapping(value or {}, path).items():
        where = (*path, str(name))
        if name not in categories:
            reader.error(where, f"unknown category '{name}'; known: {joined(categories)}")
        window = _window(reader, body, where)
        if window is not None and name in categories:
            windows[name] = window
    return windows


def _window(reader: Reader, value: Any, path: KeyPath) -> TimeWindow | None:
    spec = reader.mapping(value, path, ("start", "end"), ("start", "end"))
    start = reader.time(spec["start"], (*path, "start")) if "start" in spec else None
    end = reader.time(spec["end"], (*path, "end")) if "end" in spec else None
    if start is None or end is None:
        return None
    if start >= end:
        reader.error(path, "start must be before end (windows do not cross midnight)")
        return None
    return TimeWindow(start, end)


def read_state_windows(reader: Reader, value: Any) -> dict[str, StateWindow]:
    path: KeyPath = ("state_windows",)
    states: dict[str, StateWindow] = {}
    written_as: dict[str, str] = {}
    for written, body in reader.mapping(value or {}, path).items():
        where = (*path, str(written))
        if not isinstance(written, str):
            reader.error(where, "write the state's name, e.g. Florida")
            continue
        # Keyed by the canonical name the number's state is looked up by (Phone.state): a key
        # that names no state would never apply, so it is refused, not ignored.
        state = canonical_state(written)
        if state is None:
            reader.error(
                where,
                f"'{written}' is not a US state or territory; write its name (Washington) "
                "or USPS code (WA)",
            )
            continue
        if state in written_as:
            reader.error(where, f"{state} is given twice (also as '{written_as[state]}')")
            continue
        written_as[state] = written
        spec = reader.mapping(body, where, ("daily", *WEEKDAYS))
        if isinstance(body, Mapping) and not spec:
            reader.error(where, "give a window for daily or for named days (mon … sun)")
        windows = {day: _window(reader, w, (*where, day)) for day, w in spec.items()}
        daily = windows.get("daily")
        days = tuple(windows.get(day, daily) for day in WEEKDAYS)
        states[state] = StateWindow(state, days)
    return states


def read_frequency_caps(
    reader: Reader, value: Any, categories: Mapping[str, CategoryRule]
) -> dict[str, tuple[FrequencyCap, ...]]:
    path: KeyPath = ("frequency_caps",)
    caps: dict[str, tuple[FrequencyCap, ...]] = {}
    for name, body in reader.mapping(value or {}, path).items():
        where = (*path, str(name))
        if name not in categories:
            reader.error(where, f"unknown category '{name}'; known: {joined(categories)}")
        found = tuple(
            _cap(reader, cap, (*where, i)) for i, cap in enumerate(reader.items(body, where))
        )
        caps[str(name)] = found
    return caps


def _cap(reader: Reader, value: Any, path: KeyPath) -> FrequencyCap:
    spec = reader.mapping(value, path, ("count", "hours", "enabled"), ("count", "hours"))
    return FrequencyCap(
        count=reader.integer(spec.get("count", 1), (*path, "count"), 1, 1),
        hours=reader.integer(spec.get("hours", 24), (*path, "hours"), 1, 24),
        enabled=reader.boolean(spec.get("enabled"), (*path, "enabled"), True),
    )


def read_templates(
    reader: Reader, value: Any, categories: Mapping[str, CategoryRule], phi: frozenset[str]
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
    reader: Reader,
    name: str,
    body: Any,
    where: KeyPath,
    categories: Mapping[str, CategoryRule],
    phi: frozenset[str],
) -> Template | None:
    spec = reader.mapping(
        body, where, ("category", "text", "phi", "answers", "private_text"), ("category", "text")
    )
    category = (
        reader.text(spec.get("category"), (*where, "category")) if "category" in spec else None
    )
    if category is not None and category not in categories:
        reader.error(
            (*where, "category"), f"unknown category '{category}'; known: {joined(categories)}"
        )
    text = reader.text(spec.get("text"), (*where, "text")) if "text" in spec else None
    if text is None or category is None or category not in categories:
        return None
    try:
        fields = tuple(dict.fromkeys(template_fields(text)))
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
    answers = _answers(reader, spec.get("answers"), (*where, "answers"))
    private = _private_text(reader, spec, (*where, "private_text"), fields, marked)
    private_fields = tuple(dict.fromkeys(template_fields(private))) if private else ()
    return Template(name, category, text, fields, phi_used, answers, private, private_fields)


def _private_text(
    reader: Reader,
    spec: Mapping[str, Any],
    path: KeyPath,
    fields: tuple[str, ...],
    phi: AbstractSet[str],
) -> str | None:
    """The text for a number with no PHI by text (HIPAA §164.522(b)): it may use only the
    template's own fields that are not PHI ("You have an appointment tomorrow. Call us")."""
    if "private_text" not in spec:
        return None
    private = reader.text(spec.get("private_text"), path)
    if private is None:
        return None
    try:
        used = tuple(dict.fromkeys(template_fields(private)))
    except ValueError as exc:
        reader.error(path, f"bad placeholder: {exc}")
        return None
    problems = len(reader.problems)
    if phi_used := [f for f in used if f in phi]:
        reader.error(
            path, "a private text may not use protected health information: " + ", ".join(phi_used)
        )
    if unknown := [f for f in used if f not in phi and f not in fields]:
        reader.error(
            path,
            "a private text may use only the template's own fields; not in its text: "
            + ", ".join(unknown),
        )
    return private if len(reader.problems) == problems else None


def _answers(reader: Reader, value: Any, path: KeyPath) -> dict[str, str]:
    """The replies a template asks for: {"C": "confirm"}; a key is read like a keyword."""
    found: dict[str, str] = {}
    for key, meaning in reader.mapping(value or {}, path).items():
        where = (*path, str(key))
        if not isinstance(key, str) or not key.strip():
            reader.error(where, 'write the answer as text in quotes, e.g. "NO"')
        elif (text := reader.text(meaning, where)) is not None:
            if len(text) > ANSWER_LENGTH:
                reader.error(where, f"an answer's meaning is at most {ANSWER_LENGTH} characters")
            found[key] = text[:ANSWER_LENGTH]
    return found
