"""The words a sentence is read with, per language (keywords.yml `reading:`). PURE.

A `Vocabulary` maps word sequences (one or more tokens) to the roles they play: a negation,
a verb that ends something, what it ends. `tokens` turns a text into the words these are
matched against, the same way for the file's lists and for patients' texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from gateway.domain.normalise import folded


class Role(StrEnum):
    NEGATION = "negations"
    STOP = "stop_verbs"
    END = "end_verbs"
    CONTACT = "contact_verbs"
    START = "start_verbs"
    WANT = "want_verbs"
    RECEIVE = "receive_verbs"
    MORE = "more_words"
    LEAD = "lead_words"
    LINK = "linking_words"
    SUBJECT = "subject_words"
    WONDER = "wonder_words"
    RESTRICTION = "restriction_words"
    MENTION = "mention_words"
    THIRD = "third_person"
    PASSIVE = "passive_words"
    VOICE = "voice_verbs"
    CONDITION = "condition_words"
    EXCEPT = "except_words"
    AGAIN = "again_words"
    MISTAKE = "mistake_words"
    ELSEWHERE = "elsewhere_words"
    AUXILIARY = "auxiliary_words"
    BLOCKER = "keyword_blockers"
    INTEREST = "interest_words"
    CAUSATIVE = "causative_words"
    NO = "no_words"
    NOUN_BEFORE = "noun_before"
    NOUN_AFTER = "noun_after"
    VISIT = "visit_words"


class Thing(StrEnum):
    """What an opt-out verb can end: its object, which also sets the scope."""

    MESSAGES = "messages"
    ME = "me"
    LISTS = "lists"
    THIS = "this"
    ALL = "all"
    MARKETING = "marketing"
    CARE = "care"


class Phrase(StrEnum):
    DISMISSAL = "dismissal"
    COMPLAINT = "complaint"
    WRONG_NUMBER = "wrong_number"
    SPAM = "spam"
    DECLINE = "decline"
    OPT_IN = "opt_in"
    PREFER_TEXTS = "prefer_texts"
    PREFER_CALLS = "prefer_calls"


_SHARED_THINGS = frozenset({Thing.MESSAGES, Thing.MARKETING, Thing.CARE})
NAME = "{name}"  # in a phrase: a capitalised word ("this isn't {name}")

# English contractions lose their apostrophe ("don't" -> "dont"); other apostrophes split
# words (French "m'écrivez" -> "m ecrivez").
_CONTRACTION = re.compile(r"(?<=[^\W_])'(?=(?:t|s|m|re|ll|ve|d)\b)")
_NUMBER_SIGN = re.compile(r"(?<=[^\W\d_])\s*#(?!\s*\d)")
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")
_TOKEN = re.compile(r"[^\W\d_]\*+[^\W\d_]*|[^\W_]+")


def tokens(text: str) -> list[str]:
    """Words of an already folded text: lower-case, no accents, masked swearing kept whole."""
    return _TOKEN.findall(contracted(text))


def unstretched(text: str) -> str:
    """A letter stretched three times or more read once ("stoppp", "pleeease")."""
    return _STRETCHED.sub(r"\1", text)


def contracted(text: str) -> str:
    """ "don't" -> "dont", "I'm" -> "Im" (other apostrophes split words); "wrong #" and
    "my #" -> "… number"."""
    if "#" in text:
        text = _NUMBER_SIGN.sub(" number", text)
    return _CONTRACTION.sub("", text.replace("’", "'")) if "'" in text or "’" in text else text


def word_key(entry: str) -> tuple[str, ...]:
    """A list entry as the tokens it must match ("don't" -> ("dont",))."""
    if NAME in entry:
        before, _, after = entry.partition(NAME)
        return (*word_key(before), NAME, *word_key(after))
    return tuple(tokens(folded(entry)))


@dataclass(frozen=True)
class Vocabulary:
    """One language's reading lists, indexed by first token for a single left-to-right pass."""

    language: str
    roles: Mapping[tuple[str, ...], frozenset[Role]] = field(default_factory=dict)
    things: Mapping[tuple[str, ...], Thing] = field(default_factory=dict)
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], Phrase], ...]] = field(default_factory=dict)
    # The longest thing entry, and of each role, starting with a word: most words start none.
    starts: Mapping[str, int] = field(default_factory=dict)
    role_starts: Mapping[Role, Mapping[str, int]] = field(default_factory=dict)
    # Words without which a clause says nothing to this vocabulary (a quick pass).
    cues: frozenset[str] = frozenset()
    # The roles an entry starting with a word may have: one lookup per word of a clause.
    openers: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    # Single words for texts or for texting: what a slip of the thumb ("textss") stands for.
    text_words: tuple[str, ...] = ()
    # Words only this language's lists hold (none: read every clause). A clause holding none
    # is left to the main language: "no more texts please" has nothing Spanish to read.
    own: frozenset[str] = frozenset()

    @property
    def words(self) -> frozenset[str]:
        """Every word in this language's own lists."""
        keys = [*self.roles, *self.things, *(k for ks in self.phrases.values() for k, _ in ks)]
        return frozenset(w for key in keys for w in key if w != NAME)

    def reads(self, words: list[str]) -> bool:
        return not self.own or not self.own.isdisjoint(words)

    def sharing(self, others: Iterable[Vocabulary]) -> Vocabulary:
        """This vocabulary knowing the other languages' words for texts, promos, reminders and
        sending them too: patients mix languages ("no more mensajes", "stop de mandarme")."""
        things = dict(self.things)
        roles = {k: set(v) for k, v in self.roles.items()}
        for other in others:
            for key, thing in other.things.items():
                if thing in _SHARED_THINGS or (thing is Thing.ME and len(key) > 1):
                    things.setdefault(key, thing)
            for key, found in other.roles.items():
                if Role.CONTACT in found and key not in self.roles:
                    roles[key] = {Role.CONTACT}
        role_starts = {role: _starts(k for k, v in roles.items() if role in v) for role in Role}
        return replace(
            self,
            things=things,
            roles={k: frozenset(v) for k, v in roles.items()},
            starts=_starts(things),
            role_starts=role_starts,
            openers=_openers(role_starts),
            text_words=_text_words(things, roles),
            # cues stay this language's own: another language's verb alone ("texting" in a
            # Spanish clause) is read by that language's vocabulary
        )

    @classmethod
    def build(
        cls,
        language: str,
        roles: Mapping[Role, Iterable[str]],
        things: Mapping[Thing, Iterable[str]],
        phrases: Mapping[Phrase, Iterable[str]],
    ) -> Vocabulary:
        role_index: dict[tuple[str, ...], set[Role]] = {}
        for role, entries in roles.items():
            for entry in entries:
                if key := word_key(entry):
                    role_index.setdefault(key, set()).add(role)
        thing_index: dict[tuple[str, ...], Thing] = {}
        for thing, entries in things.items():
            for entry in entries:
                if key := word_key(entry):
                    thing_index.setdefault(key, thing)
        by_first: dict[str, list[tuple[tuple[str, ...], Phrase]]] = {}
        for kind, entries in phrases.items():
            for entry in entries:
                if key := word_key(entry):
                    by_first.setdefault(key[0], []).append((key, kind))
        role_starts = {
            role: _starts(k for k, v in role_index.items() if role in v) for role in Role
        }
        plain = {k[0] for k, v in role_index.items() if len(k) == 1 and v & _FUNCTION_WORDS}
        cues = {_cue(k, plain) for k, v in role_index.items() if v & _CUE_ROLES}
        cues |= {
            _cue(key, plain)
            for entries in by_first.values()
            for key, kind in entries
            if kind not in _ASKED_APART  # read on their own, not by `read_clause`
        }
        return cls(
            language,
            {k: frozenset(v) for k, v in role_index.items()},
            thing_index,
            {k: tuple(sorted(v, key=lambda p: -len(p[0]))) for k, v in by_first.items()},
            _starts(thing_index),
            role_starts,
            frozenset(cues),
            _openers(role_starts),
            _text_words(thing_index, role_index),
        )

    def role_at(self, words: list[str], i: int, wanted: Role) -> int:
        """The length of the longest entry with `wanted` role starting at i (0: none)."""
        longest = self.role_starts[wanted].get(words[i], 0)
        for size in range(min(longest, len(words) - i), 0, -1):
            if wanted in self.roles.get(tuple(words[i : i + size]), ()):
                return size
        return 0

    def has(self, word: str, role: Role) -> bool:
        return role in self.roles.get((word,), ())

    def thing_at(self, words: list[str], i: int) -> tuple[Thing | None, int]:
        for size in range(min(self.starts.get(words[i], 0), len(words) - i), 0, -1):
            thing = self.things.get(tuple(words[i : i + size]))
            if thing is not None:
                return thing, size
        return None, 0

    def phrase_spans(self, words: list[str], names: list[bool]) -> dict[Phrase, set[int]]:
        """Each kind of phrase found in the words (names: capitalised in the text), with the
        positions its phrases cover — unless negated ("I never said stop", "don't text me")."""
        found: dict[Phrase, set[int]] = {}
        size = len(words)
        for i, word in enumerate(words):
            for key, kind in self.phrases.get(word, ()):
                if len(key) > 1 and (i + 1 >= size or key[1] not in (words[i + 1], NAME)):
                    continue  # most candidates part at the second word
                if _matches(key, words, names, i) and not self._denied(words, i):
                    found.setdefault(kind, set()).update(range(i, i + len(key)))
        return found

    def _denied(self, words: list[str], i: int) -> bool:
        """A negation just before, across at most one leading word ("don't ever text me");
        not across a verb ("don't call, just text")."""
        for j in range(i - 1, max(-1, i - 3), -1):
            if self.has(words[j], Role.NEGATION):
                return True
            if not self.has(words[j], Role.LEAD):
                return False
        return False

    def is_phrase(self, words: list[str], names: list[bool]) -> bool:
        """Whether the words are exactly one phrase of any kind ("cancelalo", "who dis")."""
        return any(self.phrase_covers(words, names, kind) for kind in Phrase)

    def phrase_covers(self, words: list[str], names: list[bool], kind: Phrase) -> bool:
        """Whether the words are exactly one phrase of that kind."""
        if not words:
            return False
        return any(
            found is kind and len(key) == len(words) and _matches(key, words, names, 0)
            for key, found in self.phrases.get(words[0], ())
        )


