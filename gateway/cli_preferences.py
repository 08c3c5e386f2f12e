"""`smsgate preferences …`: the signed links HELP replies carry (SPEC §10)."""

from __future__ import annotations

import click

from gateway import preference_links, services
from gateway.db import transaction
from gateway.domain.phone import InvalidPhone, Phone
from gateway.migrate import NotMigrated
from gateway.settings import Settings, SettingsError

preferences_group = click.Group("preferences", help="Preference links sent in HELP replies.")


@preferences_group.command("revoke")
@click.argument("number")
def revoke(number: str) -> None:
    """End every preference link still open for NUMBER (a lost phone, a number that changed
    hands): the page answers "expired" and a new HELP brings a new link."""
    from gateway.app import build_runtime

    try:
        rt = build_runtime(Settings.from_env())
        e164 = Phone.parse(number, rt.settings.default_region).e164
        with transaction(rt.sessions) as session:
            ended = preference_links.revoke_links(session, e164, rt.clock())
    except (SettingsError, NotMigrated, services.Problem, InvalidPhone) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{e164}: {ended} open link{'s' if ended != 1 else ''} revoked")
