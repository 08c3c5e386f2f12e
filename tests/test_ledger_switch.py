"""A ledger the old code wrote (one global chain) upgraded to per-number chains: the old
chain still verifies up to the switch, and new events chain per number after it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway import ledger
from gateway.db import transaction
from gateway.domain import chain
from gateway.domain.consent import Action
from gateway.migrate import downgrade, upgrade
from tests.conftest import PATIENT
from tests.test_ledger import T0, record

OTHER = "+13055550142"
BEFORE = "0010_joinfix"


def old_ledger(engine: Engine) -> list[chain.Link]:
    """Five events as the old append made them: each links to the ledger's previous event,
    ids handed out under the `ledger_head` lock, which ends at the last one."""
    prev, made = chain.GENESIS, []
    for i, number in enumerate([PATIENT, OTHER, PATIENT, OTHER, PATIENT], start=1):
        at = T0 + dt.timedelta(minutes=i)
        link = chain.Link(
            id=i,
            number=number,
            category="marketing",
            action="revoke" if i % 2 else "grant",
            source="api",
            occurred_at=at,
            recorded_at=at,
            actor="old",
            evidence={"note": f"old {i}"},
            prev_hash=prev,
        )
        link = chain.Link(**{**vars(link), "hash": link.computed_hash()})
        made.append(link)
        prev = link.hash
    with engine.begin() as connection:
        for number in (PATIENT, OTHER):
            connection.execute(
                text("INSERT INTO subjects (number, created_at) VALUES (:n, :t)"),
                {"n": number, "t": T0},
            )
        for link in made:
            connection.execute(
                text(
                    "INSERT INTO consent_events (id, number, category, action, source,"
                    " occurred_at, recorded_at, actor, evidence, prev_hash, hash) VALUES (:id,"
                    " :number, :category, :action, :source, :occurred_at, :recorded_at, :actor,"
                    " :evidence, :prev_hash, :hash)"
                ),
                {**vars(link), "evidence": json.dumps(link.evidence)},
            )
        connection.execute(
            text("UPDATE ledger_head SET seq = 5, hash = :h WHERE id = 1"), {"h": prev}
        )
    return made


@pytest.fixture
def upgraded(engine: Engine) -> Iterator[list[chain.Link]]:
    downgrade(engine, BEFORE)
    try:
        made = old_ledger(engine)
        upgrade(engine)
        yield made
    finally:
        upgrade(engine)


def verdict(sessions: sessionmaker[Session]) -> chain.Verdict:
    with transaction(sessions) as session:
        return ledger.verify(session)


def test_an_old_ledger_verifies_after_the_upgrade_and_grows_per_number(sessions, upgraded) -> None:
    assert verdict(sessions).summary == "OK: 5 events verified (5 not sealed yet)"
    new = record(sessions, Action.GRANT, number=OTHER, now=T0 + dt.timedelta(hours=1))
    with transaction(sessions) as session:
        added = next(link for link in ledger.links(session) if link.id == new)
        sealed = ledger.seal(session, T0)
    assert new == 6 and added.prev_hash == upgraded[3].hash  # the number's own last old event
    assert sealed is not None and sealed.count == 6
    assert verdict(sessions).summary == "OK: 6 events verified"


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE consent_events SET action = 'grant' WHERE id = 3", 3),
        ("DELETE FROM consent_events WHERE id = 2", 3),
        ("DELETE FROM consent_events WHERE id = 5", 6),
    ],
)
def test_tampering_with_the_old_chain_is_named(
    engine: Engine, sessions, upgraded, tamper: str, named: int
) -> None:
    record(sessions, Action.GRANT, number=OTHER, now=T0 + dt.timedelta(hours=1))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM consent_state"))
        connection.execute(text(tamper))
    result = verdict(sessions)
    assert (result.ok, result.first_bad_id) == (False, named)
