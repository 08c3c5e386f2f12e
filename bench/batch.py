"""A marketing-sized blast: how fast the batch API accepts it, and how fast 1, 2 and 4
workers drain it, in the same run.

    .venv/bin/python bench/batch.py [--messages 10000] [--workers 1,2,4]

Acceptance goes through the whole app (token, JSON, the declared body, numbers parsed, one
transaction per batch of 1,000, one Redis round trip) with Flask's test client; its baseline
is the same messages sent one request each to POST /api/v1/messages. Each drain is the same
blast, accepted again and drained by N worker processes (smsgate's RQ worker class, burst) with
Twilio answered by a stub on loopback. Absolute rates depend on the machine; the ratios much
less. Uses DATABASE_URL / REDIS_URL when set (use PostgreSQL for more than one worker:
SQLite takes one writer at a time), else a fresh SQLite file and an embedded Redis.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from gateway import services  # noqa: E402
from gateway.adapters.keyword_file import load_rules  # noqa: E402
from gateway.adapters.rq_queue import QUEUE, Outbox, connect, embedded_url  # noqa: E402
from gateway.adapters.twilio_sms import TwilioSender  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.db import make_engine, session_factory, transaction  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402
from gateway.models import OutboundMessage, SendAttempt  # noqa: E402
from gateway.runtime import Runtime, utcnow  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from tests.stubs.twilio_http import TwilioStub  # noqa: E402
from workers import runtime as worker_runtime  # noqa: E402
from workers.__main__ import Worker  # noqa: E402
from workers.runtime import WorkerRuntime  # noqa: E402

BATCH = 1000
NUMBERS = [f"+1{area}555{n:04d}" for area in (201, 305, 405, 206) for n in range(101, 200)]


def serve_stub(port_queue: multiprocessing.Queue[str]) -> None:
    with TwilioStub() as stub:
        port_queue.put(stub.url)
        while True:
            time.sleep(3600)


def blast(count: int, tag: str) -> list[dict[str, Any]]:
    return [
        {"to": NUMBERS[i % len(NUMBERS)], "category": "transactional", "body": f"{tag} {i}"}
        for i in range(count)
    ]


def accept(client: Any, headers: dict[str, str], messages: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for start in range(0, len(messages), BATCH):
        answer = client.post(
            "/api/v1/messages/batch",
            headers=headers,
            json={"messages": messages[start : start + BATCH]},
        )
        assert answer.status_code == 202, answer.get_json()
    return len(messages) / (time.perf_counter() - started)


def one_by_one(client: Any, headers: dict[str, str], messages: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for message in messages:
        assert client.post("/api/v1/messages", headers=headers, json=message).status_code == 202
    return len(messages) / (time.perf_counter() - started)


def work(database_url: str, redis_url: str, stub_url: str, start: Any) -> None:
    """One worker process: the worker's runtime, then drain until the queue is empty."""
    settings = Settings(database_url=database_url, keywords_file=ROOT / "keywords.yml")
    engine = make_engine(database_url)
    connection = Redis.from_url(redis_url)
    sender = TwilioSender(
        "AC" + "3" * 32, "bench", status_callback="http://127.0.0.1/s", api_url=stub_url
    )
    worker_runtime.install(
        WorkerRuntime(
            settings=settings,
            rules=load_rules(settings.keywords_file),
            sessions=session_factory(engine),
            sender=sender,
            outbox=Outbox(connection),
        )
    )
    start.wait()  # a barrier: every worker ready, and the clock
    Worker([Queue(QUEUE, connection=connection)], connection=connection).work(
        burst=True, logging_level="WARNING"
    )


def drain(workers: int, count: int, database_url: str, redis_url: str, stub_url: str) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers + 1)
    processes = [
        context.Process(target=work, args=(database_url, redis_url, stub_url, start))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait()  # every worker has imported and connected before the clock starts
    started = time.perf_counter()
    for process in processes:
        process.join()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        connection = connect(os.environ.get("REDIS_URL"), Path(tmp))
        redis_url = os.environ.get("REDIS_URL") or embedded_url(connection) or ""
        connection.flushdb()
        engine = make_engine(database_url)
        upgrade(engine)
        settings = Settings(
            database_url=database_url, redis_url=redis_url, keywords_file=ROOT / "keywords.yml"
        )
        rt = Runtime(
            settings=settings,
            rules=load_rules(settings.keywords_file),
            engine=engine,
            sessions=session_factory(engine),
            queue=Outbox(connection),
        )
        with transaction(rt.sessions) as session:
            token = services.create_token(
                session, name=f"bench-{time.time_ns()}", role="front_desk", now=utcnow()
            )
        client = create_app(settings, rt).test_client()
        headers = {"Authorization": f"Bearer {token}"}
        urls: multiprocessing.Queue[str] = multiprocessing.Queue()
        stub = multiprocessing.Process(target=serve_stub, args=(urls,), daemon=True)
        stub.start()
        try:
            stub_url = urls.get(timeout=10)
            single = one_by_one(client, headers, blast(min(args.messages, 1000), "single"))
            connection.flushdb()
            drained = {}
            accepted = []
            for workers in counts:
                with transaction(rt.sessions) as session:  # each run starts from no history
                    session.execute(delete(SendAttempt))
                    session.execute(delete(OutboundMessage))
                accepted.append(accept(client, headers, blast(args.messages, f"w{workers}")))
                drained[workers] = drain(workers, args.messages, database_url, redis_url, stub_url)
        finally:
            stub.terminate()
            connection.flushdb()
            if not os.environ.get("REDIS_URL"):
                connection.shutdown(nosave=True)  # the embedded server
        batch = sorted(accepted)[len(accepted) // 2]
        print(f"database: {engine.dialect.name}, blast: {args.messages} messages")
        print(f"accepted one request each:   {single:9.1f} messages/s")
        print(f"accepted in batches of {BATCH}: {batch:9.1f} messages/s")
        print(f"ratio batch / one each:      {batch / single:9.1f}")
        for workers, rate in drained.items():
            ratio = rate / drained[counts[0]]
            print(f"drained by {workers} worker(s):     {rate:9.1f} messages/s  ×{ratio:.2f}")


if __name__ == "__main__":
    main()