_FUNCTION_WORDS = frozenset({Role.LEAD, Role.LINK, Role.NEGATION, Role.MORE, Role.SUBJECT})
_CUE_ROLES = frozenset(
    {Role.STOP, Role.END, Role.CONTACT, Role.VOICE, Role.WANT, Role.NO, Role.START, Role.PASSIVE}
)


def _text_words(
    things: Mapping[tuple[str, ...], Thing], roles: Mapping[tuple[str, ...], Iterable[Role]]
) -> tuple[str, ...]:
    nouns = [k[0] for k, t in things.items() if t is Thing.MESSAGES and len(k) == 1]
    verbs = [k[0] for k, r in roles.items() if Role.CONTACT in r and len(k) == 1]
    return tuple(dict.fromkeys([*nouns, *verbs]))


_ASKED_APART = frozenset({Phrase.DECLINE, Phrase.PREFER_TEXTS, Phrase.PREFER_CALLS})


def _cue(key: tuple[str, ...], plain: set[str]) -> str:
    """The entry's rarest-looking word: an entry can only match a clause that holds it, so a
    clause holding none of a vocabulary's cues is passed over. The longest word that is not a
    function word of the language ("a la mierda" needs "mierda", "not my appointment" needs
    "appointment")."""
    telling = [w for w in key if w not in plain and w != NAME]
    if telling:
        return max(telling, key=len)
    return NAME if NAME in key else max(key, key=len)  # "I'm not {name}": a capitalised word


