"""The benches' own pieces: what bench/webhook.py compares smsgate against, and what counts
its SQL. (The benches themselves are run by hand; no test asserts a timing.)"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, select

from bench.bare_app import bare_texts, create_app, create_tables
from bench.pgwire import StatementCounter


@pytest.fixture
def bare_engine(engine: Engine) -> Iterator[Engine]:
    create_tables(engine)
    yield engine
    bare_texts.drop(engine)


def test_the_bare_endpoint_stores_every_text_it_answers(
    bare_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", bare_engine.url.render_as_string(hide_password=False))
    client = create_app().test_client()
    for sid, body in (("SM1", "STOP"), ("SM2", "HELP")):
        form = {"MessageSid": sid, "From": "+13055550142", "To": "+12015550100", "Body": body}
        assert client.post("/twilio/inbound", data=form).status_code == 200
    with bare_engine.connect() as connection:
        rows = connection.execute(select(bare_texts.c.sid, bare_texts.c.body)).all()
    assert sorted(rows) == [("SM1", "STOP"), ("SM2", "HELP")]


def test_the_relay_counts_each_statement_and_round_trip_a_transaction_sends(
    postgres_engine: Engine,
) -> None:
    url = postgres_engine.url
    with StatementCounter(url.host or "127.0.0.1", url.port or 5432) as relay:
        dsn = relay.url(url.render_as_string(hide_password=False))
        with psycopg.connect(dsn.replace("postgresql+psycopg://", "postgresql://")) as connection:
            before = relay.snapshot()
            connection.execute("SELECT 1")
            connection.execute("SELECT %s::int", (2,))
            connection.commit()
            after = relay.snapshot()
    # BEGIN, the two SELECTs, COMMIT: four statements, each its own round trip.
    assert (after[0] - before[0], after[1] - before[1]) == (4, 4)
