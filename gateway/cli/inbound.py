"""`smsgate inbound …`: texts that missed the webhook's direct path."""

from __future__ import annotations

import click

from gateway import inbound, journal
from gateway.cli.shell import clear_errors, open_runtime, timestamp
from gateway.db import transaction

inbound_group = click.Group("inbound", help="Inbound texts.")


@inbound_group.command("replay")
@clear_errors
def inbound_replay() -> None:
    """Replay texts journaled while the database was down (idempotent on MessageSid)."""
    count = journal.replay_pending(open_runtime())
    click.echo(f"replayed {count} journaled texts")


@inbound_group.command("backfill")
@click.option("--since", required=True, help="process texts Twilio received since (ISO-8601)")
@clear_errors
def inbound_backfill(since: str) -> None:
    """Read the clinic numbers' inbound texts from Twilio's API and process every MessageSid
    not yet stored (a deploy, network or outage gap): idempotent, run it as often as needed."""
    # The Twilio SDK takes a while to import; only this command of the group talks to it.
    from gateway.adapters.twilio_sms import TwilioSender

    rt = open_runtime()
    start = timestamp(since, "--since")
    settings = rt.settings
    if settings.dry_run or start is None:
        raise click.ClickException("backfill reads Twilio: set TWILIO_ACCOUNT_SID and TOKEN")
    assert settings.twilio_account_sid and settings.twilio_auth_token
    twilio = TwilioSender(
        settings.twilio_account_sid, settings.twilio_auth_token, "", settings.twilio_api_url
    )
    seen = added = 0
    for clinic in rt.rules.senders:
        for text in twilio.received(clinic, start):
            seen += 1
            message = inbound.Inbound(
                text.sid, text.from_number, text.to_number, text.body, received_at=text.received_at
            )
            with transaction(rt.sessions) as session:
                added += inbound.store_if_new(
                    session, rt.rules, message, rt.clock(), settings.default_region
                )
    click.echo(f"{seen} texts at Twilio since {start:%Y-%m-%d %H:%M}Z; {added} were new")
