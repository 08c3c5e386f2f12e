"""Bearer tokens and roles (SPEC §8): no token 401, wrong role 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from gateway import services
from gateway.db import transaction
from gateway.services import Problem
from gateway.web.context import runtime

F = TypeVar("F", bound=Callable[..., Any])

READ = ("admin", "front_desk", "auditor")
WRITE_CONSENT = ("admin", "front_desk")


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    def __str__(self) -> str:
        return f"token:{self.name}"


def _authenticate() -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "unauthorized", "send Authorization: Bearer <token>")
    with transaction(runtime().sessions) as session:
        row = services.find_token(session, token.strip())
        if row is None:
            raise Problem(401, "unauthorized", "unknown or revoked token")
        return Actor(row.name, row.role)


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
