"""Validating the sentence-reading word lists (`reading:`) and message reactions. PURE."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.domain.rules import KeyPath
from gateway.domain.schema_reader import Reader
from gateway.domain.vocabulary import NAME, Phrase, Role, Thing, Vocabulary, word_key

ROLE_KEYS = tuple(role.value for role in Role)
THING_KEYS = tuple(thing.value for thing in Thing)
PHRASE_KEYS = tuple(phrase.value for phrase in Phrase)


def read_vocabularies(
    reader: Reader, value: Any, languages: Sequence[str]
) -> tuple[Vocabulary, ...]:
    """One vocabulary per language in the file, those switched on first: a language not
    switched on is still read (a revocation in French is a revocation) but never answered in."""
    path: KeyPath = ("reading",)
    found = reader.language_map(value or {}, path, languages, every=False, switched_off=True)
    order = [*(k for k in languages if k in found), *(k for k in found if k not in languages)]
    vocabularies = [_vocabulary(reader, k, found[k], (*path, k)) for k in order]
    if not vocabularies:
        return ()
    main = vocabularies[0].words
    others = [replace(v, own=v.words - main) for v in vocabularies[1:]]
    vocabularies = [vocabularies[0], *others]
    return tuple(v.sharing(o for o in vocabularies if o is not v) for v in vocabularies)


def _vocabulary(reader: Reader, language: str, value: Any, path: KeyPath) -> Vocabulary:
    spec = reader.mapping(value, path, (*ROLE_KEYS, "objects", "phrases"))
    roles = {Role(k): _words(reader, v, (*path, k)) for k, v in spec.items() if k in ROLE_KEYS}
    objects = reader.mapping(spec.get("objects", {}), (*path, "objects"), THING_KEYS)
    things = {Thing(k): _words(reader, v, (*path, "objects", k)) for k, v in objects.items()}
    phrases_spec = reader.mapping(spec.get("phrases", {}), (*path, "phrases"), PHRASE_KEYS)
    phrases = {
        Phrase(k): _words(reader, v, (*path, "phrases", k), names=True)
        for k, v in phrases_spec.items()
    }
    return Vocabulary.build(language, roles, things, phrases)


def _words(reader: Reader, value: Any, path: KeyPath, *, names: bool = False) -> list[str]:
    words = reader.texts(value, path)
    for i, word in enumerate(words):
        key = word_key(word)
        if not key:
            reader.error((*path, i), f"'{word}' has no letters or digits to match")
        elif NAME in key and (not names or key[0] == NAME):
            where = "inside a phrase, after its first word" if names else "only in phrases"
            reader.error((*path, i), f"{NAME} may stand {where}")
    return words


def read_reactions(
    reader: Reader, value: Any, languages: Sequence[str]
) -> Mapping[str, tuple[str, ...]]:
    path: KeyPath = ("reactions",)
    found = reader.language_map(value or {}, path, languages, every=False, switched_off=True)
    return {k: tuple(reader.texts(v, (*path, k))) for k, v in found.items()}
