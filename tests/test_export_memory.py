"""Exports stream in constant memory: 200,000 events cost no more than 20,000 (SPEC §7)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, update

from gateway.db import transaction
from gateway.domain import chain
from gateway.models import ConsentEventRow, LedgerHead
from gateway.runtime import Runtime

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def seed(runtime: Runtime, count: int) -> None:
    """A valid chain of `count` events, inserted in bulk (appending one by one takes minutes)."""
    prev, batch = chain.GENESIS, []
    with transaction(runtime.sessions) as session:
        for i in range(1, count + 1):
            at = T0 + dt.timedelta(seconds=i)
            link = chain.Link(
                id=i,
                number=f"+1201555{100 + i % 100:04d}",
                category="marketing",
                action="revoke" if i % 3 else "grant",
                source="import",
                occurred_at=at,
                recorded_at=at,
                actor="seed",
                evidence={"note": f"row {i}"},
                prev_hash=prev,
            )
            prev = link.computed_hash()
            batch.append({**vars(link), "hash": prev})
            if len(batch) == 5000:
                session.execute(insert(ConsentEventRow), batch)
                batch = []
        if batch:
            session.execute(insert(ConsentEventRow), batch)
        session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=count, hash=prev))


def export_peak(client: FlaskClient, headers: dict[str, str]) -> tuple[int, int, str]:
    """Peak Python memory while streaming the export, the rows seen, and the first chunk."""
    tracemalloc.start()
    try:
        response = client.get("/api/v1/ledger/export?format=csv", headers=headers, buffered=False)
        rows, first = 0, ""
        for chunk in response.response:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            first = first or text
            rows += text.count("\r\n")
        response.close()
        return tracemalloc.get_traced_memory()[1], rows - 1, first
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("small, large", [(20_000, 200_000)])
def test_export_memory_does_not_grow_with_the_ledger(
    runtime: Runtime, client: FlaskClient, auth, small: int, large: int
) -> None:
    seed(runtime, small)
    small_peak, small_rows, _ = export_peak(client, auth("auditor"))
    with transaction(runtime.sessions) as session:
        session.execute(ConsentEventRow.__table__.delete())
    seed(runtime, large)
    large_peak, large_rows, first = export_peak(client, auth("auditor"))
    assert (small_rows, large_rows) == (small, large)
    assert next(csv.reader(io.StringIO(first)))[0] == "id"
    # Ten times the rows; the peak may wobble with allocator noise, not grow with the count.
    mb = 1e6
    print(
        f"\nexport peak: {small} rows {small_peak / mb:.2f} MB, {large}: {large_peak / mb:.2f} MB"
    )
    assert large_peak < small_peak * 1.5 + 2_000_000, (small_peak, large_peak)
