"""The web side of the access log: request ids, and the decorator every read endpoint wears."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from gateway import access
from gateway.db import transaction
from gateway.web.auth import current_actor
from gateway.web.context import runtime

F = TypeVar("F", bound=Callable[..., Any])


def touch(numbers: Iterable[str]) -> None:
    """Name the numbers this read discloses."""
    g.touched = [*getattr(g, "touched", []), *numbers]


def touch_all() -> None:
    """This read may disclose any number (an unfiltered list or export)."""
    g.touched_all = True


def audited(action: str) -> Callable[[F], F]:
    """Record the read once the view has produced its answer, before the answer leaves."""

    def decorate(view: F) -> F:
        @wraps(view)
        def logged(*args: Any, **kwargs: Any) -> Any:
            result = view(*args, **kwargs)
            actor = current_actor()
            entry = access.Access(
                actor=str(actor),
                role=actor.role,
                action=action,
                request_id=g.request_id,
                numbers=tuple(getattr(g, "touched", ())),
                all_numbers=bool(getattr(g, "touched_all", False)),
                detail={"path": request.path, "query": request.query_string.decode()[:500]},
            )
            rt = runtime()
            with transaction(rt.sessions) as session:
                access.record(session, entry, rt.clock())
            return result

        return cast(F, logged)

    return decorate
