"""Classifying one inbound text (SPEC §5.4). PURE.

The steps run from the surest reading to the loosest: the whole text as a keyword, then as a
keyword despite typos, then sentence by sentence for its structure (`reading`). Opt-out wins
over everything else in one message, and over the answer to our own question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import replace

from gateway.domain.fuzzy import fuzzy_keyword
from gateway.domain.keyword_index import Keyword, KeywordIndex
from gateway.domain.keyword_rules import KeywordRules
from gateway.domain.normalise import (
    WORDS,
    compacted,
    folded,
    folded_cased,
    plain,
    squeezed,
    visible,
)
from gateway.domain.reading import (
    Clause,
    Reading,
    asks_for_calls,
    asks_for_texts,
    is_decline,
    read_clause,
    shows_interest,
)
from gateway.domain.rules import Classification, Intent
from gateway.domain.vocabulary import Thing, contracted, tokens, unstretched

_STOP_SIGNS = frozenset({"🛑"})
_LONGEST_TEXT = 3200  # twice Twilio's 1,600-character limit
_SHORT_TEXT = 24  # words: letters typed apart ("s t o p") are looked for in short texts only
_SHORT_ANSWER = 6  # words: a decline ("no thanks"), a stretched keyword ("stopp pls")
_PRIORITY = {Intent.OPT_OUT: 0, Intent.OPT_IN: 1, Intent.HELP: 2}
# Sentences end at these; so do emoji and other symbols ("STOP 🛑 who is this").
_SENTENCE_END = re.compile(r"[.!?;\n]+(?:\s|$)")
# The marks that end a clause: sentence ends, commas, brackets, quotes, dashes between
# spaces, emoji and other symbols ("STOP 🛑 who is this").
_MARKS = re.compile(r"([.!?;\n]+|[,/()\[\]{}\"“”«»]|\s[-–—]+\s|[^\w\s'*&#@$%+-])")
_WORD = re.compile(r"[^\W\d_]\*+[^\W\d_]*|[^\W_]+")  # as `tokens` reads words
_JOINS = frozenset({"but", "pero"})
_REACTION_MARK = re.compile(
    r"[\"“”«‘'’]|\b(?:an?|una?)\s+\w+\s*$", re.IGNORECASE
)  # "thanks but stop": a new clause


def classify(
    message: str,
    rules: KeywordRules,
    opt_out_type: str | None = None,
    answers: Mapping[str, str] | None = None,
) -> Classification:
    """What the patient's text asks for. Opt-out wins over everything else in one message.

    `answers`: the replies our last text to this number asked for ({"C": "confirm"}); a
    text that is one of them is that answer — unless it is an opt-out. A text longer than
    Twilio's limit (1,600 characters) is read up to twice that, so no input costs more."""
    text = message if len(message) <= _LONGEST_TEXT else _cut(message)
    local = _read_text(text, rules)
    if answers and local.intent is not Intent.OPT_OUT:
        local = _answer(text, rules, answers) or local
    return _with_carrier_verdict(local, rules, opt_out_type)


def _cut(message: str) -> str:
    """The first `_LONGEST_TEXT` characters, ending where a sentence or clause does (else at a
    space): a cut never makes a new sentence ("…stop by, stop" from "…stop by, stop by")."""
    head = message[:_LONGEST_TEXT]
    end = max(head.rfind(mark) for mark in ".!?,;\n")
    return head[: end + 1] if end > 0 else head[: head.rfind(" ")] if " " in head else head


def _read_text(text: str, rules: KeywordRules) -> Classification:
    index = rules.index
    exact = plain(text)
    keyword = index.exact.get(exact)
    if keyword is not None:
        return keyword.read("keyword", standard=keyword.standard)
    loose = folded(text)
    words = tokens(loose)
    sequences, longest = index.folded_sequences, index.longest
    steps: tuple[Callable[[], Classification | None], ...] = (
        lambda: _stop_sign(text, rules),
        lambda: _keyword_sequence(WORDS.findall(exact), index.sequences, longest),
        lambda: _keyword_sequence(words, sequences, longest),
        lambda: _keyword_sequence(_despaced(words), sequences, longest, "fuzzy"),
        lambda: _keyword_sequence(_squeezed(loose, words, rules), sequences, longest, "fuzzy"),
        lambda: _keyword_to_quit(loose, index),
        lambda: _reaction(text, rules),
        lambda: _fuzzy(loose, words, rules),
        lambda: _quoted_instruction(text, loose, rules),
        lambda: _phrase(loose, rules),
    )
    for step in steps:
        found = step()
        if found is not None:
            return found
    return _read_sentences(text, rules)


