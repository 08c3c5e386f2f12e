"""The ledger's hash chains and seals: canonical form, hash, Merkle root, verification
(SPEC §4, §7).

Each event's hash covers its fields, the digest of its evidence and the previous event's
hash: since the switch to per-number chains, the previous event OF THE SAME NUMBER (before
it, of the whole ledger: the old global chain). The evidence itself is covered through its
digest, so a patient's erasure can replace the evidence text with a marker that keeps the
digest, and the chain still verifies.

A seal covers the events with ids in (previous seal's last id, its last id]: their count,
the Merkle root of their hashes in id order (RFC 6962's tree hash, as Certificate
Transparency logs use) and the previous seal's hash. A seal's hash published outside the
database proves every event up to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

GENESIS = "0" * 64
ERASED = "erased"  # an erased evidence field becomes {"erased": <the field's digest>}
ERASABLE = frozenset({"text", "body", "note"})  # free text a patient may have erasure rights to


def iso(t: dt.datetime) -> str:
    """UTC, to the microsecond, with a Z: 2026-12-05T12:30:15.000000Z."""
    utc = t if t.tzinfo is dt.UTC else t.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime's %Y does not pad such years; keep its bytes
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# json.dumps of one string, with ensure_ascii (the event's fields) and without (evidence):
# json's own C encoders, so the bytes are json.dumps's.
_ascii: Callable[[str], str] = encode_basestring_ascii
_text: Callable[[str], str] = encode_basestring


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _scalar_json(value: Any) -> str | None:
    """`_canonical_json` of a string, None, bool or int, written directly (the same bytes,
    a few times faster); None for anything else, which goes through json.dumps."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return None


NULL_DIGEST = '"' + hashlib.sha256(b"null").hexdigest() + '"'


def _is_marker(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ERASED}


def field_digest(key: str, value: Any) -> str:
    """A field's digest; an erasure marker stands for it only where erasure is allowed, so a
    marker on any other field (a disclosure, a form id) is tampering and fails the chain."""
    if key in ERASABLE and _is_marker(value):
        return str(value[ERASED])
    written = _scalar_json(value)
    data = _canonical_json(value) if written is None else written.encode()
    return hashlib.sha256(data).hexdigest()


def has_erasure_marker(evidence: Mapping[str, Any]) -> bool:
    return any(_is_marker(value) for value in evidence.values())


def evidence_digest(evidence: Mapping[str, Any]) -> str:
    """A digest over each field's own digest, so one field can be erased (replaced by its
    digest) while the rest of the evidence, and the chain, still verify."""
    # `_canonical_json` of {key: field_digest}, written directly: the same bytes (keys
    # sorted, no spaces), without json.dumps's generality; the usual fields (text, null)
    # inline. tests/test_chain_canonical.py holds it to the json.dumps form.
    parts = []
    for key in sorted(evidence):
        if type(key) is not str:
            digests = {k: field_digest(k, v) for k, v in evidence.items()}
            return hashlib.sha256(_canonical_json(digests)).hexdigest()
        value = evidence[key]
        if type(value) is str:
            digest = '"' + hashlib.sha256(_text(value).encode()).hexdigest() + '"'
        elif value is None:
            digest = NULL_DIGEST
        else:  # an erasure marker's digest is as stored: escaped like any text
            digest = _text(field_digest(key, value))
        parts.append(f"{_text(key)}:{digest}")
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()


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
        """json.dumps of the fields, keys sorted, no spaces, ASCII: written directly (the same
        bytes, see `canonical_json_dumps`, which it is tested against)."""
        if type(self.id) is not int:
            return self.canonical_json_dumps()
        try:
            text = (
                f'{{"action":{_ascii(self.action)},"actor":{_ascii(self.actor)},'
                f'"category":{_ascii(self.category)},'
                f'"evidence_digest":"{evidence_digest(self.evidence)}","id":{int.__repr__(self.id)},'
                f'"number":{_ascii(self.number)},"occurred_at":"{iso(self.occurred_at)}",'
                f'"prev_hash":{_ascii(self.prev_hash)},"recorded_at":"{iso(self.recorded_at)}",'
                f'"source":{_ascii(self.source)}}}'
            )
        except TypeError:  # a field that is not a string (None): json.dumps's own form
            return self.canonical_json_dumps()
        return text.encode()

    def canonical_json_dumps(self) -> bytes:
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
    unsealed: int = 0  # verified events no seal covers yet (their number's chain does)
    seal: str | None = None  # the last seal's hash: compare it with the one published

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None

    @property
    def summary(self) -> str:
        """One plain line: a failure never reads like an empty ledger (0 events, zero head)."""
        if self.ok:
            said = f"OK: {self.count} event{'' if self.count == 1 else 's'} verified"
            return f"{said} ({self.unsealed} not sealed yet)" if self.unsealed else said
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


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(hashes: Iterable[str]) -> str:
    """RFC 6962 §2.1's tree hash over the events' hashes in id order, in O(log n) memory:
    equal-sized subtrees merge as they complete, the rest fold from the right at the end."""
    stack: list[tuple[int, bytes]] = []
    for leaf in hashes:
        size, node = 1, hashlib.sha256(b"\x00" + bytes.fromhex(leaf)).digest()
        while stack and stack[-1][0] == size:
            size, node = size * 2, _node(stack.pop()[1], node)
        stack.append((size, node))
    if not stack:
        return hashlib.sha256(b"").hexdigest()
    node = stack.pop()[1]
    while stack:
        node = _node(stack.pop()[1], node)
    return node.hex()


@dataclass(frozen=True)
class Seal:
    """What a seal covers: ids in (after_id, last_id], their count and Merkle root."""

    id: int
    after_id: int
    last_id: int
    count: int
    root: str
    sealed_at: dt.datetime
    prev_hash: str
    hash: str = ""

    def computed_hash(self) -> str:
        fields = {
            "id": self.id,
            "after_id": self.after_id,
            "last_id": self.last_id,
            "count": self.count,
            "root": self.root,
            "sealed_at": iso(self.sealed_at),
            "prev_hash": self.prev_hash,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where verification failed: the event named, or (gone) the missing one."""

    id: int
    reason: str
    gone: bool = False  # `id` names an event no longer on file: the first one after it is named


def number_breaks(
    rows: Iterable[tuple[Link, int | None, str | None]], switch: int
) -> Iterator[Break]:
    """Each number's first break. `rows` are (event, its number's head id and hash) sorted by
    number, then id. Events after the switch link to their number's previous event (GENESIS
    for its first); events up to it are the old global chain's, checked by `verify`, and only
    hand on their hash. The last event must be the one the number's head names."""
    for _, group in itertools.groupby(rows, key=lambda row: row[0].number):
        if (found := _number_break(group, switch)) is not None:
            yield found


def _number_break(
    group: Iterable[tuple[Link, int | None, str | None]], switch: int
) -> Break | None:
    prev, last = GENESIS, None
    head: tuple[int | None, str | None] = (None, None)
    for link, head_id, head_hash in group:
        if link.id > switch and link.prev_hash != prev:
            return Break(link.id, "previous hash does not match (this number's previous event)")
        if link.id > switch and link.computed_hash() != link.hash:
            return Break(link.id, "event hash does not match its content")
        prev, last, head = link.hash, link, (head_id, head_hash)
    assert last is not None
    head_id, head_hash = head
    if head_id is not None and head_id > last.id:
        return Break(head_id, f"expected event {head_id} here", gone=True)
    if (head_id, head_hash) != (last.id, last.hash):
        return Break(last.id, "the number's head does not name this event, its latest")
    return None
