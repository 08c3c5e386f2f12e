"""keywords.yml: a bad file names every problem with its key and line; the CLI shows it."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.adapters.keyword_file import KeywordFileError, check, load_rules
from gateway.cli.keywords import keywords_group, run_check, run_classify
from gateway.domain.keywords import Intent

SHIPPED = Path(__file__).resolve().parent.parent / "keywords.yml"

MINIMAL = """\
program:
  name: Test Clinic
  contact: (201) 555-0100
  frequency: Msg frequency varies
languages: [en]
categories:
  transactional: {requires_grant: false, labels: {en: care messages}}
  marketing: {requires_grant: true, labels: {en: offers}}
senders:
  "+12015550100": {categories: [transactional, marketing]}
keywords:
  - {id: stop, intent: opt_out, scope: [sender, marketing], words: {en: [STOP]}}
  - {id: start, intent: opt_in, scope: [sender], words: {en: [START]}}
  - {id: help, intent: help, words: {en: [HELP]}}
replies:
  en:
    opt_out: "{program}: stopped."
    opt_out_partial: "{program}: {Stopped} stopped. {Continuing} continue. Reply STOPALL."
    opt_in: "{program}: welcome back. {frequency}. Msg & data rates may apply."
    help: "{program}: call {contact}. Reply STOP to opt out."
"""

BROKEN = """\
program:
  name: Test Clinic
  contact: (201) 555-0100
  colour: blue
languages: [en, es]
categories:
  transactional: {requires_grant: false, labels: {en: care messages}}
  marketing: {requires_grant: maybe, labels: {en: offers, es: ofertas}}
senders:
  "+1 201 555 0100": {categories: [transactional]}
  +12015550101: {categories: [billing]}
revoke_all_from: next year
keywords:
  - {id: stop, intent: opt_out, scope: [sender, promos], words: {en: [STOP], es: [PARAR]}}
  - {id: start, intent: resubscribe, scope: [sender], words: {en: [START, YES]}}
  - {id: help, intent: help, words: {en: [HELP]}}
phrases:
  - {id: broken, language: en, pattern: 'stop (texting'}
quiet_hours:
  marketing: {start: "08:00", end: 21:00}
replies:
  en:
    opt_out: "{program}: stopped."
    opt_out_partial: "{program}: {stoped} stopped."
    opt_in: "{program}: welcome back."
    help: "{program}: call {contact}."