def _stop_sign(text: str, rules: KeywordRules) -> Classification | None:
    """🛑 alone (or repeated) reads as STOP."""
    if "🛑" not in text:
        return None
    marks = {ch for ch in visible(text) if not ch.isspace() and not _is_punctuation(ch)}
    group = rules.main_group(Intent.OPT_OUT)
    if not marks or not marks <= _STOP_SIGNS or group is None:
        return None
    return Classification(Intent.OPT_OUT, group.scope, rules.default_language, "emoji:🛑", False)


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _keyword_sequence(
    words: list[str],
    sequences: Mapping[tuple[str, ...], Keyword | None],
    longest: int,
    how: str = "keyword",
) -> Classification | None:
    """Only keywords and polite words ("STOP please", "HELP STOP"), perhaps a code after them
    ("STOP 12345"): the strongest keyword wins."""
    found = _keywords_in(words, sequences, longest)
    if not found:
        return None
    best = min(found, key=lambda k: _PRIORITY[k.group.intent])
    same = [k for k in found if k.group.intent is best.group.intent]
    scope = tuple(dict.fromkeys(s for k in same for s in k.group.scope))
    return Classification(
        best.group.intent, scope, best.language, f"{how}:{best.language}:{best.word}", False
    )


def _keywords_in(
    words: list[str], sequences: Mapping[tuple[str, ...], Keyword | None], longest: int
) -> list[Keyword]:
    end = len(words)
    while end and words[end - 1].isdigit():
        end -= 1  # a campaign code or a date after the keyword
    words = words[:end]
    found: list[Keyword] = []
    position = 0
    while position < len(words):
        for size in range(min(longest, len(words) - position), 0, -1):
            key = tuple(words[position : position + size])
            if key in sequences:
                if (keyword := sequences[key]) is not None:
                    found.append(keyword)
                position += size
                break
        else:
            return []
    return found


def _despaced(words: list[str]) -> list[str]:
    """ "s t o p please" -> "stop please": letters typed apart read as one word."""
    if len(words) > _SHORT_TEXT or sum(len(w) == 1 for w in words) < 3:
        return []
    joined: list[str] = []
    for word in words:
        if len(word) == 1 and joined and joined[-1].isalpha():
            joined[-1] += word
        else:
            joined.append(word)
    return joined if len(joined) < len(words) else []


def _squeezed(loose: str, words: list[str], rules: KeywordRules) -> list[str]:
    """ "Stopp pls", "yesss please": each word with its repeated letters read once — unless
    it is a word of its own ("stoop" is not STOP)."""
    if len(words) > _SHORT_ANSWER or squeezed(loose) == loose:
        return []
    if any(w in rules.real_words for w in words):
        return []
    squeezed_words = [squeezed(w) for w in words]
    return squeezed_words if squeezed_words != words else []


def _fuzzy(loose: str, words: list[str], rules: KeywordRules) -> Classification | None:
    """A keyword despite typos — unless the whole text is a phrase the reading lists name
    ("cancelalo" is not CANCEL ALL)."""
    found = fuzzy_keyword(loose, rules)
    if found is None:
        return None
    phrase = any(v.is_phrase(words, [False] * len(words)) for v in rules.vocabularies)
    return None if phrase else found


def _keyword_to_quit(loose: str, index: KeywordIndex) -> Classification | None:
    """ "STOP to quit", "stop2quit": the patient types the instruction they read."""
    if len(loose) > 40 or len(loose.split()) > 4:
        return None
    compact = compacted(loose)
    for joint in ("to", "2"):
        at = compact.find(joint)
        while at > 0:
            first = index.compact.get(compact[:at])
            then = index.compact.get(compact[at + len(joint) :])
            if _both_opt_outs(first, then):
                assert first is not None
                return first.read("keyword_to_quit")
            at = compact.find(joint, at + 1)
    return None


def _both_opt_outs(first: Keyword | None, then: Keyword | None) -> bool:
    return (
        first is not None
        and then is not None
        and first.group.intent is then.group.intent is Intent.OPT_OUT
    )


