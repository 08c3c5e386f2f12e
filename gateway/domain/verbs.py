"""Opt-out verbs and their objects (SPEC §5.4). PURE.

Who is asked to stop what: a verb that ends something (stop, cancel, remove…), whether it is
negated or a noun ("bus stop"), and its object — our texts ("stop texting me", "remove me
from your list") or something else ("stop taking ibuprofen", "cancel my appointment",
"stop by at 3"). The object also sets the scope: all/everything → all, promos → marketing,
texts/me/reminders → the STOP keyword's scope.
"""

from __future__ import annotations

from gateway.domain.clause import (
    KINDS_OF_TEXTS,
    OBJECT_REACH,
    Clause,
    Object,
    Reading,
    compound,
    content,
    is_request,
    mistaken,
    narrowed,
    negated,
    scope_for,
    sending,
    sends_something_else,
)
from gateway.domain.fuzzy import one_slip
from gateway.domain.rules import Intent
from gateway.domain.vocabulary import Role, Thing, Vocabulary


def verb_readings(clause: Clause, vocab: Vocabulary) -> list[Reading]:
    words, readings = clause.words, []
    openers, verbs = vocab.openers, {Role.STOP, Role.END}
    i = 0
    while i < len(words):
        if verbs.isdisjoint(openers.get(words[i], ())):
            i += 1
            continue
        strong = vocab.role_at(words, i, Role.STOP)
        size = strong or vocab.role_at(words, i, Role.END)
        if size:
            readings.append(_verb(clause, vocab, i, size, strong=bool(strong)))
        i += size or 1
    return readings


def _verb(clause: Clause, vocab: Vocabulary, i: int, size: int, *, strong: bool) -> Reading:
    words = clause.words
    verb = " ".join(words[i : i + size])
    rule = f"reading:{vocab.language}:{{}}:{verb}"
    if _is_noun(words, i, i + size, vocab):
        return Reading(Intent.NONE, rule.format("noun"))
    if (i > 0 and vocab.has(words[i - 1], Role.MENTION)) or mistaken(words[:i], vocab):
        return Reading(Intent.NONE, rule.format("mention"))
    if negated(words, i, vocab):
        return Reading(Intent.NONE, rule.format("negated"))
    if _stated(words, i, vocab):  # "unsubscribing will stop all messages", "I will stop it"
        return Reading(Intent.NONE, rule.format("statement"))
    thing, breadth = _object(words, i + size, vocab, strong=strong)
    if strong and i in clause.shouted and thing is Object.OTHER and i + size == len(words) - 1:
        thing = Object.NOTHING  # "NOT INTERESTED STOP ACMEIN": a sender's code after it
    typed = strong and i in clause.shouted  # "No STOP": the keyword, shouted
    if i > 0 and words[i - 1] == "no" and thing in (Thing.CARE, Object.NOTHING) and not typed:
        why = f"'no {verb}' without a pause: 'no, {verb}' or 'no, don't {verb}'?"
        return Reading(Intent.REVIEW, rule.format("no_then"), (), why, "opt_out")
    if thing is Object.VISIT or thing is Object.OTHER:
        return Reading(Intent.NONE, rule.format(thing.value))
    if _wonders(words, i, vocab):
        why = f"asks when something will '{verb}' rather than asking to stop"
        return Reading(Intent.REVIEW, rule.format("wonder"), (), why, "opt_out")
    vague = _vague(words, i + size, vocab)
    if isinstance(thing, Thing) and thing is not Thing.THIS:
        scope, voice = scope_for(thing, breadth), _voice(words, i + size, vocab)
        return Reading(Intent.OPT_OUT, rule.format(thing.value), scope, vague=vague, voice=voice)
    asked = is_request(words, i, vocab) and not (clause.question and i == 0)  # not "stop?"
    if thing is Thing.THIS and strong and asked:
        return Reading(Intent.OPT_OUT, rule.format("this"), vague=True)
    if thing is Thing.THIS and any(vocab.has(w, Role.SUBJECT) for w in words[:i]):
        return Reading(Intent.NONE, rule.format("own_doing"))  # "should I stop it (the pill)?"
    if thing is Object.NOTHING and strong and _keyword_at_end(clause, i, size, vocab):
        return Reading(Intent.OPT_OUT, rule.format("keyword_at_end"), vague=True)
    if thing is Object.NOTHING:
        subject = _subject(words, i, vocab)
        if subject in KINDS_OF_TEXTS and not clause.question:  # "I'd like the texts to stop"
            assert isinstance(subject, Thing)
            return Reading(Intent.OPT_OUT, rule.format("texts_stop"), scope_for(subject, False))
        if subject is Object.OTHER:  # "let's make the pain stop"
            return Reading(Intent.NONE, rule.format("other_subject"))
        if subject is Thing.THIS and clause.question and not strong:  # "or did that end?"
            return Reading(Intent.NONE, rule.format("other_subject"))
    if thing is Object.NOTHING and strong and asked:
        return Reading(Intent.OPT_OUT, rule.format("request"), vague=True)
    if thing is Thing.THIS:
        why = f"'{verb}' something unnamed (it, this): maybe the texts, maybe an appointment"
    else:
        why = f"'{verb}' without saying what: maybe the texts, maybe something else"
    return Reading(Intent.REVIEW, rule.format("unclear"), (), why, "opt_out")


