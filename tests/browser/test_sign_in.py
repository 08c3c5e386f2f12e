"""Signing in, in a real browser: the form, the lock-out, CSRF, and what each role sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import Live, make_user, sign_in


def test_front_desk_signs_in_and_out_by_keyboard(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    make_user(live.runtime, "front_desk", "maria")
    page.goto("/")
    assert "/sign-in" in page.url
    shot(page, "sign-in")
    page.get_by_label("Name").fill("maria")
    page.keyboard.press("Tab")
    page.keyboard.type("a long test password")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/")
    assert page.get_by_text("maria").first.is_visible()
    shot(page, "home")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?out=1")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto("/")
    assert "/sign-in" in page.url


def test_five_wrong_passwords_lock_the_account(browser_page: Any, live: Live) -> None:
    page = browser_page
    make_user(live.runtime, "front_desk", "maria")
    for _ in range(4):
        sign_in(page, "maria", "not my password")
        assert page.get_by_role("alert").inner_text() == "Wrong name or password."
    sign_in(page, "maria", "not my password")
    assert "locked after 5 wrong passwords" in page.get_by_role("alert").inner_text()
    sign_in(page, "maria")  # the right password, during the lock-out
    assert "locked" in page.get_by_role("alert").inner_text()
    assert "/sign-in" in page.url


def test_a_form_posted_without_its_csrf_token_is_refused(
    browser_page: Any, live: Live, shot: Callable[..., Any]
) -> None:
    page = browser_page
    make_user(live.runtime, "front_desk", "maria")
    page.goto("/sign-in")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.get_by_label("Name").fill("maria")
    page.get_by_label("Password").fill("a long test password")
    with page.expect_response("**/sign-in*") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 400
    assert page.get_by_role("heading", name="This form has expired").is_visible()
    shot(page, "csrf-refused")
    page.goto("/")
    assert "/sign-in" in page.url  # not signed in


def test_an_auditor_sees_the_pages_they_may_not_use_disabled(
    signed_in: Callable[[str], Any],
) -> None:
    page = signed_in("auditor")
    for disabled in page.locator("nav [aria-disabled=true]").all():
        assert disabled.get_attribute("href") is None
