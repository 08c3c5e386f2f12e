"""The `smsgate` command (click, like Flask's own CLI): dev, web, db, token, ledger, keywords."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar, cast

import click
from redis.exceptions import RedisError

from gateway import access, corrections, erasure, inbound, journal, ledger, logs, outbound, services
from gateway.cli_import import import_command
from gateway.cli_preferences import preferences_group
from gateway.cli_users import first_admin, user_group
from gateway.db import make_engine, session_factory, transaction
from gateway.domain.consent import Source, status_of
from gateway.domain.phone import InvalidPhone, Phone
from gateway.domain.restriction import RESTRICTIONS
from gateway.domain.restriction import in_force as restriction_in_force
from gateway.exports import FORMATS
from gateway.keywords_cli import keywords_group
from gateway.migrate import NotMigrated, upgrade
from gateway.runtime import Runtime
from gateway.settings import DEFAULT_PORT, DEV_WEBHOOK_TOKEN, Settings, SettingsError, local_url

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
main = click.Group("smsgate", help="SMS consent gateway for clinics.")
main.add_command(keywords_group)
main.add_command(user_group)
main.add_command(preferences_group)


def clear_errors(command: F) -> F:
    """Start-up problems are one clear line and exit code 2, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (SettingsError, NotMigrated, services.Problem, InvalidPhone) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}") from None
        except Exception as exc:
            if type(exc).__name__ == "KeywordFileError":
                raise click.ClickException(f"keywords file is invalid:\n{exc}") from None
            raise

    return cast(F, run)


def _runtime() -> Runtime:
    from gateway.app import build_runtime

    return build_runtime(Settings.from_env())


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@clear_errors
def db_upgrade() -> None:
    """Apply every pending migration (Alembic)."""
    settings = Settings.from_env()
    upgrade(make_engine(settings.database_url))
    click.echo("database is at the latest revision")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(services.ROLES))
