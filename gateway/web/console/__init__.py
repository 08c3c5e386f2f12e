"""The staff console (SPEC §1, §8): server-rendered pages for the front desk and auditors.

Pages sign people in with a password and a session cookie, carry CSRF tokens on every form,
and log every read in the access log as the API does. No build step, nothing from a CDN."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from jinja2 import FileSystemLoader
from markupsafe import Markup, escape

from gateway.web.console import (
    access_pages,
    auditor,
    home,
    messages_page,
    number_page,
    pages,
    reviews_page,
    send_page,
    signin,
)
from gateway.web.public import join, preferences, simulator

# Every page blueprint, registered by the app factory; PAGE_BLUEPRINTS are left out of the
# API document (openapi.py) — they answer HTML, not JSON.
BLUEPRINTS = (
    signin.bp,
    home.bp,
    send_page.bp,
    number_page.bp,
    messages_page.bp,
    reviews_page.bp,
    auditor.bp,
    access_pages.bp,
    simulator.bp,
    join.bp,
    preferences.bp,
)
PAGE_BLUEPRINTS = frozenset(bp.name for bp in BLUEPRINTS) | {"console"}
SECRET_FILE = Path("var/secret_key")


class _Cookies(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the page was served over https (directly or
    through TRUSTED_PROXIES), and always HttpOnly and SameSite=Lax."""

    def get_cookie_secure(self, app: Flask) -> bool:
        secure = has_request_context() and request.is_secure
        return bool(app.config["SESSION_COOKIE_SECURE"]) or secure


def register(app: Flask, csrf_exempt: tuple[Any, ...]) -> None:
    settings = app.extensions["smsgate"].settings
    app.config.update(
        SECRET_KEY=settings.secret_key or stored_secret(SECRET_FILE),
        SESSION_COOKIE_NAME="smsgate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=pages.MAX_SESSION,  # the cookie; signed_in() ends it too
        # The token is bound to the session, which ends on sign-out or when idle.
        WTF_CSRF_TIME_LIMIT=None,
        # Every answer says Referrer-Policy: no-referrer, so the https Referer check would
        # refuse every form; the session-bound token and SameSite=Lax do the work.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.session_interface = _Cookies()
    app.jinja_loader = FileSystemLoader(
        [Path(__file__).parent / "templates", Path(__file__).parent.parent / "public" / "templates"]
    )
    csrf = CSRFProtect(app)
    for blueprint in csrf_exempt:  # bearer tokens and Twilio's signature: no cookies there
        csrf.exempt(blueprint)
    static = Path(__file__).parent / "static"
    app.add_url_rule(
        "/console-static/<path:filename>",
        endpoint="console.static",
        view_func=lambda filename: _static(static, filename),
    )
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.filters["when"] = lambda at: when(at, ZoneInfo(settings.clinic_timezone))
    app.jinja_env.globals.update(
        csrf_token_field=csrf_token_field,
        navigation=pages.navigation,
        clinic_zone=settings.clinic_timezone,
    )

    def _no_nul() -> tuple[str, int] | None:
        """A NUL in a page's query or form is refused here, as the API refuses it: PostgreSQL
        cannot store it, and no person types one. (Per blueprint, so it runs after the
        app-wide body bound in edge.py.)"""
        values = [*request.args.values(), *(request.form.values() if request.form else ())]
        if any("\x00" in value for value in values):
            return pages.render(
                "console/error.html",
                400,
                title="That cannot be read",
                message="A field held a character no text may contain (NUL). "
                "Go back and type it again.",
            )
        return None

    for blueprint in BLUEPRINTS:
        app.before_request_funcs.setdefault(blueprint.name, []).append(_no_nul)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return pages.render(
            "console/error.html",
            400,
            title="This form has expired",
            message="The form was sent without its security token, or the token is "
            "out of date. Go back, reload the page and try again.",
        )


def _static(folder: Path, filename: str) -> Any:
    return send_from_directory(folder, filename, max_age=3600)


def csrf_token_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def when(at: dt.datetime | None, zone: ZoneInfo) -> Markup:
    """A time as staff read it (the clinic's zone) with UTC on hover and for machines."""
    if at is None:
        return Markup("—")
    utc = at.astimezone(dt.UTC)
    local = utc.astimezone(zone)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.isoformat().replace("+00:00", "Z"),
        utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        escape(local.strftime("%Y-%m-%d %H:%M %Z")),
    )


def stored_secret(path: Path) -> str:
    """The machine's own session key: made once (0600), then read by every process."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48))
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(draft, path)  # whole or not at all; a process that lost the race reads the winner's
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