"""


def write(tmp_path: Path, text: str, name: str = "keywords.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(KeywordFileError) as caught:
        load_rules(path)
    return caught.value.lines()


def test_the_shipped_file_is_valid_and_fits_one_sms_per_reply() -> None:
    rules, problems = check(SHIPPED)
    assert rules is not None
    assert problems == []


def test_the_shipped_file_holds_only_fictional_phone_numbers() -> None:
    digits = re.findall(r"\+?1?[\s(]*\d{3}[\s)-]*\d{3}[\s-]*\d{4}", SHIPPED.read_text("utf-8"))
    assert digits
    for number in digits:
        assert re.sub(r"\D", "", number)[-7:-2] == "55501", number


def test_a_minimal_file_is_valid(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, MINIMAL))
    assert rules.program_name == "Test Clinic"
    assert rules.languages == ("en",)
    assert rules.senders["+12015550100"].categories == ("transactional", "marketing")


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        (4, "program.colour", "unknown key"),
        (7, "categories.transactional.labels", "missing language 'es'"),
        (8, "categories.marketing.requires_grant", "expected true or false"),
        (10, "senders.+1 201 555 0100", "E.164"),
        (11, "senders.12015550101", "quotes"),
        (12, "revoke_all_from", "YYYY-MM-DD"),
        (14, "keywords.0.scope.1", "unknown category 'promos'"),
        (15, "keywords.1.intent", "unknown intent"),
        (15, "keywords.1.words.en.1", "quotes"),
        (18, "phrases.0.pattern", "not a valid regular expression"),
        (20, "quiet_hours.marketing.end", "quotes"),
        (21, "replies", "missing language 'es'"),
        (24, "replies.en.opt_out_partial", "unknown placeholder stoped"),
    ],
)
def test_a_bad_file_reports_every_problem_with_key_path_and_line(
    tmp_path: Path, line: int, key: str, says: str
) -> None:
    problems = problems_of(write(tmp_path, BROKEN))
    expected = f"keywords.yml:{line}: {key}: "
    assert any(expected in p and says in p for p in problems), "\n".join(problems)


def test_a_bad_file_reports_all_its_problems_at_once(tmp_path: Path) -> None:
    assert len(problems_of(write(tmp_path, BROKEN))) >= 13


def test_the_error_message_is_one_line_per_problem(tmp_path: Path) -> None:
    with pytest.raises(KeywordFileError) as caught:
        load_rules(write(tmp_path, BROKEN))
    assert str(caught.value).splitlines() == caught.value.lines()


def test_an_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, MINIMAL + "keywrods: []\n"))
    assert problems == [
        f"{tmp_path / 'keywords.yml'}:21: keywrods: unknown key; expected one of "
        + problems[0].split("expected one of ")[1]
    ]


def test_a_keyword_listed_twice_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("words: {en: [START]}", "words: {en: [START, stop]}")
    [problem] = problems_of(write(tmp_path, text))
    assert (
        ":13: keywords.1.words.en.1: 'stop' is already a keyword at keywords.0.words.en.0"
        in problem
    )


def test_a_key_written_twice_is_reported(tmp_path: Path) -> None:
    text = MINIMAL.replace("languages: [en]\n", "languages: [en]\nlanguages: [en]\n")
    [problem] = problems_of(write(tmp_path, text))
    assert ":6: languages: this key appears twice" in problem


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, MINIMAL.replace("languages: [en]", "languages: [en")))
    assert re.search(r"keywords\.yml:\d+: \(top\): not valid YAML", problem)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nope.yml")
    assert problem.endswith("nope.yml: (top): file not found (set KEYWORDS_FILE or pass a path)")


def test_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "# nothing yet\n"))
    assert "the file is empty" in problem


def test_a_reply_longer_than_one_sms_is_a_warning_not_an_error(tmp_path: Path) -> None:
    long_help = "{program}: call {contact}. " + "Más información en la clínica. " * 3
    text = MINIMAL.replace(
        'help: "{program}: call {contact}. Reply STOP to opt out."', f'help: "{long_help}"'
    )
    rules, problems = check(write(tmp_path, text))
    assert rules is not None
    [warning] = problems
    assert ":20: replies.en.help: warning: " in warning
    assert "70 characters" in warning
    assert "'á'" in warning
    assert [w.path for w in rules.warnings] == [("replies", "en", "help")]


def test_a_marketing_template_with_health_information_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + (
        "phi_fields: [appointment_time, treatment]\n"
        "templates:\n"
        "  reminder:\n"
        "    category: transactional\n"
        "    text: 'Your visit is at {appointment_time}.'\n"
        "  offer:\n"
        "    category: marketing\n"
        "    text: 'A discount on {treatment} for you, {first_name}!'\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":28: templates.offer.text: " in problem
    assert "protected health information: treatment" in problem


def test_templates_keep_their_fields_and_health_information(tmp_path: Path) -> None:
    rules = load_rules(SHIPPED)
    reminder = rules.templates["appointment_reminder"]
    assert reminder.category == "transactional"
    assert set(reminder.phi_fields) == {"provider", "appointment_time"}
    assert rules.templates["flu_shot_offer"].phi_fields == ()


def test_the_shipped_sending_windows_and_caps_are_read() -> None:
    rules = load_rules(SHIPPED)
    assert str(rules.quiet_hours["marketing"].start) == "08:00:00"
    texas = rules.state_windows["Texas"]
    sunday, monday = texas.on(6), texas.on(0)
    assert sunday is not None and monday is not None
    assert (sunday.start.hour, monday.start.hour) == (12, 9)  # Sunday starts at noon
    assert [(c.count, c.hours) for c in rules.caps_for("marketing")] == [(3, 24)]
    assert rules.caps_for("transactional") == ()
    assert len(rules.frequency_caps["transactional"]) == 2
    assert rules.disclosures["mkt-2026-01"].startswith("By checking this box")


# --- the CLI -------------------------------------------------------------------------------


def test_check_prints_ok_and_exits_zero() -> None:
    out = io.StringIO()
    assert run_check(SHIPPED, out) == 0
    assert out.getvalue().startswith("OK: ")
    assert "phrase rules" in out.getvalue()


def test_check_prints_every_problem_and_exits_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(keywords_group, ["check", str(write(tmp_path, BROKEN))])
    assert result.exit_code == 1
    assert "keywords.yml:18: phrases.0.pattern: not a valid regular expression" in result.output
    assert "FAILED: " in result.output


def test_check_reads_keywords_file_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL, "clinic.yml")
    result = CliRunner().invoke(keywords_group, ["check"], env={"KEYWORDS_FILE": str(path)})
    assert result.exit_code == 0, result.output
    assert "OK: 3 keywords" in result.output


def test_classify_prints_one_json_object_per_text() -> None:
    result = CliRunner().invoke(
        keywords_group,
        ["classify", "--file", str(SHIPPED), "--to", "+12015550100", "STOP PROMOS", "parar"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows == [
        {
            "text": "STOP PROMOS",
            "intent": "opt_out",
            "categories": ["marketing"],
            "language": "en",
            "rule": "keyword:en:STOP PROMOS",
            "why": None,
            "review": None,
        },
        {
            "text": "parar",
            "intent": "opt_out",
            "categories": ["marketing", "transactional"],
            "language": "es",
            "rule": "keyword:es:PARAR",
            "why": None,
            "review": None,
        },
    ]


def test_classify_prints_the_rule_that_decided_and_why_a_review() -> None:
    args = ["classify", "--file", str(SHIPPED), "cancel it", "who is this?", "stop texting me"]
    rows = [
        json.loads(line) for line in CliRunner().invoke(keywords_group, args).output.splitlines()
    ]
    cancel, who, stop = rows
    assert (cancel["intent"], cancel["rule"], cancel["review"]) == (
        "review",
        "reading:en:unclear:cancel",
        "opt_out",
    )
    assert "maybe an appointment" in cancel["why"]
    assert (who["review"], who["rule"]) == ("wrong_number", "reading:en:wrong_number")
    assert (stop["intent"], stop["rule"], stop["why"]) == (
        "opt_out",
        "reading:en:messages:stop",
        None,
    )
    table = CliRunner().invoke(keywords_group, ["classify", "--file", str(SHIPPED), "--text", "NO"])
    assert "reading:en:decline" in table.output and "why: a short no" in table.output


def test_an_answer_that_is_an_opt_out_keyword_is_refused(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """\
templates:
  reminder:
    category: transactional
    text: "Reply STOP to cancel"
    answers: {STOP: decline, "C": confirm}
