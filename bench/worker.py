"""What smsgate's worker costs over the Twilio call it makes: the Procfile's worker against an
RQ job making the same SDK call to the same stub, then 1, 2 and 4 workers, in one
interleaved run.

    DATABASE_URL=postgresql://… REDIS_URL=redis://… .venv/bin/python bench/worker.py \
        [--messages 300] [--runs 3]

Twilio is answered by the loopback stub tests/stubs/twilio_http.py (TWILIO_API_URL). Each
run stores --messages transactional messages to distinct fictional numbers, starts the
workers, waits until they are registered, enqueues the deliveries and times the stub's
arrivals, first to last: smsgate's are the Procfile's `smsgate worker` processes (claim,
lock the number, decide at send time, send, record: SPEC §6); the baseline is a plain RQ
SimpleWorker (`rq worker`) running bench/rq_baseline.py's job, the same
`client.messages.create` and nothing else. RQ's no-op job rate is printed too (RQ's own
cost), and the RQ job's own 2-vs-1 scaling: what the machine allows a worker doing nothing
but the call (on a small machine the workers, PostgreSQL, Redis and the stub share its
cores). Runs alternate; medians are printed: messages/s, the ratio to the baseline, the
workers' CPU per message (/proc), 2-vs-1 and 4-vs-1 scaling, and the SQL statements per
message counted on the wire in a last untimed pass (bench/pgwire.py). DATABASE_URL gets a
fresh schema, dropped at the end (without it a SQLite file, with a warning); REDIS_URL's
database is emptied (without it an embedded Redis).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.pgwire import StatementCounter  # noqa: E402
from bench.procs import Process, fictional_numbers, fresh_database, procfile  # noqa: E402
from gateway import outbound  # noqa: E402
from gateway.adapters.keyword_file import load_rules  # noqa: E402
from gateway.adapters.rq_queue import QUEUE, Outbox, connect, embedded_url  # noqa: E402
from gateway.db import make_engine, session_factory, transaction  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402
from gateway.runtime import utcnow  # noqa: E402
from tests.stubs.twilio_http import TwilioStub  # noqa: E402

ACCOUNT, TOKEN = "AC" + "3" * 32, "bench-token"
CALLBACK = "https://gateway.bench.test/twilio/status"
CLINIC = "+12015550100"
BASELINE_QUEUE = "bench-baseline"
RQ_WORKER = "rq worker --url {} -w rq.worker.SimpleWorker " + BASELINE_QUEUE
WAIT = 120.0  # the longest a run may take: past it the bench stops with what it has


class Bench:
    def __init__(self, database_url: str, redis: Redis, redis_url: str, folder: Path) -> None:
        self.database_url = database_url
        self.redis = redis
        self.redis_url = redis_url
        self.folder = folder
        self.engine: Engine = make_engine(database_url)
        upgrade(self.engine)
        self.sessions = session_factory(self.engine)
        self.rules = load_rules(ROOT / "keywords.yml")
        self.numbers = fictional_numbers()
        self.stub = TwilioStub().__enter__()
        self.logs = 0

    def close(self) -> None:
        self.stub.__exit__(None, None, None)
        self.engine.dispose()

    def env(self, database_url: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env.update(
            DATABASE_URL=database_url or self.database_url,
            REDIS_URL=self.redis_url,
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_API_URL=self.stub.url,
            STATUS_CALLBACK=CALLBACK,
            PUBLIC_BASE_URL=CALLBACK.removesuffix("/twilio/status"),
            KEYWORDS_FILE=str(ROOT / "keywords.yml"),
            JOURNAL_DIR=str(self.folder / "journal"),
        )
        return env

    def start(self, command: str, count: int, queue: str, env: dict[str, str]) -> list[Process]:
        """`count` worker processes, returned once RQ lists them all on `queue`."""
        workers = []
        for _ in range(count):
            self.logs += 1
            log = self.folder / f"worker-{self.logs}.log"
            workers.append(Process(command, env, self.folder, log))
        deadline = time.monotonic() + 60
        listening = Queue(queue, connection=self.redis)
        while len(Worker.all(connection=self.redis, queue=listening)) < count:
            if time.monotonic() > deadline or not all(w.alive() for w in workers):
                stop(workers)
                raise SystemExit(f"the workers did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        return workers

    def timed(
        self, workers: list[Process], count: int, enqueue: Callable[[], None]
    ) -> tuple[float, float]:
        """(messages/s from the first arrival to the last, worker CPU seconds per message)."""
        before = len(self.stub.arrivals)
        cpu = sum(w.cpu_seconds() for w in workers)
        enqueue()
        deadline = time.monotonic() + WAIT
        while len(self.stub.arrivals) < before + count:
            if time.monotonic() > deadline:
                stop(workers)
                got = len(self.stub.arrivals) - before
                raise SystemExit(f"only {got} of {count} messages reached Twilio in {WAIT} s")
            time.sleep(0.02)
        cpu = sum(w.cpu_seconds() for w in workers) - cpu
        stop(workers)
        arrivals = self.stub.arrivals[before : before + count]
        return (count - 1) / (arrivals[-1].at - arrivals[0].at), cpu / count

    def smsgate(self, workers: int, count: int, database_url: str | None = None) -> Run:
        """`workers` × the Procfile's `smsgate worker` delivering `count` messages."""
        ids = self.store(count)
        running = self.start(procfile("worker"), workers, QUEUE, self.env(database_url))
        outbox = Outbox(self.redis)

        def enqueue() -> None:
            for message_id in ids:
                outbox.deliver(message_id, f"deliver-{message_id}")

        return Run(*self.timed(running, count, enqueue))

    def store(self, count: int) -> list[str]:
        with transaction(self.sessions) as session:
            return [
                outbound.submit(
                    session,
                    self.rules,
                    outbound.Request(
                        to=next(self.numbers),
                        category="transactional",
                        body=f"Your appointment is tomorrow at 10. Reminder {i}.",
                        actor="bench",
                    ),
                    utcnow(),
                )[0].id
                for i in range(count)
            ]

    def baseline(self, count: int, workers: int = 1) -> Run:
        """`workers` plain RQ SimpleWorkers making the Twilio call `count` times."""
        running = self.start(RQ_WORKER.format(self.redis_url), workers, BASELINE_QUEUE, self.env())
        queue = Queue(BASELINE_QUEUE, connection=self.redis)
        numbers = [next(self.numbers) for _ in range(count)]

        def enqueue() -> None:
            for i, number in enumerate(numbers):
                body = f"Your appointment is tomorrow at 10. Reminder {i}."
                queue.enqueue("bench.rq_baseline.send", number, CLINIC, body)

        return Run(*self.timed(running, count, enqueue))

    def noop(self, count: int) -> Run:
        """One plain RQ SimpleWorker draining `count` jobs that do nothing, enqueued before it
        starts: timed by RQ's own clock, the first job's start to the last one's end."""
        queue = Queue(BASELINE_QUEUE, connection=self.redis)
        jobs = [queue.enqueue("bench.rq_baseline.nothing") for _ in range(count)]
        running = self.start(RQ_WORKER.format(self.redis_url), 1, BASELINE_QUEUE, self.env())
        deadline = time.monotonic() + WAIT
        while jobs[-1].get_status(refresh=True) != "finished" and time.monotonic() < deadline:
            time.sleep(0.05)
        stop(running)
        jobs[0].refresh()  # type: ignore[no-untyped-call]
        jobs[-1].refresh()  # type: ignore[no-untyped-call]
        first, last = jobs[0].started_at, jobs[-1].ended_at
        if first is None or last is None:
            raise SystemExit(f"the no-op jobs did not finish in {WAIT} s")
        return Run((count - 1) / (last - first).total_seconds(), float("nan"))


