"""The inbound journal: when the database is down, a text is appended here (fsync'd) and
replayed into the ledger when it is back (SPEC §9). One JSON object per line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.inbound import Inbound

FILE = "inbound.jsonl"


def append(folder: Path, message: Inbound, received_at: dt.datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(message), "received_at": received_at.isoformat()}
    line = json.dumps(record) + "\n"
    with open(folder / FILE, "a", encoding="utf-8") as journal:
        journal.write(line)
        journal.flush()
        os.fsync(journal.fileno())


def pending(folder: Path) -> bool:
    return (folder / FILE).exists() or any(folder.glob("replaying-*.jsonl"))


def replay(folder: Path, handle: Callable[[Inbound], None]) -> int:
    """Feed every journaled text to `handle` (idempotent on MessageSid), then drop it. The
    journal is moved aside first, so texts arriving meanwhile start a new one; a crash midway
    leaves the moved file, which the next replay takes up again."""
    path = folder / FILE
    if path.exists():
        path.rename(folder / f"replaying-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}.jsonl")
    count = 0
    for pending in sorted(folder.glob("replaying-*.jsonl")):
        for line in pending.read_text(encoding="utf-8").splitlines():
            if line.strip():
                handle(_message(json.loads(line)))
                count += 1
        pending.unlink()
    return count


def _message(record: dict[str, Any]) -> Inbound:
    received = record.pop("received_at", None)
    return Inbound(**record, received_at=dt.datetime.fromisoformat(received) if received else None)
