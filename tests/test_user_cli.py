"""`smsgate user …` (SPEC §8): the console's users listed without their password hash, and a
mistake told in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from gateway.cli import main

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@pytest.fixture
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI on the test database (SQLite, and PostgreSQL when it is there)."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "")


def run(*args: str, typed: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=typed)
    return result.exit_code, result.output


def create(name: str, role: str = "front_desk") -> None:
    code, out = run(
        "user", "create", "--role", role, "--name", name, "--password-stdin", typed=PASSWORD
    )
    assert code == 0 and f"created user {name!r} ({role})" in out, out


def test_user_list_shows_name_role_created_and_state_but_never_a_hash(cli_env) -> None:
    code, out = run("user", "list")
    assert code == 0 and out.startswith("no users: create one with `smsgate user create")
    create("rosa.desk")
    create("al", "admin")
    assert run("user", "disable", "al") == (0, "disabled 'al'\n")
    code, out = run("user", "list")
    assert code == 0, out
    header, *rows = out.splitlines()
    assert header.split() == ["name", "role", "created", "state"]
    al, rosa = (r.split() for r in rows)
    assert al[:2] == ["al", "admin"] and al[3] == "disabled" and al[4].endswith("Z")
    assert rosa[:2] == ["rosa.desk", "front_desk"] and rosa[3:] == ["active"]
    # the columns line up under the header, the name column as wide as the longest name
    assert rows[0].index("admin") == header.index("role")
    assert rows[1].index("front_desk") == header.index("role") == len("rosa.desk") + 2
    assert "argon2" not in out and PASSWORD not in out


def test_user_list_as_json(cli_env) -> None:
    create("rosa.desk")
    code, out = run("user", "list", "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert row["name"] == "rosa.desk" and row["role"] == "front_desk"
    assert row["state"] == "active" and row["created_at"].endswith("Z")
    assert set(row) == {"name", "role", "created_at", "state"}


def test_a_mistake_is_one_line_and_exit_code_1(cli_env) -> None:
    code, out = run(
        "user", "create", "--role", "admin", "--name", "al", "--password-stdin", typed="short"
    )
    assert (code, out) == (1, "Error: a password is 12 to 256 characters\n")
    code, out = run("user", "unlock", "nobody")
    assert (code, out) == (1, "Error: no user named 'nobody'\n")


def test_user_commands_before_db_upgrade_say_to_run_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/new.db")
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    code, out = run("user", "list")
    assert code == 1 and "smsgate db upgrade" in out and "Traceback" not in out
