"""Reading one clause of a patient's text for its structure (SPEC §5.4). PURE.

The word lists come from keywords.yml (`reading:`), one `Vocabulary` per language; the
structures are in `verbs` (an opt-out verb and its object) and `asking` (the other ways to
ask); this module weighs them, with the whole phrases (dismissals, complaints, wrong numbers)
and the exceptions that undo them.
"""

from __future__ import annotations

from gateway.domain.asking import contact, dont_want, no_more, passive, start_again
from gateway.domain.clause import (
    KINDS_OF_TEXTS,
    Clause,
    Reading,
    conditional,
    content,
    has_any,
    mistaken,
    sends_something_else,
    starting,
)
from gateway.domain.rules import Intent
from gateway.domain.verbs import verb_readings
from gateway.domain.vocabulary import NAME, Phrase, Role, Vocabulary

__all__ = [
    "Clause",
    "Reading",
    "asks_for_calls",
    "asks_for_texts",
    "is_decline",
    "read_clause",
    "shows_interest",
]


def read_clause(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """The strongest reading of the clause in this language; None when nothing applies."""
    words, lang = clause.words, vocab.language
    if vocab.cues.isdisjoint(words) and not (NAME in vocab.cues and any(clause.names[1:])):
        return None
    spans = vocab.phrase_spans(words, clause.names)
    if mistaken(words, vocab):  # "I accidentally texted stop": neither complaint nor dismissal
        if _stop_word_in(words, vocab):  # but a wish to undo it (START's rule applies)
            return Reading(Intent.OPT_IN, f"reading:{lang}:undo_by_mistake")
        spans.pop(Phrase.DISMISSAL, None)
        spans.pop(Phrase.COMPLAINT, None)
    if Phrase.DISMISSAL in spans and (
        _holds(spans[Phrase.DISMISSAL], clause, vocab) or _about_texts(words, vocab)
    ):
        return Reading(Intent.OPT_OUT, f"reading:{lang}:dismissal")
    if Phrase.COMPLAINT in spans and _about_texts(words, vocab):
        return Reading(Intent.OPT_OUT, f"reading:{lang}:already_asked")
    found = verb_readings(clause, vocab)
    found += [
        r
        for step in (contact, dont_want, no_more, passive, start_again)
        if (r := step(clause, vocab)) is not None
    ]
    found += _phrase_readings(spans, clause, vocab)
    best = max(found, key=lambda r: r.strength, default=None)
    if best is not None and best.intent is Intent.OPT_OUT and _excepts(words, vocab):
        why = "stops some texts but not others: a person decides what continues"
        return Reading(Intent.REVIEW, best.rule, (), why, "opt_out")
    return best


def asks_for_texts(clause: Clause, vocab: Vocabulary) -> bool:
    """ "text me instead", "texting is fine": a "don't call me" beside it is about calls."""
    return Phrase.PREFER_TEXTS in vocab.phrase_spans(clause.words, clause.names)


def asks_for_calls(clause: Clause, vocab: Vocabulary) -> bool:
    """ "call me, not text, about the results": a choice of channel, for a person to read."""
    return Phrase.PREFER_CALLS in vocab.phrase_spans(clause.words, clause.names)


def is_decline(clause: Clause, vocab: Vocabulary) -> bool:
    """A short "no", "not interested" ("nah, not interested at this time"): an opt-out or
    not, depending on what it answers."""
    covered = vocab.phrase_spans(clause.words, clause.names).get(Phrase.DECLINE)
    return _holds(covered, clause, vocab)


def shows_interest(clause: Clause, vocab: Vocabulary) -> bool:
    """ "tell me more", "how much?": after a startled "Stop,", interest, not an opt-out."""
    return has_any(clause.words, vocab, Role.INTEREST)


def _stop_word_in(words: list[str], vocab: Vocabulary) -> bool:
    """ "stop", "unsubscribe": what a patient may have sent by mistake ("deleted" is not)."""
    return has_any(words, vocab, Role.STOP)


def _phrase_readings(
    spans: dict[Phrase, set[int]], clause: Clause, vocab: Vocabulary
) -> list[Reading]:
    words, lang = clause.words, vocab.language
    found = []
    opt_in = spans.get(Phrase.OPT_IN)
    said = opt_in is not None and (_about_texts(words, vocab) or _holds(opt_in, clause, vocab, 0))
    if said and not conditional(words, vocab):  # not "I'm back on my meds"
        found.append(Reading(Intent.OPT_IN, f"reading:{lang}:opt_in"))
    if _holds(spans.get(Phrase.WRONG_NUMBER), clause, vocab):
        why = "says this may be the wrong number: consent may belong to a previous holder"
        rule = f"reading:{lang}:wrong_number"
        found.append(Reading(Intent.REVIEW, rule, (), why, "wrong_number"))
    if _holds(spans.get(Phrase.SPAM), clause, vocab):
        why = "calls the texts spam or a scam: maybe a request to stop"
        found.append(Reading(Intent.REVIEW, f"reading:{lang}:spam", (), why, "opt_out"))
    return found


def _holds(covered: set[int] | None, clause: Clause, vocab: Vocabulary, others: int = 1) -> bool:
    """The phrases are what the clause says: at most one word of substance beside them ("go
    away", "sorry, wrong number", "I don't know a Dr Patel"), not a turn of phrase in another
    sentence ("drop dead gorgeous", "you have the wrong address on file")."""
    if not covered:
        return False
    words, names = clause.words, clause.names
    covered = covered | _multiword_function(words, vocab)  # "de nuevo", "any more"
    beside = [
        w
        for j, w in enumerate(words)
        if j not in covered
        and not names[j]
        and content(w, vocab)
        and vocab.thing_at(words, j)[0] is None
    ]
    return len(beside) <= others


def _multiword_function(words: list[str], vocab: Vocabulary) -> set[int]:
    found: set[int] = set()
    for j in starting(words, vocab, Role.MORE, Role.AGAIN):
        size = vocab.role_at(words, j, Role.MORE) or vocab.role_at(words, j, Role.AGAIN)
        found.update(range(j, j + size))
    return found


def _about_texts(words: list[str], vocab: Vocabulary) -> bool:
    """The clause speaks of our texts: it names them, sends them, or says STOP."""
    for j, word in enumerate(words):
        if vocab.thing_at(words, j)[0] in KINDS_OF_TEXTS or vocab.has(word, Role.STOP):
            return True
        if vocab.role_at(words, j, Role.PASSIVE):  # "I unsubscribed last week"
            return True
        size = vocab.role_at(words, j, Role.CONTACT)
        if size and not sends_something_else(words, j + size, vocab):
            return True
    return False


def _excepts(words: list[str], vocab: Vocabulary) -> bool:
    """ "stop everything except the reminders"."""
    return has_any(words, vocab, Role.EXCEPT)
