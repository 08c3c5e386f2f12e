"""Bearer tokens and roles (SPEC §8): no token 401, wrong role 403; a client address that
keeps failing is answered 429 before its token is looked at."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import abort, current_app, g, request

from gateway import services
from gateway.adapters.rate_limit import FailureCounter, connect_bounded
from gateway.db import transaction
from gateway.services import Problem
from gateway.web.context import runtime
from gateway.web.errors import error

F = TypeVar("F", bound=Callable[..., Any])

READ = ("admin", "front_desk", "auditor")
WRITE_CONSENT = ("admin", "front_desk")

log = logging.getLogger(__name__)
_FAILURES = "smsgate.auth_failures"


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    kind: str = "token"  # "user" when signed in to the console

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def failures() -> FailureCounter:
    """This app's failure counter: in Redis when REDIS_URL is set (shared by every process),
    else in this process only."""
    counter = current_app.extensions.get(_FAILURES)
    if counter is None:
        rt = runtime()
        url = rt.settings.redis_url
        counter = FailureCounter(
            connect_bounded(url) if url else None, rt.settings.auth_failures_per_minute, rt.clock
        )
        counter = current_app.extensions.setdefault(_FAILURES, counter)
    return cast(FailureCounter, counter)


def client_address() -> str:
    """The connecting address, or the one the trusted proxies forwarded (TRUSTED_PROXIES;
    werkzeug's ProxyFix, installed by the app factory, has already applied it)."""
    return request.remote_addr or "unknown"


def _authenticate() -> Actor:
    address = client_address()
    counter = failures()
    wait = counter.wait(address)
    if wait:
        # Before the token is looked at: a guess that happens to be right is not told so.
        response = error(
            429,
            "rate_limited",
            f"too many failed authentications from this address; try again in {wait} s",
        )
        response.headers["Retry-After"] = str(wait)
        abort(response)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        _refuse(counter, address, "no bearer token", "send Authorization: Bearer <token>")
    with transaction(runtime().sessions) as session:
        row = services.token_row(session, token)
        if row is not None and row.revoked_at is None:
            return Actor(row.name, row.role)
        why = f"revoked token {row.name!r}" if row is not None else f"unknown token {_hint(token)}"
    _refuse(counter, address, why, "unknown or revoked token")


def _hint(token: str) -> str:
    """What the log may say of a token that matched nothing: its first 4 characters at most,
    and none of a short one."""
    return (
        f"{token[:4]!r}… ({len(token)} characters)"
        if len(token) >= 16
        else f"of {len(token)} characters"
    )


def _refuse(counter: FailureCounter, address: str, why: str, message: str) -> NoReturn:
    count = counter.failed(address)
    log.warning("authentication failed from %s: %s (%d this minute)", address, why, count)
    if count == counter.limit:
        log.warning(
            "%s reached %d failed authentications this minute: answered 429 until it ends",
            address,
            count,
        )
    raise Problem(401, "unauthorized", message)


def requires(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            actor = _authenticate()
            if actor.role not in roles:
                raise Problem(403, "forbidden", f"role {actor.role} may not do this")
            g.actor = actor
            return view(*args, **kwargs)

        guarded.roles = roles  # type: ignore[attr-defined]  # for the API document
        return cast(F, guarded)

    return decorate


def current_actor() -> Actor:
    return cast(Actor, g.actor)