"""
    )
    problems = problems_of(write(tmp_path, text))
    assert any("templates.reminder.answers.STOP" in p and "opt-out keyword" in p for p in problems)


def test_classify_reads_texts_from_stdin() -> None:
    result = CliRunner().invoke(
        keywords_group,
        ["classify", "--file", str(SHIPPED), "--json", "-"],
        input="I'll stop by at 3\nHELP\n",
    )
    assert result.exit_code == 0, result.output
    intents = [json.loads(line)["intent"] for line in result.output.splitlines()]
    assert intents == ["none", "help"]


def test_classify_refuses_a_bad_clinic_number() -> None:
    result = CliRunner().invoke(
        keywords_group, ["classify", "--file", str(SHIPPED), "--to", "not a number", "STOP"]
    )
    assert result.exit_code == 2
    assert "--to" in result.output


def test_run_classify_without_a_number_counts_every_category() -> None:
    out = io.StringIO()
    rules = load_rules(SHIPPED)
    assert run_classify(["STOP"], rules, None, dt.date(2026, 1, 1), out) == 0
    row = json.loads(out.getvalue())
    assert row["categories"] == ["marketing", "transactional"]
    assert row["intent"] == Intent.OPT_OUT


# --- join: the hosted opt-in form ----------------------------------------------------------

JOIN = """\
disclosures:
  care-1: By entering your number you agree to care texts.
  mkt-1: By checking this box I agree to offers.
