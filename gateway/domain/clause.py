"""A clause of a patient's text and the words that shape its reading (SPEC §5.4). PURE.

The pieces every structure shares: what a clause is, what a reading of it says, and the
small questions asked of its words — is this word of substance, is that verb negated, what
kind of texts does a noun name. `reading` combines the structures built on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.rules import Intent
from gateway.domain.vocabulary import Role, Thing, Vocabulary

NEGATION_REACH = 5  # words a negation may stand before its verb: "don't you ever stop"
OBJECT_REACH = 6  # words after the verb searched for its object
FUNCTION_ROLES = (Role.LEAD, Role.MORE, Role.NEGATION, Role.LINK, Role.RECEIVE, Role.SUBJECT)
KINDS_OF_TEXTS = (Thing.MESSAGES, Thing.MARKETING, Thing.CARE, Thing.ALL)


class Object(StrEnum):
    """What the verb ends, beyond the vocabulary's things."""

    NOTHING = "nothing"  # the clause ends with the verb: "please stop"
    VISIT = "visit"  # "stop by", "stop in at 3"
    OTHER = "other"  # something that is not our texts: "cancel my appointment"


@dataclass(frozen=True)
class Reading:
    """What one clause says, in one language."""

    intent: Intent
    rule: str
    scope: tuple[str, ...] = ()  # scope words: "all", "marketing", or () for the STOP scope
    why: str = ""
    review: str = ""  # the review's kind: opt_out (maybe one) or wrong_number
    vague: bool = False  # an opt-out of "them", "it", "this": another clause may say what
    voice: bool = False  # about phone calls ("don't call me"): not texts, if texts are asked for

    @property
    def strength(self) -> int:
        return STRENGTH[self.intent]


STRENGTH = {Intent.OPT_OUT: 5, Intent.REVIEW: 4, Intent.OPT_IN: 3, Intent.HELP: 2, Intent.NONE: 1}


@dataclass(frozen=True)
class Clause:
    words: list[str]
    names: list[bool]  # the word was capitalised (a name: "this isn't Maria")
    question: bool
    shouted: frozenset[int] = frozenset()  # words typed in capitals: "NOT INTERESTED STOP"


def scope_for(thing: Thing, breadth: bool) -> tuple[str, ...]:
    if thing is Thing.MARKETING:
        return ("marketing",)
    if breadth or thing is Thing.ALL:
        return ("all",)
    return ()


def negated(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """A negation before the verb, across only words that leave it in force ("don't ever")."""
    for j in range(i - 1, max(-1, i - 1 - NEGATION_REACH), -1):
        word = words[j]
        if negation_ends_at(words, j, vocab):  # "don't", "no longer"
            return True
        if not passes_negation(word, vocab):
            return False
    return False


def negation_ends_at(words: list[str], j: int, vocab: Vocabulary) -> bool:
    return any(
        vocab.role_at(words, start, Role.NEGATION) == j - start + 1
        for start in range(max(0, j - 2), j + 1)
    )


def passes_negation(word: str, vocab: Vocabulary) -> bool:
    roles = (Role.LEAD, Role.WANT, Role.RECEIVE, Role.MORE)
    return any(vocab.has(word, r) for r in roles) or vocab.thing_at([word], 0)[0] is Thing.ME


def is_request(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """Only polite or leading words before the verb: "ok can you please just stop"."""
    roles = (Role.LEAD, Role.WANT, Role.SUBJECT)
    return all(any(vocab.has(w, r) for r in roles) for w in words[:i])


def sending(words: list[str], j: int, vocab: Vocabulary) -> int:
    """A verb of sending us texts — or calls ("stop calling me") — at j: its length."""
    return vocab.role_at(words, j, Role.CONTACT) or vocab.role_at(words, j, Role.VOICE)


def content(word: str, vocab: Vocabulary) -> bool:
    """A word that carries meaning (not a polite, leading, linking or filler word)."""
    return not any(vocab.has(word, role) for role in FUNCTION_ROLES)


def compound(words: list[str], j: int, vocab: Vocabulary) -> bool:
    """Words the vocabulary does not know before one it does: "botox ads", "flu shot
    reminders"."""
    nouns = (Thing.MESSAGES, Thing.MARKETING, Thing.CARE, Thing.LISTS)  # not "all at once"
    for k in range(j, min(len(words), j + 3)):
        if not content(words[k], vocab):
            return False
        if k > j and vocab.thing_at(words, k)[0] is not None:
            return vocab.thing_at(words, k)[0] in nouns
        if k + 1 < len(words) and vocab.thing_at(words, k + 1)[0] in nouns:
            return True
    return False


def narrowed(thing: Thing, words: list[str], start: int, vocab: Vocabulary) -> Thing:
    """ "stop sending me promos", "remove me from the promo list": what kind of texts; promos
    and reminders both ("all the promos and the reminders") are everything."""
    kinds = {thing}
    for j in range(start, min(len(words), start + OBJECT_REACH)):
        found, _ = vocab.thing_at(words, j)
        if found is not None:
            kinds.add(found)
        elif vocab.has(words[j], Role.SUBJECT):
            break
    if Thing.ALL in kinds or {Thing.MARKETING, Thing.CARE} <= kinds:
        return Thing.ALL
    return next((k for k in (Thing.MARKETING, Thing.CARE) if k in kinds), thing)


def starting(words: list[str], vocab: Vocabulary, *roles: Role) -> list[int]:
    """Where an entry of the roles may start: a quick pass before the closer look."""
    openers = vocab.openers
    if len(roles) == 1:
        role = roles[0]
        return [i for i, word in enumerate(words) if word in openers and role in openers[word]]
    wanted = set(roles)
    return [
        i
        for i, word in enumerate(words)
        if word in openers and not wanted.isdisjoint(openers[word])
    ]


def about_someone_else(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """ "she doesn't text": a statement about another person, not a request."""
    return any(vocab.role_at(words, j, Role.THIRD) for j in range(max(0, i - 4), i))


def sends_something_else(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """ "don't send me the bill", "stop sending me letters": not our texts."""
    j, end = start, min(len(words), start + OBJECT_REACH)
    while j < end:
        word = words[j]
        thing, size = vocab.thing_at(words, j)
        if thing in (Thing.ME, Thing.THIS):
            j += size  # "don't text this number", "stop sending me…"
            continue
        if thing is not None or vocab.has(word, Role.SUBJECT) or vocab.has(word, Role.CONDITION):
            return False  # our texts, or a new statement ("…text me again I'll sue")
        if word in ("about", "regarding", "sobre") or vocab.has(word, Role.VISIT):
            j += 1 if vocab.has(word, Role.VISIT) else end  # "…me at this number", "…about my bill"
            continue
        if vocab.role_at(words, j, Role.THIRD):
            return False  # texts to a person: "stop texting my daughter"
        if sending(words, j, vocab):
            return False  # "no me llamen ni me escriban"
        if content(word, vocab) and not vocab.has(word, Role.RESTRICTION):
            return not compound(words, j, vocab)
        j += 1
    return False


def conditional(words: list[str], vocab: Vocabulary) -> bool:
    """ "if you text me again I will report you": a threat, not a request."""
    return any(vocab.has(w, Role.CONDITION) for w in words)


def mistaken(words: list[str], vocab: Vocabulary) -> bool:
    return has_any(words, vocab, Role.MISTAKE)


def has_any(words: list[str], vocab: Vocabulary, *roles: Role) -> bool:
    """Whether an entry of one of the roles stands anywhere in the words."""
    return any(
        vocab.role_at(words, j, role) for j in starting(words, vocab, *roles) for role in roles
    )
