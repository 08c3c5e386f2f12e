"""The hosted opt-in form `/join` (SPEC §10, issue 10 items 1-2): public, no sign-in, no
JavaScript; `?embed=1` is the same form bare, for an iframe on the clinic's own site.

Abuse limits hold before anything is written: per client address and per number (fixed
windows, JOIN_LIMIT_*), a signed form token, and a honeypot field a person never fills.

The token is signed with SECRET_KEY and time-limited rather than tied to a session cookie:
inside another site's iframe browsers withhold our cookie (SameSite=Lax, third-party cookie
blocking), and a public form has no signed-in user whose authority a forged post could borrow;
what it must show is that the post came from a page we served recently.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, cast
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, redirect, render_template, request
from flask.blueprints import BlueprintSetupState
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from gateway import opt_in
from gateway.adapters.rate_limit import FailureCounter, connect_bounded
from gateway.db import transaction
from gateway.domain.keywords import KeywordRules
from gateway.domain.phone import InvalidPhone, Phone, mask
from gateway.services import Problem
from gateway.web.api.messages import enqueue
from gateway.web.auth import client_address
from gateway.web.context import runtime
from gateway.web.edge import PAGE_POLICY
from gateway.web.public.join_words import words

bp = Blueprint("join", __name__, static_folder="static", static_url_path="/join-static")
log = logging.getLogger(__name__)
TOKEN_AGE = 2 * 60 * 60  # seconds a form may stay open before it must be loaded again
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden, no tab stop); bots fill it
MAX_FIELD = 64
_COUNTERS = "smsgate.join_counters"


@bp.record_once
def _checks_its_own_token(state: BlueprintSetupState) -> None:
    # The app-wide CSRFProtect needs the session cookie an iframe does not get: the form
    # carries a signed token instead (see the module's docstring).
    state.app.extensions["csrf"].exempt(bp)


@bp.after_request
def _framing(response: Response) -> Response:
    """Only the embed may be framed, and only by the origins JOIN_FRAME_ANCESTORS names."""
    origins = runtime().settings.join_frame_ancestors
    if _embedded() and origins and response.mimetype == "text/html":
        g.framing_allowed = True
        response.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(origins)
        )
    return response


@bp.get("/join")
def form() -> tuple[str, int]:
    rules = runtime().rules
    if rules.join is None:
        return _unavailable()
    return _form(rules, _language(rules))


@bp.post("/join")
def submit() -> tuple[str, int] | Response:
    rt = runtime()
    rules = rt.rules
    if rules.join is None:
        return _unavailable()
    language = _language(rules)
    address = client_address()
    by_address, by_number = _counters()
    if wait := by_address.wait(address):
        log.warning("opt-in form: too many from %s", address)
        return _too_many(language, wait)
    by_address.failed(address)
    if not _token_ok(request.form.get("token", "")):
        return _page("public/join_problem.html", 400, language, problem="expired")
    if request.form.get(HONEYPOT, "").strip():
        log.warning("opt-in form: honeypot filled from %s; nothing recorded", address)
        return _done(language, "", ())
    given = request.form.get("number", "")[:MAX_FIELD]
    region = rt.settings.default_region
    try:
        phone = Phone.parse(given, region)
    except InvalidPhone:
        return _form(rules, language, given, words(language)["bad_number"], 422)
    if not phone.is_mobile_in(region):
        return _form(rules, language, given, words(language)["not_mobile"], 422)
    number = phone.e164
    if wait := by_number.wait(number):
        log.warning("opt-in form: too many for %s", mask(number))
        return _too_many(language, wait)
    by_number.failed(number)
    now = rt.clock()
    submitted = opt_in.Form(
        number=number,
        language=language,
        page_url=rt.settings.public_base_url + request.full_path.rstrip("?"),
        ip=address,
        user_agent=request.headers.get("User-Agent", "")[:400],
        ticked=frozenset(n for n in opt_in.boxes(rules) if request.form.get(f"offer_{n}")),
        submitted_at=now,
    )
    try:
        with transaction(rt.sessions) as session:
            texts = rt.settings.join_texts_per_number_per_day
            result = opt_in.submit(session, rules, submitted, now, texts_per_day=texts)
    except Problem as problem:
        # Its message may tell whether and when the number texted STOP: for staff, not for
        # whoever typed the number in.
        log.warning("opt-in form for %s refused: %s", mask(number), problem.code)
        return _form(rules, language, given, words(language)["refused"], problem.status)
    if result.confirmation is not None:
        enqueue(result.confirmation)
    # The same page whatever the number's state: what the visitor asked, never what we knew.
    asked = tuple(n for n in submitted.ticked if n in rules.join.double_opt_in)
    return _done(language, number[-4:], asked)


@bp.get("/join/done")
def done() -> tuple[str, int]:
    rules = runtime().rules
    if rules.join is None:
        return _unavailable()
    language = _language(rules)
    ending = request.args.get("to", "")
    pending = [n for n in request.args.get("pending", "").split(",") if n in rules.categories]
    labels = [rules.categories[n].labels.get(language, n) for n in pending]
    start = opt_in.start_number(rules, pending)
    return _page(
        "public/join_done.html",
        200,
        language,
        ending=ending if ending.isdigit() and len(ending) == 4 else "",
        labels=labels,
        hours=rules.join.pending_hours,
        start=Phone(start).national if start else "",
    )


def _done(language: str, ending: str, pending: tuple[str, ...]) -> Response:
    """After a post, a page to land on (a reload does not send the form again)."""
    query = {"lang": language, "to": ending, "pending": ",".join(pending)}
    if _embedded():
        query["embed"] = "1"
    return redirect("/join/done?" + urlencode({k: v for k, v in query.items() if v}), code=303)


def _form(
    rules: KeywordRules,
    language: str,
    given: str = "",
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    join = opt_in.join_rules(rules)
    shown = opt_in.shown(rules, language)
    care = [(n, shown[n]) for n in opt_in.care_categories(rules) if n in shown]
    offers = [
        (n, shown[n], rules.categories[n].labels.get(language, n), n in join.double_opt_in)
        for n in opt_in.boxes(rules)
        if n in shown
    ]
    other = next((lang for lang in rules.languages if lang != language), None)
    return _page(
        "public/join.html",
        status,
        language,
        care=care,
        offers=offers,
        given=given,
        problem=problem,
        token=_token(),
        other=other,
        program=rules.program.name or rules.program_name,
    )


def _page(template: str, status: int, language: str, **context: Any) -> tuple[str, int]:
    context.setdefault("program", runtime().rules.program.name)
    return (
        render_template(
            template,
            lang=language,
            w=words(language),
            embed=_embedded(),
            honeypot=HONEYPOT,
            **context,
        ),
        status,
    )


def _too_many(language: str, wait: int) -> tuple[str, int]:
    minutes = max(1, -(-wait // 60))
    return _page("public/join_problem.html", 429, language, problem="too_many", minutes=minutes)


def _unavailable() -> tuple[str, int]:
    return _page("public/join_problem.html", 404, "en", problem="unavailable")


def _embedded() -> bool:
    return request.args.get("embed") == "1"


def _language(rules: KeywordRules) -> str:
    """`?lang=` wins, then the browser's Accept-Language, then the file's default."""
    asked = request.args.get("lang", "")
    if asked in rules.languages:
        return asked
    return request.accept_languages.best_match(rules.languages) or rules.default_language


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cast(str, current_app.secret_key), salt="smsgate-join-form")


def _token() -> str:
    return _serializer().dumps(secrets.token_hex(8))


def _token_ok(token: str) -> bool:
    try:
        _serializer().loads(token[:200], max_age=TOKEN_AGE)
    except BadData:
        return False
    return True


def _counters() -> tuple[FailureCounter, FailureCounter]:
    """Per client address and per number, in Redis when REDIS_URL is set (every process
    shares them), else in this process."""
    found = current_app.extensions.get(_COUNTERS)
    if found is None:
        rt = runtime()
        s = rt.settings
        redis = connect_bounded(s.redis_url) if s.redis_url else None
        window = s.join_limit_window_minutes * 60
        found = (
            FailureCounter(
                redis, s.join_limit_per_ip, rt.clock, window=window, prefix="smsgate:join:ip:"
            ),
            FailureCounter(
                redis,
                s.join_limit_per_number,
                rt.clock,
                window=window,
                prefix="smsgate:join:number:",
            ),
        )
        found = current_app.extensions.setdefault(_COUNTERS, found)
    return cast(tuple[FailureCounter, FailureCounter], found)
