"""Reading patients' texts as a reasonable person would (SPEC §5.4, issue kinds 1–12).

Each table is a kind of text, in English and Spanish where it applies; the expected reading
is what a careful person would say. Scopes are checked on a marketing-only number, where
"all", "marketing" and the STOP keyword's scope differ.
"""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.adapters.keyword_file import rules_from
from gateway.domain.keywords import Intent, KeywordRules, classify, compose_reply, scoped_categories
from tests.domain.test_classify import RULES

MARKETING_NO, CARE_NO = "+12015550101", "+12015550102"
TWO = rules_from(
    {
        **RULES.raw,
        "senders": {
            MARKETING_NO: {"categories": ["marketing"]},
            CARE_NO: {"categories": ["transactional"]},
        },
    }
)
TODAY = dt.date(2026, 11, 24)
BOTH, MKT = ("marketing", "transactional"), ("marketing",)


def read(text: str, rules: KeywordRules = TWO) -> tuple[Intent, tuple[str, ...]]:
    """The intent, and what it revokes or grants when sent to the marketing-only number."""
    found = classify(text, rules)
    return found.intent, scoped_categories(found, rules, MARKETING_NO, TODAY)


def cases(intent: Intent, scope: tuple[str, ...], *texts: str) -> list[object]:
    return [pytest.param(t, intent, scope, id=t) for t in texts]


NONE = cases(Intent.NONE, ())
STOP_SCOPE = MKT  # STOP to the marketing number: its categories and marketing

# 1. Negation: a negated opt-out verb is not an opt-out; a negated "text me" is.
NEGATION = [
    *cases(
        Intent.NONE,
        (),
        "don't stop sending me the reminders",
        "I don't want to unsubscribe, just fewer texts",
        "please don't cancel my reminders",
        "no don't remove me, I still want appointment texts",
        "I never said stop",
        "no me den de baja por favor",
        "no dejen de mandarme los recordatorios",
    ),
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "don't text me",
        "do not contact me again",
        "never message me",
        "I do not wish to be contacted",
        "no me escriban más",
    ),
]

# 2. Verb + object: the object decides, and sets the scope.
VERB_OBJECT = [
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "cancel these texts",
        "please remove me from your list",
        "unsubscribe me",
        "take me off your list",
        "lose my number",
        "delete my number",
        "block my number from your texts",
        "stop the reminders",
        "I'd like my contact info removed",
        "dejen de enviarme mensajes",
        "bórrenme de la lista",
    ),
    *cases(
        Intent.OPT_OUT,
        MKT,
        "stop sending me promos",
        "no more offers please",
        "unsubscribe me from the specials",
        "Not interested in the weight loss offers, stop sending them",
        "no me envíen promociones",
    ),
    *cases(
        Intent.NONE,
        (),
        "cancel my order",
        "can you cancel the refill, I got it elsewhere",
        "how do I stop the swelling",
        "should I stop the retinol before the peel?",
        "I quit smoking last month!",
        "cancel my subscription box please",
        "I'll stop by at 3",
        "I'll stop in tomorrow to pay",
        "can I cancel my appointment?",
        "quiero cancelar mi cita del martes",
        "tengo que dejar de tomar la pastilla?",
        "no me manden más facturas por correo",
    ),
]

# 3. "stop" as a noun, and clinical questions.
NOUNS_AND_CLINIC = cases(
    Intent.NONE,
    (),
    "I'm at the bus stop",
    "quick pit stop, running 5 min late",
    "turn left at the stop sign",
    "which stop do I get off at for the clinic",
    "how do I stop the bleeding",
    "when should I stop taking ibuprofen before my procedure",
    "the pain won't stop",
    "let's make the pain stop! when can I come in?",
    "cuándo debo parar el ibuprofeno antes de la cirugía?",
)

# 4. Explicit breadth: everything, whatever number it was sent to.
BREADTH = cases(
    Intent.OPT_OUT,
    BOTH,
    "stop all",
    "cancel all",
    "stop all texts",
    "remove me from all your lists",
    "no messages of any kind, including reminders",
    "stop all the promos AND the reminders",
    "no quiero ningún mensaje, ni recordatorios",
)

# 5. Slang, abbreviations, elongations, a keyword and a code.
SLANG = cases(
    Intent.OPT_OUT,
    STOP_SCOPE,
    "UNSUB",
    "unsub pls",
    "STAHP",
    "stopppp",
    "stop2quit",
    "stop to quit",
    "STOP 12345",
    "s t o p please",
)

# 6. Do-not-contact wording.
DO_NOT_CONTACT = cases(
    Intent.OPT_OUT,
    STOP_SCOPE,
    "do not text",
    "don't ever text me again",
    "never text me",
    "do not call",
    "lose my number",
    "take me off your list",
    "no me llamen ni me escriban",
)

