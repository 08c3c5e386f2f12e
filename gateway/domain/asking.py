"""The other ways a clause asks to stop or start (SPEC §5.4). PURE.

"don't text me", "I don't want these texts", "no more texts", "I'd like my number removed";
and the opt-ins: "I want to receive texts", "text me again", "start texting me again".
"""

from __future__ import annotations

from gateway.domain.clause import (
    KINDS_OF_TEXTS,
    Clause,
    Reading,
    about_someone_else,
    compound,
    conditional,
    content,
    is_request,
    narrowed,
    negated,
    negation_ends_at,
    scope_for,
    sending,
    sends_something_else,
    starting,
)
from gateway.domain.rules import Intent
from gateway.domain.vocabulary import Role, Thing, Vocabulary


def contact(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "don't text me", "never message me again", "no me escriban"; "text me again" opts in."""
    words, lang = clause.words, vocab.language
    starts = sorted({*starting(words, vocab, Role.CONTACT), *starting(words, vocab, Role.VOICE)})
    for i in starts:
        size = sending(words, i, vocab)
        if not size:
            continue
        verb = " ".join(words[i : i + size])
        voice = bool(vocab.role_at(words, i, Role.VOICE))
        if negated(words, i, vocab) and not about_someone_else(words, i, vocab):
            rule = f"reading:{lang}:dont_contact:{verb}"
            if any(vocab.has(w, Role.RESTRICTION) for w in words[i + size :]):
                why = "limits when or how to text rather than asking to stop"
                return Reading(Intent.REVIEW, rule, (), why, "opt_out")
            if sends_something_else(words, i + size, vocab):
                return Reading(Intent.NONE, rule.replace("dont_contact", "other"))
            thing = narrowed(Thing.MESSAGES, words, i + size, vocab)
            return Reading(Intent.OPT_OUT, rule, scope_for(thing, False), voice=voice)
        if not voice and _asks_again(clause, i, size, vocab):
            return Reading(Intent.OPT_IN, f"reading:{lang}:contact_again:{verb}")
    return None


def _asks_again(clause: Clause, i: int, size: int, vocab: Vocabulary) -> bool:
    """ "you can text me again": a plain request, ending there (not "…again and I'll sue")."""
    words = clause.words
    tail = words[i + size :]
    again = next((k for k, w in enumerate(tail) if vocab.role_at(tail, k, Role.AGAIN)), None)
    if again is None or clause.question or conditional(words, vocab):
        return False
    return is_request(words, i, vocab) and _ends_or_moves_on(tail[again + 1 :], vocab)


def _ends_or_moves_on(rest: list[str], vocab: Vocabulary) -> bool:
    """Nothing of substance follows, or a new statement does ("…again plz i keep missing
    appts"); not "…again and I'm calling my lawyer"."""
    for word in rest:
        if word in ("and", "or", "y", "et"):
            return False
        if vocab.has(word, Role.SUBJECT):
            return True
        if content(word, vocab):
            return False
    return True


def dont_want(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "I don't want these texts", "no quiero recibir más mensajes"; without the negation,
    "I want to receive texts" is an opt-in."""
    words = clause.words
    for i in starting(words, vocab, Role.WANT):
        if not vocab.has(words[i], Role.WANT):
            continue
        thing = _wanted(words, i + 1, vocab)
        if thing is None:
            continue
        rule = f"reading:{vocab.language}:{{}}:{thing}"
        if thing is Thing.CARE and _only(words, i, vocab):  # "I only want appointment texts"
            return Reading(Intent.OPT_OUT, rule.format("only_care"), ("marketing",))
        between = words[i + 1 : i + 4]  # "I'd rather not get texts"
        if negated(words, i, vocab) or any(vocab.has(w, Role.NEGATION) for w in between):
            if thing is Thing.THIS:
                why = "does not want something unnamed (this, it)"
                return Reading(Intent.REVIEW, rule.format("dont_want"), (), why, "opt_out")
            return Reading(Intent.OPT_OUT, rule.format("dont_want"), scope_for(thing, False))
        if thing is not Thing.THIS and _receives(words, i + 1, vocab) and not denies(words, vocab):
            return Reading(Intent.OPT_IN, rule.format("want"), scope_for(thing, False))
    return None


def _only(words: list[str], i: int, vocab: Vocabulary) -> bool:
    return any(w in ("only", "solo", "solamente") for w in words[max(0, i - 2) : i + 4])


def denies(words: list[str], vocab: Vocabulary) -> bool:
    """A negation anywhere in the clause: never an opt-in ("I no longer wish to receive…")."""
    return any(negation_ends_at(words, j, vocab) for j in range(len(words)))


def _wanted(words: list[str], start: int, vocab: Vocabulary) -> Thing | None:
    for j in range(start, min(len(words), start + 7)):
        thing, size = vocab.thing_at(words, j)
        if thing in KINDS_OF_TEXTS:
            return narrowed(thing, words, j + 1, vocab) if thing is Thing.MESSAGES else thing
        if thing is Thing.THIS:
            after = vocab.thing_at(words, j + size)[0] if j + size < len(words) else None
            return after if after in KINDS_OF_TEXTS else thing  # "estos mensajes"
        if content(words[j], vocab) and not compound(words, j, vocab):
            return None
    return None


def _receives(words: list[str], start: int, vocab: Vocabulary) -> bool:
    return any(vocab.has(w, Role.RECEIVE) for w in words[start : start + 3])


def no_more(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "no more texts", "no promos please", "no más mensajes"."""
    words = clause.words
    start = _after_lead(words, vocab)  # "please no more texts"
    j = vocab.role_at(words, start, Role.NO) if start < len(words) else 0
    j = j and start + j
    # A verb's negation before a noun ("not the marketing texts", "not interested in promos")
    # refuses promotions only.
    verbal = not j and start < len(words) and vocab.has(words[start], Role.NEGATION)
    if verbal:
        j = start + 1
    if not j:
        j = _no_more_at(words, vocab)  # "I would appreciate no more texts"
    if not j:
        return None
    skipped = 0
    while j < len(words) and (
        vocab.has(words[j], Role.MORE)
        or vocab.has(words[j], Role.LINK)
        or (vocab.thing_at(words, j)[0] is None and compound(words, j, vocab))  # "flu shot ads"
    ):
        j += 1
    while verbal and j < len(words) and skipped < 3 and vocab.thing_at(words, j)[0] is None:
        j, skipped = j + 1, skipped + 1
    thing = vocab.thing_at(words, j)[0] if j < len(words) else None
    if thing not in KINDS_OF_TEXTS or (verbal and thing is not Thing.MARKETING):
        return None
    assert thing is not None
    rule = f"reading:{vocab.language}:no_more:{thing}"
    if clause.question:
        why = "asks about texts rather than asking them to stop"
        return Reading(Intent.REVIEW, rule, (), why, "opt_out")
    if any(vocab.has(w, Role.RESTRICTION) for w in words[j:]):
        why = "limits when or how to text rather than asking to stop"
        return Reading(Intent.REVIEW, rule, (), why, "opt_out")
    return Reading(Intent.OPT_OUT, rule, scope_for(narrowed(thing, words, j + 1, vocab), False))


def _after_lead(words: list[str], vocab: Vocabulary) -> int:
    j = 0
    while (
        j < len(words) and vocab.has(words[j], Role.LEAD) and not vocab.role_at(words, j, Role.NO)
    ):
        j += 1
    return j


def _no_more_at(words: list[str], vocab: Vocabulary) -> int:
    """Where "no more" (a no-word, then a more-word) ends, anywhere in the clause; 0: nowhere."""
    for j in starting(words, vocab, Role.NO):
        size = vocab.role_at(words, j, Role.NO)
        said_more = size > 1 and vocab.has(words[j + size - 1], Role.MORE)  # "no more"
        if said_more or (size and j + size < len(words) and vocab.has(words[j + size], Role.MORE)):
            return j + size
    return 0


def passive(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "I'd like my number removed", "have I been removed from your contacts?"."""
    words = clause.words
    things: set[Thing | None] | None = None
    for i in starting(words, vocab, Role.PASSIVE):
        if not vocab.role_at(words, i, Role.PASSIVE) or negated(words, i, vocab):
            continue
        if not _passive_voice(words, i, vocab):
            continue  # "I removed my name": the patient did it
        if things is None:
            things = {vocab.thing_at(words, j)[0] for j in range(len(words))}
        me = Thing.ME in things or (words[0] in ("i", "im", "ive") and Thing.LISTS in things)
        if me and not about_someone_else(words, i, vocab):
            return Reading(Intent.OPT_OUT, f"reading:{vocab.language}:passive:{words[i]}")
    return None


def _passive_voice(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """ "my number removed", "I have been removed", "is my info removed": not "I removed"."""
    before = words[max(0, i - 2) : i]
    if any(w in ("be", "been", "is", "was", "are", "were", "get", "got", "being") for w in before):
        return True
    return any(
        vocab.thing_at(words, j)[0] in (Thing.ME, Thing.LISTS)
        and j + len(words[j:i]) == i
        and vocab.thing_at(words, j)[1] == i - j
        for j in range(max(0, i - 4), i)
    )


def start_again(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "start texting me again", "resume my texts", "vuelvan a enviarme mensajes"."""
    words = clause.words
    for i in starting(words, vocab, Role.START):
        size = vocab.role_at(words, i, Role.START)
        if not size or negated(words, i, vocab):
            continue
        if conditional(words, vocab) or about_someone_else(words, len(words), vocab):
            return None  # "can you start sending reminders to my husband instead?"
        for j in range(i + size, min(len(words), i + size + 4)):
            thing = vocab.thing_at(words, j)[0]
            sends = vocab.role_at(words, j, Role.CONTACT)
            after = j + sends < len(words) and vocab.thing_at(words, j + sends)[0]
            before = vocab.thing_at(words, j - 1)[0]  # French "m'écrire"
            if thing in KINDS_OF_TEXTS or (sends and Thing.ME in (after, before)):
                verb = " ".join(words[i : i + size])
                return Reading(Intent.OPT_IN, f"reading:{vocab.language}:start_again:{verb}")
    return None
