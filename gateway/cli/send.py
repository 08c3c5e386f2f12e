"""`smsgate send`: queue a message from the shell, as POST /api/v1/messages does."""

from __future__ import annotations

import click
from redis.exceptions import RedisError

from gateway import outbound
from gateway.cli.shell import actor, clear_errors, e164, open_runtime, timestamp
from gateway.db import transaction


@click.command("send")
@click.option("--to", "to", required=True, help="the patient's number")
@click.option("--category", required=True)
@click.option("--body", required=True)
@click.option(
    "--at",
    "send_at",
    default=None,
    help="send no earlier than (ISO-8601 with offset: …Z or -05:00)",
)
@click.option("--sender", default=None, help="one of the configured sender numbers")
@clear_errors
def send(to: str, category: str, body: str, send_at: str | None, sender: str | None) -> None:
    """Queue a message, as POST /api/v1/messages does."""
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


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