# 7. Hostile dismissals are opt-outs; spam and wrong-number texts are for a person.
HOSTILE = [
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "go away",
        "leave me alone",
        "f*** off",
        "screw you and your texts",
        "déjenme en paz",
    ),
    *cases(
        Intent.REVIEW,
        (),
        "this is spam",
        "wrong number",
        "who is this?",
        "This isn't Maria",
        "número equivocado",
        "¿quién es?",
        "no soy María",
    ),
    *cases(Intent.NONE, (), "omg traffic is shit, running late"),
]

# 8. A keyword with filler, or at the end of another sentence.
FILLER = [
    *cases(Intent.OPT_OUT, STOP_SCOPE, "STOP please", "Is this a scam? STOP", "ok STOP"),
    *cases(Intent.HELP, (), "help me", "HELP please", "What is this? HELP", "ayuda por favor"),
]

# 9. Spanish.
SPANISH = [
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "SALIR",
        "no quiero recibir más mensajes",
        "ya no me manden mensajes",
        "PARA",
        "para ya",
    ),
    *cases(Intent.OPT_IN, MKT, "INICIO", "quiero recibir mensajes"),
    *cases(Intent.NONE, (), "el volumen está muy alto", "es para mañana?", "tengo el azúcar baja"),
]

# 10. Natural-language opt-in (START's rule applies when it is recorded).
OPT_IN = cases(
    Intent.OPT_IN,
    MKT,
    "opt in",
    "start texting me again",
    "resume my texts",
    "you can text me again",
    "vuelvan a enviarme mensajes",
)

# 11. Ambiguous short answers: a person decides (unless our question explains them).
AMBIGUOUS = cases(
    Intent.REVIEW,
    (),
    "NO",
    "no thanks",
    "not interested",
    "nope",
    "cancel it",
    "no gracias",
    "no me interesa",
)

# 12. Reactions quote our own text.
REACTIONS = cases(
    Intent.NONE,
    (),
    'Liked "Reply STOP to opt out"',
    "Emphasized “Your appointment is tomorrow at 9:30. Reply STOP to opt out”",
    "Loved an image",
    "👍 to “Reminder: your visit is tomorrow. Reply STOP to end”",
    "Le gustó “Responda PARAR para cancelar”",
)


@pytest.mark.parametrize(
    ("text", "intent", "scope"),
    [
        *NEGATION,
        *VERB_OBJECT,
        *NOUNS_AND_CLINIC,
        *BREADTH,
        *SLANG,
        *DO_NOT_CONTACT,
        *HOSTILE,
        *FILLER,
        *SPANISH,
        *OPT_IN,
        *AMBIGUOUS,
        *REACTIONS,
    ],
)
def test_a_text_reads_as_a_careful_person_reads_it(
    text: str, intent: Intent, scope: tuple[str, ...]
) -> None:
    assert read(text) == (intent, scope)


@pytest.mark.parametrize(
    "text", ['Liked "Reply STOP to opt out"', "who is this?", "NO", "no thanks"]
)
def test_reactions_and_reviews_get_no_automatic_reply(text: str) -> None:
    found = classify(text, TWO)
    assert compose_reply(TWO, found.language, found.intent, (), ()) is None


def test_every_review_says_why() -> None:
    for text in ("NO", "cancel it", "this is spam", "who is this?", "STEP", "Reply STOP to end"):
        found = classify(text, TWO)
        assert found.intent is Intent.REVIEW
        assert found.why, text


def test_a_wrong_number_text_is_a_wrong_number_review() -> None:
    found = classify("sorry wrong number", TWO)
    assert (found.intent, found.review) == (Intent.REVIEW, "wrong_number")
    assert classify("no thanks", TWO).review == "opt_out"


def test_opt_out_wins_over_a_wrong_number_in_the_same_text() -> None:
    assert read("wrong number, stop texting me") == (Intent.OPT_OUT, STOP_SCOPE)


# --- answers to our own question -------------------------------------------------------------

ANSWERS = {"C": "confirm", "R": "reschedule", "NO": "decline", "YES": "confirm"}


@pytest.mark.parametrize(
    ("text", "meaning"),
    [("NO", "decline"), ("c", "confirm"), ("R please", "reschedule"), ("Yes!", "confirm")],
)
def test_an_expected_answer_is_that_answer(text: str, meaning: str) -> None:
    found = classify(text, TWO, answers=ANSWERS)
    assert (found.intent, found.answer) == (Intent.ANSWER, meaning)
    assert scoped_categories(found, TWO, MARKETING_NO, TODAY) == ()  # "YES" grants nothing


@pytest.mark.parametrize("text", ["STOP", "stop texting me", "cancel", "PARAR"])
def test_an_opt_out_wins_over_an_expected_answer(text: str) -> None:
    assert classify(text, TWO, answers=ANSWERS).intent is Intent.OPT_OUT


