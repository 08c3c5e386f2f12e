"""Sign-in and sign-out (SPEC §8): a name and a password, 5 wrong ones lock the account for
LOCKOUT_MINUTES, and every sign-in, refusal and lock-out is in the access log."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, g, redirect, request, session
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway import access, staff
from gateway.db import transaction
from gateway.models import StaffUser
from gateway.web.auth import failures
from gateway.web.console.pages import (
    redirect_to,
    render,
    safe_next,
    signed_in,
    start_session,
)
from gateway.web.context import runtime

bp = Blueprint("signin", __name__)
log = logging.getLogger(__name__)
MAX_NAME = 64


@bp.get("/sign-in")
def sign_in() -> tuple[str, int] | Response:
    if signed_in() is not None:
        return redirect_to("home.dashboard")
    return _form()


@bp.post("/sign-in")
def sign_in_post() -> tuple[str, int] | Response:
    name = request.form.get("name", "").strip()[:MAX_NAME]
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    counter = failures()
    if wait := counter.wait(address):
        return _form(name, f"Too many failed sign-ins from here. Try again in {wait} seconds.", 429)
    rt = runtime()
    now = rt.clock()
    lockout = dt.timedelta(minutes=rt.settings.lockout_minutes)
    with transaction(rt.sessions) as db:
        attempt = staff.sign_in(db, name, password, now, lockout)
        user = attempt.user
        if user is not None:
            _log_attempt(db, user, attempt, now)
        if attempt.outcome is staff.Outcome.SIGNED_IN and user is not None:
            start_session(user, now)
            return redirect_to_next()
    if attempt.outcome in (staff.Outcome.WRONG, staff.Outcome.DISABLED):
        # A disabled account reads as a wrong password: the page never confirms a name.
        counter.failed(address)
        log.warning("console sign-in failed from %s", address)
        return _form(name, "Wrong name or password.", 401)
    until = attempt.locked_until or now
    minutes = max(1, round((until - now).total_seconds() / 60))
    return _form(
        name,
        f"This account is locked after {staff.MAX_FAILURES} wrong passwords. "
        f"Try again in {minutes} minutes, or ask an administrator to unlock it.",
        423,
    )


def redirect_to_next() -> Response:
    return redirect(safe_next(request.args.get("next")), code=303)


def _log_attempt(db: Session, user: StaffUser, attempt: staff.Attempt, now: dt.datetime) -> None:
    """Sign-ins, wrong passwords and lock-outs of a known account (HIPAA §164.308(a)(5)(ii)(C),
    log-in monitoring); guesses at unknown names are in the application log only."""
    action = {
        staff.Outcome.SIGNED_IN: "console.sign_in",
        staff.Outcome.WRONG: "console.sign_in_failed",
        staff.Outcome.LOCKED: "console.locked" if attempt.just_locked else "console.sign_in_locked",
        staff.Outcome.DISABLED: "console.sign_in_disabled",
    }[attempt.outcome]
    if attempt.just_locked:
        log.warning("console account %r locked after %d wrong passwords", user.name, user.failures)
    entry = access.Access(
        actor=f"user:{user.name}",
        role=user.role,
        action=action,
        request_id=g.request_id,
        detail={"address": request.remote_addr or "unknown", "failures": user.failures},
    )
    access.record(db, entry, now)


@bp.post("/sign-out")
def sign_out() -> Response:
    actor = signed_in()
    if actor is not None:
        rt = runtime()
        with transaction(rt.sessions) as db:
            user = staff.by_name(db, actor.name)
            if user is not None:
                user.signed_out_at = rt.clock()
    session.clear()
    return redirect_to("signin.sign_in", out=1)


def _form(name: str = "", problem: str | None = None, status: int = 200) -> tuple[str, int]:
    signed_out = request.args.get("out") == "1" and problem is None
    return render(
        "console/sign_in.html",
        status,
        name=name,
        problem=problem,
        signed_out=signed_out,
        next=request.args.get("next", ""),
    )
