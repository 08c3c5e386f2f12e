"""The inbound journal: when the database is down, a text is appended here (fsync'd) and
replayed into the ledger when it is back (SPEC §9). One JSON object per line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.db import bound_lock_waits, lock_timed_out, transaction
from gateway.inbound import Inbound, store_if_new
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

FILE = "inbound.jsonl"
REPLAYING = "replaying-*.jsonl"
LOCK = ".replay.lock"
REJECTED = "rejected.jsonl"
# A replayed text waits this long for its number's lock, then waits for the next round.
REPLAY_LOCK_TIMEOUT = dt.timedelta(seconds=5)


def append(folder: Path, message: Inbound, received_at: dt.datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(message), "received_at": received_at.isoformat()}
    line = json.dumps(record) + "\n"
    path = folder / FILE
    while True:
        with open(path, "a", encoding="utf-8") as journal:
            # The replayer moves the journal aside under this same lock: a line is written
            # into the journal as it is now, never into one already read and about to go.
            fcntl.flock(journal, fcntl.LOCK_EX)
            if not _still(path, journal.fileno()):
                continue  # moved aside between our open and our lock: open the new one
            journal.write(line)
            journal.flush()
            os.fsync(journal.fileno())
            _journaled.set()
            return


def _still(path: Path, fd: int) -> bool:
    """Is the file open on `fd` still the one at `path`?"""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def pending(folder: Path) -> bool:
    return (folder / FILE).exists() or any(folder.glob(REPLAYING))


def replay(folder: Path, handle: Callable[[Inbound], None]) -> int:
    """Feed every journaled text to `handle` (idempotent on MessageSid), then drop it. The
    journal is moved aside first, so texts arriving meanwhile start a new one; a crash midway
    leaves the moved file, which the next replay takes up again.

    One replayer per folder at a time (every web process on the host shares it): a folder
    being replayed is skipped, not waited for. A text whose number stays locked past the
    bound is kept for the next round, with every later text from that number (their order
    is the patient's); any other error ends the round, keeping what was not applied."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another replayer has it now
        path = folder / FILE
        if path.exists():
            with open(path, "a", encoding="utf-8") as journal:
                fcntl.flock(journal, fcntl.LOCK_EX)  # no append is halfway (see append)
                aside = folder / f"replaying-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}.jsonl"
                path.rename(aside)
        held: set[str] = set()  # numbers whose lock ran out this round, across the files
        return sum(_replay_file(p, handle, held) for p in sorted(folder.glob(REPLAYING)))


def _replay_file(path: Path, handle: Callable[[Inbound], None], held: set[str]) -> int:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept: list[str] = []
    count = 0
    try:
        for index, line in enumerate(lines):
            message = _parsed(path.parent, line)
            if message is None:
                continue
            if message.from_number in held:
                kept.append(line)
                continue
            try:
                handle(message)
            except Exception as exc:
                if not lock_timed_out(exc):
                    kept.extend(lines[index:])
                    raise
                held.add(message.from_number)
                kept.append(line)
                continue
            count += 1
    finally:
        _keep(path, kept, len(lines))
    if kept:
        log.warning("journal: %d texts wait for their numbers' locks; next round", len(kept))
    return count


def _parsed(folder: Path, line: str) -> Inbound | None:
    """A line cut short (a crash while it was written) is set aside, not retried forever."""
    try:
        return _message(json.loads(line))
    except (ValueError, TypeError):
        with open(folder / REJECTED, "a", encoding="utf-8") as rejected:
            rejected.write(line + "\n")
        log.error("journal: an unreadable line was set aside in %s", REJECTED)
        return None


def _keep(path: Path, lines: list[str], total: int) -> None:
    """What is left of a replaying file, written whole or not at all (fsync'd, renamed)."""
    if not lines:
        path.unlink()
        return
    if len(lines) == total:
        return  # nothing was taken out
    partial = path.with_suffix(".tmp")
    with open(partial, "w", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def _message(record: dict[str, Any]) -> Inbound:
    received = record.pop("received_at", None)
    return Inbound(**record, received_at=dt.datetime.fromisoformat(received) if received else None)


def replay_pending(runtime: Runtime) -> int:
    """Replay into the ledger whatever is journaled; each text is applied once (MessageSid).
    Each waits at most REPLAY_LOCK_TIMEOUT for its number's lock."""
    if not pending(runtime.settings.journal_dir):
        return 0

    def apply(message: Inbound) -> None:
        with transaction(runtime.sessions) as session:
            bound_lock_waits(session, REPLAY_LOCK_TIMEOUT)
            store_if_new(
                session, runtime.rules, message, runtime.clock(), runtime.settings.default_region
            )

    return replay(runtime.settings.journal_dir, apply)


class Replayer:
    """A web process's own replayer, a thread beside the requests: a STOP journaled during an
    outage (or behind a lock) is applied within seconds of the database answering, whether
    or not another text arrives. A webhook only wakes it; no answer to Twilio waits on it."""

    def __init__(self, runtime: Runtime, every: float) -> None:
        self.runtime, self.every = runtime, every
        self._wake, self._stop = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._loop, name="journal-replay", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if not self._stop.is_set():
                self.run_once()

    def run_once(self) -> int:
        _journaled.clear()  # what is journaled from now on wakes the replayer again
        try:
            count = replay_pending(self.runtime)
        except Exception as exc:  # still down: the journal stays, try again next round
            log.warning("journal replay failed (%s); retrying", type(exc).__name__)
            return 0
        if count:
            log.warning("replayed %d journaled inbound texts", count)
        return count

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout)
        _replayers.pop(_key(self.runtime), None)


_replayers: dict[Path, Replayer] = {}  # this process's, by journal folder
_journaled = threading.Event()  # this process journaled a text since its replayer last looked


def _key(runtime: Runtime) -> Path:
    return runtime.settings.journal_dir.resolve()


def watch(runtime: Runtime, every: float = 5.0) -> Replayer:
    """Start this process's replayer for the runtime's journal."""
    replayer = Replayer(runtime, every)
    _replayers[_key(runtime)] = replayer
    replayer.thread.start()
    return replayer


def wake(runtime: Runtime) -> None:
    """The database answered a webhook: if this process journaled a text since its replayer
    last looked, have it look now. Costs a webhook nothing otherwise (no file is looked at):
    another process's journal is found by the replayer's own round every few seconds.
    Never waits; without a replayer, `smsgate inbound replay` does it."""
    if not _journaled.is_set():
        return
    replayer = _replayers.get(_key(runtime))
    if replayer is not None:
        replayer.wake()