def _stated(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """An auxiliary just before the verb, not after "you": a statement, not a request."""
    if i == 0 or not vocab.has(words[i - 1], Role.AUXILIARY):
        return False
    return not (i > 1 and words[i - 2] in ("you", "u", "ya", "yall"))


def _keyword_at_end(clause: Clause, i: int, size: int, vocab: Vocabulary) -> bool:
    """ "Not interested STOP", "Why are you texting me STOP", "No thanks STOP 56161": the
    keyword typed after the rest — not "it won't stop", "let's make the pain stop"."""
    words = clause.words
    after = words[i + size :]
    coded = i in clause.shouted and len(after) <= 1  # "STOP ACMEIN", "STOP 56161"
    if clause.question or i == 0 or not (coded or all(w.isdigit() for w in after)):
        return False
    if vocab.has(words[i - 1], Role.BLOCKER) or clause.names[i - 1]:
        return False  # "it won't stop", "Meet me at Metro stop"
    return not any(vocab.has(w, Role.CAUSATIVE) for w in words[max(0, i - 3) : i])


def _subject(words: list[str], i: int, vocab: Vocabulary) -> Thing | Object | None:
    """What stands before an object-less verb: "the texts (need to) stop", "the pain stop"."""
    for j in range(i - 1, max(-1, i - 1 - OBJECT_REACH), -1):
        thing, _ = vocab.thing_at(words, j)
        if thing is not None and thing is not Thing.ME:
            return thing
        if content(words[j], vocab) and not vocab.has(words[j], Role.WANT):
            return Object.OTHER if j == i - 1 else None
    return None


def _vague(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """ "stop sending them": the texts named only by a pronoun, if at all."""
    reach = range(start, min(len(words), start + OBJECT_REACH))
    things = {vocab.thing_at(words, j)[0] for j in reach} - {None}
    return things <= {Thing.THIS, Thing.ME}


def _wonders(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """ "when will these texts stop?", "cuando van a parar estos mensajes?"."""
    return any(vocab.has(w, Role.WONDER) for w in words[:i])


def _is_noun(words: list[str], i: int, after: int, vocab: Vocabulary) -> bool:
    """ "bus stop", "a stop", "stop sign": the word names a thing, it asks nothing."""
    before = i > 0 and vocab.has(words[i - 1], Role.NOUN_BEFORE)
    return before or (after < len(words) and vocab.has(words[after], Role.NOUN_AFTER))


def _object(
    words: list[str], start: int, vocab: Vocabulary, *, strong: bool
) -> tuple[Thing | Object, bool]:
    """What the verb before `start` ends, and whether "all"/"any" widens it."""
    found: Thing | None = None
    breadth = determiner = complete = False
    j, end = start, min(len(words), start + OBJECT_REACH)
    while j < end:
        word = words[j]
        thing, size = vocab.thing_at(words, j)
        if vocab.role_at(words, j, Role.EXCEPT):
            break  # "stop everything except the reminders"
        if found is Thing.ALL and thing is None and content(word, vocab):
            if complete:
                break  # "stop all texts from this office": the object is complete
            return _other(word, vocab, bare=False, strong=strong), breadth  # "all my meds"
        if thing is Thing.ALL:
            breadth, found, complete = True, found or Thing.ALL, size > 1
        elif thing is Thing.THIS and j + size < len(words) and content(words[j + size], vocab):
            determiner = True  # "this medication": the noun after it decides
        elif thing is Thing.THIS and (listed := _listed(words, j + size, vocab)) is not None:
            return listed, breadth  # "remove it from your system"
        elif thing is not None:
            after = j + size
            if thing is Thing.LISTS and after < len(words) and content(words[after], vocab):
                return Object.OTHER, breadth  # "my subscription box"
            if thing is Thing.ME and _from_something_else(words, after, vocab):
                return Object.OTHER, breadth  # "remove me from the waitlist"
            if thing in KINDS_OF_TEXTS and _elsewhere(words, after, vocab):
                return Object.OTHER, breadth  # "the notifications on the portal app"
            return narrowed(thing, words, j + size, vocab), breadth
        elif not determiner and (sends := sending(words, j, vocab)):
            if sends_something_else(words, j + sends, vocab):
                return Object.OTHER, breadth  # "stop sending me paper bills"
            return narrowed(Thing.MESSAGES, words, j + 1, vocab), breadth
        elif j == start and vocab.has(word, Role.VISIT):
            return Object.VISIT, breadth
        elif vocab.has(word, Role.NEGATION) or vocab.has(word, Role.SUBJECT):
            break  # "STOP i moved to another doctor": a new statement
        elif vocab.has(word, Role.LINK):
            determiner = determiner or word not in ("from", "off", "out")
        elif word.isdigit() and j == start and all(w.isdigit() for w in words[j:]):
            break  # "STOP 12345": a code after the keyword
        elif content(word, vocab) and not compound(words, j, vocab):
            return _other(word, vocab, bare=not determiner and j == start, strong=strong), breadth
        j += size or 1
    if found is not None:
        return found, breadth
    return (Object.OTHER if determiner else Object.NOTHING), breadth


def _elsewhere(words: list[str], start: int, vocab: Vocabulary) -> bool:
    return any(vocab.has(w, Role.ELSEWHERE) for w in words[start : start + OBJECT_REACH])


def _listed(words: list[str], start: int, vocab: Vocabulary) -> Thing | None:
    """ "…it from your list": what "it" is taken from, when that is our list or texts."""
    if start >= len(words) or not vocab.has(words[start], Role.LINK):
        return None
    for j in range(start + 1, min(len(words), start + 4)):
        thing, _ = vocab.thing_at(words, j)
        if thing in (*KINDS_OF_TEXTS, Thing.LISTS):
            return thing
        if content(words[j], vocab):
            return None
    return None


def _from_something_else(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """ "remove me from the schedule": me, but from something that is not our texts."""
    if start >= len(words) or not vocab.has(words[start], Role.LINK):
        return False
    for j in range(start + 1, min(len(words), start + 4)):
        thing, _ = vocab.thing_at(words, j)
        if thing is Thing.THIS:
            continue  # "remove me from this list"
        if thing is not None:
            return thing not in (*KINDS_OF_TEXTS, Thing.LISTS)
        if content(words[j], vocab):
            return not compound(words, j, vocab)
    return False


def _voice(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """The first verb of sending after `start` is a phone call."""
    for j in range(start, min(len(words), start + 3)):
        if sending(words, j, vocab):
            return bool(vocab.role_at(words, j, Role.VOICE))
    return False


def _other(word: str, vocab: Vocabulary, *, bare: bool, strong: bool) -> Thing | Object:
    """An object the vocabulary does not know: a slip of "texts" or "texting", or another
    thing altogether ("stop the bleeding", "quit smoking", "cancel appointment")."""
    if bare and strong and len(word) > 3 and any(one_slip(word, k) for k in vocab.text_words):
        return Thing.MESSAGES
    return Object.OTHER
