"""The console's front page: the dashboard. Opt-outs and opt-ins per clinic day, messages by
outcome, the review queue's age — small SVG charts drawn here, each with its numbers in a
table for those who read rather than look."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, url_for

from gateway import dashboard as figures
from gateway.db import transaction
from gateway.web.audit import audited
from gateway.web.auth import READ
from gateway.web.console import charts
from gateway.web.console.pages import page, render
from gateway.web.context import runtime

bp = Blueprint("home", __name__)


@bp.get("/")
@page(*READ)
@audited("console.dashboard")  # counts only, no number named: logged as a read all the same
def dashboard() -> tuple[str, int]:
    rt = runtime()
    now, zone = rt.clock(), ZoneInfo(rt.settings.clinic_timezone)
    with transaction(rt.sessions) as session:
        days = figures.consent_by_day(session, now, zone)
        outcomes = figures.messages_by_outcome(session, now)
        queue = figures.review_queue(session, now)
    return render(
        "console/home.html",
        days=days,
        outcomes=outcomes,
        queue=queue,
        window=figures.DAYS,
        queue_url=url_for("review_pages.queue")
        if "review_pages.queue" in current_app.view_functions
        else None,
        days_chart=charts.day_columns(
            "consent-days",
            f"Opt-outs and opt-ins per day, last {figures.DAYS} days",
            days,
            empty=f"No opt-outs or opt-ins in the last {figures.DAYS} days",
        ),
        outcomes_chart=charts.bars(
            "outcomes",
            f"Messages by outcome, last {figures.DAYS} days",
            outcomes,
            empty=f"No messages in the last {figures.DAYS} days",
        ),
        ages_chart=charts.bars(
            "review-ages",
            "Open reviews by days waiting",
            queue.ages,
            empty="No open reviews",
        ),
    )
