"""The listings `token list` and `user list` print: a table to read, or JSON to script."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Column:
    heading: str
    key: str
    width: int | None = None  # None: as wide as its widest value


def utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_listing(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    empty: str,
) -> None:
    """The rows as JSON, or as a table (a missing value shows as "-"), or `empty` if none."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(empty)
        return
    widths = [c.width or max(len(c.heading), *(len(_cell(r, c)) for r in rows)) for c in columns]
    click.echo(_line([c.heading for c in columns], widths))
    for r in rows:
        click.echo(_line([_cell(r, c) for c in columns], widths))


def _cell(row: Mapping[str, object], column: Column) -> str:
    value = row[column.key]
    return "-" if value is None else str(value)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """Two spaces between columns; the last one is not padded (no trailing blanks)."""
    padded = [f"{cell:<{width}}" for cell, width in zip(cells[:-1], widths, strict=False)]
    return "  ".join([*padded, cells[-1]])
