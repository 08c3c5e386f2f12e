"""How fast one worker decides and sends, against RQ's own no-op job rate, in the same run.

    .venv/bin/python bench/worker.py [--messages 1000]

One RQ SimpleWorker drains N delivery jobs (a transaction that claims, a transaction that
locks the number, reads consent and history, decides, hands the message to Twilio and
records the outcome) with Twilio answered by a stub HTTP server on loopback in another
process. Baseline: the same worker class draining N jobs that do nothing. The ratio is
what our work costs per job relative to RQ's own overhead; absolute rates depend on the
machine, the ratio much less. Uses DATABASE_URL / REDIS_URL when set, else a fresh SQLite
file and an embedded Redis.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402

from gateway import outbound  # noqa: E402
from gateway.adapters.keyword_file import load_rules  # noqa: E402
from gateway.adapters.rq_queue import QUEUE, Outbox, connect  # noqa: E402
from gateway.adapters.twilio_sms import TwilioSender  # noqa: E402
from gateway.db import make_engine, session_factory, transaction  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402
from gateway.runtime import utcnow  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from tests.stubs.twilio_http import TwilioStub  # noqa: E402
from workers import runtime  # noqa: E402
from workers.runtime import WorkerRuntime  # noqa: E402


def serve_stub(port_queue: multiprocessing.Queue[str]) -> None:
    with TwilioStub() as stub:
        port_queue.put(stub.url)
        while True:
            time.sleep(3600)


def drain(connection: Redis) -> float:
    started = time.perf_counter()
    SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(
        burst=True, logging_level="WARNING"
    )
    return time.perf_counter() - started


def baseline(connection: Redis, count: int) -> float:
    queue = Queue(QUEUE, connection=connection)
    for _ in range(count):
        queue.enqueue("os.getpid")  # RQ's own cost: fetch, run nothing, record the result
    return count / drain(connection)


def ours(connection: Redis, count: int, database_url: str, stub_url: str) -> float:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    settings = Settings(database_url=database_url, keywords_file=ROOT / "keywords.yml")
    outbox = Outbox(connection)
    sender = TwilioSender(
        "AC" + "3" * 32, "bench", status_callback="http://127.0.0.1/s", api_url=stub_url
    )
    rules = load_rules(settings.keywords_file)
    runtime.install(
        WorkerRuntime(
            settings=settings, rules=rules, sessions=sessions, sender=sender, outbox=outbox
        )
    )
    numbers = [f"+1{area}555{n:04d}" for area in (201, 305, 405) for n in range(101, 200)]
    with transaction(sessions) as session:
        ids = [
            outbound.submit(
                session,
                rules,
                outbound.Request(
                    to=numbers[i % len(numbers)],
                    category="transactional",
                    body=f"Reminder {i}",
                    actor="bench",
                ),
                utcnow(),
            )[0].id
            for i in range(count)
        ]
    for message_id in ids:
        outbox.deliver(message_id, f"deliver-{message_id}")
    return count / drain(connection)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        connection = connect(os.environ.get("REDIS_URL"), Path(tmp))
        connection.flushdb()
        urls: multiprocessing.Queue[str] = multiprocessing.Queue()
        stub = multiprocessing.Process(target=serve_stub, args=(urls,), daemon=True)
        stub.start()
        try:
            stub_url = urls.get(timeout=10)
            noop = baseline(connection, args.messages)
            rate = ours(connection, args.messages, database_url, stub_url)
        finally:
            stub.terminate()
            connection.flushdb()
            if not os.environ.get("REDIS_URL"):
                connection.shutdown(nosave=True)  # the embedded server
        print(f"database: {make_engine(database_url).dialect.name}, jobs: {args.messages}")
        print(f"RQ no-op jobs:            {noop:8.1f} jobs/s")
        print(f"decide + send (deliver):  {rate:8.1f} messages/s")
        print(f"ratio deliver / no-op:    {rate / noop:8.3f}")


if __name__ == "__main__":
    main()
