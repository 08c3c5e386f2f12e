"""A checked keywords.yml (`KeywordsFile`) as the domain's frozen rules, and the warnings
worth a look that do not stop the gateway (a reply longer than one SMS segment)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.adapters.keyword_shape import (
    JoinShape,
    KeywordsFile,
    ReadingShape,
    TemplateShape,
    WindowShape,
)
from gateway.adapters.keyword_types import template_fields
from gateway.domain.fuzzy import dictionary_words
from gateway.domain.join_form import JoinRules
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import compacted, folded, plain
from gateway.domain.patterns import compile_pattern, keyword_alternation
from gateway.domain.replies import REPLY_KEYS, join_text, render
from gateway.domain.rules import (
    WEEKDAYS,
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
from gateway.domain.segments import non_gsm7, segment_size
from gateway.domain.us_states import canonical_state
from gateway.domain.vocabulary import Phrase, Role, Thing, Vocabulary, shared

DEFAULT_FREQUENCY = "Msg frequency varies"
_CONJUNCTIONS = {"en": "and", "es": "y"}


def build(
    shape: KeywordsFile, raw: Mapping[str, Any], dictionary: Callable[[str], bool] | None
) -> KeywordRules:
    """The rules, with their warnings. A language the file ships but does not switch on
    (French, off by default) is still read where a patient's text may use it (keywords,
    reading, fillers, reactions, patterns) and left out of what we answer in."""
    on = tuple(shape.languages)
    groups = tuple(_group(g) for g in shape.keywords)
    pattern = keyword_alternation(groups)
    fuzzy_min = shape.fuzzy.min_length if shape.fuzzy else 4
    categories = {
        name: CategoryRule(name, c.requires_grant, _only(c.labels, on))
        for name, c in shape.categories.items()
    }
    phi = frozenset(shape.phi_fields or ())
    rules = KeywordRules(
        program_name=shape.program.name,
        categories=categories,
        senders={
            number: Sender(number, tuple(dict.fromkeys(s.categories or ())), s.carrier_replies)
            for number, s in (shape.senders or {}).items()
        },
        languages=on,
        revoke_all_from=shape.revoke_all_from,
        reply_cap_per_hour=shape.reply_cap_per_hour,
        disclosures={v: " ".join(text.split()) for v, text in (shape.disclosures or {}).items()},
        raw=dict(raw),
        program=Program(
            shape.program.name,
            shape.program.contact,
            _only(shape.program.frequency or dict.fromkeys(on, DEFAULT_FREQUENCY), on),
        ),
        keyword_groups=groups,
        carrier_keywords=frozenset(plain(w) for w in shape.carrier_keywords or ()),
        filler_words=_word_lists(shape.filler_words),
        phrases=tuple(
            TextRule(r.id, r.language, compile_pattern(r.pattern, pattern), _scope(r.scope))
            for r in shape.phrases or ()
        ),
        quoted_instructions=tuple(
            TextRule(r.id, r.language, compile_pattern(r.pattern, pattern))
            for r in shape.quoted_instructions or ()
        ),
        false_positives=tuple(
            TextRule(r.id, r.language, compile_pattern(r.pattern, pattern))
            for r in shape.false_positives or ()
        ),
        vocabularies=_vocabularies(shape.reading or {}, on),
        reactions=_word_lists(shape.reactions),
        answer_window_hours=shape.answer_window_hours,
        fuzzy_min_length=fuzzy_min,
        real_words=_real_words(shape, on) | dictionary_words(groups, on, fuzzy_min, dictionary),
        replies={
            language: {
                **{key: getattr(texts, key) for key in REPLY_KEYS},
                "conjunction": texts.conjunction or _CONJUNCTIONS.get(language, "and"),
            }
            for language, texts in _only(shape.replies, on).items()
        },
        quiet_hours={name: _window(w) for name, w in (shape.quiet_hours or {}).items()},
        state_windows={
            state: StateWindow(state, tuple(_day(w, day) for day in WEEKDAYS))
            for written, w in (shape.state_windows or {}).items()
            if (state := canonical_state(written)) is not None
        },
        frequency_caps={
            name: tuple(FrequencyCap(c.count, c.hours, c.enabled) for c in caps or ())
            for name, caps in (shape.frequency_caps or {}).items()
        },
        phi_fields=phi,
        templates={name: _template(name, t, phi) for name, t in (shape.templates or {}).items()},
        join=_join(shape.join, categories, on) if shape.join is not None else None,
    )
    return replace(rules, warnings=tuple(warnings(shape, rules)))


def _only(by_language: Mapping[str, Any], languages: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in by_language.items() if k in languages}


def _scope(scope: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(scope or ()))


def _group(group: Any) -> KeywordGroup:
    words = {k: tuple(v or ()) for k, v in (group.words or {}).items()}
    return KeywordGroup(group.id, Intent(group.intent), _scope(group.scope), words)


def _word_lists(lists: Mapping[str, list[str] | None] | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v or ()) for k, v in (lists or {}).items()}


def _real_words(shape: KeywordsFile, languages: Sequence[str]) -> frozenset[str]:
    lists = _only(shape.fuzzy.real_words or {}, languages) if shape.fuzzy else {}
    return frozenset(compacted(folded(w)) for words in lists.values() for w in words or ())


def _vocabularies(
    reading: Mapping[str, ReadingShape], languages: Sequence[str]
) -> tuple[Vocabulary, ...]:
    """One vocabulary per language in the file, those switched on first: a language not
    switched on is still read (a revocation in French is a revocation) but never answered in."""
    order = [*(k for k in languages if k in reading), *(k for k in reading if k not in languages)]
    return shared([_vocabulary(k, reading[k]) for k in order])


def _vocabulary(language: str, spec: Any) -> Vocabulary:
    roles = {r: words for r in Role if (words := getattr(spec, r.value)) is not None}
    objects, phrases = spec.objects, spec.phrases
    things = {t: words for t in Thing if objects and (words := getattr(objects, t.value))}
    kinds = {p: words for p in Phrase if phrases and (words := getattr(phrases, p.value))}
    return Vocabulary.build(language, roles, things, kinds)


def _window(window: WindowShape) -> TimeWindow:
    return TimeWindow(window.start, window.end)


def _day(spec: Any, day: str) -> TimeWindow | None:
    window = getattr(spec, day) or spec.daily
    return _window(window) if window is not None else None


def _template(name: str, spec: TemplateShape, phi: frozenset[str]) -> Template:
    fields = tuple(dict.fromkeys(template_fields(spec.text)))
    marked = phi | set(spec.phi or ())
    private = spec.private_text
    return Template(
        name,
        spec.category,
        spec.text,
        fields,
        tuple(f for f in fields if f in marked),
        dict(spec.answers or {}),
        private,
        tuple(dict.fromkeys(template_fields(private))) if private else (),
    )


def _join(
    spec: JoinShape, categories: Mapping[str, CategoryRule], languages: Sequence[str]
) -> JoinRules:
    if "double_opt_in" in spec.model_fields_set:
        double = spec.double_opt_in or []
    else:
        double = ["marketing"] if "marketing" in categories else []
    return JoinRules(
        {name: _only(versions, languages) for name, versions in spec.disclosures.items()},
        tuple(dict.fromkeys(double)),
        spec.pending_hours,
        {k: t.model_dump() for k, t in _only(spec.texts, languages).items()},
    )


# --- warnings ------------------------------------------------------------------------------


def warnings(shape: KeywordsFile, rules: KeywordRules) -> Iterator[Problem]:
    yield from _carrier_keywords(shape, rules)
    yield from _long_replies(rules)
    yield from _long_join_texts(rules)


def _carrier_keywords(shape: KeywordsFile, rules: KeywordRules) -> Iterator[Problem]:
    known = {plain(w) for g in rules.keyword_groups for ws in g.words.values() for w in ws}
    for i, word in enumerate(shape.carrier_keywords or ()):
        if plain(word) not in known:
            yield _warning(
                ("carrier_keywords", i), f"'{word}' is not one of the keywords; it has no effect"
            )


def _long_replies(rules: KeywordRules) -> Iterator[Problem]:
    """CTIA asks for short confirmations; a reply over one segment costs twice and may split."""
    for language, texts in rules.replies.items():
        for key in REPLY_KEYS:
            if not texts.get(key):
                continue
            samples = [(segment_size(t), t) for t in _sample_replies(rules, language, key)]
            over = [(size, limit, text) for (size, limit), text in samples if size > limit]
            if over:
                size, limit, longest = max(over)
                yield _warning(("replies", language, key), _too_long(longest, size, limit))


def _too_long(text: str, size: int, limit: int) -> str:
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
        yield render(rules, language, key, names, ())
        return
    for name in names if len(names) > 1 else ():
        yield render(rules, language, key, (name,), tuple(n for n in names if n != name))


def _long_join_texts(rules: KeywordRules) -> Iterator[Problem]:
    """Rendered as they go out after a form with every box ticked: the form's other
    categories granted, the double opt-in ones pending, then YES."""
    if rules.join is None:
        return
    double = tuple(n for n in rules.join.disclosures if n in rules.join.double_opt_in)
    granted = tuple(n for n in rules.join.disclosures if n not in double)
    for language, by_key in rules.join.texts.items():
        for key in by_key:
            named = double if key == "confirmed" else granted
            size, limit = segment_size(join_text(rules, language, key, named, double))
            if size > limit:
                yield _warning(
                    ("join", "texts", language, key),
                    f"{size} characters: longer than one SMS segment ({limit} characters)",
                )


def _warning(path: tuple[str | int, ...], message: str) -> Problem:
    return Problem(path, message, "warning")
