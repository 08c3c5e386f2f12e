"""The ledger's hash chain: canonical form, hash, verification (SPEC §4, §7).

Each event's hash covers its fields, the digest of its evidence and the previous event's
hash. The evidence itself is covered through its digest, so a patient's erasure can replace
the evidence text with a marker that keeps the digest, and the chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
ERASED = "erased"  # an erased evidence field becomes {"erased": <the field's digest>}
ERASABLE = frozenset({"text", "body", "note"})  # free text a patient may have erasure rights to


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _is_marker(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ERASED}


def field_digest(key: str, value: Any) -> str:
    """A field's digest; an erasure marker stands for it only where erasure is allowed, so a
    marker on any other field (a disclosure, a form id) is tampering and fails the chain."""
    if key in ERASABLE and _is_marker(value):
        return str(value[ERASED])
    return hashlib.sha256(_canonical_json(value)).hexdigest()


def has_erasure_marker(evidence: Mapping[str, Any]) -> bool:
    return any(_is_marker(value) for value in evidence.values())


def evidence_digest(evidence: Mapping[str, Any]) -> str:
    """A digest over each field's own digest, so one field can be erased (replaced by its
    digest) while the rest of the evidence, and the chain, still verify."""
    return hashlib.sha256(
        _canonical_json({k: field_digest(k, v) for k, v in evidence.items()})
    ).hexdigest()


def erase_text(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence with its free-text fields replaced by their digests: same evidence_digest."""
    return {
        key: {ERASED: field_digest(key, value)} if key in ERASABLE and value is not None else value
        for key, value in evidence.items()
    }


@dataclass(frozen=True)
class Link:
    """What the chain covers of one event."""

    id: int
    number: str
    category: str
    action: str
    source: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    evidence: Mapping[str, Any]
    prev_hash: str
    hash: str = ""

    def canonical(self) -> bytes:
        fields = {
            "id": self.id,
            "number": self.number,
            "category": self.category,
            "action": self.action,
            "source": self.source,
            "occurred_at": iso(self.occurred_at),
            "recorded_at": iso(self.recorded_at),
            "actor": self.actor,
            "evidence_digest": evidence_digest(self.evidence),
            "prev_hash": self.prev_hash,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    count: int  # events verified, from the first, before any bad one
    head: str  # the hash of the last verified event (GENESIS when none was)
    first_bad_id: int | None
    reason: str | None = None
    on_file: int | None = None  # events stored, verified or not (the ledger counts them)

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None

    @property
    def summary(self) -> str:
        """One plain line: a failure never reads like an empty ledger (0 events, zero head)."""
        if self.ok:
            return f"OK: {self.count} event{'' if self.count == 1 else 's'} verified"
        return f"FAILED at event {self.first_bad_id}: {self.reason}"


def verify(links: Iterable[Link]) -> Verdict:
    """Walk the chain in id order; name the first event whose link or hash does not hold.

    An edited field changes the event's hash; a deleted or inserted row breaks the next
    event's prev_hash; reordered ids break both, since the id is inside the hash.
    """
    prev, count = GENESIS, 0
    for link in links:
        if link.id != count + 1:
            return Verdict(count, prev, link.id, f"expected event {count + 1} here")
        if link.prev_hash != prev:
            return Verdict(count, prev, link.id, "previous hash does not match")
        if link.computed_hash() != link.hash:
            return Verdict(count, prev, link.id, "event hash does not match its content")
        prev, count = link.hash, count + 1
    return Verdict(count, prev, None)
