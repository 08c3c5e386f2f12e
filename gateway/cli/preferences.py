"""`smsgate preferences …`: the signed links HELP replies carry (SPEC §10)."""

from __future__ import annotations

import click

from gateway import preference_links
from gateway.cli.shell import clear_errors, e164, open_runtime
from gateway.db import transaction

preferences_group = click.Group("preferences", help="Preference links sent in HELP replies.")


@preferences_group.command("revoke")
@click.argument("number")
@clear_errors
def revoke(number: str) -> None:
    """End every preference link still open for NUMBER (a lost phone, a number that changed
    hands): the page answers "expired" and a new HELP brings a new link."""
    rt = open_runtime()
    patient = e164(rt, number)
    with transaction(rt.sessions) as session:
        ended = preference_links.revoke_links(session, patient, rt.clock())
    click.echo(f"{patient}: {ended} open link{'s' if ended != 1 else ''} revoked")