join:
  disclosures:
    transactional: {en: care-1}
    marketing: {en: mkt-1}
  double_opt_in: [marketing]
  pending_hours: 48
  texts:
    en:
      confirmation: "{program}: you get {categories}. Reply STOP to opt out."
      confirmation_pending: "{program}: reply YES for {pending}."
      confirmed: "{program}: you now get {categories}."
"""


def test_the_shipped_form_shows_a_disclosure_per_category_and_language() -> None:
    from gateway.domain.join_form import form_disclosure

    rules = load_rules(SHIPPED)
    assert rules.join is not None
    assert rules.join.double_opt_in == ("marketing",)
    care = form_disclosure(rules.join, rules.disclosures, "transactional", "es", "en")
    offers = form_disclosure(rules.join, rules.disclosures, "marketing", "fr", "en")
    assert care is not None and care.version == "care-2026-01-es"
    assert care.text.startswith("Al ingresar su número")
    assert offers is not None and offers.version == "mkt-2026-01"  # French: the default language
    assert len(offers.sha256) == 64


def test_the_join_section_is_read(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, MINIMAL + JOIN))
    assert rules.join is not None
    assert rules.join.pending_hours == 48
    assert rules.join.disclosures["marketing"] == {"en": "mkt-1"}


def test_without_a_join_section_the_form_is_not_offered(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, MINIMAL)).join is None


def test_double_opt_in_defaults_to_marketing(tmp_path: Path) -> None:
    text = MINIMAL + JOIN.replace("  double_opt_in: [marketing]\n", "")
    join = load_rules(write(tmp_path, text)).join
    assert join is not None and join.double_opt_in == ("marketing",)


@pytest.mark.parametrize(
    ("change", "line", "key", "says"),
    [
        (
            ("{en: mkt-1}", "{en: mkt-9}"),
            27,
            "join.disclosures.marketing.en",
            "'mkt-9' is not under",
        ),
        (
            ("marketing: {en: mkt-1}", "promos: {en: mkt-1}"),
            27,
            "join.disclosures.promos",
            "unknown category",
        ),
        (("[marketing]", "[transactional]"), 28, "join.double_opt_in.0", "needs no grant"),
        (("pending_hours: 48", "pending_hours: 0"), 29, "join.pending_hours", "at least 1"),
        (("    transactional: {en: care-1}\n", ""), 25, "join.disclosures", "needs no grant"),
        (
            ("{categories}. Reply", "{category}. Reply"),
            32,
            "join.texts.en.confirmation",
            "unknown placeholder category",
        ),
        (
            ('      confirmed: "{program}: you now get {categories}."\n', ""),
            31,
            "join.texts.en",
            "missing required key 'confirmed'",
        ),
    ],
)
def test_a_bad_join_section_names_key_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, key: str, says: str
) -> None:
    problems = problems_of(write(tmp_path, MINIMAL + JOIN.replace(*change)))
    expected = f"keywords.yml:{line}: {key}: "
    assert any(expected in p and says in p for p in problems), "\n".join(problems)


def test_the_join_texts_name_the_program_and_the_categories() -> None:
    from gateway.domain.replies import join_text

    rules = load_rules(SHIPPED)
    text = join_text(rules, "en", "confirmation_pending", ["transactional"], ["marketing"])
    assert text.startswith("Riverside Family Clinic: ")
    assert "Reply YES for promotional messages" in text
    assert "Msg & data rates may apply" in text and "STOP" in text and "HELP" in text
    spanish = join_text(rules, "es", "confirmation", ["transactional"], [])
    assert "recordatorios de citas" in spanish


# --- private_text: what a number with no PHI by text receives (HIPAA §164.522(b)) ------------


def test_a_private_text_with_health_information_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    text = MINIMAL + (
        "phi_fields: [appointment_time, provider]\n"
        "templates:\n"
        "  reminder:\n"
        "    category: transactional\n"
        "    text: 'Hi {first_name}, your visit with {provider} is at {appointment_time}.'\n"
        "    private_text: 'Hi {first_name}, you have a visit at {appointment_time}.'\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":26: templates.reminder.private_text: " in problem
    assert "protected health information: appointment_time" in problem


def test_a_private_text_marked_phi_by_its_own_template_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + (
        "templates:\n"
        "  result:\n"
        "    category: transactional\n"
        "    text: 'Your {test} result is in.'\n"
        "    phi: [test]\n"
        "    private_text: 'A {test} result is in.'\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert "templates.result.private_text: " in problem
    assert "protected health information: test" in problem


def test_a_private_text_may_use_only_its_templates_own_fields(tmp_path: Path) -> None:
    text = MINIMAL + (
        "templates:\n"
        "  reminder:\n"
        "    category: transactional\n"
        "    text: 'Hi {first_name}, see you soon.'\n"
        "    private_text: 'Hi {nickname}, call us.'\n"
        "  broken:\n"
        "    category: transactional\n"
        "    text: 'Hi.'\n"
        "    private_text: 'Hi {first name}.'\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 2
    assert "templates.reminder.private_text: " in problems[0]
    assert "not in its text: nickname" in problems[0]
    assert "templates.broken.private_text: bad placeholder" in problems[1]


def test_keywords_check_refuses_a_private_text_with_health_information(tmp_path: Path) -> None:
    text = MINIMAL + (
        "phi_fields: [treatment]\n"
        "templates:\n"
        "  refill:\n"
        "    category: transactional\n"
        "    text: 'Your {treatment} refill is ready.'\n"
        "    private_text: 'Your {treatment} is ready.'\n"
    )
    result = CliRunner().invoke(keywords_group, ["check", str(write(tmp_path, text))])
    assert result.exit_code == 1
    assert "templates.refill.private_text: a private text may not use protected" in result.output


def test_a_category_may_not_take_the_restrictions_name(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "categories:\n", "categories:\n  no_phi_by_text: {requires_grant: false}\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert any(
        "categories.no_phi_by_text: 'no_phi_by_text' is a patient's restriction" in p
        for p in problems
    )


def test_the_shipped_appointment_reminder_has_a_private_text_without_health_details() -> None:
    reminder = load_rules(SHIPPED).templates["appointment_reminder"]
    assert reminder.private_text is not None
    assert reminder.private_fields == ()
    assert "{" not in reminder.private_text
    assert load_rules(SHIPPED).templates["flu_shot_offer"].private_text is None


# --- review findings (issue 12): never a traceback, the file's own key path and line --------


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("(?<={keyword} )please", "look-behind requires fixed-width pattern"),
        ("[{keyword}]x", "not a valid regular expression"),
    ],
)
def test_a_pattern_broken_only_by_the_keywords_it_stands_for_names_its_line(
    tmp_path: Path, pattern: str, says: str
) -> None:
    # A keyword of two words is read with `[\\s-]+` between them: inside `[…]` it breaks.
    text = MINIMAL.replace("words: {en: [STOP]}", "words: {en: [STOP, STOP ALL]}") + (
        "quoted_instructions:\n"
        "  - {id: fine, language: en, pattern: 'reply {keyword}'}\n"
        f"  - {{id: broken, language: en, pattern: '{pattern}'}}\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":23: quoted_instructions.1.pattern: not a valid regular expression: " in problem
    assert says in problem


@pytest.mark.parametrize(
    ("windows", "key", "line"),
    [
        (
            "  Texas: {daily: {start: '09:00', end: '21:00'}, sun: }\n",
            "state_windows.Texas.sun",
            22,
        ),
        ("  Florida: {daily: }\n", "state_windows.Florida.daily", 22),
        ("  Florida:\n    daily:\n", "state_windows.Florida.daily", 23),
    ],
)
def test_an_empty_day_in_a_state_window_is_refused(
    tmp_path: Path, windows: str, key: str, line: int
) -> None:
    [problem] = problems_of(write(tmp_path, MINIMAL + "state_windows:\n" + windows))
    assert f":{line}: {key}: expected a mapping (key: value), got nothing" in problem


def test_an_answer_yaml_reads_as_no_is_named_as_written(tmp_path: Path) -> None:
    text = MINIMAL + (
        "templates:\n"
        "  reminder:\n"
        "    category: transactional\n"
        "    text: Your visit is tomorrow.\n"
        "    answers: {C: confirm, NO: decline}\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":25: templates.reminder.answers.False: " in problem


def test_a_label_keyed_no_is_named_at_its_own_line(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  marketing: {requires_grant: true, labels: {en: offers}}\n",
        "  marketing:\n    requires_grant: true\n    labels:\n      en: offers\n      no: tilbud\n",
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":12: categories.marketing.labels.False: " in problem


def test_a_template_keyed_yes_is_named_as_written(tmp_path: Path) -> None:
    text = MINIMAL + "templates:\n  yes:\n    category: nowhere\n    text: Hello.\n"
    problems = problems_of(write(tmp_path, text))
    assert any(":23: templates.True.category: unknown category 'nowhere'" in p for p in problems)


def test_a_date_that_does_not_exist_names_its_line(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, MINIMAL + "revoke_all_from: 2027-02-30\n"))
    assert ":21: revoke_all_from: " in problem
    assert "2027-02-30" in problem


def test_an_alias_that_holds_itself_is_refused_not_a_crash(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, MINIMAL + "phi_fields: &r [*r]\n"))
    assert ":21: " in problem
    assert "not valid YAML" in problem


def test_a_language_code_in_capitals_is_named_once_in_the_projects_words(
    tmp_path: Path,
) -> None:
    text = MINIMAL.replace("languages: [en]", "languages: [en, ES]")
    [problem] = problems_of(write(tmp_path, text))
    assert ":5: languages.1: 'ES' is not a language code like en or es" in problem


def test_an_answer_meaning_too_long_is_said_in_the_projects_words(tmp_path: Path) -> None:
    text = MINIMAL + (
        "templates:\n"
        "  reminder:\n"
        "    category: transactional\n"
        "    text: Your visit is tomorrow.\n"
        f"    answers: {{C: {'c' * 41}}}\n"
    )
    [problem] = problems_of(write(tmp_path, text))
    assert ":25: templates.reminder.answers.C: an answer's meaning is at most 40 characters" in (
        problem
    )


@pytest.mark.parametrize("key", ["12", "null", "no"])
def test_a_top_level_key_that_is_no_text_is_an_unknown_key(tmp_path: Path, key: str) -> None:
    [problem] = problems_of(write(tmp_path, MINIMAL + f"{key}: 1\n"))
    assert ":21: " in problem
    assert "unknown key; expected one of " in problem


def test_a_file_with_errors_still_lists_its_warnings(tmp_path: Path) -> None:
    long_help = "{program}: call {contact}. " + "Más información en la clínica. " * 3
    text = MINIMAL.replace(
        'help: "{program}: call {contact}. Reply STOP to opt out."', f'help: "{long_help}"'
    )
    text += 'quiet_hours:\n  marketing: {start: "08:00", end: 21:00}\n'
    problems = problems_of(write(tmp_path, text))
    assert any(":20: replies.en.help: warning: " in p and "70 characters" in p for p in problems)
    assert any(":22: quiet_hours.marketing.end: write the time in quotes" in p for p in problems)
