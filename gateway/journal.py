"""The inbound journal: when the database is down, a text is appended here (fsync'd) and
replayed into the ledger when it is back (SPEC §9). One JSON object per line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.db import transaction
from gateway.inbound import Inbound, store_if_new
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

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


def replay_pending(runtime: Runtime) -> int:
    """Replay into the ledger whatever is journaled; each text is applied once (MessageSid)."""
    if not pending(runtime.settings.journal_dir):
        return 0

    def apply(message: Inbound) -> None:
        with transaction(runtime.sessions) as session:
            store_if_new(
                session, runtime.rules, message, runtime.clock(), runtime.settings.default_region
            )

    return replay(runtime.settings.journal_dir, apply)


def watch(runtime: Runtime, every: float = 5.0) -> threading.Thread:
    """A web process's own replayer: a STOP journaled during an outage is applied within
    seconds of the database answering again, whether or not another text arrives."""

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                if count := replay_pending(runtime):
                    log.warning("replayed %d journaled inbound texts", count)
            except Exception:  # still down: the journal stays, try again next round
                log.warning("journal replay failed; retrying in %.0f s", every)

    thread = threading.Thread(target=loop, name="journal-replay", daemon=True)
    thread.start()
    return thread
