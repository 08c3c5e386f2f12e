"""`smsgate ledger …`: the consent ledger, read, verified, exported and corrected."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gateway import corrections, ledger
from gateway.cli.ledger_import import import_command
from gateway.cli.shell import actor, clear_errors, console_read, e164, open_runtime, timestamp
from gateway.db import transaction
from gateway.domain.chain import iso
from gateway.domain.consent import Source, status_of
from gateway.domain.restriction import RESTRICTIONS
from gateway.domain.restriction import in_force as restriction_in_force
from gateway.exports import FORMATS, export
from gateway.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])

ledger_group = click.Group("ledger", help="The consent ledger.")
ledger_group.add_command(import_command)


@ledger_group.command("show")
@click.argument("number")
@clear_errors
def ledger_show(number: str) -> None:
    """A number's consent per category and every event behind it."""
    rt = open_runtime()
    patient = e164(rt, number)
    with transaction(rt.sessions) as session:
        in_force, events = ledger.current(session, patient), ledger.history(session, patient)
    console_read(rt, "ledger.show", (patient,), False)
    click.echo(f"{patient}")
    for name in rt.rules.categories:
        event = in_force.get(name)
        why = (
            f"event {event.id} {event.source} {event.occurred_at:%Y-%m-%d %H:%M}Z" if event else ""
        )
        click.echo(f"  {name:<14} {status_of(event).value:<8} {why}")
    for name in RESTRICTIONS:  # HIPAA §164.522(b): how the patient asked to be texted
        event = in_force.get(name)
        if event is not None:
            held = "in force" if restriction_in_force(event) else "lifted"
            click.echo(f"  {name:<14} {held:<8} event {event.id} {event.source}")
    click.echo(f"{len(events)} events:")
    for e in events:
        fixes = f"  corrects #{e.evidence['corrects']}" if e.source is Source.CORRECTION else ""
        click.echo(
            f"  #{e.id:<6} {e.occurred_at:%Y-%m-%dT%H:%M:%SZ}  {e.category:<14} {e.action:<6} "
            f"{e.source:<13} {e.actor}{fixes}"
        )


@ledger_group.command("correct")
@click.argument("event_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--reason", required=True, help="why the event was wrong (kept with the correction)")
@clear_errors
def ledger_correct(event_id: int, reason: str) -> None:
    """Correct a wrongly recorded event (a STOP logged on the wrong number, the wrong
    category): a `correction` event voids it and the state follows. Nothing is rewritten;
    record the right event afterwards as usual."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        fixed = corrections.correct(
            session, event_id=event_id, reason=reason, actor=actor(), now=rt.clock()
        )
    console_read(rt, "ledger.correct", (fixed.number,), False)
    click.echo(
        f"event {fixed.id} corrects event {event_id}: {fixed.category} of {fixed.number} "
        f"is now {status_of(fixed).value}"
    )


@ledger_group.command("verify")
@clear_errors
def ledger_verify() -> None:
    """Walk the hash chain; exit 1 at the first event that does not match."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        verdict = ledger.verify(session)
    console_read(rt, "ledger.verify", (), False)
    click.echo(verdict.summary)
    if verdict.ok:
        click.echo(f"chain head: {verdict.head}")
        click.echo(f"last seal: {verdict.seal or 'none yet (smsgate ledger seal)'}")
        return
    click.echo(f"{verdict.count} of {verdict.on_file} events on file verified before it")
    sys.exit(1)


@ledger_group.command("seal")
@clear_errors
def ledger_seal() -> None:
    """Seal the events since the last seal: their count and Merkle root, chained to the
    previous seal. Publish the printed seal hash outside the database (e-mail it, or have an
    RFC 3161 timestamping service sign it) to prove later that nothing before it changed."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        sealed = ledger.seal(session, rt.clock())
        done = ledger.to_seal(sealed) if sealed else None
    if done is None:
        click.echo("nothing to seal: no event since the last seal is final yet")
        return
    click.echo(
        f"seal {done.id}: events {done.after_id + 1} to {done.last_id} ({done.count} events)"
    )
    click.echo(f"merkle root: {done.root}")
    click.echo(f"seal hash: {done.hash}")
    click.echo(f"sealed at: {iso(done.sealed_at)}")


def _filter(
    rt: Runtime,
    number: str | None,
    category: str | None,
    action: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
) -> ledger.EventFilter:
    return ledger.EventFilter(
        number=e164(rt, number) if number else None,
        category=category,
        action=action,
        source=source,
        since=timestamp(since, "--since"),
        until=timestamp(until, "--until"),
    )


def event_filters(command: F) -> F:
    options = [
        click.option("--number", default=None, help="one patient's number"),
        click.option("--category", default=None),
        click.option("--action", type=click.Choice(["grant", "revoke"]), default=None),
        click.option("--source", type=click.Choice([s.value for s in Source]), default=None),
        click.option("--since", default=None, help="occurred at or after (ISO-8601)"),
        click.option("--until", default=None, help="occurred before (ISO-8601)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@ledger_group.command("events")
@event_filters
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@clear_errors
def ledger_events(limit: int, **filters: str | None) -> None:
    """Ledger events as a table, oldest first."""
    rt = open_runtime()
    f = _filter(rt, **filters)
    with transaction(rt.sessions) as session:
        rows = list(session.execute(ledger.events_query(f).limit(limit)).scalars())
        lines = [
            f"{r.id:>7}  {r.occurred_at:%Y-%m-%dT%H:%M:%SZ}  {r.number:<13} "
            f"{r.category:<14} {r.action:<6} {r.source:<13} {r.actor}"
            for r in rows
        ]
    console_read(rt, "ledger.events", tuple(r.number for r in rows), False)
    click.echo(
        f"{'id':>7}  {'occurred_at':<20}  {'number':<13} {'category':<14} "
        f"{'action':<6} {'source':<13} actor"
    )
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} events")


@ledger_group.command("export")
@event_filters
@click.option("--format", "kind", type=click.Choice(sorted(FORMATS)), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-")
@clear_errors
def ledger_export(kind: str, output: str, **filters: str | None) -> None:
    """Stream the ledger to a file (or stdout) as CSV or JSON Lines, in constant memory."""
    rt = open_runtime()
    f = _filter(rt, **filters)
    console_read(rt, "ledger.export", (f.number,) if f.number else (), f.number is None)
    with transaction(rt.sessions) as session:
        total = ledger.count(session, f)
        with (
            click.open_file(output, "w", encoding="utf-8") as out,
            click.progressbar(
                length=total, label="exporting", file=sys.stderr, hidden=not sys.stderr.isatty()
            ) as bar,
        ):
            for chunk in export(session, f, kind, bar.update):
                out.write(chunk)
    click.echo(f"exported {total} events", err=True)
