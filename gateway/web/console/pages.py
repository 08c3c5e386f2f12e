"""What every console page wears: `@page(*roles)` (signed in, right role, automatic logoff)
and `render()` (the template with its navigation). Reads are logged by `audited` from
gateway.web.audit, exactly as the API's are (SPEC §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gateway import staff
from gateway.db import transaction
from gateway.models import StaffUser
from gateway.web.auth import Actor
from gateway.web.console.nav import ENTRIES
from gateway.web.context import runtime

F = TypeVar("F", bound=Callable[..., Any])
MAX_SESSION = dt.timedelta(hours=12)  # a clinic's longest shift, however busy the session


def page(*roles: str) -> Callable[[F], F]:
    """Signed in, not idle too long, and of one of `roles`; else the sign-in page or a 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            actor = signed_in()
            if actor is None:
                return redirect(url_for("signin.sign_in", next=_here()))
            g.actor = actor
            if actor.role not in roles:
                return forbidden()
            return view(*args, **kwargs)

        guarded.roles = roles  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorate


def signed_in() -> Actor | None:
    """The person this browser signed in as, if that session still holds."""
    user_id, since, seen = session.get("uid"), session.get("since"), session.get("seen")
    if not (isinstance(user_id, int) and isinstance(since, str) and isinstance(seen, str)):
        return None
    rt = runtime()
    now = rt.clock()
    idle = dt.timedelta(minutes=rt.settings.session_idle_minutes)
    try:
        signed_in_at, last_seen = dt.datetime.fromisoformat(since), dt.datetime.fromisoformat(seen)
    except ValueError:
        return None
    if now - last_seen > idle or now - signed_in_at > MAX_SESSION:
        session.clear()
        return None
    with transaction(rt.sessions) as db:
        user = db.get(StaffUser, user_id)
        if user is None or not staff.session_valid(user, signed_in_at):
            session.clear()
            return None
        actor = Actor(user.name, user.role, kind="user")
    session["seen"] = now.isoformat()
    return actor


def start_session(user: StaffUser, now: dt.datetime) -> None:
    session.clear()  # a new session id for a new sign-in: nothing carried over
    session.permanent = True
    session.update(uid=user.id, since=now.isoformat(), seen=now.isoformat())


def _here() -> str:
    return request.full_path.rstrip("?")


def safe_next(target: str | None) -> str:
    """Only a path on this site: `next=https://elsewhere` or `//elsewhere` goes home."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("home.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return url_for("home.dashboard")
    return target


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def forbidden() -> tuple[str, int]:
    return render(
        "console/error.html",
        403,
        title="Not for your role",
        message=f"Your role ({g.actor.role}) may not use this page.",
    )


def navigation() -> list[dict[str, Any]]:
    """The entries the template draws: served pages only, the role's own enabled."""
    actor: Actor | None = g.get("actor")
    served = current_app.view_functions
    return [
        {
            "label": entry.label,
            "url": url_for(entry.endpoint),
            "enabled": actor is not None and actor.role in entry.roles,
            "current": request.endpoint == entry.endpoint,
        }
        for entry in ENTRIES
        if entry.endpoint in served
    ]


def redirect_to(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)
