"""Reading one clause of a patient's text for its structure (SPEC §5.4). PURE.

Who is asked to stop what: an opt-out verb (stop, cancel…), whether it is negated ("don't
stop"), and its object — our texts ("stop texting me", "remove me from your list") or
something else ("stop taking ibuprofen", "cancel my appointment", "stop by at 3"). The object
also sets the scope: all/everything → all, promos → marketing, texts/me/reminders → the STOP
keyword's scope. The word lists come from keywords.yml (`reading:`), one `Vocabulary` per
language; the grammar is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.fuzzy import one_slip
from gateway.domain.rules import Intent
from gateway.domain.vocabulary import Phrase, Role, Thing, Vocabulary

_NEGATION_REACH = 5  # words a negation may stand before its verb: "don't you ever stop"
_OBJECT_REACH = 6  # words after the verb searched for its object
_FUNCTION_ROLES = (Role.LEAD, Role.MORE, Role.NEGATION, Role.LINK, Role.RECEIVE, Role.SUBJECT)
_KINDS_OF_TEXTS = (Thing.MESSAGES, Thing.MARKETING, Thing.CARE, Thing.ALL)


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
        return _STRENGTH[self.intent]


_STRENGTH = {Intent.OPT_OUT: 5, Intent.REVIEW: 4, Intent.OPT_IN: 3, Intent.HELP: 2, Intent.NONE: 1}


@dataclass(frozen=True)
class Clause:
    words: list[str]
    names: list[bool]  # the word was capitalised (a name: "this isn't Maria")
    question: bool


def read_clause(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """The strongest reading of the clause in this language; None when nothing applies."""
    words, lang = clause.words, vocab.language
    if vocab.cues.isdisjoint(words):
        return None
    spans = vocab.phrase_spans(words, clause.names)
    if _mistaken(words, vocab):  # "I accidentally texted stop": neither complaint nor dismissal
        spans.pop(Phrase.DISMISSAL, None)
        spans.pop(Phrase.COMPLAINT, None)
    if Phrase.DISMISSAL in spans and (
        _holds(spans[Phrase.DISMISSAL], clause, vocab) or _about_texts(words, vocab)
    ):
        return Reading(Intent.OPT_OUT, f"reading:{lang}:dismissal")
    if Phrase.COMPLAINT in spans and _about_texts(words, vocab):
        return Reading(Intent.OPT_OUT, f"reading:{lang}:already_asked")
    found = _verb_readings(clause, vocab)
    found += [
        r
        for step in (_contact, _dont_want, _no_more, _passive, _start_again)
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


def is_decline(clause: Clause, vocab: Vocabulary) -> bool:
    """A short "no", "not interested" ("nah, not interested"): an opt-out or not, depending
    on what it answers."""
    words, names = clause.words, clause.names
    if vocab.phrase_covers(words, names, Phrase.DECLINE):
        return True
    first = vocab.phrase_covers(words[:1], names[:1], Phrase.DECLINE)
    return first and len(words) > 1 and vocab.phrase_covers(words[1:], names[1:], Phrase.DECLINE)


def _phrase_readings(
    spans: dict[Phrase, set[int]], clause: Clause, vocab: Vocabulary
) -> list[Reading]:
    words, lang = clause.words, vocab.language
    found = []
    if Phrase.OPT_IN in spans and not _conditional(words, vocab):
        found.append(Reading(Intent.OPT_IN, f"reading:{lang}:opt_in"))
    if _holds(spans.get(Phrase.WRONG_NUMBER), clause, vocab):
        why = "says this may be the wrong number: consent may belong to a previous holder"
        rule = f"reading:{lang}:wrong_number"
        found.append(Reading(Intent.REVIEW, rule, (), why, "wrong_number"))
    if _holds(spans.get(Phrase.SPAM), clause, vocab):
        why = "calls the texts spam or a scam: maybe a request to stop"
        found.append(Reading(Intent.REVIEW, f"reading:{lang}:spam", (), why, "opt_out"))
    return found


def _holds(covered: set[int] | None, clause: Clause, vocab: Vocabulary) -> bool:
    """The phrases are what the clause says: at most one word of substance beside them ("go
    away", "sorry, wrong number", "I don't know a Dr Patel"), not a turn of phrase in another
    sentence ("drop dead gorgeous", "you have the wrong address on file")."""
    if not covered:
        return False
    words, names = clause.words, clause.names
    others = [
        w
        for j, w in enumerate(words)
        if j not in covered
        and not names[j]
        and _content(w, vocab)
        and vocab.thing_at(words, j)[0] is None
    ]
    return len(others) <= 1


def _about_texts(words: list[str], vocab: Vocabulary) -> bool:
    """The clause speaks of our texts: it names them, sends them, or says STOP."""
    for j, word in enumerate(words):
        if vocab.thing_at(words, j)[0] in _KINDS_OF_TEXTS or vocab.has(word, Role.STOP):
            return True
        if vocab.role_at(words, j, Role.PASSIVE):  # "I unsubscribed last week"
            return True
        size = vocab.role_at(words, j, Role.CONTACT)
        if size and not _sends_something_else(words, j + size, vocab):
            return True
    return False


def _mistaken(words: list[str], vocab: Vocabulary) -> bool:
    return any(vocab.role_at(words, j, Role.MISTAKE) for j in range(len(words)))


def _conditional(words: list[str], vocab: Vocabulary) -> bool:
    """ "if you text me again I will report you": a threat, not a request."""
    return any(vocab.has(w, Role.CONDITION) for w in words)


def _excepts(words: list[str], vocab: Vocabulary) -> bool:
    """ "stop everything except the reminders"."""
    return any(vocab.role_at(words, j, Role.EXCEPT) for j in range(len(words)))


# --- opt-out verbs and their objects -------------------------------------------------------


def _verb_readings(clause: Clause, vocab: Vocabulary) -> list[Reading]:
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
    if (i > 0 and vocab.has(words[i - 1], Role.MENTION)) or _mistaken(words[:i], vocab):
        return Reading(Intent.NONE, rule.format("mention"))
    if _negated(words, i, vocab):
        return Reading(Intent.NONE, rule.format("negated"))
    thing, breadth = _object(words, i + size, vocab, strong=strong)
    if i > 0 and words[i - 1] == "no" and thing in (Thing.CARE, Object.NOTHING):
        why = f"'no {verb}' without a pause: 'no, {verb}' or 'no, don't {verb}'?"
        return Reading(Intent.REVIEW, rule.format("no_then"), (), why, "opt_out")
    if thing is Object.VISIT or thing is Object.OTHER:
        return Reading(Intent.NONE, rule.format(thing.value))
    if _wonders(words, i, vocab):
        why = f"asks when something will '{verb}' rather than asking to stop"
        return Reading(Intent.REVIEW, rule.format("wonder"), (), why, "opt_out")
    vague = _vague(words, i + size, vocab)
    if isinstance(thing, Thing) and thing is not Thing.THIS:
        scope, voice = _scope(thing, breadth), _voice(words, i + size, vocab)
        return Reading(Intent.OPT_OUT, rule.format(thing.value), scope, vague=vague, voice=voice)
    asked = _is_request(words, i, vocab) and not (clause.question and i == 0)  # not "stop?"
    if thing is Thing.THIS and strong and asked:
        return Reading(Intent.OPT_OUT, rule.format("this"), vague=True)
    if thing is Thing.THIS and any(vocab.has(w, Role.SUBJECT) for w in words[:i]):
        return Reading(Intent.NONE, rule.format("own_doing"))  # "should I stop it (the pill)?"
    if thing is Object.NOTHING:
        subject = _subject(words, i, vocab)
        if subject in _KINDS_OF_TEXTS and not clause.question:  # "I'd like the texts to stop"
            assert isinstance(subject, Thing)
            return Reading(Intent.OPT_OUT, rule.format("texts_stop"), _scope(subject, False))
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


def _subject(words: list[str], i: int, vocab: Vocabulary) -> Thing | Object | None:
    """What stands before an object-less verb: "the texts (need to) stop", "the pain stop"."""
    for j in range(i - 1, max(-1, i - 1 - _OBJECT_REACH), -1):
        thing, _ = vocab.thing_at(words, j)
        if thing is not None and thing is not Thing.ME:
            return thing
        if _content(words[j], vocab) and not vocab.has(words[j], Role.WANT):
            return Object.OTHER if j == i - 1 else None
    return None


def _vague(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """ "stop sending them": the texts named only by a pronoun, if at all."""
    reach = range(start, min(len(words), start + _OBJECT_REACH))
    things = {vocab.thing_at(words, j)[0] for j in reach} - {None}
    return things <= {Thing.THIS, Thing.ME}


def _scope(thing: Thing, breadth: bool) -> tuple[str, ...]:
    if thing is Thing.MARKETING:
        return ("marketing",)
    if breadth or thing is Thing.ALL:
        return ("all",)
    return ()


def _is_noun(words: list[str], i: int, after: int, vocab: Vocabulary) -> bool:
    """ "bus stop", "a stop", "stop sign": the word names a thing, it asks nothing."""
    before = i > 0 and vocab.has(words[i - 1], Role.NOUN_BEFORE)
    return before or (after < len(words) and vocab.has(words[after], Role.NOUN_AFTER))


def _negated(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """A negation before the verb, across only words that leave it in force ("don't ever")."""
    for j in range(i - 1, max(-1, i - 1 - _NEGATION_REACH), -1):
        word = words[j]
        if _negation_ends_at(words, j, vocab):  # "don't", "no longer"
            return True
        if not _passes_negation(word, vocab):
            return False
    return False


def _negation_ends_at(words: list[str], j: int, vocab: Vocabulary) -> bool:
    return any(
        vocab.role_at(words, start, Role.NEGATION) == j - start + 1
        for start in range(max(0, j - 2), j + 1)
    )


def _passes_negation(word: str, vocab: Vocabulary) -> bool:
    roles = (Role.LEAD, Role.WANT, Role.RECEIVE, Role.MORE)
    return any(vocab.has(word, r) for r in roles) or vocab.thing_at([word], 0)[0] is Thing.ME


def _is_request(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """Only polite or leading words before the verb: "ok can you please just stop"."""
    roles = (Role.LEAD, Role.WANT, Role.SUBJECT)
    return all(any(vocab.has(w, r) for r in roles) for w in words[:i])


def _wonders(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """ "when will these texts stop?", "cuando van a parar estos mensajes?"."""
    return any(vocab.has(w, Role.WONDER) for w in words[:i])


def _object(
    words: list[str], start: int, vocab: Vocabulary, *, strong: bool
) -> tuple[Thing | Object, bool]:
    """What the verb before `start` ends, and whether "all"/"any" widens it."""
    found: Thing | None = None
    breadth = determiner = complete = False
    j, end = start, min(len(words), start + _OBJECT_REACH)
    while j < end:
        word = words[j]
        thing, size = vocab.thing_at(words, j)
        if vocab.role_at(words, j, Role.EXCEPT):
            break  # "stop everything except the reminders"
        if found is Thing.ALL and thing is None and _content(word, vocab):
            if complete:
                break  # "stop all texts from this office": the object is complete
            return _other(word, vocab, bare=False, strong=strong), breadth  # "all my meds"
        if thing is Thing.ALL:
            breadth, found, complete = True, found or Thing.ALL, size > 1
        elif thing is Thing.THIS and j + size < len(words) and _content(words[j + size], vocab):
            determiner = True  # "this medication": the noun after it decides
        elif thing is Thing.THIS and (listed := _listed(words, j + size, vocab)) is not None:
            return listed, breadth  # "remove it from your system"
        elif thing is not None:
            after = j + size
            if thing is Thing.LISTS and after < len(words) and _content(words[after], vocab):
                return Object.OTHER, breadth  # "my subscription box"
            if thing is Thing.ME and _from_something_else(words, after, vocab):
                return Object.OTHER, breadth  # "remove me from the waitlist"
            if _elsewhere(words, after, vocab):
                return Object.OTHER, breadth  # "the notifications on the portal app"
            return _narrowed(thing, words, j + size, vocab), breadth
        elif sends := _sending(words, j, vocab):
            if _sends_something_else(words, j + sends, vocab):
                return Object.OTHER, breadth  # "stop sending me paper bills"
            return _narrowed(Thing.MESSAGES, words, j + 1, vocab), breadth
        elif j == start and vocab.has(word, Role.VISIT):
            return Object.VISIT, breadth
        elif vocab.has(word, Role.NEGATION) or vocab.has(word, Role.SUBJECT):
            break  # "STOP i moved to another doctor": a new statement
        elif vocab.has(word, Role.LINK):
            determiner = determiner or word not in ("from", "off", "out")
        elif _content(word, vocab) and not _compound(words, j, vocab):
            return _other(word, vocab, bare=not determiner and j == start, strong=strong), breadth
        j += size or 1
    if found is not None:
        return found, breadth
    return (Object.OTHER if determiner else Object.NOTHING), breadth


def _elsewhere(words: list[str], start: int, vocab: Vocabulary) -> bool:
    return any(vocab.has(w, Role.ELSEWHERE) for w in words[start : start + _OBJECT_REACH])


def _listed(words: list[str], start: int, vocab: Vocabulary) -> Thing | None:
    """ "…it from your list": what "it" is taken from, when that is our list or texts."""
    if start >= len(words) or not vocab.has(words[start], Role.LINK):
        return None
    for j in range(start + 1, min(len(words), start + 4)):
        thing, _ = vocab.thing_at(words, j)
        if thing in (*_KINDS_OF_TEXTS, Thing.LISTS):
            return thing
        if _content(words[j], vocab):
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
            return thing not in (*_KINDS_OF_TEXTS, Thing.LISTS)
        if _content(words[j], vocab):
            return not _compound(words, j, vocab)
    return False


def _sending(words: list[str], j: int, vocab: Vocabulary) -> int:
    """A verb of sending us texts — or calls ("stop calling me") — at j: its length."""
    return vocab.role_at(words, j, Role.CONTACT) or vocab.role_at(words, j, Role.VOICE)


def _voice(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """The first verb of sending after `start` is a phone call."""
    for j in range(start, min(len(words), start + 3)):
        if _sending(words, j, vocab):
            return bool(vocab.role_at(words, j, Role.VOICE))
    return False


def _content(word: str, vocab: Vocabulary) -> bool:
    """A word that carries meaning (not a polite, leading, linking or filler word)."""
    return not any(vocab.has(word, role) for role in _FUNCTION_ROLES)


def _compound(words: list[str], j: int, vocab: Vocabulary) -> bool:
    """Words the vocabulary does not know before one it does: "botox ads", "flu shot
    reminders"."""
    nouns = (Thing.MESSAGES, Thing.MARKETING, Thing.CARE, Thing.LISTS)  # not "all at once"
    for k in range(j, min(len(words), j + 3)):
        if not _content(words[k], vocab):
            return False
        if k > j and vocab.thing_at(words, k)[0] is not None:
            return vocab.thing_at(words, k)[0] in nouns
        if k + 1 < len(words) and vocab.thing_at(words, k + 1)[0] in nouns:
            return True
    return False


def _narrowed(thing: Thing, words: list[str], start: int, vocab: Vocabulary) -> Thing:
    """ "stop sending me promos", "remove me from the promo list": what kind of texts; promos
    and reminders both ("all the promos and the reminders") are everything."""
    kinds = {thing}
    for j in range(start, min(len(words), start + _OBJECT_REACH)):
        found, _ = vocab.thing_at(words, j)
        if found is not None:
            kinds.add(found)
        elif vocab.has(words[j], Role.SUBJECT):
            break
    if Thing.ALL in kinds or {Thing.MARKETING, Thing.CARE} <= kinds:
        return Thing.ALL
    return next((k for k in (Thing.MARKETING, Thing.CARE) if k in kinds), thing)


def _other(word: str, vocab: Vocabulary, *, bare: bool, strong: bool) -> Thing | Object:
    """An object the vocabulary does not know: a slip of "texts" or "texting", or another
    thing altogether ("stop the bleeding", "quit smoking", "cancel appointment")."""
    if bare and strong and len(word) > 3:
        for key, thing in vocab.things.items():
            if thing is Thing.MESSAGES and len(key) == 1 and one_slip(word, key[0]):
                return Thing.MESSAGES
        for key, roles in vocab.roles.items():
            if Role.CONTACT in roles and len(key) == 1 and one_slip(word, key[0]):
                return Thing.MESSAGES
    return Object.OTHER


# --- other structures -----------------------------------------------------------------------


def _contact(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "don't text me", "never message me again", "no me escriban"; "text me again" opts in."""
    words, lang = clause.words, vocab.language
    starts = sorted({*_starting(words, vocab, Role.CONTACT), *_starting(words, vocab, Role.VOICE)})
    for i in starts:
        size = _sending(words, i, vocab)
        if not size:
            continue
        verb = " ".join(words[i : i + size])
        voice = bool(vocab.role_at(words, i, Role.VOICE))
        if _negated(words, i, vocab) and not _about_someone_else(words, i, vocab):
            rule = f"reading:{lang}:dont_contact:{verb}"
            if any(vocab.has(w, Role.RESTRICTION) for w in words[i + size :]):
                why = "limits when or how to text rather than asking to stop"
                return Reading(Intent.REVIEW, rule, (), why, "opt_out")
            if _sends_something_else(words, i + size, vocab):
                return Reading(Intent.NONE, rule.replace("dont_contact", "other"))
            thing = _narrowed(Thing.MESSAGES, words, i + size, vocab)
            return Reading(Intent.OPT_OUT, rule, _scope(thing, False), voice=voice)
        if not voice and _asks_again(clause, i, size, vocab):
            return Reading(Intent.OPT_IN, f"reading:{lang}:contact_again:{verb}")
    return None


def _asks_again(clause: Clause, i: int, size: int, vocab: Vocabulary) -> bool:
    """ "you can text me again": a plain request, ending there (not "…again and I'll sue")."""
    words = clause.words
    tail = words[i + size :]
    again = next((k for k, w in enumerate(tail) if vocab.role_at(tail, k, Role.AGAIN)), None)
    if again is None or clause.question or _conditional(words, vocab):
        return False
    return _is_request(words, i, vocab) and _ends_or_moves_on(tail[again + 1 :], vocab)


def _ends_or_moves_on(rest: list[str], vocab: Vocabulary) -> bool:
    """Nothing of substance follows, or a new statement does ("…again plz i keep missing
    appts"); not "…again and I'm calling my lawyer"."""
    for word in rest:
        if word in ("and", "or", "y", "et"):
            return False
        if vocab.has(word, Role.SUBJECT):
            return True
        if _content(word, vocab):
            return False
    return True


def _sends_something_else(words: list[str], start: int, vocab: Vocabulary) -> bool:
    """ "don't send me the bill", "stop sending me letters": not our texts."""
    j, end = start, min(len(words), start + _OBJECT_REACH)
    while j < end:
        word = words[j]
        thing, size = vocab.thing_at(words, j)
        if thing in (Thing.ME, Thing.THIS):
            j += size  # "don't text this number", "stop sending me…"
            continue
        if thing is not None or vocab.has(word, Role.SUBJECT) or vocab.has(word, Role.CONDITION):
            return False  # our texts, or a new statement ("…text me again I'll sue")
        if vocab.role_at(words, j, Role.THIRD):
            return False  # texts to a person: "stop texting my daughter"
        if _sending(words, j, vocab):
            return False  # "no me llamen ni me escriban"
        if _content(word, vocab) and not vocab.has(word, Role.RESTRICTION):
            return not _compound(words, j, vocab)
        j += 1
    return False


def _starting(words: list[str], vocab: Vocabulary, role: Role) -> list[int]:
    """Where an entry of the role may start: a quick pass before the closer look."""
    openers = vocab.openers
    return [i for i, word in enumerate(words) if role in openers.get(word, ())]


def _about_someone_else(words: list[str], i: int, vocab: Vocabulary) -> bool:
    """ "she doesn't text": a statement about another person, not a request."""
    return any(vocab.role_at(words, j, Role.THIRD) for j in range(max(0, i - 4), i))


def _dont_want(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "I don't want these texts", "no quiero recibir más mensajes"; without the negation,
    "I want to receive texts" is an opt-in."""
    words = clause.words
    for i in _starting(words, vocab, Role.WANT):
        if not vocab.has(words[i], Role.WANT):
            continue
        thing = _wanted(words, i + 1, vocab)
        if thing is None:
            continue
        rule = f"reading:{vocab.language}:{{}}:{thing}"
        if thing is Thing.CARE and _only(words, i, vocab):  # "I only want appointment texts"
            return Reading(Intent.OPT_OUT, rule.format("only_care"), ("marketing",))
        between = words[i + 1 : i + 4]  # "I'd rather not get texts"
        if _negated(words, i, vocab) or any(vocab.has(w, Role.NEGATION) for w in between):
            if thing is Thing.THIS:
                why = "does not want something unnamed (this, it)"
                return Reading(Intent.REVIEW, rule.format("dont_want"), (), why, "opt_out")
            return Reading(Intent.OPT_OUT, rule.format("dont_want"), _scope(thing, False))
        if thing is not Thing.THIS and _receives(words, i + 1, vocab) and not _denies(words, vocab):
            return Reading(Intent.OPT_IN, rule.format("want"), _scope(thing, False))
    return None


def _only(words: list[str], i: int, vocab: Vocabulary) -> bool:
    return any(w in ("only", "solo", "solamente") for w in words[max(0, i - 2) : i + 4])


def _denies(words: list[str], vocab: Vocabulary) -> bool:
    """A negation anywhere in the clause: never an opt-in ("I no longer wish to receive…")."""
    return any(_negation_ends_at(words, j, vocab) for j in range(len(words)))


def _wanted(words: list[str], start: int, vocab: Vocabulary) -> Thing | None:
    for j in range(start, min(len(words), start + 7)):
        thing, size = vocab.thing_at(words, j)
        if thing in _KINDS_OF_TEXTS:
            return _narrowed(thing, words, j + 1, vocab) if thing is Thing.MESSAGES else thing
        if thing is Thing.THIS:
            after = vocab.thing_at(words, j + size)[0] if j + size < len(words) else None
            return after if after in _KINDS_OF_TEXTS else thing  # "estos mensajes"
        if _content(words[j], vocab) and not _compound(words, j, vocab):
            return None
    return None


def _receives(words: list[str], start: int, vocab: Vocabulary) -> bool:
    return any(vocab.has(w, Role.RECEIVE) for w in words[start : start + 3])


def _no_more(clause: Clause, vocab: Vocabulary) -> Reading | None:
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
        or (vocab.thing_at(words, j)[0] is None and _compound(words, j, vocab))  # "flu shot ads"
    ):
        j += 1
    while verbal and j < len(words) and skipped < 3 and vocab.thing_at(words, j)[0] is None:
        j, skipped = j + 1, skipped + 1
    thing = vocab.thing_at(words, j)[0] if j < len(words) else None
    if thing not in _KINDS_OF_TEXTS or (verbal and thing is not Thing.MARKETING):
        return None
    assert thing is not None
    rule = f"reading:{vocab.language}:no_more:{thing}"
    if clause.question:
        why = "asks about texts rather than asking them to stop"
        return Reading(Intent.REVIEW, rule, (), why, "opt_out")
    if any(vocab.has(w, Role.RESTRICTION) for w in words[j:]):
        why = "limits when or how to text rather than asking to stop"
        return Reading(Intent.REVIEW, rule, (), why, "opt_out")
    return Reading(Intent.OPT_OUT, rule, _scope(_narrowed(thing, words, j + 1, vocab), False))


def _after_lead(words: list[str], vocab: Vocabulary) -> int:
    j = 0
    while (
        j < len(words) and vocab.has(words[j], Role.LEAD) and not vocab.role_at(words, j, Role.NO)
    ):
        j += 1
    return j


def _no_more_at(words: list[str], vocab: Vocabulary) -> int:
    """Where "no more" (a no-word, then a more-word) ends, anywhere in the clause; 0: nowhere."""
    for j in _starting(words, vocab, Role.NO):
        size = vocab.role_at(words, j, Role.NO)
        said_more = size > 1 and vocab.has(words[j + size - 1], Role.MORE)  # "no more"
        if said_more or (size and j + size < len(words) and vocab.has(words[j + size], Role.MORE)):
            return j + size
    return 0


def _passive(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "I'd like my number removed", "have I been removed from your contacts?"."""
    words = clause.words
    things: set[Thing | None] | None = None
    for i in _starting(words, vocab, Role.PASSIVE):
        if not vocab.role_at(words, i, Role.PASSIVE) or _negated(words, i, vocab):
            continue
        if things is None:
            things = {vocab.thing_at(words, j)[0] for j in range(len(words))}
        me = Thing.ME in things or (words[0] in ("i", "im", "ive") and Thing.LISTS in things)
        if me and not _about_someone_else(words, i, vocab):
            return Reading(Intent.OPT_OUT, f"reading:{vocab.language}:passive:{words[i]}")
    return None


def _start_again(clause: Clause, vocab: Vocabulary) -> Reading | None:
    """ "start texting me again", "resume my texts", "vuelvan a enviarme mensajes"."""
    words = clause.words
    for i in _starting(words, vocab, Role.START):
        size = vocab.role_at(words, i, Role.START)
        if not size or _negated(words, i, vocab):
            continue
        if _conditional(words, vocab) or _about_someone_else(words, len(words), vocab):
            return None  # "can you start sending reminders to my husband instead?"
        for j in range(i + size, min(len(words), i + size + 4)):
            thing = vocab.thing_at(words, j)[0]
            sends = vocab.role_at(words, j, Role.CONTACT)
            after = j + sends < len(words) and vocab.thing_at(words, j + sends)[0]
            before = vocab.thing_at(words, j - 1)[0]  # French "m'écrire"
            if thing in _KINDS_OF_TEXTS or (sends and Thing.ME in (after, before)):
                verb = " ".join(words[i : i + size])
                return Reading(Intent.OPT_IN, f"reading:{vocab.language}:start_again:{verb}")
    return None
