"""`smsgate send`: queue a message from the shell, as POST /api/v1/messages does; with
`--csv FILE`, a file of them, as POST /api/v1/messages/batch does (the same service)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from redis.exceptions import RedisError

from gateway import bulk, outbound
from gateway.cli.shell import actor, clear_errors, e164, open_runtime, timestamp
from gateway.db import transaction
from gateway.domain.phone import InvalidPhone
from gateway.runtime import Runtime
from gateway.services import Problem

# A CSV's own columns; any other column is a template's field.
COLUMNS = ("to", "category", "body", "template", "send_at", "sender", "idempotency_key")


@click.command("send")
@click.option("--to", "to", default=None, help="the patient's number")
@click.option("--category", default=None)
@click.option("--body", default=None)
@click.option(
    "--at",
    "send_at",
    default=None,
    help="send no earlier than (ISO-8601 with offset: …Z or -05:00)",
)
@click.option("--sender", default=None, help="one of the configured sender numbers")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="queue every row of this file: columns to, category, body (or template and its "
    "fields), optional send_at, sender, idempotency_key",
)
@clear_errors
def send(
    to: str | None,
    category: str | None,
    body: str | None,
    send_at: str | None,
    sender: str | None,
    csv_file: Path | None,
) -> None:
    """Queue a message, as POST /api/v1/messages does (or a CSV file of them)."""
    if csv_file is not None:
        if any(v is not None for v in (to, category, body, send_at, sender)):
            raise click.UsageError("--csv takes the messages from the file: no other option")
        _send_file(csv_file)
        return
    for value, option in ((to, "--to"), (category, "--category"), (body, "--body")):
        if value is None:
            raise click.UsageError(f"Missing option '{option}' (or give --csv FILE).")
    assert to is not None and category is not None and body is not None
    at = timestamp(send_at, "--at", zoned=True)
    rt = open_runtime()
    if not _encodable(body):
        raise click.BadParameter("not valid UTF-8 text", param_hint="--body")
    request = outbound.Request(
        to=e164(rt, to),
        category=category,
        body=body,
        actor=actor(),
        send_at=at,
        sender=e164(rt, sender) if sender else None,
    )
    with transaction(rt.sessions) as session:
        row, _ = outbound.submit(session, rt.rules, request, rt.clock())
    assert rt.queue is not None
    try:
        rt.queue.deliver(row.id, row.job_id or f"deliver-{row.id}")
    except RedisError:
        click.echo(f"{row.id} saved; the queue is down: `smsgate reconcile` will send it", err=True)
        return
    click.echo(f"{row.id} queued")


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file, counting the header as line 1
    values: dict[str, str]


def _send_file(path: Path) -> None:
    """Every row on its own: a refused row is reported with its line and queues nothing; the
    others are queued, 1,000 to a transaction. Exit code 1 if any row was refused."""
    text = _read(path)
    rows = list(_rows(text))
    rt = open_runtime()
    queued = repeated = 0
    queue_down = False
    errors: list[tuple[Row, Problem]] = []
    # On stderr, so stdout stays the summary a script reads; nothing when not a terminal.
    hidden = not sys.stderr.isatty()
    with click.progressbar(
        length=len(rows), label="queueing", file=sys.stderr, hidden=hidden
    ) as bar:
        for start in range(0, len(rows), bulk.MAX_BATCH):
            chunk = rows[start : start + bulk.MAX_BATCH]
            requests: list[outbound.Request] = []
            places: list[Row] = []
            for row in chunk:
                try:
                    requests.append(_request(rt, row.values))
                    places.append(row)
                except Problem as refusal:
                    errors.append((row, refusal))
            done = bulk.queue_many(rt, requests)
            queue_down = queue_down or not done.enqueued
            for row, result in zip(places, done.results, strict=True):
                if isinstance(result, Problem):
                    errors.append((row, result))
                elif result.created:
                    queued += 1
                else:
                    repeated += 1
            bar.update(len(chunk))
    for row, bad in sorted(errors, key=lambda e: e[0].line):
        where = f"{bad.field}: " if bad.field else ""
        click.echo(f"line {row.line}: {where}{bad.message}", err=True)
    refused = len(errors)
    summary = f"queued {queued} messages"
    if repeated:
        summary += f"; {repeated} already queued (same idempotency_key)"
    if refused:
        summary += f"; {refused} rows refused (lines above)"
    click.echo(summary)
    if queue_down:
        click.echo("the queue is down: `smsgate reconcile` will send what was saved", err=True)
    if refused:
        raise SystemExit(1)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column
    except UnicodeDecodeError:
        raise click.BadParameter("the file is not UTF-8 text", param_hint="--csv") from None


def _rows(text: str) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="", strict=True)
    header = [name.strip() for name in reader.fieldnames or []]
    if "to" not in header:
        raise click.BadParameter("the first line must name the columns, `to` among them")
    reader.fieldnames = header
    line = reader.line_num + 1
    try:
        for values in reader:
            if None in values:
                raise click.BadParameter(f"line {line} has more cells than the header")
            yield Row(line, {k: v.strip() for k, v in values.items() if v and v.strip()})
            line = reader.line_num + 1
    except csv.Error as exc:
        raise click.BadParameter(f"line {reader.line_num}: {exc}", param_hint="--csv") from None


def _request(rt: Runtime, values: dict[str, str]) -> outbound.Request:
    """A row as a message, or the Problem that names its column."""
    if any("\x00" in v for v in values.values()):
        raise Problem(422, "invalid", "a cell contains a NUL character")
    fields = {k: v for k, v in values.items() if k not in COLUMNS}
    return outbound.compose(
        rt.rules,
        to=_number(rt, values.get("to"), "to"),
        actor=actor(),
        body=values.get("body"),
        category=values.get("category"),
        template=values.get("template"),
        fields=fields,
        send_at=_when(values.get("send_at")),
        sender=_number(rt, values["sender"], "sender") if "sender" in values else None,
        idempotency_key=outbound.caller_key(actor(), values.get("idempotency_key")),
    )


def _number(rt: Runtime, value: str | None, column: str) -> str:
    if not value:
        raise Problem(422, "required", f"{column} is required", column)
    try:
        return e164(rt, value)
    except InvalidPhone as exc:
        raise Problem(422, "invalid_phone", f"{exc} (write it like +12015550123)", column) from None


def _when(value: str | None) -> dt.datetime | None:
    try:
        return timestamp(value, "send_at", zoned=True)
    except click.BadParameter as exc:
        raise Problem(422, "invalid_time", exc.message, "send_at") from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