def test_without_a_question_no_is_a_review_and_yes_an_opt_in() -> None:
    assert classify("NO", TWO).intent is Intent.REVIEW
    assert classify("YES", TWO).intent is Intent.OPT_IN


# --- real words, and languages ----------------------------------------------------------------


def test_real_words_come_from_the_maintained_dictionary() -> None:
    """ "slop" is in no list of ours: only the dictionary knows it is a word, not a typo."""
    assert "slop" not in str(RULES.raw["fuzzy"])
    assert classify("slop", RULES).intent is Intent.REVIEW
    without = rules_from(RULES.raw, spelling=False)  # no dictionary: read as STOP
    assert classify("slop", without).intent is Intent.OPT_OUT


def test_french_ships_off_but_a_french_stop_still_revokes() -> None:
    assert "fr" not in RULES.languages
    found = classify("ARRÊT", RULES)
    assert found.intent is Intent.OPT_OUT
    reply = compose_reply(RULES, found.language, found.intent, BOTH, ())
    assert reply is not None and "unsubscribed" in reply  # answered in the default language


def test_listing_french_answers_in_french() -> None:
    french = rules_from({**RULES.raw, "languages": ["en", "es", "fr"]})
    for text, intent in [
        ("ARRET", Intent.OPT_OUT),
        ("aide", Intent.HELP),
        ("ABONNER", Intent.OPT_IN),
    ]:
        found = classify(text, french)
        assert (found.intent, found.language) == (intent, "fr")
    reply = compose_reply(french, "fr", Intent.HELP, (), ())
    assert reply is not None and "Aide" in reply
    assert classify("ne m'écrivez plus", french).intent is Intent.OPT_OUT
    assert classify("arrêt de bus", french).intent is Intent.NONE


@pytest.mark.parametrize(
    "text", ["Reply back. For my appt tomorrow", "Reply soon! For real", "Text STOP. For real"]
)
def test_a_quote_that_spans_sentences_is_read_without_error(text: str) -> None:
    assert classify(text, TWO).intent in (Intent.NONE, Intent.REVIEW, Intent.OPT_OUT)


# --- a phrase counts when it is the point, or about our texts ----------------------------------

TURNS_OF_PHRASE = cases(
    Intent.NONE,
    (),
    "Shut up! That's amazing news",
    "That dress is drop dead gorgeous",
    "The doctor said he could cut it out next week",
    "How many times do I have to take this pill?",
    "Why do I keep getting headaches?",
    "You keep sending me the wrong bill",
    "I had no contact with anyone sick",
    "Do not contact my employer",
    "I had to turn off my phone during the MRI",
    "Remove me from the waitlist please",
    "Stop sending me paper bills",
    "¿Cuántas veces al día tomo la pastilla?",
    "Sigo recibiendo tratamiento",
)
CALLS_NOT_TEXTS = [
    *cases(Intent.NONE, (), "Don't call me, text me", "Please stop calling and just text me"),
    *cases(Intent.OPT_OUT, STOP_SCOPE, "don't call me", "Stop calling me", "no me llamen"),
]
THREATS = cases(
    Intent.OPT_OUT,
    STOP_SCOPE,
    "If you text me again I will report you",
    "Text me again and I'm calling my lawyer",
    "Don't you dare text me again",
)
CONSENT_WORDS = cases(
    Intent.OPT_OUT,
    STOP_SCOPE,
    "Revoke consent",
    "I withdraw my consent",
    "I no longer consent to receiving texts",
    "I'd rather not receive texts",
    "Please refrain from texting me",
    "I would appreciate no more texts",
)
EXCEPTIONS = cases(
    Intent.REVIEW, (), "Stop everything except reminders", "stop all texts except appointment ones"
)


@pytest.mark.parametrize(
    ("text", "intent", "scope"),
    [*TURNS_OF_PHRASE, *CALLS_NOT_TEXTS, *THREATS, *CONSENT_WORDS, *EXCEPTIONS],
)
def test_a_phrase_counts_when_it_is_what_the_text_says(
    text: str, intent: Intent, scope: tuple[str, ...]
) -> None:
    assert read(text) == (intent, scope)


@pytest.mark.parametrize("text", ["text me again plz", "you can text me again"])
def test_asking_to_be_texted_again_is_an_opt_in_but_a_threat_is_not(text: str) -> None:
    assert read(text)[0] is Intent.OPT_IN
    assert read(f"If you {text} I will sue")[0] is not Intent.OPT_IN


def test_a_clinics_false_positive_rule_keeps_names_readable() -> None:
    rules = rules_from(
        {**RULES.raw, "false_positives": [{"id": "x", "language": "en", "pattern": r"\bxyz\b"}]}
    )
    assert classify("This isn't Maria", rules).review == "wrong_number"


