"""README's CLI table and the `smsgate` command agree: every command it lists runs, and every
command that runs is listed."""

from __future__ import annotations

import re
from pathlib import Path

import click

from gateway.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _listed() -> set[tuple[str, ...]]:
    """The command words of each row of the `## CLI` table (up to the first argument)."""
    section = README.read_text(encoding="utf-8").split("\n## CLI\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `smsgate ([^`]*)`", section, flags=re.MULTILINE)
    return {tuple(_leading_words(row.split())) for row in rows}


def _leading_words(words: list[str]) -> list[str]:
    """`ledger events [--number …]` -> ledger, events: the words before the first argument."""
    taken = []
    for word in words:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        taken.append(word)
    return taken


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, (*path, name))
        else:
            found.add((*path, name))
    return found


def test_the_readme_lists_every_command_and_only_those() -> None:
    listed = _listed()
    assert listed, "no `smsgate …` rows found under ## CLI"
    assert listed == _commands(main)
