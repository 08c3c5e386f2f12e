"""`smsgate dev`: web, worker and scheduler in one command, as `make run` starts them."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import replace

import click
from sqlalchemy.orm import Session

from gateway import logs, staff
from gateway.cli.shell import clear_errors
from gateway.db import make_engine, session_factory, transaction
from gateway.migrate import upgrade
from gateway.settings import DEFAULT_PORT, DEV_WEBHOOK_TOKEN, Settings, local_url


@click.command("dev")
@click.option(
    "--port",
    default=lambda: int(os.environ.get("PORT", str(DEFAULT_PORT))),
    type=click.IntRange(1, 65535),
    help="[default: $PORT, 5000]; PUBLIC_BASE_URL, when unset, follows it",
)
@clear_errors
def dev(port: int) -> None:
    """Web, worker and scheduler on the embedded defaults (SQLite and Redis under ./var/),
    in dev mode: the patient simulator, and webhooks checked with the development token
    when TWILIO_AUTH_TOKEN is unset."""
    # Flask and the embedded Redis load only for this command, not for every `smsgate` run.
    from gateway.adapters.rq_queue import connect, embedded_url, stop_embedded
    from gateway.app import create_app

    logs.configure()  # every line masked (SPEC §8)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    settings = replace(Settings.from_env(), dev_mode=True)
    if not os.environ.get("PUBLIC_BASE_URL", "").strip():
        settings = replace(settings, public_base_url=local_url(port))
    admin = _first_run(settings)
    # A closed terminal (SIGHUP) or a process manager (SIGTERM) stops it as Ctrl-C does: the
    # `finally` below runs, so no worker, embedded Redis or run folder outlives the command.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    server = None
    worker = None
    try:
        if settings.redis_url is None:
            server = connect(None)  # the embedded Redis: lives as long as this command
            settings = replace(settings, redis_url=embedded_url(server))
        env = {
            **os.environ,
            "REDIS_URL": settings.redis_url or "",
            "PUBLIC_BASE_URL": settings.public_base_url,  # the status callbacks' URL
        }
        worker = subprocess.Popen([sys.executable, "-m", "workers"], env=env)
        app = create_app(settings)
        _banner(settings, port, admin)
        app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)
    except KeyboardInterrupt:
        pass  # Ctrl-C, SIGTERM or SIGHUP before the server was up
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut this short
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        if server is not None:
            stop_embedded(server)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _first_run(settings: Settings) -> tuple[str, str] | None:
    """Migrate; on a database with no console users, an admin to sign in with (dev only)."""
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            return first_admin(session, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


def first_admin(session: Session, now: dt.datetime) -> tuple[str, str] | None:
    """`smsgate dev` on a database with no console users: an `admin` with a random password,
    printed once, so the five-minute tour needs no other step. Never in production."""
    if staff.listing(session):
        return None
    password = secrets.token_urlsafe(12)
    staff.create_user(session, name="admin", role="admin", password=password, now=now)
    return "admin", password


def _banner(settings: Settings, port: int, admin: tuple[str, str] | None) -> None:
    """What a new user needs on screen: where to look, and how webhooks are checked."""
    local = local_url(port)
    if settings.twilio_auth_token:
        webhooks = "checked with TWILIO_AUTH_TOKEN"
    else:
        webhooks = (
            f"checked with the development token {DEV_WEBHOOK_TOKEN!r} "
            "(dev mode, no TWILIO_AUTH_TOKEN set); the simulator signs with it"
        )
    sending = "dry-run (no Twilio credentials)" if settings.dry_run else "real, through Twilio"
    lines = [
        f"smsgate is up (dev mode) on {local}",
        f"  patient simulator:  {local}/simulator",
        f"  staff console:      {local}/"
        + (
            f"   sign in as {admin[0]!r}, password {admin[1]!r} (shown once; "
            f"`smsgate user password {admin[0]}` changes it)"
            if admin
            else ""
        ),
        "  API token:          .venv/bin/smsgate token create --role admin --name me",
        f"  webhooks:           {webhooks}",
        f"  PUBLIC_BASE_URL:    {settings.public_base_url}  (signatures are checked against it)",
        f"  sending:            {sending}",
        f"  database:           {settings.database_url}",
        "  stop: Ctrl-C",
    ]
    for line in lines:
        click.echo(line)
