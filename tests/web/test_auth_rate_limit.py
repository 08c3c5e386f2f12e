"""Failed authentication is rate-limited per client address (SPEC §8), across web processes,
and logged without the token."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from gateway.adapters.rq_queue import embedded_url
from gateway.app import create_app
from gateway.runtime import Runtime
from gateway.settings import Settings, SettingsError
from tests.conftest import PATIENT, Clock, bearer

ATTACKER, DESK, PROXY = "203.0.113.7", "198.51.100.20", "10.0.0.2"  # documentation addresses
LIMIT = 10  # AUTH_FAILURES_PER_MINUTE's default
GUESS = "sg_SECRETguess0123456789abcdefghijklmnopqrstu"
URL = "/api/v1/messages"


def get(client: FlaskClient, token: str, address: str, **headers: str) -> Any:
    return client.get(
        URL, headers={**bearer(token), **headers}, environ_base={"REMOTE_ADDR": address}
    )


def fail(client: FlaskClient, times: int, address: str = ATTACKER, **headers: str) -> None:
    for i in range(times):
        assert get(client, f"{GUESS}{i}", address, **headers).status_code == 401


def app_for(runtime: Runtime, **settings: Any) -> Flask:
    """A web process on the test database (each app has its own in-process state)."""
    changed = replace(runtime, settings=replace(runtime.settings, **settings))
    app = create_app(runtime=changed)
    app.testing = True
    return app


@pytest.fixture
def redis_url(redis: Redis) -> str:
    """The test Redis (flushed for each test) as a REDIS_URL."""
    url = os.environ.get("TEST_REDIS_URL") or embedded_url(redis)
    assert url
    return url


@pytest.fixture
def client(runtime: Runtime, redis_url: str) -> FlaskClient:
    return app_for(runtime, redis_url=redis_url).test_client()


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_an_address_that_keeps_failing_gets_429_before_its_token_is_checked(
    client: FlaskClient, auth, clock: Clock
) -> None:
    fail(client, LIMIT)
    assert_rate_limited(get(client, GUESS, ATTACKER))
    # Even a good token from that address waits: a guess that happens to be right is not told.
    assert_rate_limited(
        client.get(URL, headers=auth("admin"), environ_base={"REMOTE_ADDR": ATTACKER})
    )
    # Staff elsewhere are not affected.
    assert (
        client.get(URL, headers=auth("admin"), environ_base={"REMOTE_ADDR": DESK}).status_code
        == 200
    )
    # The next minute the address may try again.
    clock.advance(minutes=1)
    ok = client.get(URL, headers=auth("admin"), environ_base={"REMOTE_ADDR": ATTACKER})
    assert ok.status_code == 200


def test_a_missing_token_counts_as_a_failure(client: FlaskClient) -> None:
    for _ in range(LIMIT):
        assert client.get(URL, environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 401
    assert_rate_limited(client.get(URL, environ_base={"REMOTE_ADDR": ATTACKER}))


def test_failures_are_counted_across_web_processes(runtime: Runtime, redis_url: str) -> None:
    first = app_for(runtime, redis_url=redis_url).test_client()
    second = app_for(runtime, redis_url=redis_url).test_client()
    fail(first, LIMIT // 2)
    fail(second, LIMIT - LIMIT // 2)
    assert_rate_limited(get(first, GUESS, ATTACKER))
    assert_rate_limited(get(second, GUESS, ATTACKER))


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


@pytest.mark.parametrize("down", ["refused", "silent"])
def test_with_redis_down_each_process_still_counts(
    runtime: Runtime, auth, down: str, request: pytest.FixtureRequest
) -> None:
    url = "redis://127.0.0.1:1/0" if down == "refused" else request.getfixturevalue("silent_redis")
    client = app_for(runtime, redis_url=url).test_client()
    fail(client, LIMIT)  # never a 500, and every wait is bounded by the socket timeouts
    assert_rate_limited(get(client, GUESS, ATTACKER))
    good = client.get(URL, headers=auth("admin"), environ_base={"REMOTE_ADDR": DESK})
    assert good.status_code == 200


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(client: FlaskClient) -> None:
    for i in range(LIMIT):
        forged = {"X-Forwarded-For": f"192.0.2.{i}"}
        assert get(client, GUESS, ATTACKER, **forged).status_code == 401
    assert_rate_limited(get(client, GUESS, ATTACKER, **{"X-Forwarded-For": "192.0.2.99"}))


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_forwarded_address(
    runtime: Runtime, redis_url: str, auth
) -> None:
    client = app_for(runtime, redis_url=redis_url, trusted_proxies=1).test_client()
    fail(client, LIMIT, PROXY, **{"X-Forwarded-For": ATTACKER})
    # A client may prepend anything; only the address the trusted proxy appended counts.
    spoofed = {"X-Forwarded-For": f"{DESK}, {ATTACKER}"}
    assert_rate_limited(get(client, GUESS, PROXY, **spoofed))
    desk = client.get(
        URL, headers={**auth("admin"), "X-Forwarded-For": DESK}, environ_base={"REMOTE_ADDR": PROXY}
    )
    assert desk.status_code == 200


def test_failures_are_logged_with_the_address_and_never_the_token(
    client: FlaskClient, tokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = f"/api/v1/consent/{PATIENT}"
    for i in range(LIMIT + 2):
        token = f"{GUESS}{i}"
        client.get(path, headers=bearer(token), environ_base={"REMOTE_ADDR": ATTACKER})
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) >= LIMIT
    assert all(ATTACKER in r.getMessage() for r in failures)
    text = caplog.text
    assert GUESS[:4] in text and GUESS[:5] not in text
    assert PATIENT[-7:] not in text  # the number in the path is not logged either


def test_a_revoked_token_is_named_in_the_log(
    client: FlaskClient, runtime: Runtime, tokens, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway import services
    from gateway.db import transaction

    with transaction(runtime.sessions) as session:
        services.revoke_token(session, "front_desk", now=runtime.clock())
    caplog.set_level(logging.WARNING)
    response = client.get(URL, headers=bearer(tokens["front_desk"]))
    assert response.status_code == 401
    assert "revoked token 'front_desk'" in caplog.text
    assert tokens["front_desk"][:5] not in caplog.text


def test_the_settings_are_read_and_checked() -> None:
    settings = Settings.from_env({"TRUSTED_PROXIES": "2", "AUTH_FAILURES_PER_MINUTE": "30"})
    assert (settings.trusted_proxies, settings.auth_failures_per_minute) == (2, 30)
    defaults = Settings.from_env({})
    assert (defaults.trusted_proxies, defaults.auth_failures_per_minute) == (0, LIMIT)
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "yes"})
    with pytest.raises(SettingsError, match="AUTH_FAILURES_PER_MINUTE"):
        Settings.from_env({"AUTH_FAILURES_PER_MINUTE": "0"})
