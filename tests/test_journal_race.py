"""The journal is moved aside while a text is being appended: the text is never lost."""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
import time
from pathlib import Path

from gateway import journal
from gateway.inbound import Inbound
from tests.conftest import CLINIC, PATIENT

AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def stop(sid: str) -> Inbound:
    return Inbound(sid=sid, from_number=PATIENT, to_number=CLINIC, body="STOP")


def test_a_text_appended_while_the_journal_is_moved_aside_lands_in_the_new_one(
    tmp_path: Path,
) -> None:
    journal.append(tmp_path, stop("SM1"), AT)
    path = tmp_path / journal.FILE
    with open(path, "a", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the replayer, about to move it aside
        writer = threading.Thread(target=journal.append, args=(tmp_path, stop("SM2"), AT))
        writer.start()
        time.sleep(0.2)  # the writer has opened the old journal and waits for the lock
        assert writer.is_alive()
        path.rename(tmp_path / "replaying-1.jsonl")
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert "SM2" not in (tmp_path / "replaying-1.jsonl").read_text()
    assert "SM2" in path.read_text()  # the new journal, for the next round


def test_every_text_appended_during_replays_is_replayed_once(tmp_path: Path) -> None:
    seen: list[str] = []
    done = threading.Event()

    def keep_replaying() -> None:
        while not done.is_set():
            journal.replay(tmp_path, lambda m: seen.append(m.sid))
        journal.replay(tmp_path, lambda m: seen.append(m.sid))

    replayer = threading.Thread(target=keep_replaying)
    replayer.start()
    sids = [f"SM{i:032d}" for i in range(300)]
    for sid in sids:
        journal.append(tmp_path, stop(sid), AT)
    done.set()
    replayer.join(timeout=30)
    assert sorted(seen) == sorted(sids)