def _reaction(text: str, rules: KeywordRules) -> Classification | None:
    """`Liked "Reply STOP to opt out"` quotes our own text: not the patient's words."""
    if not _REACTION_MARK.search(text):
        return None  # a reaction quotes (“…”) or names what it reacts to ("an image")
    head = folded_cased(text).casefold()
    for language, prefix in rules.index.reactions:
        if prefix.match(head):
            return Classification(Intent.NONE, (), language, f"reaction:{language}", False)
    return None


def _quoted_instruction(text: str, loose: str, rules: KeywordRules) -> Classification | None:
    """An echoed "Reply STOP to unsubscribe" is not a request, and is never answered (loops);
    what the text says in its other sentences still counts, and so does a complaint ("I
    texted STOP to opt out and still get texts")."""
    quoted_rules = rules.index.quoted
    if not any(p.search(loose) for p in quoted_rules):
        return None
    sentences = _SENTENCE_END.split(loose)
    quoted = [s for s in sentences if any(p.search(s) for p in quoted_rules)]
    if not quoted:
        return None  # the pattern matched only across two sentences: no quote
    matched = next(
        (r for r in rules.quoted_instructions if r.pattern.search(quoted[0])),
        rules.quoted_instructions[0],
    )
    complaint = _complaint(loose, rules)
    if complaint is not None:
        return complaint
    beside = _read_sentences(". ".join(s for s in sentences if s not in quoted), rules)
    if beside.intent is Intent.OPT_OUT:
        return beside
    why = "only quotes opt-out instructions (an auto-reply or a pasted notice)"
    return Classification(
        Intent.REVIEW, (), matched.language, "quoted_instruction", False, why, "opt_out"
    )


def _complaint(loose: str, rules: KeywordRules) -> Classification | None:
    """ "I texted STOP to opt out and you keep texting me": a complaint beside the quote."""
    for clause in _clauses(loose):
        for vocab in rules.vocabularies:
            found = read_clause(clause, vocab)
            if found is not None and found.rule.endswith((":already_asked", ":dismissal")):
                scope = _main_scope(rules, Intent.OPT_OUT)
                return Classification(Intent.OPT_OUT, scope, vocab.language, found.rule, False)
    return None


def _phrase(loose: str, rules: KeywordRules) -> Classification | None:
    """The clinic's own opt-out patterns, if keywords.yml has any (`phrases:`)."""
    for rule in rules.phrases:
        if rule.pattern.search(loose):
            scope = rule.scope or _main_scope(rules, Intent.OPT_OUT)
            return Classification(
                Intent.OPT_OUT, scope, rule.language, f"phrase:{rule.language}:{rule.id}", False
            )
    return None


# --- sentence by sentence -----------------------------------------------------------------


def _read_sentences(text: str, rules: KeywordRules) -> Classification:
    """Each clause read on its own; opt-out wins, then review, then the rest."""
    readings: list[tuple[Reading, str]] = []
    text = text.replace("🛑", " STOP. ")  # the stop sign beside other words is a STOP too
    clauses = list(_clauses(_without_false_positives(text, rules)))
    declines = padding = 0
    for clause in clauses:
        bare = _unpadded(clause, rules)
        if not bare.words:
            padding += 1  # "ok", "thanks!": nothing either way
        elif found := _clause_keyword(
            clause, rules, last=clause is clauses[-1] or (len(clauses) <= 2 and _short(clauses))
        ):
            readings.append(found)
        elif structure := _clause_structure(clause, rules):
            readings.extend(structure)
        elif len(bare.words) <= _SHORT_ANSWER and any(
            is_decline(bare, v) for v in rules.vocabularies
        ):
            declines += 1
    best = max(readings, key=lambda r: r[0].strength, default=None)
    nothing_else = best is None or best[0].intent is Intent.NONE
    if nothing_else and declines and declines + padding == len(clauses):
        return _decline(clauses, rules)
    if best is None:
        return Classification(Intent.NONE, (), rules.default_language, "none", False)
    reading, language = best
    if _startled(clauses, readings, rules):  # "Stop, this is amazing, how much?"
        why = "a 'stop' beside laughter or interest: maybe a joke, maybe an opt-out"
        rule = f"reading:{language}:interest"
        return Classification(Intent.REVIEW, (), language, rule, False, why, "opt_out")
    opt_outs = [r for r, _ in readings if r.intent is Intent.OPT_OUT]
    if opt_outs and all(r.voice for r in opt_outs) and _texts_asked_for(clauses, rules):
        rule = f"reading:{language}:prefers_texts"  # "don't call me, text me"
        return Classification(Intent.NONE, (), language, rule, False)
    contacts = all(":dont_contact:" in r.rule and not r.voice for r in opt_outs)
    if opt_outs and contacts and _calls_asked_for(clauses, rules):  # "call me, not text"
        why = "asks for a call instead of texts: a person decides what to stop"
        rule = f"reading:{language}:prefers_calls"
        return Classification(Intent.REVIEW, (), language, rule, False, why, "opt_out")
    if opt_outs and all(r.vague for r in opt_outs) and _only_promos_named(clauses, rules):
        reading = replace(reading, scope=("marketing",))  # "…offers, stop sending them"
        readings = [(reading, language)]
    return _classification(reading, language, readings, rules)