@click.option("--name", required=True)
@clear_errors
def token_create(role: str, name: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        value = services.create_token(session, name=name, role=role, now=rt.clock())
    click.echo(value)
    click.echo(f"(role {role}; shown once — keep it somewhere safe)", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="a JSON array instead of a table")
@clear_errors
def token_list(as_json: bool) -> None:
    """Every token: name, role, created, revoked. Never the token or its hash."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        rows = [
            {
                "name": t.name,
                "role": t.role,
                "created_at": _utc(t.created_at),
                "revoked_at": _utc(t.revoked_at) if t.revoked_at else None,
            }
            for t in services.list_tokens(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tokens: create one with `smsgate token create --role ROLE --name NAME`")
        return
    width = max(len("name"), *(len(str(r["name"])) for r in rows))
    click.echo(f"{'name':<{width}}  {'role':<10}  {'created':<20}  revoked")
    for r in rows:
        revoked = r["revoked_at"] or "-"
        click.echo(f"{r['name']:<{width}}  {r['role']:<10}  {r['created_at']:<20}  {revoked}")


@token.command("revoke")
@click.argument("name")
@clear_errors
def token_revoke(name: str) -> None:
    """Revoke the token NAME: every request with it is refused (401) from now on."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        services.revoke_token(session, name, now=rt.clock())
    click.echo(f"revoked token {name!r}")


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@main.group("ledger")
def ledger_group() -> None:
    """The consent ledger."""


@ledger_group.command("show")
@click.argument("number")
@clear_errors
def ledger_show(number: str) -> None:
    """A number's consent per category and every event behind it."""
    rt = _runtime()
    e164 = Phone.parse(number, rt.settings.default_region).e164
    with transaction(rt.sessions) as session:
        in_force, events = ledger.current(session, e164), ledger.history(session, e164)
    _console_read(rt, "ledger.show", (e164,), False)
    click.echo(f"{e164}")
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
    rt = _runtime()
    actor = f"cli:{os.environ.get('USER', 'shell')}"
    with transaction(rt.sessions) as session:
        fixed = corrections.correct(
            session, event_id=event_id, reason=reason, actor=actor, now=rt.clock()
        )
    _console_read(rt, "ledger.correct", (fixed.number,), False)
    click.echo(
        f"event {fixed.id} corrects event {event_id}: {fixed.category} of {fixed.number} "
        f"is now {status_of(fixed).value}"
    )


@ledger_group.command("verify")
@clear_errors
def ledger_verify() -> None:
    """Walk the hash chain; exit 1 at the first event that does not match."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        verdict = ledger.verify(session)
    _console_read(rt, "ledger.verify", (), False)
    click.echo(verdict.summary)
    if verdict.ok:
        click.echo(f"chain head: {verdict.head}")
        return
    click.echo(f"{verdict.count} of {verdict.on_file} events on file verified before it")
    sys.exit(1)


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
        number=Phone.parse(number, rt.settings.default_region).e164 if number else None,
        category=category,
        action=action,
        source=source,
        since=_timestamp(since, "--since"),
        until=_timestamp(until, "--until"),
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


def _console_read(rt: Runtime, action: str, numbers: tuple[str, ...], all_numbers: bool) -> None:
    """Console reads are in the access log too, under the shell user's name."""
    entry = access.Access(
        actor=f"cli:{os.environ.get('USER', 'shell')}",
        role="admin",
        action=action,
        request_id=uuid.uuid4().hex,
        numbers=numbers,
        all_numbers=all_numbers,
        detail={"argv": sys.argv[1:]},
    )
    with transaction(rt.sessions) as session:
        access.record(session, entry, rt.clock())


@ledger_group.command("events")
@event_filters
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@clear_errors
def ledger_events(limit: int, **filters: str | None) -> None:
    """Ledger events as a table, oldest first."""
    rt = _runtime()
    f = _filter(rt, **filters)
    with transaction(rt.sessions) as session:
        rows = list(session.execute(ledger.events_query(f).limit(limit)).scalars())
        lines = [
            f"{r.id:>7}  {r.occurred_at:%Y-%m-%dT%H:%M:%SZ}  {r.number:<13} "
            f"{r.category:<14} {r.action:<6} {r.source:<13} {r.actor}"
            for r in rows
        ]
    _console_read(rt, "ledger.events", tuple(r.number for r in rows), False)
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
    rt = _runtime()
    f = _filter(rt, **filters)
    _console_read(rt, "ledger.export", (f.number,) if f.number else (), f.number is None)
    lines, _ = FORMATS[kind]
    with transaction(rt.sessions) as session:
        total = ledger.count(session, f)
        with (
            click.open_file(output, "w", encoding="utf-8") as out,
            click.progressbar(
                length=total, label="exporting", file=sys.stderr, hidden=not sys.stderr.isatty()
            ) as bar,
        ):
            for line in lines(_counted(ledger.stream(session, f), bar.update)):
                out.write(line)
    click.echo(f"exported {total} events", err=True)


def _counted(rows: Iterator[T], tick: Callable[[int], None]) -> Iterator[T]:
    for row in rows:
        yield row
        tick(1)


ledger_group.add_command(import_command)


@main.group("audit")
def audit_group() -> None:
    """The access log."""


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
    rt = _runtime()
    e164 = Phone.parse(number, rt.settings.default_region).e164 if number else None
    query = access.query(
        actor=actor,
        action=action,
        number=e164,
        since=_timestamp(since, "--since"),
        until=_timestamp(until, "--until"),
    )
    with transaction(rt.sessions) as session:
        rows = [access.as_json(session, r) for r in session.execute(query.limit(limit)).scalars()]
    _console_read(rt, "audit.access", (e164,) if e164 else (), False)
    for r in rows:
        numbers = r["numbers"] if r["numbers"] == "all" else ",".join(r["numbers"]) or "-"
        click.echo(f"{r['at']}  {r['actor']:<24} {r['role']:<10} {r['action']:<20} {numbers}")
    click.echo(f"{len(rows)} accesses")


@main.command("purge")
@clear_errors
def purge() -> None:
    """Retention: erase message bodies and inbound texts older than RETENTION_MESSAGE_DAYS.
    Consent events are never purged."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        done = erasure.purge_older_than(
            session,
            rt.clock(),
            rt.settings.retention_message_days,
            f"cli:{os.environ.get('USER', 'shell')}",
        )
        counts = done.counts
    click.echo(
        f"erased {counts['outbound_bodies']} message bodies and "
        f"{counts['inbound_texts']} inbound texts older than {counts['cutoff']}"
    )


@main.group("inbound")
def inbound_group() -> None:
    """Inbound texts."""


@inbound_group.command("replay")
@clear_errors
def inbound_replay() -> None:
    """Replay texts journaled while the database was down (idempotent on MessageSid)."""
    count = journal.replay_pending(_runtime())
    click.echo(f"replayed {count} journaled texts")


@inbound_group.command("backfill")
@click.option("--since", required=True, help="process texts Twilio received since (ISO-8601)")
@clear_errors
def inbound_backfill(since: str) -> None:
    """Read the clinic numbers' inbound texts from Twilio's API and process every MessageSid
    not yet stored (a deploy, network or outage gap): idempotent, run it as often as needed."""
    from gateway.adapters.twilio_sms import TwilioSender

    rt = _runtime()
    start = _timestamp(since, "--since")
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


@main.command("web")
@click.option("--bind", default=None, help="host:port  [default: 0.0.0.0:$PORT, 8000]")
@click.option("--workers", default=None, type=int, help="[default: $WEB_CONCURRENCY, 2]")
def web(bind: str | None, workers: int | None) -> None:
    """Serve the gateway with gunicorn, as the Procfile's `web` does (production)."""
    command = ["gunicorn", "-c", "python:gateway.serving.config"]
    if bind:
        command += ["--bind", bind]
    if workers:
        command += ["--workers", str(workers)]
    os.execvp("gunicorn", [*command, "gateway.app:create_app()"])


@main.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
def worker(burst: bool) -> None:
    """Run one RQ worker with the scheduler (production; run several)."""
    from workers.__main__ import main as run_worker

    run_worker(burst=burst)


@main.command("send")
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
    at = _timestamp(send_at, "--at", zoned=True)
    rt = _runtime()
    region = rt.settings.default_region
    if not _encodable(body):
        raise click.BadParameter("not valid UTF-8 text", param_hint="--body")
    request = outbound.Request(
        to=Phone.parse(to, region).e164,
        category=category,
        body=body,
        actor=f"cli:{os.environ.get('USER', 'shell')}",
        send_at=at,
        sender=Phone.parse(sender, region).e164 if sender else None,
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


def _timestamp(value: str | None, option: str, zoned: bool = False) -> dt.datetime | None:
    """ISO-8601; a filter's time without an offset is UTC, but when to send must say its
    offset (`zoned`): 10:00 read as UTC reaches an Eastern patient at 5 in the morning."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if zoned and parsed.tzinfo is None:
            raise click.BadParameter(
                "give the time with its offset, e.g. 2026-11-24T18:00:00Z (UTC) or "
                "2026-11-24T13:00:00-05:00; a time without one would be a guess",
                param_hint=option,
            )
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if not 1970 <= parsed.astimezone(dt.UTC).year <= 9000:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        hint = "use ISO-8601, e.g. 2026-11-24T18:00:00Z"
        raise click.BadParameter(hint, param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@main.command("reconcile")
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
    from workers import jobs, runtime

    done = jobs.recover(runtime.build(Settings.from_env()), at_once=at_once)
    for line in done.lines():
        click.echo(line)


@main.command("dev")
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
