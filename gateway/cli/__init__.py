"""The `smsgate` command (click, like Flask's own CLI): one module per command group.

This module only gathers them; each command module imports what it needs from `shell` (the
runtime, the actor, clear errors) and `table`, never from here, so nothing imports in a circle.
"""

from __future__ import annotations

import click

from gateway.cli.audit import audit_group
from gateway.cli.db import db_group
from gateway.cli.dev import dev
from gateway.cli.inbound import inbound_group
from gateway.cli.keywords import keywords_group
from gateway.cli.ledger import ledger_group
from gateway.cli.preferences import preferences_group
from gateway.cli.send import send
from gateway.cli.serve import web, worker
from gateway.cli.token import token_group
from gateway.cli.upkeep import purge, reconcile
from gateway.cli.user import user_group

main = click.Group(
    "smsgate",
    help="SMS consent gateway for clinics.",
    commands=[
        dev,
        web,
        worker,
        send,
        reconcile,
        purge,
        db_group,
        user_group,
        token_group,
        ledger_group,
        audit_group,
        keywords_group,
        preferences_group,
        inbound_group,
    ],
)

__all__ = ["main"]