class Run:
    def __init__(self, rate: float, cpu: float) -> None:
        self.rate, self.cpu = rate, cpu


def stop(workers: list[Process]) -> None:
    for worker in workers:
        worker.stop()


def median(values: list[float]) -> float:
    return statistics.median(values)


def counted(bench: Bench, count: int) -> tuple[float, float] | None:
    """Statements and round trips per message, one worker, through the counting relay."""
    parsed = make_url(bench.database_url)
    if not parsed.drivername.startswith("postgres"):
        return None
    with StatementCounter(parsed.host or "127.0.0.1", parsed.port or 5432) as relay:
        url = relay.url(bench.database_url)
        ids = bench.store(count)
        running = bench.start(procfile("worker"), 1, QUEUE, bench.env(url))
        time.sleep(1)  # the scheduler's start-up statements, uncounted
        statements, trips = relay.snapshot()
        outbox = Outbox(bench.redis)

        def enqueue() -> None:
            for message_id in ids:
                outbox.deliver(message_id, f"deliver-{message_id}")

        bench.timed(running, count, enqueue)
        after = relay.snapshot()
    return (after[0] - statements) / count, (after[1] - trips) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--count", type=int, default=100, help="messages in the counting pass")
    args = parser.parse_args()
    given = os.environ.get("DATABASE_URL")
    if not given or not given.startswith("postgres"):
        print("WARNING: no PostgreSQL DATABASE_URL: SQLite; the honest run is PostgreSQL's")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(given, Path(tmp)) as url:
        redis = connect(os.environ.get("REDIS_URL"), Path(tmp))
        redis_url = os.environ.get("REDIS_URL") or embedded_url(redis)
        assert redis_url
        redis.flushdb()
        bench = Bench(url, redis, redis_url, Path(tmp))
        configurations = ("no-op", "baseline", "baseline×2", 1, 2, 4)
        runs: dict[object, list[Run]] = {c: [] for c in configurations}
        try:
            for _ in range(args.runs):
                for c in configurations:
                    if c == "no-op":
                        runs[c].append(bench.noop(args.messages))
                    elif c == "baseline":
                        runs[c].append(bench.baseline(args.messages))
                    elif c == "baseline×2":
                        runs[c].append(bench.baseline(args.messages, workers=2))
                    else:
                        assert isinstance(c, int)
                        runs[c].append(bench.smsgate(c, args.messages))
                    print(f"  {c}: {runs[c][-1].rate:.1f}/s", file=sys.stderr, flush=True)
            statements = counted(bench, args.count)
        finally:
            bench.close()
            redis.flushdb()
            if not os.environ.get("REDIS_URL"):
                redis.shutdown(nosave=True)  # the embedded server
    rate = {c: median([r.rate for r in runs[c]]) for c in configurations}
    cpu = {c: median([r.cpu for r in runs[c]]) * 1000 for c in configurations}
    where = make_url(given).render_as_string() if given else "SQLite"
    print(
        f"smsgate's worker against an RQ job making the same Twilio call: {where}, "
        f"{os.cpu_count()} cores; {args.runs} interleaved runs of {args.messages} messages, "
        f"medians; load average before: {load[0]:.1f}"
    )
    print(f"{'':34}{'messages/s':>11}{'CPU ms/msg':>12}")
    print(f"{'RQ no-op job, 1 worker':34}{rate['no-op']:11.1f}")
    print(
        f"{'RQ job, same Twilio call, 1 worker':34}{rate['baseline']:11.1f}{cpu['baseline']:12.2f}"
    )
    print(
        f"{'RQ job, same Twilio call, 2 workers':34}{rate['baseline×2']:11.1f}"
        f"{cpu['baseline×2']:12.2f}"
    )
    for c in (1, 2, 4):
        label = f"smsgate worker × {c}"
        print(f"{label:34}{rate[c]:11.1f}{cpu[c]:12.2f}")
    print()
    print(f"ratio 1 smsgate worker / RQ job:   {rate[1] / rate['baseline']:.2f}  (issue 11: ≥ 0.7)")
    print(f"scaling 2 workers / 1:             {rate[2] / rate[1]:.2f}  (issue 11: ≥ 1.7)")
    print(f"scaling 4 workers / 1:             {rate[4] / rate[1]:.2f}")
    print(
        f"the RQ job's own scaling, 2 / 1:   {rate['baseline×2'] / rate['baseline']:.2f}"
        "  (what this machine allows a worker that does only the Twilio call)"
    )
    if statements:
        print(
            f"SQL per message, counted on the wire (1 worker, untimed): "
            f"{statements[0]:.1f} statements, {statements[1]:.1f} round trips"
        )


if __name__ == "__main__":
    main()
