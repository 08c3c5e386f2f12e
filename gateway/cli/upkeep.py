"""`smsgate purge` and `smsgate reconcile`: the upkeep the worker also does on its own, now."""

from __future__ import annotations

import click

from gateway import erasure
from gateway.cli.shell import actor, clear_errors, open_runtime
from gateway.db import transaction
from gateway.settings import Settings


@click.command("purge")
@clear_errors
def purge() -> None:
    """Retention: erase message bodies and inbound texts older than RETENTION_MESSAGE_DAYS.
    Consent events are never purged."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        done = erasure.purge_older_than(
            session, rt.clock(), rt.settings.retention_message_days, actor()
        )
        counts = done.counts
    click.echo(
        f"erased {counts['outbound_bodies']} message bodies and "
        f"{counts['inbound_texts']} inbound texts older than {counts['cutoff']}"
    )


@click.command("reconcile")
@click.option(
    "--now",
    "at_once",
    is_flag=True,
    help="take every message with no live job at once (right after a Redis flush), "
    "not only those stale for a minute",
)
@clear_errors
def reconcile(at_once: bool) -> None:
    """Re-enqueue messages whose job was lost (Redis restarted or flushed), never twice;
    mark `unknown` those whose worker died mid-send. Prints what it did, per state."""
    # The worker's own wiring (RQ, the sender): only this command needs it.
    from workers import jobs, runtime

    done = jobs.recover(runtime.build(Settings.from_env()), at_once=at_once)
    for line in done.lines():
        click.echo(line)
