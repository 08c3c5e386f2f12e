"""One self-contained document an auditor can file: why this message was or was not sent.

It carries the message, its decision, and the consent events in force at decided_at, each
with its canonical form and hash, so anyone can recompute sha256(canonical) == hash and
follow prev_hash back along the number's chain to its head, and check the ledger's seals
(`smsgate ledger verify`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from gateway import ledger
from gateway.domain.chain import iso
from gateway.domain.consent import state_as_of
from gateway.exports import event_record
from gateway.models import ConsentEventRow, OutboundMessage


def _proved(row: ConsentEventRow) -> dict[str, Any]:
    return {**event_record(row), "canonical": ledger.to_link(row).canonical().decode()}


def document(
    session: Session, msg: OutboundMessage, message: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    at = msg.decided_at
    in_force = state_as_of(ledger.history(session, msg.to_number), at) if at else {}
    rows = {e.id: session.get(ConsentEventRow, e.id) for e in in_force.values()}
    decisive = session.get(ConsentEventRow, msg.consent_event_id) if msg.consent_event_id else None
    head = ledger.number_head(session, msg.to_number)
    sealed = ledger.last_seal(session)
    return {
        "kind": "smsgate.message_proof",
        "version": 1,
        "generated_at": iso(now),
        "message": message,
        "decision": message["decision"],
        "consent_at_decision": {
            "at": iso(at) if at else None,
            "category": msg.category,
            "events_in_force": {
                e.category: _proved(row) for e in in_force.values() if (row := rows[e.id])
            },
        },
        "decisive_event": _proved(decisive) if decisive else None,
        "chain": {
            "head_id": head[0],
            "head_hash": head[1],
            "hash": "sha256 over canonical; canonical names prev_hash, the number's previous event",
            "seal": sealed.hash if sealed else None,
        },
    }
