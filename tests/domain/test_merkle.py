"""A seal's Merkle root: RFC 6962's tree hash, so anyone can recompute it with the RFC."""

from __future__ import annotations

import hashlib

import pytest

from gateway.domain.chain import merkle_root


def rfc6962(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 §2.1 writes it: split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962(leaves[:k]) + rfc6962(leaves[k:])).digest()


def hashes(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("n", [*range(0, 18), 31, 32, 33, 100])
def test_the_root_is_rfc_6962s_tree_hash(n: int) -> None:
    leaves = hashes(n)
    assert merkle_root(leaves) == rfc6962([bytes.fromhex(h) for h in leaves]).hex()


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h[:3] + h[4:],  # one deleted
        lambda h: [*h[:3], h[4], h[3], *h[5:]],  # two swapped
        lambda h: [*h[:3], hashlib.sha256(b"x").hexdigest(), *h[3:]],  # one inserted
    ],
)
def test_a_deleted_swapped_or_inserted_hash_changes_the_root(change) -> None:
    leaves = hashes(7)
    assert merkle_root(change(leaves)) != merkle_root(leaves)