def _startled(
    clauses: list[Clause], readings: list[tuple[Reading, str]], rules: KeywordRules
) -> bool:
    """The only opt-out is a bare "Stop," opening a text that goes on to show interest."""
    opt_outs = [r for r, _ in readings if r.intent is Intent.OPT_OUT]
    bare = (":this:", ":request:")  # "stop it lol", "Stop!" — no texts named
    if len(opt_outs) != 1 or not (
        opt_outs[0].rule.startswith("keyword:") or any(b in opt_outs[0].rule for b in bare)
    ):
        return False
    first = clauses[0]
    if _keywords_in(first.words, rules.index.folded_sequences, rules.index.longest):
        rest = clauses[1:]  # "Stop, I want to know more"
    else:
        rest = clauses  # "stop it lol you're funny"
    return any(shows_interest(c, v) for c in rest for v in rules.vocabularies)


def _calls_asked_for(clauses: list[Clause], rules: KeywordRules) -> bool:
    return any(asks_for_calls(c, v) for c in clauses for v in rules.vocabularies)


def _texts_asked_for(clauses: list[Clause], rules: KeywordRules) -> bool:
    return any(asks_for_texts(c, v) for c in clauses for v in rules.vocabularies)


def _only_promos_named(clauses: list[Clause], rules: KeywordRules) -> bool:
    named = {
        vocab.thing_at(clause.words, j)[0]
        for clause in clauses
        for vocab in rules.vocabularies
        for j in range(len(clause.words))
    }
    return Thing.MARKETING in named and not named & {Thing.CARE, Thing.ALL, Thing.MESSAGES}


def _classification(
    reading: Reading, language: str, readings: list[tuple[Reading, str]], rules: KeywordRules
) -> Classification:
    scope: tuple[str, ...] = ()
    if reading.intent is Intent.OPT_OUT:
        words = [w for r, _ in readings if r.intent is Intent.OPT_OUT for w in _scope_of(r, rules)]
        scope = tuple(dict.fromkeys(words))
    elif reading.intent is Intent.OPT_IN:
        scope = reading.scope or _main_scope(rules, Intent.OPT_IN)
    return Classification(
        reading.intent, scope, language, reading.rule, False, reading.why, reading.review
    )


def _scope_of(reading: Reading, rules: KeywordRules) -> tuple[str, ...]:
    return reading.scope or _main_scope(rules, Intent.OPT_OUT)


def _clause_keyword(
    clause: Clause, rules: KeywordRules, *, last: bool = True
) -> tuple[Reading, str] | None:
    """A clause that is a keyword ("Is this a scam? STOP"): opt-out and help count anywhere;
    an opt-in word counts only as the whole text ("Yes, see you then" confirms a visit)."""
    found = _keywords_in(clause.words, rules.index.folded_sequences, rules.index.longest)
    if not found:
        return None
    best = min(found, key=lambda k: _PRIORITY[k.group.intent])
    rule = f"keyword:{best.language}:{best.word}"
    if best.group.intent is Intent.OPT_IN:
        return None  # the clause's structure decides ("I sent stop by mistake, start again")
    if clause.question and best.group.intent is Intent.OPT_OUT:
        why = f"'{best.word}' asked as a question"
        return Reading(Intent.REVIEW, rule, (), why, "opt_out"), best.language
    if best.group.intent is Intent.HELP and not last:
        return None  # "Help! I locked my keys in the car": a cry, not the HELP keyword
    scope = tuple(dict.fromkeys(s for k in found if k.group is best.group for s in k.group.scope))
    return Reading(best.group.intent, rule, scope), best.language


def _short(clauses: list[Clause]) -> bool:
    """ "HELP. What is this?": the other clause is a few words."""
    return all(len(c.words) <= 4 for c in clauses)


