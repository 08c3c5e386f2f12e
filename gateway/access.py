"""The access log: every read of consent, ledger, messages, inbound texts or exports records
who, what, when and which numbers (HIPAA §164.312(b)); per number, the accounting of
disclosures. Takes the caller's session, never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from gateway.models import AccessLog, AccessNumber

MAX_NUMBERS = 500  # a page at most; larger reads are recorded as touching all numbers


@dataclass(frozen=True)
class Access:
    actor: str
    role: str
    action: str
    request_id: str
    numbers: tuple[str, ...] = ()
    all_numbers: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


def record(session: Session, access: Access, now: dt.datetime) -> AccessLog:
    numbers = sorted(set(access.numbers))
    everything = access.all_numbers or len(numbers) > MAX_NUMBERS
    row = AccessLog(
        at=now,
        actor=access.actor,
        role=access.role,
        action=access.action,
        request_id=access.request_id,
        all_numbers=everything,
        detail=access.detail,
    )
    session.add(row)
    session.flush()
    if not everything:
        session.add_all(AccessNumber(access_id=row.id, number=n) for n in numbers)
        session.flush()
    return row


def numbers_of(access_id: int, session: Session) -> list[str]:
    query = select(AccessNumber.number).where(AccessNumber.access_id == access_id)
    return list(session.execute(query).scalars())


def query(
    *,
    actor: str | None = None,
    action: str | None = None,
    number: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after: int | None = None,
) -> Select[AccessLog]:
    """Newest first. For a number: the accesses that named it, and those that read all."""
    stmt = select(AccessLog).order_by(AccessLog.id.desc())
    if actor:
        stmt = stmt.where(AccessLog.actor == actor)
    if action:
        stmt = stmt.where(AccessLog.action == action)
    if number:
        named = select(AccessNumber.access_id).where(AccessNumber.number == number)
        stmt = stmt.where(or_(AccessLog.id.in_(named), AccessLog.all_numbers.is_(True)))
    if since:
        stmt = stmt.where(AccessLog.at >= since)
    if until:
        stmt = stmt.where(AccessLog.at < until)
    if after is not None:
        stmt = stmt.where(AccessLog.id < after)
    return stmt


def as_json(session: Session, row: AccessLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "request_id": row.request_id,
        "numbers": "all" if row.all_numbers else numbers_of(row.id, session),
        "detail": row.detail,
    }


def numbers_in(items: Iterable[dict[str, Any]], *keys: str) -> list[str]:
    return [item[k] for item in items for k in keys if isinstance(item.get(k), str)]
