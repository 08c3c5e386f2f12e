"""The `smsgate` command as a clinic's engineer types it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from redis import Redis
from redis.exceptions import RedisError

from gateway.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "KEYWORDS_FILE": str(ROOT / "keywords.yml"),
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_ACCOUNT_SID": "",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_commands_before_db_upgrade_say_to_run_it(env) -> None:
    code, out = run("token", "create", "--role", "admin", "--name", "me")
    assert code != 0 and "smsgate db upgrade" in out


def test_token_create_then_ledger_show_and_verify(env) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out = run("token", "create", "--role", "front_desk", "--name", "desk")
    assert code == 0 and out.splitlines()[0].startswith("sg_")
    assert run("token", "create", "--role", "front_desk", "--name", "desk")[0] != 0
    code, out = run("ledger", "show", "(201) 555-0123")
    assert code == 0 and "+12015550123" in out and "0 events" in out
    code, out = run("ledger", "verify")
    assert code == 0 and out.splitlines()[0] == "OK: 0 events verified"
    code, out = run("ledger", "show", "12345")
    assert code != 0 and "Error" in out


def test_send_queues_and_reconcile_finds_nothing_lost(env, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded Redis lives under ./var/
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert run("db", "upgrade")[0] == 0
    try:
        code, out = run(
            "send", "--to", "(201) 555-0123", "--category", "transactional", "--body", "See you"
        )
        assert code == 0 and out.startswith("msg_") and "queued" in out
        code, out = run("send", "--to", "12345", "--category", "transactional", "--body", "x")
        assert code != 0 and "phone" in out
        code, out = run("send", "--to", "+12015550123", "--category", "nope", "--body", "x")
        assert code != 0 and "category" in out
        code, out = run("reconcile")
        assert code == 0 and "re-enqueued 0 messages" in out
    finally:
        # A real `smsgate send` stops the embedded Redis it started when it exits; run here,
        # in this process, the commands share it and never exit: stop it by its socket.
        socket_file = tmp_path / "var" / "redis" / "redis.socket"
        if socket_file.exists():
            with contextlib.suppress(RedisError):
                Redis(unix_socket_path=str(socket_file)).shutdown(nosave=True)


@pytest.mark.parametrize("at", ["2026-11-25T10:00:00", "2026-11-25 10:00", "2026-11-25"])
def test_send_refuses_a_time_without_an_offset(env, at) -> None:
    # Nothing is queued: the time is refused before the database or the queue is touched.
    code, out = run("send", "--to", "+12015550123", "--category", "transactional", "--body", "x",
                    "--at", at)  # fmt: skip
    assert code == 2 and "--at" in out and "offset" in out and "Z" in out


def test_every_documented_command_is_there() -> None:
    code, out = run("ledger", "--help")
    assert code == 0
    for command in ("show", "events", "export", "verify", "import"):
        assert command in out
    code, out = run("--help")
    for command in (
        "dev",
        "web",
        "worker",
        "db",
        "token",
        "send",
        "reconcile",
        "purge",
        "keywords",
        "audit",
        "inbound",
    ):
        assert command in out


def test_a_bad_setting_is_one_clear_line(env, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    code, out = run("db", "upgrade")
    assert code != 0 and "DATABASE_URL" in out and "Traceback" not in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None, data: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_dev_sends_in_dry_run_on_the_embedded_defaults(tmp_path: Path) -> None:
    """`make run` on a fresh machine: no database, no Redis, no Twilio — and it works."""
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TWILIO_", "REDIS_"))
    }
    env.update(KEYWORDS_FILE=str(ROOT / "keywords.yml"), PORT=str(port))
    smsgate = str(Path(sys.executable).parent / "smsgate")
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [smsgate, "dev"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = _wait(lambda: _get(f"{base}/healthz"), process)
        assert health["status"] == "ok" and health["dry_run"] is True
        token = subprocess.run(
            [smsgate, "token", "create", "--role", "front_desk", "--name", "desk"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        body = {"to": "+12015550123", "body": "See you Monday", "category": "transactional"}
        created = _get(f"{base}/api/v1/messages", token, body)
        assert created["status"] == "queued"

        def dry_run() -> Any:
            message = _get(f"{base}/api/v1/messages/{created['id']}", token)
            return message if message["status"] == "dry_run" else None

        message = _wait(dry_run, process)
        assert message["decision"]["outcome"] == "send" and message["decision"]["reason"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C stops web, worker and Redis together
        process.wait(timeout=20)
    time.sleep(0.5)
    assert _running_in(tmp_path) == [], "a worker or the embedded Redis outlived Ctrl-C"


def _running_in(folder: Path) -> list[str]:
    """Processes whose working directory is `folder` (the worker and Redis started there)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cwd").resolve().is_relative_to(folder.resolve()):
                found.append((proc / "cmdline").read_text().replace("\0", " "))
        except OSError:
            continue
    return found


def _wait(probe: Any, process: subprocess.Popen[bytes], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "smsgate dev exited"
        try:
            if (found := probe()) is not None:
                return found
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("gave up waiting")


def test_preferences_revoke_ends_a_numbers_open_links(env) -> None:
    import datetime as dt

    from gateway.app import build_runtime
    from gateway.db import transaction
    from gateway.models import PreferenceLink
    from gateway.settings import Settings

    assert run("db", "upgrade")[0] == 0
    rt = build_runtime(Settings.from_env())
    now = dt.datetime.now(dt.UTC)
    with transaction(rt.sessions) as session:
        for _ in range(2):
            session.add(
                PreferenceLink(
                    number="+12015550123",
                    language="en",
                    inbound_sid="SM" + "0" * 32,
                    issued_at=now,
                    expires_at=now + dt.timedelta(days=7),
                )
            )
    code, out = run("preferences", "revoke", "(201) 555-0123")
    assert code == 0 and out.strip() == "+12015550123: 2 open links revoked"
    code, out = run("preferences", "revoke", "+12015550123")
    assert code == 0 and "0 open links revoked" in out
    code, out = run("preferences", "revoke", "12345")
    assert code != 0 and "Error" in out
