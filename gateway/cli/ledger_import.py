"""`smsgate ledger import FILE.csv`: an existing consent/opt-out list into the ledger."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import IntegrityError

from gateway import importer
from gateway.cli.shell import actor, clear_errors, open_runtime
from gateway.db import transaction
from gateway.runtime import Runtime


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and count; change nothing.")
@clear_errors
def import_command(file: Path, dry_run: bool) -> None:
    """Import a consent or opt-out list (CSV with the header
    number,category,action,occurred_at,source,note).

    Every row is checked first: if any is wrong, each problem is printed with its line and
    nothing is applied. Otherwise all rows go in as one transaction. Rows already in the
    ledger (an earlier run of the same list) are skipped, and an old row never overrides a
    newer decision. Marketing grants are refused: a list cannot prove express written
    consent; record those through the API with their evidence. So is a grant that would lift
    a patient's own opt-out (their STOP, a carrier block, a form): only the patient lifts it.
    """
    rt = open_runtime()
    now = rt.clock()
    rows, problems = importer.read(file, rt.rules, rt.settings.default_region, now)
    if problems:
        _refuse(file, problems)
    if dry_run:
        _preview(rt, file, rows)
        return
    try:
        with transaction(rt.sessions) as session, _progress(len(rows)) as tick:
            result = importer.apply(session, rows, actor=actor(), now=now, progress=tick)
    except importer.Refused as refused:
        _refuse(file, refused.problems)
    except IntegrityError:
        # Two imports of the same rows at once (PostgreSQL): the later one finds the rows'
        # fingerprints taken when it writes, and rolls back whole. Run again: it skips them.
        raise click.ClickException(
            "another import recorded some of these rows meanwhile; nothing was applied. "
            "Run the import again."
        ) from None
    click.echo(f"added {result.added} events, skipped {result.skipped} already in the ledger")


def _refuse(file: Path, problems: list[importer.Problem]) -> NoReturn:
    for p in problems:
        click.echo(f"{file}:{p.line}: {p.field}: {p.message}")
    noun = "problem" if len(problems) == 1 else "problems"
    click.echo(f"{len(problems)} {noun}; nothing was applied")
    sys.exit(1)


def _preview(rt: Runtime, file: Path, rows: list[importer.Row]) -> None:
    try:
        with transaction(rt.sessions) as session:
            result = importer.preview(session, rows)
    except importer.Refused as refused:
        _refuse(file, refused.problems)
    click.echo(
        f"no problems found: {result.added} would be added, {result.skipped} are already in "
        "the ledger (dry run: nothing was applied)"
    )


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; nothing when the output goes to a file or a pipe."""
    hidden = not sys.stdout.isatty()
    with click.progressbar(length=total, label="importing", hidden=hidden) as bar:
        yield bar.update
