"""The console's front page. (The dashboard's charts replace this list of pages.)"""

from __future__ import annotations

from flask import Blueprint

from gateway.web.auth import READ
from gateway.web.console.pages import page, render

bp = Blueprint("home", __name__)


@bp.get("/")
@page(*READ)
def dashboard() -> tuple[str, int]:
    return render("console/home.html")