def _openers(role_starts: Mapping[Role, Mapping[str, int]]) -> dict[str, frozenset[Role]]:
    found: dict[str, set[Role]] = {}
    for role, starts in role_starts.items():
        for word in starts:
            found.setdefault(word, set()).add(role)
    return {word: frozenset(roles) for word, roles in found.items()}


def _starts(keys: Iterable[tuple[str, ...]]) -> dict[str, int]:
    starts: dict[str, int] = {}
    for key in keys:
        starts[key[0]] = max(starts.get(key[0], 0), len(key))
    return starts


def _matches(key: tuple[str, ...], words: list[str], names: list[bool], at: int) -> bool:
    if at + len(key) > len(words):
        return False
    for offset, part in enumerate(key):
        if part == NAME:
            if not names[at + offset]:
                return False
        elif words[at + offset] != part:
            return False
    return True


def shared(vocabularies: Sequence[Vocabulary]) -> tuple[Vocabulary, ...]:
    """The languages' vocabularies, the main one first: each other language keeps as its own
    only the words the main one lacks, and every one knows the others' shared words."""
    if not vocabularies:
        return ()
    main = vocabularies[0].words
    others = [replace(v, own=v.words - main) for v in vocabularies[1:]]
    found = [vocabularies[0], *others]
    return tuple(v.sharing(o for o in found if o is not v) for v in found)