def _clause_structure(clause: Clause, rules: KeywordRules) -> list[tuple[Reading, str]]:
    """The clause's strongest readings, in every language that reads it so: two opt-outs
    ("no quiero ningún mensaje" read in English and in Spanish) add their scopes up."""
    found = [
        (r, v.language)
        for v in rules.vocabularies
        if v.reads(clause.words) and (r := read_clause(clause, v))
    ]
    strongest = max((r.strength for r, _ in found), default=0)
    return [(r, language) for r, language in found if r.strength == strongest]


def _clauses(text: str) -> list[Clause]:
    """The text's clauses: split at the marks that end one ("?" remembered), then at "but"."""
    parts = _MARKS.split(unstretched(contracted(folded_cased(text))))
    found: list[Clause] = []
    for at in range(0, len(parts), 2):
        raw = _WORD.findall(parts[at])
        question = at + 1 < len(parts) and "?" in parts[at + 1]
        while raw:
            cut = next((k for k, w in enumerate(raw) if w.casefold() in _JOINS), len(raw))
            if cut:
                found.append(_clause(raw[:cut], question and cut == len(raw)))
            raw = raw[cut + 1 :]
    return found


def _clause(raw: list[str], question: bool) -> Clause:
    words = [w.casefold() for w in raw]
    names = [w[:1].isupper() and w[1:2].islower() for w in raw]
    shouted = frozenset(k for k, w in enumerate(raw) if len(w) > 1 and w.isupper())
    return Clause(words, names, question, shouted)


def _without_false_positives(text: str, rules: KeywordRules) -> str:
    """The clinic's own "this is not an opt-out" patterns (`false_positives:`), removed."""
    if not rules.false_positives:
        return text
    kept = folded_cased(text)  # case kept: "this isn't {name}" still finds the name
    for rule in rules.false_positives:
        kept = rule.pattern.sub(" , ", kept)
    return kept


def _decline(clauses: list[Clause], rules: KeywordRules) -> Classification:
    """Only "no", "not interested" (polite words allowed): a person decides."""
    language = next(
        (
            v.language
            for c in clauses
            for v in rules.vocabularies
            if is_decline(_unpadded(c, rules), v)
        ),
        rules.default_language,
    )
    why = "a short no with no question of ours to answer: maybe an opt-out"
    rule = f"reading:{language}:decline"
    return Classification(Intent.REVIEW, (), language, rule, False, why, "opt_out")


def _unpadded(clause: Clause, rules: KeywordRules) -> Clause:
    kept = [i for i, w in enumerate(clause.words) if (w,) not in rules.index.fillers]
    if not kept:
        return Clause([], [], clause.question)
    return Clause([clause.words[i] for i in kept], [clause.names[i] for i in kept], clause.question)


def _main_scope(rules: KeywordRules, intent: Intent) -> tuple[str, ...]:
    group = rules.main_group(intent)
    return group.scope if group is not None else ("sender",)


# --- answers to our own question -----------------------------------------------------------


def _answer(text: str, rules: KeywordRules, answers: Mapping[str, str]) -> Classification | None:
    """ "C" after "Reply C to confirm": the answer, with polite words around it allowed."""
    said, whole = _without_fillers(text, rules), plain(text)
    for key, value in answers.items():
        # An answer that is itself a polite word ("OK") is matched as it is written.
        if plain(key) == whole or (_without_fillers(key, rules) or plain(key)) == said:
            rule = f"answer:{key}"
            return Classification(
                Intent.ANSWER, (), rules.default_language, rule, False, answer=value
            )
    return None


def _without_fillers(text: str, rules: KeywordRules) -> str:
    words = WORDS.findall(plain(text))
    return " ".join(w for w in words if (w,) not in rules.index.fillers)


# --- Twilio's own reading --------------------------------------------------------------------

_CARRIER_INTENTS = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}


def _with_carrier_verdict(
    local: Classification, rules: KeywordRules, opt_out_type: str | None
) -> Classification:
    """Twilio's OptOutType counts unless our own reading is stronger (opt-out always is)."""
    kind = (opt_out_type or "").strip().upper()
    carrier = _CARRIER_INTENTS.get(kind)
    if carrier is None or local.intent is Intent.OPT_OUT:
        return local
    if carrier is Intent.OPT_OUT or local.intent in (Intent.REVIEW, Intent.NONE):
        scope = _main_scope(rules, carrier) if carrier is not Intent.HELP else ()
        return Classification(carrier, scope, local.language, f"optout_type:{kind}", True)
    return local
