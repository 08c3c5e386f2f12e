"""What a patient's text means (SPEC §5.4–5.7), read through the shipped keywords.yml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gateway.adapters.keyword_file import load_rules, rules_from
from gateway.domain.keywords import (
    Intent,
    KeywordRules,
    classify,
    compose_reply,
    scoped_categories,
    segment_size,
)

RULES = load_rules(Path(__file__).resolve().parents[2] / "keywords.yml")
CLINIC = "+12015550100"  # the shipped sender: both categories
TODAY = dt.date(2026, 11, 24)  # before revoke_all_from (2027-01-31)
BOTH = ("marketing", "transactional")


def variant(**changes: Any) -> KeywordRules:
    """The shipped rules with some sections replaced (built and validated like the file)."""
    return rules_from({**RULES.raw, **changes})


TWO_NUMBERS = variant(
    senders={
        "+12015550101": {"categories": ["marketing"]},
        "+12015550102": {"categories": ["transactional"]},
    }
)
MARKETING_NUMBER, CARE_NUMBER = "+12015550101", "+12015550102"


def shipped_keywords() -> list[tuple[str, str, Intent, str]]:
    return [
        (word, language, group.intent, group.id)
        for group in RULES.keyword_groups
        for language, words in group.words.items()
        for word in words
    ]


def dressed(word: str) -> list[str]:
    """The ways patients type a keyword: any case, spaces, punctuation, emoji around it."""
    return [
        word,
        word.lower(),
        word.title(),
        f"  {word}  ",
        f"{word.lower()}!",
        f"¡{word}!",
        f'"{word}."',
        f"🙏 {word.lower()} 🙏",
        f"{word}\n",
    ]


KEYWORD_CASES = [
    pytest.param(text, word, language, intent, id=f"{group_id}:{language}:{text!r}")
    for word, language, intent, group_id in shipped_keywords()
    for text in dressed(word)
]


@pytest.mark.parametrize(("text", "word", "language", "intent"), KEYWORD_CASES)
def test_every_configured_keyword_reads_as_its_intent(
    text: str, word: str, language: str, intent: Intent
) -> None:
    found = classify(text, RULES)
    assert (found.intent, found.language, found.rule) == (
        intent,
        language,
        f"keyword:{language}:{word}",
    )


@pytest.mark.parametrize(
    "word", ["stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"]
)
def test_the_fcc_revocation_words_all_revoke(word: str) -> None:
    found = classify(word, RULES)
    assert found.intent is Intent.OPT_OUT
    assert scoped_categories(found, RULES, CLINIC, TODAY) == BOTH


@pytest.mark.parametrize(
    "text",
    [
        "please stop texting me",
        "Stop texting me!!",
        "stop sending me messages",
        "remove me from your list",
        "Take me off your list please",
        "no more messages",
        "don't text me",
        "Unsubscribe me",
        "how do I unsubscribe",
        "no me envíen más mensajes",
        "no me envien mas mensajes",
        "ya no quiero recibir mensajes",
        "quítenme de la lista",
        "quiero darme de baja",
    ],
)
def test_free_text_requests_to_stop_revoke(text: str) -> None:
    found = classify(text, RULES)
    assert found.intent is Intent.OPT_OUT
    assert found.rule.startswith("reading:")
    assert not found.standard


def test_please_stop_texting_me_revokes_on_the_sender() -> None:
    found = classify("please stop texting me", RULES)
    assert scoped_categories(found, RULES, CLINIC, TODAY) == BOTH


@pytest.mark.parametrize(
    "text",
    [
        "I'll stop by at 3",
        "can I cancel my appointment?",
        "cancel my appointment",
        "I need to cancel the appointment and reschedule",
        "the pain won't stop",
        "I can't stop coughing",
        "see you at the end of the week",
        "quiero cancelar mi cita",
    ],
)
def test_sentences_that_only_mention_a_stop_word_are_not_opt_outs(text: str) -> None:
    found = classify(text, RULES)
    assert found.intent is Intent.NONE
    assert found.rule.startswith("reading:")


def test_stop_by_at_three_is_not_an_opt_out() -> None:
    assert classify("I'll stop by at 3", RULES).intent is Intent.NONE


def test_cancel_my_appointment_is_not_an_opt_out() -> None:
    assert classify("can I cancel my appointment?", RULES).intent is Intent.NONE


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("I want to cancel", "cancel"),
        ("STOP? I'll stop by later", "STOP"),  # the first STOP is a question
        ("quiero terminar", "terminar"),
    ],
)
def test_an_unexplained_stop_word_goes_to_review(text: str, word: str) -> None:
    found = classify(text, RULES)
    assert found.intent is Intent.REVIEW
    assert found.rule.endswith(f":{word}")
    assert word.casefold() in found.why.casefold()


def test_plain_chatter_is_nothing() -> None:
    found = classify("Thanks, see you Tuesday!", RULES)
    assert (found.intent, found.rule, found.language) == (Intent.NONE, "none", "en")


@pytest.mark.parametrize(
    "text",
    [
        "S T O P",
        "s.t.o.p",
        "S-T-O-P",
        "STOPPPP",
        "sstop",
        "ЅТОР",  # Cyrillic look-alikes
        "ΣΤΟΡ".replace("Σ", "S"),  # Greek tau, omicron, rho
        "ꜱᴛᴏᴘ",  # small capitals
        "🇸🇹🇴🇵",
        "𝐒𝐓𝐎𝐏",  # styled (mathematical bold)
        "ＳＴＯＰ",  # fullwidth
        "ST\u200bOP",  # zero-width space inside
        "S\u200dT\u2060O\ufeffP",
        "🛑",
        " 🛑🛑 ",
        "STPO",
        "SOTP",
        "STP",
        "st0p",
    ],
)
def test_what_reads_as_stop_counts_as_stop(text: str) -> None:
    found = classify(text, RULES)
    assert found.intent is Intent.OPT_OUT
    assert found.scope == RULES.keyword_groups[0].scope


@pytest.mark.parametrize(
    ("text", "intent", "rule"),
    [
        ("hlep", Intent.HELP, "fuzzy:en:HELP"),
        ("strat", Intent.OPT_IN, "fuzzy:en:START"),
        ("unsubscirbe", Intent.OPT_OUT, "fuzzy:en:UNSUBSCRIBE"),
        ("yesss", Intent.OPT_IN, "fuzzy:en:YES"),
        ("parrar", Intent.OPT_OUT, "fuzzy:es:PARAR"),
    ],
)
def test_a_keyword_with_one_slip_reads_as_that_keyword(
    text: str, intent: Intent, rule: str
) -> None:
    found = classify(text, RULES)
    assert (found.intent, found.rule, found.standard) == (intent, rule, False)


def test_spaced_out_spanish_keyword_answers_in_spanish() -> None:
    assert classify("P A R A R", RULES).language == "es"


@pytest.mark.parametrize(
    "text",
    ["STEP", "shop", "slop", "Top", "SPOT", "pots", "STAR", "stoop", "hell", "quite", "cancer"],
)
def test_a_typo_that_is_a_real_word_goes_to_review(text: str) -> None:
    found = classify(text, RULES)
    assert found.intent is Intent.REVIEW
    assert found.rule.startswith("fuzzy_uncertain:")


@pytest.mark.parametrize("text", ["and", "snd", "yea", "sit", "fun", "hello", "ok", "thanks"])
def test_short_keywords_are_never_read_through_typos(text: str) -> None:
    assert classify(text, RULES).intent is Intent.NONE


@pytest.mark.parametrize(
    "text",
    [
        "Reply STOP to unsubscribe",
        "Text STOP to opt out",
        "Riverside Family Clinic: Msg&data rates may apply. Reply HELP for help.",
        "You have been unsubscribed and will not receive any more messages.",
        "Thanks for texting! We'll reply soon. Reply STOP to opt out.",
        "Responda PARAR para cancelar",
    ],
)
def test_a_text_that_only_quotes_instructions_goes_to_review(text: str) -> None:
    found = classify(text, RULES)
    assert (found.intent, found.rule) == (Intent.REVIEW, "quoted_instruction")
    assert compose_reply(RULES, found.language, found.intent, (), ()) is None


@pytest.mark.parametrize(
    ("opt_out_type", "intent"),
    [
        ("STOP", Intent.OPT_OUT),
        ("stop", Intent.OPT_OUT),
        ("START", Intent.OPT_IN),
        ("Help", Intent.HELP),
    ],
)
def test_twilio_opt_out_type_is_honoured_when_no_local_rule_matches(
    opt_out_type: str, intent: Intent
) -> None:
    found = classify("hello", RULES, opt_out_type)
    assert (found.intent, found.rule) == (intent, f"optout_type:{opt_out_type.upper()}")
    assert found.standard


def test_twilio_stop_revokes_like_the_main_stop_keyword() -> None:
    found = classify("hello", RULES, "STOP")
    assert found.scope == ("sender", "marketing")
    assert scoped_categories(found, TWO_NUMBERS, MARKETING_NUMBER, TODAY) == ("marketing",)


def test_an_unknown_opt_out_type_is_ignored() -> None:
    assert classify("hello", RULES, "MAYBE").intent is Intent.NONE


@pytest.mark.parametrize(
    ("text", "opt_out_type"),
    [
        ("HELP STOP", None),
        ("STOP HELP", None),
        ("yes stop", None),
        ("stop please", None),
        ("STOP", "START"),
        ("yes", "STOP"),
        ("Reply STOP to unsubscribe", "STOP"),
    ],
)
def test_opt_out_wins_over_everything_in_one_message(text: str, opt_out_type: str | None) -> None:
    assert classify(text, RULES, opt_out_type).intent is Intent.OPT_OUT


def test_keywords_with_polite_words_are_not_standard() -> None:
    found = classify("STOP please", RULES)
    assert (found.rule, found.standard) == ("keyword:en:STOP", False)


def test_twilios_standard_words_are_marked_standard() -> None:
    assert classify("STOP", RULES).standard
    assert not classify("PARAR", RULES).standard  # the carrier does not answer it for us


@pytest.mark.parametrize(
    ("text", "language"), [("PARAR", "es"), ("Ayuda", "es"), ("sí", "es"), ("Stop", "en")]
)
def test_the_keywords_language_is_the_replys_language(text: str, language: str) -> None:
    assert classify(text, RULES).language == language


# --- scope ---------------------------------------------------------------------------------


def test_stop_promos_revokes_marketing_only() -> None:
    found = classify("STOP PROMOS", RULES)
    assert scoped_categories(found, RULES, CLINIC, TODAY) == ("marketing",)


@pytest.mark.parametrize("text", ["STOPALL", "stop all", "PARAR TODO"])
def test_stopall_revokes_everything_whatever_the_number(text: str) -> None:
    found = classify(text, TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, MARKETING_NUMBER, TODAY) == BOTH


def test_stop_to_the_marketing_number_leaves_care_messages() -> None:
    found = classify("STOP", TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, MARKETING_NUMBER, TODAY) == ("marketing",)


def test_stop_to_the_care_number_also_stops_marketing() -> None:
    found = classify("STOP", TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, CARE_NUMBER, TODAY) == BOTH


def test_stop_to_an_unconfigured_number_revokes_every_category() -> None:
    found = classify("STOP", TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, "+12015550199", TODAY) == BOTH
    assert scoped_categories(found, TWO_NUMBERS, None, TODAY) == BOTH


@pytest.mark.parametrize("today", [dt.date(2027, 1, 31), dt.date(2027, 6, 1)])
def test_from_revoke_all_from_every_opt_out_revokes_all(today: dt.date) -> None:
    found = classify("STOP PROMOS", TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, MARKETING_NUMBER, today) == BOTH


def test_a_revoke_all_date_in_the_past_makes_stop_to_the_marketing_number_revoke_all() -> None:
    rules = variant(
        senders=TWO_NUMBERS.raw["senders"], revoke_all_from=dt.date(2025, 1, 1).isoformat()
    )
    found = classify("STOP", rules)
    assert scoped_categories(found, rules, MARKETING_NUMBER, TODAY) == BOTH


def test_start_restores_the_senders_categories_only() -> None:
    found = classify("START", TWO_NUMBERS)
    assert scoped_categories(found, TWO_NUMBERS, CARE_NUMBER, TODAY) == ("transactional",)
    late = dt.date(2028, 1, 1)  # revoke-all never widens an opt-in
    assert scoped_categories(found, TWO_NUMBERS, CARE_NUMBER, late) == ("transactional",)


@pytest.mark.parametrize("text", ["HELP", "Reply STOP to unsubscribe", "hello"])
def test_help_review_and_none_change_no_category(text: str) -> None:
    assert scoped_categories(classify(text, RULES), RULES, CLINIC, TODAY) == ()


# --- replies -------------------------------------------------------------------------------


def test_the_opt_out_confirmation_names_the_program() -> None:
    text = compose_reply(RULES, "en", Intent.OPT_OUT, BOTH, ())
    assert text is not None
    assert text.startswith("Riverside Family Clinic:")
    assert "START" in text


def test_a_partial_opt_out_says_what_continues_and_how_to_stop_everything() -> None:
    text = compose_reply(RULES, "en", Intent.OPT_OUT, ("marketing",), ("transactional",))
    assert text == (
        "Riverside Family Clinic: Promotional messages stopped. Appointment reminders and "
        "care messages will continue. Reply STOPALL to stop all texts."
    )


def test_a_partial_opt_out_in_spanish_says_parar_todo() -> None:
    text = compose_reply(RULES, "es", Intent.OPT_OUT, ("marketing",), ("transactional",))
    assert text is not None
    assert "mensajes promocionales" in text
    assert "recordatorios de citas" in text
    assert "PARAR TODO" in text


def test_no_confirmation_when_already_opted_out() -> None:
    assert compose_reply(RULES, "en", Intent.OPT_OUT, (), ("transactional",)) is None
    assert compose_reply(RULES, "en", Intent.OPT_OUT, (), ()) is None


@pytest.mark.parametrize("language", ["en", "es"])
def test_help_gives_program_contact_frequency_rates_and_opt_out(language: str) -> None:
    text = compose_reply(RULES, language, Intent.HELP, (), ())
    assert text is not None
    assert "Riverside Family Clinic" in text
    assert "(201) 555-0100" in text
    assert RULES.program.frequency[language] in text
    assert "PARAR" in text if language == "es" else "Reply STOP" in text


def test_the_opt_in_confirmation_gives_frequency_rates_help_and_stop() -> None:
    text = compose_reply(RULES, "en", Intent.OPT_IN, (), ())
    assert text is not None
    for part in ("Riverside Family Clinic", "Msg frequency varies", "Msg & data rates may apply"):
        assert part in text
    assert "HELP" in text
    assert "STOP" in text


@pytest.mark.parametrize("intent", [Intent.REVIEW, Intent.NONE])
def test_review_and_none_get_no_reply(intent: Intent) -> None:
    assert compose_reply(RULES, "en", intent, BOTH, ()) is None


def test_an_unknown_language_is_answered_in_the_default_language() -> None:
    assert compose_reply(RULES, "fr", Intent.HELP, (), ()) == compose_reply(
        RULES, "en", Intent.HELP, (), ()
    )


# --- SMS segments (speed is measured by bench/classifier.py, not asserted) ---------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("STOP", (4, 160)),
        ("Señor, café, über", (17, 160)),  # ñ, é, ü are GSM-7
        ("más", (3, 70)),  # á is not
        ("sí", (2, 70)),
        ("€5 {x}", (9, 160)),  # the extension table costs two septets each
        ("🛑", (2, 70)),  # UTF-16: a surrogate pair
    ],
)
def test_segment_size_follows_gsm7_and_ucs2(text: str, size: tuple[int, int]) -> None:
    assert segment_size(text) == size
