"""The console's door (SPEC §8): passwords, sessions, lock-out, CSRF, roles, the access log."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway import staff
from gateway.db import transaction
from gateway.models import AccessLog, StaffUser
from gateway.runtime import Runtime
from tests.conftest import Clock

PASSWORD = "a long test password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(runtime: Runtime, name: str = "maria", role: str = "front_desk") -> None:
    with transaction(runtime.sessions) as session:
        staff.create_user(session, name=name, role=role, password=PASSWORD, now=runtime.clock())


def csrf(client: FlaskClient, path: str = "/sign-in") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, name: str = "maria", password: str = PASSWORD) -> Any:
    token = csrf(client)
    form = {"name": name, "password": password, "csrf_token": token}
    return client.post("/sign-in", data=form)


def actions(runtime: Runtime) -> list[str]:
    with transaction(runtime.sessions) as session:
        return list(session.execute(select(AccessLog.action).order_by(AccessLog.id)).scalars())


def test_a_page_asks_a_stranger_to_sign_in_and_comes_back_after(
    client: FlaskClient, runtime: Runtime
) -> None:
    make_user(runtime)
    answer = client.get("/")
    assert answer.status_code == 302 and "/sign-in?next=/" in answer.headers["Location"]
    token = csrf(client)
    form = {"name": "maria", "password": PASSWORD, "csrf_token": token}
    answer = client.post("/sign-in?next=/", data=form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "maria" in page.get_data(as_text=True)
    assert actions(runtime) == ["console.sign_in", "console.dashboard"]  # the page read too


def test_the_session_cookie_is_httponly_and_lax_and_secure_over_https(
    client: FlaskClient, runtime: Runtime
) -> None:
    make_user(runtime)
    plain = sign_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure_client = client.application.test_client()
    token = TOKEN.search(
        secure_client.get("/sign-in", base_url="https://console.clinic.test").get_data(as_text=True)
    )
    assert token
    form = {"name": "maria", "password": PASSWORD, "csrf_token": token.group(1)}
    answer = secure_client.post("/sign-in", data=form, base_url="https://console.clinic.test")
    assert answer.status_code == 303 and "Secure" in answer.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["https://elsewhere.test/", "//elsewhere.test/", "/\\evil"])
def test_sign_in_never_sends_a_person_to_another_site(
    client: FlaskClient, runtime: Runtime, target: str
) -> None:
    make_user(runtime)
    token = csrf(client)
    form = {"name": "maria", "password": PASSWORD, "csrf_token": token}
    answer = client.post("/sign-in", query_string={"next": target}, data=form)
    assert answer.headers["Location"] == "/"


def test_a_wrong_password_and_an_unknown_name_read_the_same(
    client: FlaskClient, runtime: Runtime
) -> None:
    make_user(runtime)
    wrong = sign_in(client, password="not the password at all")
    unknown = sign_in(client, name="nobody")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert "Wrong name or password." in answer.get_data(as_text=True)
    assert actions(runtime) == ["console.sign_in_failed"]  # a known account's failure only


def test_five_wrong_passwords_lock_the_account_until_the_lockout_ends(
    client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    make_user(runtime)
    for _ in range(4):
        assert sign_in(client, password="wrong password!!").status_code == 401
    locked = sign_in(client, password="wrong password!!")
    assert locked.status_code == 423 and "locked" in locked.get_data(as_text=True)
    assert sign_in(client).status_code == 423  # even the right password, during the lock
    assert actions(runtime).count("console.locked") == 1
    clock.advance(minutes=runtime.settings.lockout_minutes + 1)
    assert sign_in(client).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    make_user(runtime)
    answer = client.post("/sign-in", data={"name": "maria", "password": PASSWORD})
    assert answer.status_code == 400
    assert "security token" in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_sign_out_ends_the_session_and_an_old_cookie(
    client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    make_user(runtime)
    sign_in(client)
    stolen = client.get_cookie("smsgate_session")
    assert stolen is not None
    clock.advance(seconds=1)
    answer = client.post("/sign-out", data={"csrf_token": csrf(client, "/")})
    assert answer.status_code == 303
    assert client.get("/").status_code == 302
    client.set_cookie("smsgate_session", stolen.value)
    assert client.get("/").status_code == 302  # the copied cookie is over too


def test_an_idle_session_ends(client: FlaskClient, runtime: Runtime, clock: Clock) -> None:
    make_user(runtime)
    sign_in(client)
    clock.advance(minutes=runtime.settings.session_idle_minutes - 1)
    assert client.get("/").status_code == 200
    clock.advance(minutes=runtime.settings.session_idle_minutes + 1)
    assert client.get("/").status_code == 302


def test_a_disabled_user_is_signed_out_and_kept_out(client: FlaskClient, runtime: Runtime) -> None:
    make_user(runtime)
    sign_in(client)
    with transaction(runtime.sessions) as session:
        staff.disable(session, "maria", runtime.clock())
    assert client.get("/").status_code == 302
    kept_out = sign_in(client)  # read as a wrong password: the page never confirms a name
    assert kept_out.status_code == 401
    assert "Wrong name or password." in kept_out.get_data(as_text=True)


def test_a_busy_session_still_ends_after_twelve_hours(
    client: FlaskClient, runtime: Runtime, clock: Clock
) -> None:
    make_user(runtime)
    sign_in(client)
    for _ in range(12 * 60 // 25):  # a page every 25 minutes: never idle
        clock.advance(minutes=25)
        assert client.get("/").status_code == 200
    clock.advance(minutes=25)
    assert client.get("/").status_code == 302


def test_a_nul_in_a_page_form_is_refused_before_it_reaches_the_database(
    client: FlaskClient, runtime: Runtime
) -> None:
    make_user(runtime)
    answer = client.post(
        "/sign-in", data={"name": "maria\x00", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert answer.status_code == 400 and "NUL" in answer.get_data(as_text=True)
    assert client.get("/ledger?number=%00", headers={"Accept": "text/html"}).status_code in (
        302,  # not signed in: the sign-in page first
        400,
    )


def test_an_unexpected_error_on_a_page_is_a_page(client: FlaskClient, runtime: Runtime) -> None:
    app = client.application

    @app.get("/boom-for-test")
    def _boom() -> str:
        raise RuntimeError("boom")

    answer = client.get("/boom-for-test", headers={"Accept": "text/html"})
    assert answer.status_code == 500 and answer.mimetype == "text/html"
    assert "Something went wrong" in answer.get_data(as_text=True)


def test_passwords_are_stored_as_argon2id_hashes(runtime: Runtime) -> None:
    make_user(runtime)
    with transaction(runtime.sessions) as session:
        stored = session.execute(select(StaffUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_short_password_is_refused(runtime: Runtime) -> None:
    with pytest.raises(staff.Problem, match="12 to 256"), transaction(runtime.sessions) as s:
        staff.create_user(s, name="x", role="auditor", password="short", now=runtime.clock())


def test_the_navigation_shows_an_auditor_send_disabled(
    client: FlaskClient, runtime: Runtime
) -> None:
    make_user(runtime, "alex", "auditor")
    sign_in(client, "alex")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<span class="disabled" aria-disabled="true"[^>]*>Send</span>', page) or (
        "Send" not in page  # the send page is not served in this build
    )


def test_pages_are_not_in_the_api_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/sign-in" not in paths and "/" not in paths


def test_a_browser_gets_an_html_page_for_an_unknown_address(client: FlaskClient) -> None:
    answer = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    api = client.get("/api/v1/no-such", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.is_json