def test_an_answer_that_is_a_polite_word_is_still_an_answer() -> None:
    found = classify("OK", TWO, answers={"OK": "confirm"})
    assert (found.intent, found.answer) == (Intent.ANSWER, "confirm")
    assert classify("thanks", TWO, answers={"OK": "confirm"}).intent is not Intent.ANSWER


def test_a_text_cut_at_the_limit_does_not_join_words() -> None:
    text = "stop by, " * 400  # 3,600 characters; cut mid-word it would end in "stop"
    assert classify(text, TWO).intent is Intent.NONE


def test_no_text_makes_the_classifier_fail() -> None:
    """The webhook classifies whatever arrives: any Unicode, any length, never an exception."""
    import random

    pieces = [
        "stop", "STOP", "to", "2", "no", "don't", "me", "texts", "all", "?", ".", ",", "!",
        "🛑", "👍", "“", "”", '"', "'", "*", "f***", "\u200b", "\u202e", "ß", "İ", "ǅ",
        "ЅТОР", "停止", "стоп", "a", "1234", "\n", " ", "-", " - ", "Reply", "Liked", "Maria",
        "para", "baja", "ya", "if", "again", "except", "call", "text me", "s t o p",
    ]  # fmt: skip
    chooser = random.Random(7)
    for _ in range(3000):
        text = "".join(chooser.choice(pieces) + chooser.choice(["", " "]) for _ in range(12))
        found = classify(text, TWO)
        assert found.intent in Intent


# --- found by a third blind round ----------------------------------------------------------------

THIRD_ROUND = [
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "I no longer wish to receive text communications from your office.",
        "omg stoppp",
        "pls dont txt me anymore ty",
        "stop texting my daughter she is 12",
        "Kindly remove my telephone number from your messaging list",
        "BASTA YA DE MENSAJES",
        "Revoco mi consentimiento para recibir mensajes de texto",
        "Não quero mais receber mensagens",  # Portuguese: read, answered in English
        "Xin đừng nhắn tin cho tôi nữa",  # Vietnamese
        "停止",  # Chinese
    ),
    *cases(
        Intent.OPT_OUT,
        MKT,
        "no more flu shot ads thanks",
        "I only want appointment texts not the newsletter",
    ),
    *cases(
        Intent.NONE,
        (),
        "The reminder has the wrong time, I was told 2:30",
        "Help! I locked my keys in the car in your parking lot lol",
        "I want to start physical therapy, who do I call?",
    ),
    *cases(
        Intent.REVIEW, (), "nah not interested thx", "No stop the reminders please, los necesito"
    ),
]


@pytest.mark.parametrize(("text", "intent", "scope"), THIRD_ROUND)
def test_texts_a_third_blind_round_found(text: str, intent: Intent, scope: tuple[str, ...]) -> None:
    assert read(text) == (intent, scope)


def test_a_negation_anywhere_keeps_a_want_from_opting_in() -> None:
    assert read("I no longer want to receive messages")[0] is Intent.OPT_OUT
    assert read("I want to receive messages")[0] is Intent.OPT_IN


# --- found by a fourth blind round (peers' tests and issue trackers) -----------------------

FOURTH_ROUND = [
    *cases(
        Intent.OPT_OUT,
        STOP_SCOPE,
        "Not interested STOP",
        "not interested stop",
        "No thanks STOP 56161",
        "NOT INTERESTED STOP ACMEIN",
        "Why are you texting me STOP",
        "Who is this? Wrong number STOP",
        "No STOP",
        "HALT STOP",
        "Do not contact me at this number ever again",
        "stop texting me about my bill",
        "not interested in receiving these",
    ),
    *cases(
        Intent.NONE,
        (),
        "Meet me at Metro STOP",
        "let's make the pain stop",
        "I will stop texting you, sorry",
        "can we end the call",
        "I removed my name",
    ),
    *cases(
        Intent.REVIEW,
        (),
        "Reply STOP to unsubscribe. Unsubscribing will stop all messages from this number.",
        "Click the link below to unsubscribe from these notifications.",
        "Thanks, but we're not interested at this time.",
        "not mine",
        "Wrong #",
        "Stop, this is amazing, how much?",  # a startled stop: a person decides
        "stop it lol you're funny",
        "can the doctor call me, not text, about the biopsy results",
    ),
    *cases(Intent.OPT_IN, MKT, "I didn't mean to unsubscribe", "I accidentally texted stop"),
]


@pytest.mark.parametrize(("text", "intent", "scope"), FOURTH_ROUND)
def test_texts_a_fourth_blind_round_found(
    text: str, intent: Intent, scope: tuple[str, ...]
) -> None:
    assert read(text) == (intent, scope)
