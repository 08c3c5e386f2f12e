"""`smsgate keywords check|classify|schema`: let clinic staff test keywords.yml before restarting.

Plain click (no Flask import): `gateway.cli` adds `keywords_group` to the `smsgate` group.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

import click

from gateway.adapters.keyword_file import KeywordFileError, check, load_rules, schema_text
from gateway.domain.keywords import KeywordRules, classify, scoped_categories
from gateway.domain.phone import InvalidPhone, Phone


def default_keywords_file() -> Path:
    return Path(os.environ.get("KEYWORDS_FILE") or "keywords.yml")


def run_check(path: str | Path, out: TextIO) -> int:
    """Print every problem (errors and warnings) with key path and line; 0 valid, 1 not."""
    rules, problems = check(path)
    for line in problems:
        print(line, file=out)
    if rules is None:
        errors = sum(1 for line in problems if ": warning: " not in line)
        print(f"FAILED: {errors} error(s) in {path}", file=out)
        return 1
    print(f"OK: {summary(rules)}", file=out)
    return 0


def summary(rules: KeywordRules) -> str:
    words = sum(len(w) for g in rules.keyword_groups for w in g.words.values())
    parts = [
        f"{words} keywords",
        f"{len(rules.vocabularies)} reading vocabularies",
        f"{len(rules.phrases)} phrase rules",
        f"{len(rules.false_positives)} false-positive rules",
        f"{len(rules.languages)} languages ({', '.join(rules.languages)})",
        f"{len(rules.categories)} categories",
        f"{len(rules.senders)} senders",
        f"{len(rules.templates)} templates",
        f"{len(rules.warnings)} warnings",
    ]
    return ", ".join(parts)


def run_classify(
    texts: Iterable[str],
    rules: KeywordRules,
    to: str | None,
    today: dt.date,
    out: TextIO,
    *,
    opt_out_type: str | None = None,
    as_json: bool = True,
) -> int:
    """One line per text: how it is read, which categories it would revoke or grant, the rule
    that decided and, for a review, why a person should look."""
    for text in texts:
        found = classify(text, rules, opt_out_type)
        row = {
            "text": text,
            "intent": str(found.intent),
            "categories": list(scoped_categories(found, rules, to, today)),
            "language": found.language,
            "rule": found.rule,
            "why": found.why or None,
            "review": found.review or None,
        }
        print(json.dumps(row, ensure_ascii=False) if as_json else _as_text(row), file=out)
    return 0


def _as_text(row: Mapping[str, object]) -> str:
    categories = row["categories"]
    names = ",".join(categories) if isinstance(categories, list) else ""
    line = f"{row['intent']:<8} {names or '-':<26} {row['language']:<3} {row['rule']}"
    why = f"\n         why: {row['why']}" if row["why"] else ""
    return f"{line}  {row['text']!r}{why}"


# --- click wiring --------------------------------------------------------------------------

_FILE_HELP = "keywords file (default: $KEYWORDS_FILE or ./keywords.yml)"


@click.group("keywords")
def keywords_group() -> None:
    """Check keywords.yml and see how texts would be read."""


@keywords_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_command(file: Path | None) -> None:
    """Validate FILE: every problem with its key path and line."""
    raise SystemExit(run_check(file or default_keywords_file(), sys.stdout))


@keywords_group.command("schema")
def schema_command() -> None:
    """Print keywords.yml's JSON Schema (shipped as keywords.schema.json, for editors)."""
    sys.stdout.write(schema_text())


@keywords_group.command("classify")
@click.argument("texts", nargs=-1, required=True)
@click.option("--to", "to", default=None, help="clinic number the texts were sent to (E.164)")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), help=_FILE_HELP)
@click.option("--opt-out-type", default=None, help="Twilio's OptOutType: STOP, START or HELP")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="YYYY-MM-DD")
@click.option("--json/--text", "as_json", default=True, help="JSON lines (default) or a table")
def classify_command(
    texts: tuple[str, ...],
    to: str | None,
    file: Path | None,
    opt_out_type: str | None,
    today: dt.datetime | None,
    as_json: bool,
) -> None:
    """Classify TEXTS ("-" reads one text per line from stdin)."""
    try:
        rules = load_rules(file or default_keywords_file())
    except KeywordFileError as exc:
        raise click.ClickException(f"keywords file is invalid:\n{exc}") from None
    day = today.date() if today is not None else dt.datetime.now(dt.UTC).date()
    clinic = _clinic_number(to)
    code = run_classify(
        _expand_stdin(texts),
        rules,
        clinic,
        day,
        sys.stdout,
        opt_out_type=opt_out_type,
        as_json=as_json,
    )
    raise SystemExit(code)


def _clinic_number(to: str | None) -> str | None:
    if to is None:
        return None  # a number carrying every category
    try:
        return Phone.parse(to, os.environ.get("DEFAULT_REGION") or "US").e164
    except InvalidPhone as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None


def _expand_stdin(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        if text == "-":
            yield from (line.rstrip("\r\n") for line in sys.stdin if line.strip())
        else:
            yield text


__all__ = ["keywords_group", "run_check", "run_classify"]
