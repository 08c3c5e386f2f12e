"""`smsgate audit …`: the access log (who read what)."""

from __future__ import annotations

import click

from gateway import access
from gateway.cli.shell import clear_errors, console_read, e164, open_runtime, timestamp
from gateway.db import transaction

audit_group = click.Group("audit", help="The access log.")


@audit_group.command("access")
@click.option("--actor", default=None)
@click.option("--action", default=None)
@click.option("--number", default=None)
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@clear_errors
def audit_access(
    actor: str | None,
    action: str | None,
    number: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> None:
    """Who read what, newest first."""
    rt = open_runtime()
    patient = e164(rt, number) if number else None
    query = access.query(
        actor=actor,
        action=action,
        number=patient,
        since=timestamp(since, "--since"),
        until=timestamp(until, "--until"),
    )
    with transaction(rt.sessions) as session:
        rows = [access.as_json(session, r) for r in session.execute(query.limit(limit)).scalars()]
    console_read(rt, "audit.access", (patient,) if patient else (), False)
    for r in rows:
        numbers = r["numbers"] if r["numbers"] == "all" else ",".join(r["numbers"]) or "-"
        click.echo(f"{r['at']}  {r['actor']:<24} {r['role']:<10} {r['action']:<20} {numbers}")
    click.echo(f"{len(rows)} accesses")
