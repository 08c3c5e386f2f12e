"""keywords.yml's shape, declared once: every broken file is refused with its key and line by
`smsgate keywords check` and at start-up, and the shipped JSON Schema (what editors check the
file with) refuses the same files wherever JSON Schema can say the rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from gateway.adapters.keyword_file import KeywordFileError, schema_text
from gateway.app import create_app
from gateway.cli.keywords import keywords_group
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "keywords.yml"
SCHEMA = ROOT / "keywords.schema.json"

GOOD = """\
program:
  name: Test Clinic
  contact: (201) 555-0100
languages: [en]
categories:
  transactional: {requires_grant: false, labels: {en: care messages}}
  marketing: {requires_grant: true, labels: {en: offers}}
senders:
  "+12015550100": {categories: [transactional, marketing]}
revoke_all_from: "2027-01-31"
keywords:
  - {id: stop, intent: opt_out, scope: [sender, marketing], words: {en: [STOP]}}
  - {id: start, intent: opt_in, scope: [sender], words: {en: [START]}}
  - {id: help, intent: help, words: {en: [HELP]}}
replies:
  en:
    opt_out: "{program}: stopped."
    opt_out_partial: "{program}: {Stopped} stopped. {Continuing} continue."
    opt_in: "{program}: welcome back. {frequency}."
    help: "{program}: call {contact}. Reply STOP to opt out."
quiet_hours:
  marketing: {start: "08:00", end: "21:00"}
state_windows:
  Texas: {daily: {start: "09:00", end: "21:00"}}
phi_fields: [appointment_time]
templates:
  reminder:
    category: transactional
    text: "Your visit is at {appointment_time}."
disclosures:
  care-1: By entering your number you agree to care texts.
join:
  disclosures:
    transactional: {en: care-1}
  pending_hours: 48
  texts:
    en:
      confirmation: "{program}: you get {categories}."
      confirmation_pending: "{program}: reply YES for {pending}."
      confirmed: "{program}: you now get {categories}."
"""

# (what is wrong, the change to GOOD, the key reported, a text on the line it is reported on,
# what it says, and whether the JSON Schema refuses it too: None where JSON Schema cannot say
# the rule, which names another part of the file)
BROKEN: list[tuple[str, tuple[str, str], str, str, str, bool | None]] = [
    (
        "an unknown key",
        ("  contact: (201) 555-0100\n", "  contact: (201) 555-0100\n  colour: blue\n"),
        "program.colour",
        "colour:",
        "unknown key; expected one of contact, frequency, name",
        True,
    ),
    (
        "a wrong type",
        ("requires_grant: true", "requires_grant: maybe"),
        "categories.marketing.requires_grant",
        "requires_grant: maybe",
        "expected true or false, got 'maybe'",
        True,
    ),
    (
        "a template without its category",
        ("    category: transactional\n    text:", "    text:"),
        "templates.reminder",
        "  reminder:",
        "missing required key 'category'",
        True,
    ),
    (
        "a scope naming an unknown category",
        ("scope: [sender, marketing]", "scope: [sender, promos]"),
        "keywords.0.scope.1",
        "promos",
        "unknown category 'promos' in scope",
        None,
    ),
    (
        "a marketing template with a health-information field",
        ("    category: transactional\n    text:", "    category: marketing\n    text:"),
        "templates.reminder.text",
        "    text:",
        "a marketing template may not use protected health information: appointment_time",
        None,
    ),
    (
        "a word in two groups",
        ("words: {en: [START]}", "words: {en: [START, Stop]}"),
        "keywords.1.words.en.1",
        "Stop]",
        "'Stop' is already a keyword at keywords.0.words.en.0",
        None,
    ),
    (
        "a time that is no time",
        ('end: "21:00"}\nstate', 'end: "25:00"}\nstate'),
        "quiet_hours.marketing.end",
        "  marketing: {start",
        'expected a time "HH:MM" (24-hour clock)',
        True,
    ),
    (
        "a time YAML reads as a number",
        ('end: "21:00"}\nstate', "end: 21:00}\nstate"),
        "quiet_hours.marketing.end",
        "  marketing: {start",
        'write the time in quotes, e.g. "21:00"',
        True,
    ),
    (
        "an unknown state",
        ("  Texas:", "  Texsa:"),
        "state_windows.Texsa",
        "Texsa:",
        "'Texsa' is not a US state or territory",
        None,
    ),
    (
        "an unknown intent",
        ("intent: opt_in", "intent: resubscribe"),
        "keywords.1.intent",
        "resubscribe",
        "unknown intent 'resubscribe'; expected opt_out, opt_in or help",
        True,
    ),
    (
        "a clinic number that is not E.164",
        ('"+12015550100": {', '"+1 201 555 0100": {'),
        "senders.+1 201 555 0100",
        "+1 201 555 0100",
        "expected an E.164 number",
        True,
    ),
    (
        "a date that is no date",
        ('revoke_all_from: "2027-01-31"', "revoke_all_from: next year"),
        "revoke_all_from",
        "revoke_all_from:",
        "expected a date YYYY-MM-DD or null, got 'next year'",
        True,
    ),
    (
        "a keyword YAML reads as a yes/no",
        ("words: {en: [HELP]}", "words: {en: [HELP, YES]}"),
        "keywords.2.words.en.1",
        "YES]",
        "write it in quotes",
        True,
    ),
    (
        "a form waiting zero hours",
        ("pending_hours: 48", "pending_hours: 0"),
        "join.pending_hours",
        "pending_hours:",
        "expected a whole number of at least 1, got the number 0",
        True,
    ),
    (
        "a form disclosure not on file",
        ("transactional: {en: care-1}", "transactional: {en: care-9}"),
        "join.disclosures.transactional.en",
        "care-9",
        "'care-9' is not under disclosures; known: care-1",
        None,
    ),
    (
        "a reply missing a key",
        ('    help: "{program}: call {contact}. Reply STOP to opt out."\n', ""),
        "replies.en",
        "  en:\n    opt_out:",
        "missing required key 'help'",
        True,
    ),
    (
        "a reply with an unknown placeholder",
        ("{Stopped} stopped", "{stoped} stopped"),
        "replies.en.opt_out_partial",
        "opt_out_partial:",
        "unknown placeholder stoped",
        None,
    ),
    (
        "a day of a state window left empty",
        ("phi_fields: [appointment_time]", "  Florida: {sun: }\nphi_fields: [appointment_time]"),
        "state_windows.Florida.sun",
        "  Florida:",
        "expected a mapping (key: value), got nothing",
        True,
    ),
]


def broken_file(tmp_path: Path, change: tuple[str, str]) -> tuple[Path, str]:
    assert change[0] in GOOD, change
    text = GOOD.replace(*change)
    path = tmp_path / "keywords.yml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, marker: str) -> int:
    assert marker in text, marker
    return text[: text.index(marker)].count("\n") + 1


def loaded(text: str) -> Any:
    """The file as the JSON Schema is checked against it: read as YAML 1.1, as smsgate reads
    it (an editor set to `yaml.yamlVersion: 1.1` reads the same), keys as text and a date as
    the text written, since JSON has no dates."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    return plain(yaml.safe_load(text))


