"""The Flask factory: settings, rules, database, blueprints, errors. A table of contents."""

from __future__ import annotations

import gc
import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import journal
from gateway.adapters.keyword_file import load_rules
from gateway.adapters.rq_queue import LazyOutbox
from gateway.db import make_engine, session_factory
from gateway.migrate import require_current
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.web import console, edge, errors, health, openapi, twilio_hooks
from gateway.web.api import audit_log, consent, inbound, ledger, messages, numbers, reviews

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app. Refuses to start on a bad keywords file or an un-migrated database."""
    if runtime is None:
        runtime = build_runtime(settings or Settings.from_env())
        journal.watch(runtime)
        # The rules and their indexes live as long as the process: frozen, the collector
        # stops re-walking them (10-15 % of classifying a text), and forked workers share them.
        gc.freeze()
    app = Flask(__name__)
    if proxies := runtime.settings.trusted_proxies:
        # X-Forwarded-For/-Proto are believed only as far as TRUSTED_PROXIES proxies set them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.extensions["smsgate"] = runtime
    blueprints = (
        health.bp,
        twilio_hooks.bp,
        consent.bp,
        inbound.bp,
        messages.bp,
        reviews.bp,
        ledger.bp,
        numbers.bp,
        audit_log.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    edge.register(app)  # first: the body bound comes before anything reads a body (CSRF too)
    console.register(app, csrf_exempt=blueprints)  # the pages; CSRF on their forms only
    errors.register(app)
    # Built once, from every route's declaration: a route served but not declared fails here.
    app.extensions["smsgate.openapi"] = openapi.document(app)
    if runtime.settings.dry_run:
        log.warning("DRY-RUN: no Twilio credentials; messages are decided but never sent")
    return app


def build_runtime(settings: Settings) -> Runtime:
    rules = load_rules(settings.keywords_file)
    engine = make_engine(settings.database_url)
    require_current(engine)
    return Runtime(
        settings=settings,
        rules=rules,
        engine=engine,
        sessions=session_factory(engine),
        queue=LazyOutbox(settings.redis_url),
    )
