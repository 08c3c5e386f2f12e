"""Reviews (admin and front desk resolve; auditors read): texts that may be opt-outs or say
the number changed hands, the most urgent first, due 10 business days after they arrived
(FCC 24-24) and marked when overdue. Resolving goes through services.resolve_review, the
API's own path."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from werkzeug.wrappers import Response

from gateway import records, services
from gateway.db import transaction
from gateway.services import Problem
from gateway.web.audit import audited, touch
from gateway.web.auth import READ, WRITE_CONSENT, current_actor
from gateway.web.console.front_desk import Errors
from gateway.web.console.pages import page, redirect_to, render
from gateway.web.context import runtime

bp = Blueprint("review_pages", __name__)
PAGE = 25
RESOLUTIONS = (
    ("opt_out", "An opt-out: revoke what a STOP to that number would"),
    ("wrong_number", "Wrong number: revoke every category (a new holder never consented)"),
    ("no_action", "Not an opt-out: no change"),
)


@bp.get("/reviews")
@page(*READ)
def queue() -> tuple[str, int]:
    return _shown()


@bp.post("/reviews/<int:review_id>")
@page(*WRITE_CONSENT)
def resolve(review_id: int) -> tuple[str, int] | Response:
    rt = runtime()
    resolution = request.form.get("resolution", "")
    note = request.form.get("note", "").strip()
    errors = Errors()
    if resolution not in dict(RESOLUTIONS):
        errors.add("resolution", "Choose what the text was.")
        return _shown(status=422, failed=review_id, errors=errors, posted=request.form)

    def resolve_it() -> None:
        with transaction(rt.sessions) as session:
            review = services.resolve_review(
                session,
                rt.rules,
                review_id,
                resolution=resolution,
                note=note or None,
                actor=str(current_actor()),
                now=rt.clock(),
            )
            touch([review.number])

    try:
        audited("console.reviews.resolve")(resolve_it)()
    except Problem as exc:
        errors.problem(exc, "resolution")
        return _shown(status=exc.status, failed=review_id, errors=errors, posted=request.form)
    return redirect_to("review_pages.queue", resolved=review_id)


def _shown(
    *,
    status: int = 200,
    failed: int | None = None,
    errors: Errors | None = None,
    posted: Any = None,
) -> tuple[str, int]:
    rt = runtime()
    which = "resolved" if request.args.get("status") == "resolved" else "open"
    number = request.args.get("page", "1")
    at = max(1, min(int(number), 10_000)) if _whole(number) else 1

    def read() -> list[records.Queued]:
        with transaction(rt.sessions) as session:
            rows = records.review_queue(
                session, status=which, now=rt.clock(), offset=(at - 1) * PAGE, limit=PAGE + 1
            )
            session.expunge_all()
        touch(q.review.number for q in rows[:PAGE])
        return rows

    rows = audited("console.reviews.list")(read)()
    resolved = request.args.get("resolved", "")
    return render(
        "console/reviews.html",
        status,
        title="Reviews",
        which=which,
        rows=rows[:PAGE],
        page=at,
        more=len(rows) > PAGE,
        failed=failed,
        errors=errors or Errors(),
        posted=posted or {},
        resolved=int(resolved) if _whole(resolved) else None,
        may_resolve=g.actor.role in WRITE_CONSENT,
        resolutions=RESOLUTIONS,
    )


def _whole(text: str) -> bool:
    """ASCII digits only, and few of them ("²".isdigit() is true; int("²") is not)."""
    return text.isascii() and text.isdecimal() and len(text) <= 9
