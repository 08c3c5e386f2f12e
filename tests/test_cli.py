"""The `smsgate` command as a clinic's engineer types it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

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
    assert code == 0 and "events: 0" in out
    code, out = run("ledger", "show", "12345")
    assert code != 0 and "Error" in out


def test_a_bad_setting_is_one_clear_line(env, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    code, out = run("db", "upgrade")
    assert code != 0 and "DATABASE_URL" in out and "Traceback" not in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dev_serves_healthz_on_the_embedded_defaults(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TWILIO_"))}
    env.update(KEYWORDS_FILE=str(ROOT / "keywords.yml"), PORT=str(port))
    smsgate = Path(sys.executable).parent / "smsgate"
    process = subprocess.Popen(
        [str(smsgate), "dev"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = b""
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    body = r.read()
                    break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        assert b'"status":"ok"' in body.replace(b" ", b""), process.stdout
        assert (tmp_path / "var" / "smsgate.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
