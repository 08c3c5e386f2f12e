"""Browser fixtures: the app served over real HTTP on loopback (a threaded server on the test
database and Redis) and Playwright driving Debian's Chromium (/usr/bin/chromium) — never a
browser Playwright downloads. Without Chromium these tests are skipped with one line saying how
to enable them; under SMSGATE_REQUIRE_SERVICES=1 (CI) a missing browser fails the run."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from gateway import staff
from gateway.app import create_app
from gateway.db import make_engine, transaction
from gateway.runtime import Runtime
from tests.conftest import REQUIRE, ROOT, _empty_postgres

CHROMIUM = os.environ.get("SMSGATE_CHROMIUM", "/usr/bin/chromium")
ENABLE = "apt-get install chromium (Debian), or set SMSGATE_CHROMIUM to a Chromium binary"
SHOTS = ROOT / "tests" / "screenshots"  # ignored by git; the closing note lists what we saw
WIDTHS = {"wide": (1280, 900), "phone": (390, 844)}
PASSWORD = "a long test password"
ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed; don't try
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """One database per browser test, not both: PostgreSQL when CI gives it, else SQLite."""
    if os.environ.get("TEST_DATABASE_URL"):
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
        yield engine
        return
    path = tmp_path / "smsgate.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"SMSGATE_REQUIRE_SERVICES=1 but no Chromium at {CHROMIUM}: {ENABLE}")
        pytest.skip(f"browser tests skipped, no Chromium at {CHROMIUM}: {ENABLE}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@dataclass
class Live:
    """The app on a real socket: `url` is what the browser opens."""

    url: str
    runtime: Runtime


@pytest.fixture
def live(runtime: Runtime) -> Iterator[Live]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server.server_port}"
    # Webhooks are signed for this address, as Twilio would sign for PUBLIC_BASE_URL.
    runtime.settings = replace(runtime.settings, public_base_url=url, dev_mode=True)
    app = create_app(runtime=runtime)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Live(url, runtime)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def browser_page(chromium: Any, live: Live) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Nothing may be fetched from outside this machine (SPEC §8: no CDN).
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live.url) else outside.append(r.url))
    yield page
    context.close()
    assert not outside, f"the page fetched from outside the machine: {outside}"


def make_user(runtime: Runtime, role: str, name: str | None = None) -> str:
    name = name or f"{role.replace('_', '-')}-user"
    with transaction(runtime.sessions) as session:
        staff.create_user(session, name=name, role=role, password=PASSWORD, now=runtime.clock())
    return name


def sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def signed_in(browser_page: Any, live: Live) -> Callable[[str], Any]:
    """`signed_in("front_desk")`: the page, signed in as a new user of that role."""

    def as_role(role: str) -> Any:
        sign_in(browser_page, make_user(live.runtime, role))
        browser_page.wait_for_url(f"{live.url}/")
        return browser_page

    return as_role


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], list[Path]]:
    """Screenshot the page at 1280 and 390 px wide (full height) into tests/screenshots/."""

    def take(page: Any, name: str) -> list[Path]:
        SHOTS.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        paths = []
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            path = SHOTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(original)
        return paths

    return take
