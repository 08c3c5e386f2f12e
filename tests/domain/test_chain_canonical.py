"""The chain's canonical bytes are written directly for speed; they must stay exactly what
json.dumps wrote when the ledger was started, or every stored hash stops verifying."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import chain


def dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def reference_field_digest(key: str, value: Any) -> str:
    if key in chain.ERASABLE and isinstance(value, dict) and set(value) == {chain.ERASED}:
        return str(value[chain.ERASED])
    return hashlib.sha256(dumps(value)).hexdigest()


def reference_hash(link: chain.Link) -> str:
    """The event hash as first defined: json.dumps of the fields and of the field digests."""
    digests = {k: reference_field_digest(k, v) for k, v in link.evidence.items()}
    fields = {
        "id": link.id,
        "number": link.number,
        "category": link.category,
        "action": link.action,
        "source": link.source,
        "occurred_at": link.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "recorded_at": link.recorded_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": link.actor,
        "evidence_digest": hashlib.sha256(dumps(digests)).hexdigest(),
        "prev_hash": link.prev_hash,
    }
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)  # quotes, \u2028, emoji…
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3)
)
evidence = st.dictionaries(
    st.sampled_from(["text", "note", "body", "sid", "to", "rule", "staff"]) | texts,
    values | st.builds(lambda d: {chain.ERASED: d}, st.text(max_size=64)),
    max_size=6,
)
times = st.datetimes(
    min_value=dt.datetime(1, 1, 1),  # noqa: DTZ001 (naive bounds: timezones come separately)
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))]),
)


@given(
    event_id=st.integers(min_value=1, max_value=2**31),
    number=texts,
    category=texts,
    actor=texts,
    evidence=evidence,
    occurred=times,
    recorded=times,
)
def test_the_event_hash_is_the_json_dumps_one(
    event_id: int,
    number: str,
    category: str,
    actor: str,
    evidence: dict[str, Any],
    occurred: dt.datetime,
    recorded: dt.datetime,
) -> None:
    link = chain.Link(
        id=event_id,
        number=number,
        category=category,
        action="revoke",
        source="sms_keyword",
        occurred_at=occurred,
        recorded_at=recorded,
        actor=actor,
        evidence=evidence,
        prev_hash=chain.GENESIS,
    )
    assert link.computed_hash() == reference_hash(link)
    assert link.canonical() == link.canonical_json_dumps()


def test_a_stored_event_keeps_the_hash_it_was_given() -> None:
    """One event hashed before the direct form existed (json.dumps), byte for byte."""
    at = dt.datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=dt.UTC)
    link = chain.Link(
        id=42,
        number="+12015550123",
        category="marketing",
        action="revoke",
        source="sms_keyword",
        occurred_at=at,
        recorded_at=at,
        actor="+12015550123",
        evidence={"text": 'Stop ✋ "now"', "to": "+12015550100", "opt_out_type": None, "n": 1},
        prev_hash=chain.GENESIS,
    )
    assert link.computed_hash() == reference_hash(link)
