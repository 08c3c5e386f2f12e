"""The patient's preference page (SPEC §10), reached from the signed link a HELP reply ends
with: which categories the number receives, a Stop button for each, and the hosted form's own
disclosure and unchecked box to start one again. No sign-in: the link is the key, and it came
to the patient's phone. Off (404) unless PREFERENCE_LINKS=1.

Every show of the page is a read of the number's consent, logged in the access log as
`preference_link:<id>` (never the token: a logged token would let its reader act as the
patient until it expires). A forged token counts as a failed authentication of the address,
like a wrong API token; a valid link is limited to USES_PER_MINUTE requests."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from gateway import access, preferences
from gateway.adapters.rate_limit import FailureCounter, connect_bounded
from gateway.db import transaction
from gateway.domain.phone import mask
from gateway.domain.preference_link import PATH, link_key
from gateway.models import PreferenceLink
from gateway.preferences import LinkRefused, Links
from gateway.services import Problem
from gateway.web.auth import Actor, client_address, failures
from gateway.web.context import runtime
from gateway.web.public.preferences_words import LANGUAGES, WORDS

bp = Blueprint("preferences", __name__)
USES_PER_MINUTE = 30  # a patient reads and changes a few lines; a script does not get more
_USES = "smsgate.preference_link_uses"
Page = tuple[str, int]


def links() -> Links | None:
    """How the webhook issues links: None while PREFERENCE_LINKS is off."""
    settings = runtime().settings
    if not settings.preference_links:
        return None
    lifetime = dt.timedelta(days=settings.preference_link_days)
    return Links(settings.public_base_url, _key(), lifetime)


def _key() -> bytes:
    return link_key(str(current_app.config["SECRET_KEY"]))


@bp.before_request
def _open() -> Page | None:
    """The link, or the page that says why not: forged 404, expired or revoked 410, 429."""
    g.language = _language(None)
    rt = runtime()
    if not rt.settings.preference_links:
        return _refusal(404, "forged")
    address = client_address()
    if failures().wait(address):
        return _refusal(429, "busy")
    token = (request.view_args or {}).get("token", "")
    try:
        with transaction(rt.sessions) as session:
            link = preferences.open_link(session, token, _key(), rt.clock())
            session.expunge(link)
    except LinkRefused as refused:
        if refused.kind == "forged":
            failures().failed(address)
            return _refusal(404, "forged")
        g.language = _language(refused.language)
        return _refusal(410, "gone")
    if _uses().failed(f"preference_link:{link.id}") > USES_PER_MINUTE:
        return _refusal(429, "busy")
    g.link, g.language = link, _language(link.language)
    g.actor = Actor(str(link.id), "patient", kind="preference_link")
    return None


def _language(sent_in: str | None) -> str:
    """?lang= first, then the language of the HELP the link answered, then the browser's."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    if sent_in in LANGUAGES:
        return sent_in
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def _uses() -> FailureCounter:
    counter = current_app.extensions.get(_USES)
    if counter is None:
        rt = runtime()
        url = rt.settings.redis_url
        redis = connect_bounded(url) if url else None
        counter = FailureCounter(redis, USES_PER_MINUTE, rt.clock)
        counter = current_app.extensions.setdefault(_USES, counter)
    return cast(FailureCounter, counter)


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError) -> Page:
    link = g.get("link")
    g.language = _language(link.language if link is not None else None)
    return _refusal(400, "expired_form")


@bp.get(f"{PATH}<token>")
def show(token: str) -> Page:
    return _page(200)


@bp.post(f"{PATH}<token>/stop")
def stop(token: str) -> Response | Page:
    category = request.form.get("category", "")
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            preferences.stop(session, rt.rules, g.link, category, _evidence(), rt.clock())
    except Problem as problem:
        return _page(problem.status, problem=_words()["refused"].format(why=problem.message))
    flash(_words()["stopped"].format(label=_label(category)))
    return _back(token)


@bp.post(f"{PATH}<token>/start")
def start(token: str) -> Response | Page:
    form, words = request.form, _words()
    category = form.get("category", "")
    if form.get("agree") != "yes":
        return _page(422, problem=words["must_tick"], unticked=category)
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            preferences.start(
                session,
                rt.rules,
                g.link,
                category,
                g.language,
                form.get("disclosure_version", ""),
                _evidence(),
                rt.clock(),
            )
    except Problem as problem:
        if problem.code == "disclosure_changed":
            return _page(409, problem=words["changed"])
        return _page(problem.status, problem=words["refused"].format(why=problem.message))
    flash(words["started"].format(label=_label(category)))
    return _back(token)


def _evidence() -> dict[str, Any]:
    """The web form's evidence (SPEC §4). The page's address is recorded with the link's id in
    place of its token: the ledger is read for years, and the token is a key until it expires."""
    link: PreferenceLink = g.link
    return {
        "page_url": f"{runtime().settings.public_base_url}{PATH}link-{link.id}",
        "ip": client_address(),
        "user_agent": request.user_agent.string[:300],
        "language": g.language,
    }


def _back(token: str) -> Response:
    """Post, redirect, get: a reload never records twice."""
    return redirect(url_for("preferences.show", token=token, lang=g.language), code=303)


def _words() -> dict[str, str]:
    return WORDS[g.language]


def _label(category: str) -> str:
    rule = runtime().rules.categories.get(category)
    return rule.labels.get(g.language, category) if rule is not None else category


def _page(status: int, **extra: Any) -> Page:
    """The page, with the number's consent: a read, logged before the answer leaves."""
    rt = runtime()
    link: PreferenceLink = g.link
    now = rt.clock()
    with transaction(rt.sessions) as session:
        shown = preferences.choices(session, rt.rules, link.number, g.language)
        access.record(session, _read(link), now)
    zone = ZoneInfo(rt.settings.clinic_timezone)
    page = render_template(
        "public/preferences.html",
        words=_words(),
        language=g.language,
        program=rt.rules.program.name or rt.rules.program_name,
        last4=mask(link.number)[-4:],
        choices=shown,
        expires=link.expires_at.astimezone(zone).strftime("%Y-%m-%d"),
        notices=get_flashed_messages(),
        token=request.view_args["token"] if request.view_args else "",
        **extra,
    )
    return page, status


def _read(link: PreferenceLink) -> access.Access:
    return access.Access(
        actor=f"preference_link:{link.id}",
        role="patient",
        action="preferences.view",
        request_id=g.request_id,
        numbers=(link.number,),
        detail={"path": f"{PATH}link-{link.id}", "method": request.method},
    )


def _refusal(status: int, kind: str) -> Page:
    words = WORDS[g.language]
    page = render_template(
        "public/preferences_error.html",
        words=words,
        language=g.language,
        title=words[f"{kind}_title"],
        message=words[kind],
    )
    return page, status