def refused_by_schema(data: Any) -> bool:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text("utf-8")))
    return any(True for _ in validator.iter_errors(data))


def test_the_good_file_is_accepted_by_the_command_and_the_schema(tmp_path: Path) -> None:
    path, text = broken_file(tmp_path, ("", ""))
    result = CliRunner().invoke(keywords_group, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert not refused_by_schema(loaded(text))


@pytest.mark.parametrize(
    ("change", "key", "marker", "says"),
    [pytest.param(c, key, m, says, id=what) for what, c, key, m, says, _ in BROKEN],
)
def test_keywords_check_names_the_key_and_line_of_a_broken_file(
    tmp_path: Path, change: tuple[str, str], key: str, marker: str, says: str
) -> None:
    path, text = broken_file(tmp_path, change)
    result = CliRunner().invoke(keywords_group, ["check", str(path)])
    assert result.exit_code == 1
    expected = f"keywords.yml:{line_of(text, marker)}: {key}: "
    assert any(expected in line and says in line for line in result.output.splitlines()), (
        result.output
    )


@pytest.mark.parametrize(
    ("change", "key", "marker", "says"),
    [pytest.param(c, key, m, says, id=what) for what, c, key, m, says, _ in BROKEN],
)
def test_the_gateway_refuses_to_start_on_a_broken_file_naming_key_and_line(
    tmp_path: Path, change: tuple[str, str], key: str, marker: str, says: str
) -> None:
    path, text = broken_file(tmp_path, change)
    settings = dataclasses.replace(Settings(), database_url="sqlite://", keywords_file=path)
    with pytest.raises(KeywordFileError) as caught:
        create_app(settings)
    expected = f"keywords.yml:{line_of(text, marker)}: {key}: "
    assert any(expected in line and says in line for line in caught.value.lines()), caught.value


@pytest.mark.parametrize(
    "change",
    [pytest.param(change, id=what) for what, change, _, _, _, schema in BROKEN if schema],
)
def test_the_json_schema_refuses_what_it_can_express(
    tmp_path: Path, change: tuple[str, str]
) -> None:
    _, text = broken_file(tmp_path, change)
    assert refused_by_schema(loaded(text))


def test_the_shipped_schema_is_the_one_the_models_generate() -> None:
    assert json.loads(SCHEMA.read_text("utf-8")) == json.loads(schema_text()), (
        "run: smsgate keywords schema > keywords.schema.json"
    )


def test_keywords_schema_prints_the_json_schema() -> None:
    result = CliRunner().invoke(keywords_group, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"program", "languages", "categories", "keywords", "replies"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_the_shipped_file_points_editors_at_the_schema_and_passes_it() -> None:
    text = SHIPPED.read_text("utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./keywords.schema.json"
    assert not refused_by_schema(loaded(text))


def test_a_file_broken_in_many_ways_gets_every_problem_at_once(tmp_path: Path) -> None:
    text, expected = GOOD, []
    for _, (old, new), key, _, says, _ in BROKEN:
        if old in text:  # two changes to one line: the first is kept
            text = text.replace(old, new)
            expected.append((key, says))
    path = tmp_path / "keywords.yml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(keywords_group, ["check", str(path)])
    lines = result.output.splitlines()
    for key, says in expected:
        assert any(f": {key}: " in line and says in line for line in lines), (key, result.output)
    assert len(expected) >= 14
