"""`smsgate token …`: API tokens (SPEC §8)."""

from __future__ import annotations

import click

from gateway import services
from gateway.cli.shell import clear_errors, open_runtime
from gateway.cli.table import Column, print_listing, utc
from gateway.db import transaction

token_group = click.Group("token", help="API tokens.")


@token_group.command("create")
@click.option("--role", required=True, type=click.Choice(services.ROLES))
@click.option("--name", required=True)
@clear_errors
def token_create(role: str, name: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        value = services.create_token(session, name=name, role=role, now=rt.clock())
    click.echo(value)
    click.echo(f"(role {role}; shown once — keep it somewhere safe)", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="a JSON array instead of a table")
@clear_errors
def token_list(as_json: bool) -> None:
    """Every token: name, role, created, revoked. Never the token or its hash."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        rows = [
            {
                "name": t.name,
                "role": t.role,
                "created_at": utc(t.created_at),
                "revoked_at": utc(t.revoked_at) if t.revoked_at else None,
            }
            for t in services.list_tokens(session)
        ]
    print_listing(
        rows,
        [
            Column("name", "name"),
            Column("role", "role", 10),
            Column("created", "created_at", 20),
            Column("revoked", "revoked_at"),
        ],
        as_json=as_json,
        empty="no tokens: create one with `smsgate token create --role ROLE --name NAME`",
    )


@token_group.command("revoke")
@click.argument("name")
@clear_errors
def token_revoke(name: str) -> None:
    """Revoke the token NAME: every request with it is refused (401) from now on."""
    rt = open_runtime()
    with transaction(rt.sessions) as session:
        services.revoke_token(session, name, now=rt.clock())
    click.echo(f"revoked token {name!r}")
