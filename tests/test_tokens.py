"""`smsgate token list|revoke` (SPEC §8): tokens are listed without their secret, and a revoked
token is refused at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.cli import main
from gateway.models import ApiToken
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI on the test database (SQLite, and PostgreSQL when it is there)."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yml"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def create(name: str, role: str = "front_desk") -> str:
    code, out = run("token", "create", "--role", role, "--name", name)
    assert code == 0, out
    return out.splitlines()[0]


def test_list_shows_name_role_created_and_revoked_but_never_the_token(
    cli_env, sessions: sessionmaker[Session]
) -> None:
    code, out = run("token", "list")
    assert code == 0 and "no tokens" in out
    desk, boss = create("desk"), create("boss", "admin")
    code, out = run("token", "list")
    assert code == 0, out
    header, *rows = out.splitlines()
    assert header.split() == ["name", "role", "created", "revoked"]
    assert [r.split()[:2] for r in rows] == [["boss", "admin"], ["desk", "front_desk"]]
    assert all(r.split()[-1] == "-" for r in rows)  # neither revoked
    with sessions() as session:
        hashes = list(session.execute(select(ApiToken.token_hash)).scalars())
    for secret in (desk, boss, *hashes, "sg_"):
        assert secret not in out


def test_list_as_json(cli_env) -> None:
    token = create("desk")
    assert run("token", "revoke", "desk")[0] == 0
    code, out = run("token", "list", "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert set(row) == {"name", "role", "created_at", "revoked_at"}
    assert (row["name"], row["role"]) == ("desk", "front_desk")
    assert row["created_at"].endswith("Z") and row["revoked_at"].endswith("Z")
    assert token not in out


def test_revoke_marks_the_token_and_refuses_unknown_or_repeated_names(cli_env) -> None:
    create("desk")
    code, out = run("token", "revoke", "desk")
    assert code == 0 and "revoked token 'desk'" in out
    code, out = run("token", "list")
    desk = out.splitlines()[1].split()
    assert desk[:2] == ["desk", "front_desk"] and desk[-1] != "-"

    code, out = run("token", "revoke", "desk")
    assert code != 0 and "'desk' is already revoked" in out
    code, out = run("token", "revoke", "nobody")
    assert code != 0 and "no token named 'nobody'" in out


def test_a_revoked_token_is_refused_at_once(cli_env, client) -> None:
    token = create("desk")
    assert client.get("/api/v1/messages", headers=bearer(token)).status_code == 200
    assert run("token", "revoke", "desk")[0] == 0
    response = client.get("/api/v1/messages", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"] == {
        "code": "unauthorized",
        "message": "unknown or revoked token",
    }
    other = create("other")
    assert client.get("/api/v1/messages", headers=bearer(other)).status_code == 200
