"""bench/webhook.py's baseline: the irreducible durable work of a STOP, served exactly as
smsgate is (the Procfile's gunicorn settings, the same database, the same engine factory).

    gunicorn -c python:gateway.serving.config 'bench.bare_app:create_app()'

Its one endpoint, POST /twilio/inbound, stores the text as it came (sid, sender, receiving
number, body) with one INSERT and COMMITs, then answers an empty TwiML reply. No signature
check, no classification, no consent: whatever smsgate does beyond this is what a STOP
costs over storing it.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert

from gateway.db import make_engine

metadata = MetaData()
bare_texts = Table(
    "bench_bare_texts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sid", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("receiver", Text, nullable=False),
    Column("body", Text, nullable=False),
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def create_app() -> Flask:
    # make_engine: the pool, driver and connection settings smsgate's web tier gets.
    engine = make_engine(os.environ["DATABASE_URL"])
    app = Flask("bare")

    @app.post("/twilio/inbound")
    def inbound() -> Response:
        form = request.form
        with engine.begin() as connection:
            connection.execute(
                insert(bare_texts).values(
                    sid=form.get("MessageSid", ""),
                    sender=form.get("From", ""),
                    receiver=form.get("To", ""),
                    body=form.get("Body", ""),
                )
            )
        return Response(EMPTY_TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app
