"""What a STOP costs over storing it: the real server against the bare INSERT + COMMIT
endpoint, on the same server settings and database, in one interleaved run.

    DATABASE_URL=postgresql://… .venv/bin/python bench/webhook.py [--texts 300] [--runs 3]

Starts the Procfile's `web` command twice on loopback, with its shipped settings
(WEB_CONCURRENCY × WEB_THREADS, 2 × 8 unless set): once serving smsgate, once serving
bench/bare_app.py, whose one endpoint stores the raw text with one INSERT and COMMITs. Both
use DATABASE_URL (a fresh schema in it, dropped at the end; without it a SQLite file, with a
warning: the honest run is PostgreSQL's). Client processes, each on one keep-alive
connection, post signed texts — every text from its own fictional number — at 1, 4 and 16
at a time: STOPs, then a mix (STOP, HELP, START, plain texts) at 16. Each row is --runs
runs of --texts texts per side, bare and smsgate alternating; medians are printed: texts/s,
p50, p99, the ratio to the bare endpoint, the servers' CPU per text (gunicorn's processes,
from /proc) and PostgreSQL's (the backends of the bench's connections, from /proc).
pg_stat_activity and pg_locks are sampled throughout: the lock waits seen. A last, untimed
pass counts the SQL statements and round trips per text on the wire (bench/pgwire.py).
Every request has a timeout; everything stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.bare_app import create_tables  # noqa: E402
from bench.pgwire import StatementCounter  # noqa: E402
from bench.procs import (  # noqa: E402
    TICK,
    Process,
    cpu_ticks,
    fictional_numbers,
    fresh_database,
    procfile,
)
from gateway.adapters.twilio_sms import sign  # noqa: E402
from gateway.db import make_engine  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402

TOKEN, BASE = "bench-token", "https://gateway.bench.test"
CLINIC = "+12015550100"
TIMEOUT = 15.0  # Twilio gives up on a webhook after 15 s; so does every request here
SMSGATE, BARE = "smsgate", "bare"
# The mix: for every 10 texts, 4 STOPs, 2 HELPs, 2 STARTs and 2 texts for the front desk.
MIX = (
    "STOP",
    "HELP",
    "STOP",
    "I'll stop by at 3",
    "START",
    "STOP",
    "HELP",
    "STOP",
    "Can I move my appointment to Friday?",
    "START",
)
ROWS = (("STOPs", 1), ("STOPs", 4), ("STOPs", 16), ("mix", 16))
Signed = tuple[bytes, str]  # a form body and its X-Twilio-Signature


def signed(sid: str, sender: str, body: str) -> Signed:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": CLINIC}
    params["Body"] = body
    return urlencode(params).encode(), sign(TOKEN, f"{BASE}/twilio/inbound", params)


class Texts:
    """Signed texts, each from a number no earlier text came from."""

    def __init__(self) -> None:
        self.numbers = fictional_numbers()
        self.sids = itertools.count()
        self.prefix = uuid.uuid4().hex[:8]

    def take(self, count: int, mix: bool) -> list[Signed]:
        bodies = itertools.cycle(MIX if mix else ("STOP",))
        try:
            return [
                signed(f"SM{self.prefix}{next(self.sids):024x}", next(self.numbers), body)
                for body, _ in zip(bodies, range(count), strict=False)
            ]
        except StopIteration:
            raise SystemExit("more texts than fictional numbers: lower --texts") from None


class Server(Process):
    """The Procfile's `web` line serving `app`, on a free loopback port."""

    def __init__(self, app: str, database_url: str, folder: Path) -> None:
        command = procfile("web")
        if app != "gateway.app:create_app()":
            assert "'gateway.app:create_app()'" in command, command
            command = command.replace("'gateway.app:create_app()'", f"'{app}'")
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
        env.update(
            PORT=str(self.port),
            DATABASE_URL=database_url,
            TWILIO_AUTH_TOKEN=TOKEN,
            PUBLIC_BASE_URL=BASE,
            KEYWORDS_FILE=str(ROOT / "keywords.yml"),
            JOURNAL_DIR=str(folder / "journal"),
        )
        # The shipped settings, bound to loopback only (the command line wins over the file).
        super().__init__(f"{command} --bind 127.0.0.1:{self.port}", env, folder, folder / "log")
        deadline = time.monotonic() + 60
        while not self.healthy():
            if not self.alive() or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{app} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- The clients ---------------------------------------------------------------------------


def client(
    port: int,
    texts: list[Signed],
    ready: Any,
    start: EventType,
    results: Any,
) -> None:
    """One keep-alive connection posting `texts` one after another once `start` is set."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.connect()
    ready.put(True)
    if not start.wait(timeout=120):
        return
    latencies, failures = [], 0
    began = time.monotonic()
    for body, signature in texts:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        sent = time.perf_counter()
        try:
            connection.request("POST", "/twilio/inbound", body, headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        if ok:
            latencies.append(time.perf_counter() - sent)
        else:
            failures += 1
    results.put((began, time.monotonic(), latencies, failures))


# --- What PostgreSQL does meanwhile --------------------------------------------------------


@dataclass
class Watch:
    """pg_stat_activity and pg_locks of the bench's database, every `every` seconds: CPU of
    each client backend (from /proc) and the statements waiting on a lock."""

    engine: Engine
    every: float = 0.05
    first: dict[int, int] = field(default_factory=dict)  # pid: CPU ticks when first seen
    last: dict[int, int] = field(default_factory=dict)
    samples: int = 0
    waiting: int = 0  # waiting statements summed over the samples
    most: int = 0
    waits: set[tuple[int, str]] = field(default_factory=set)  # (pid, query_start): distinct
    on: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def start(self) -> None:
        self.sample(first=True)
        self._thread.start()

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()
        self._connection.close()

    def cpu_seconds(self) -> float:
        """CPU of the backends between start and finish (a backend that came and went
        between two samples is missed)."""
        return sum(self.last[pid] - self.first.get(pid, 0) for pid in self.last) * TICK

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self, first: bool = False) -> None:
        rows = self._connection.execute(
            text(
                "SELECT pid, wait_event_type, query_start::text, query FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        ).all()
        for pid, _, _, _ in rows:
            ticks = cpu_ticks(pid)
            if first:
                self.first[pid] = ticks
            if ticks:
                self.last[pid] = ticks
        if first:
            return
        waiting = [(pid, started, query) for pid, kind, started, query in rows if kind == "Lock"]
        self.samples += 1
        self.waiting += len(waiting)
        self.most = max(self.most, len(waiting))
        if waiting:
            held: dict[int, str] = dict(
                self._connection.execute(
                    text(
                        "SELECT pid, relation::regclass::text FROM pg_locks"
                        " WHERE pid = ANY(:pids) AND locktype = 'tuple'"
                    ),
                    {"pids": [pid for pid, _, _ in waiting]},
                ).all()
            )
            for pid, started, query in waiting:
                if (pid, started) not in self.waits:
                    self.waits.add((pid, started))
                    statement = " ".join(query.split())[:90]
                    where = f"row of {held[pid]}" if pid in held else "a transaction"
                    self.on[f"{where}: {statement}"] += 1


# --- One run -------------------------------------------------------------------------------


@dataclass
class Run:
    rate: float
    p50: float
    p99: float
    app_cpu: float  # seconds per text
    db_cpu: float | None
    failures: int
    watch: Watch | None


def run(server: Server, texts: list[Signed], clients: int, engine: Engine | None) -> Run:
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    start = context.Event()
    shares = [texts[i::clients] for i in range(clients)]
    processes = [
        context.Process(
            target=client, args=(server.port, share, ready, start, results), daemon=True
        )
        for share in shares
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=30)
        watch = Watch(engine) if engine is not None else None
        cpu_before = server.cpu_seconds()
        if watch:
            watch.start()
        start.set()
        bound = TIMEOUT * max(len(share) for share in shares) + 30
        done = [results.get(timeout=bound) for _ in processes]
        cpu = server.cpu_seconds() - cpu_before
        if watch:
            watch.finish()
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    latencies = sorted(x for _, _, some, _ in done for x in some)
    failures = sum(f for _, _, _, f in done)
    elapsed = max(end for _, end, _, _ in done) - min(began for began, _, _, _ in done)
    answered = len(latencies)
    return Run(
        rate=answered / elapsed,
        p50=latencies[answered // 2] if latencies else float("nan"),
        p99=latencies[min(answered - 1, int(answered * 0.99))] if latencies else float("nan"),
        app_cpu=cpu / len(texts),
        db_cpu=watch.cpu_seconds() / len(texts) if watch else None,
        failures=failures,
        watch=watch,
    )


# --- The bench -----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def over(a: float, b: float) -> float:
    return a / b if b else float("nan")


def timed(
    servers: dict[str, Server], texts: Texts, args: argparse.Namespace, engine: Engine | None
) -> dict[tuple[str, int], dict[str, list[Run]]]:
    for server in servers.values():  # warm: imports, pools, the first connections
        run(server, texts.take(2 * 16, mix=True), 16, None)
    results: dict[tuple[str, int], dict[str, list[Run]]] = {}
    for kind, clients in ROWS:
        row: dict[str, list[Run]] = {BARE: [], SMSGATE: []}
        for _ in range(args.runs):
            batch = texts.take(args.texts, mix=kind == "mix")  # the same texts to both
            for side in (BARE, SMSGATE):
                row[side].append(run(servers[side], batch, clients, engine))
        results[(kind, clients)] = row
        line = "  ".join(
            f"{side} {median([r.rate for r in runs]):7.1f}/s" for side, runs in row.items()
        )
        print(f"  {kind} at {clients:2d} clients: {line}", file=sys.stderr, flush=True)
    return results


def counted(url: str, folder: Path, texts: Texts, count: int) -> dict[tuple[str, str], float]:
    """Statements and round trips per text, each side served through the counting relay."""
    parsed = make_url(url)
    out: dict[tuple[str, str], float] = {}
    with StatementCounter(parsed.host or "127.0.0.1", parsed.port or 5432) as relay:
        for side, app in ((BARE, "bench.bare_app:create_app()"), (SMSGATE, APP)):
            (folder / side / "counted").mkdir(parents=True)
            server = Server(app, relay.url(url), folder / side / "counted")
            try:
                for kind in ("STOPs", "mix"):
                    # Warm and uncounted: every worker's pool holds its connections, set up.
                    run(server, texts.take(64, mix=True), 16, None)
                    statements, trips = relay.snapshot()
                    run(server, texts.take(count, mix=kind == "mix"), 1, None)
                    after = relay.snapshot()
                    out[(side, kind)] = (after[0] - statements) / count
                    out[(side, kind + " trips")] = (after[1] - trips) / count
            finally:
                server.stop()
    return out


APP = procfile("web").split("'")[1]  # gateway.app:create_app()


def report(
    results: dict[tuple[str, int], dict[str, list[Run]]],
    statements: dict[tuple[str, str], float],
    header: str,
) -> None:
    print(header)
    print(f"{'':22}{'':9}{'texts/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'app CPU':>10}{'PG CPU':>9}")
    print(f"{'':22}{'':9}{'':>9}{'':>9}{'':>9}{'ms/text':>10}{'ms/text':>9}")
    medians: dict[tuple[str, int, str], dict[str, float]] = {}
    for (kind, clients), row in results.items():
        for side in (SMSGATE, BARE):
            runs = row[side]
            db = [r.db_cpu for r in runs if r.db_cpu is not None]
            m = {
                "rate": median([r.rate for r in runs]),
                "p50": median([r.p50 for r in runs]) * 1000,
                "p99": median([r.p99 for r in runs]) * 1000,
                "app": median([r.app_cpu for r in runs]) * 1000,
                "db": median(db) * 1000 if db else float("nan"),
            }
            medians[(kind, clients, side)] = m
            label = (
                f"{kind}, {clients} client{'s' if clients > 1 else ''}" if side == SMSGATE else ""
            )
            failed = sum(r.failures for r in runs)
            print(
                f"{label:22}{side:9}{m['rate']:9.1f}{m['p50']:9.2f}{m['p99']:9.2f}"
                f"{m['app']:10.2f}{m['db']:9.2f}" + (f"  {failed} FAILED" if failed else "")
            )
        ours, bare = medians[(kind, clients, SMSGATE)], medians[(kind, clients, BARE)]
        r = {key: over(ours[key], bare[key]) for key in ours}
        print(
            f"{'':22}{'ratio':9}{r['rate']:9.3f}{r['p50']:8.1f}×{r['p99']:8.1f}×"
            f"{r['app']:9.1f}×{r['db']:8.1f}×"
        )
    if statements:
        print()
        print("SQL per text, counted on the wire (1 client, untimed pass):")
        for side in (SMSGATE, BARE):
            print(
                f"  {side:8} STOP {statements[(side, 'STOPs')]:5.1f} statements"
                f" ({statements[(side, 'STOPs trips')]:.1f} round trips),"
                f" mix {statements[(side, 'mix')]:5.1f} ({statements[(side, 'mix trips')]:.1f})"
            )
    print()
    for (kind, clients), row in results.items():
        watches = [r.watch for r in row[SMSGATE] if r.watch is not None]
        if clients < 16 or not watches:
            continue
        samples = sum(w.samples for w in watches)
        mean = sum(w.waiting for w in watches) / max(samples, 1)
        seen = sum(len(w.waits) for w in watches)
        on: Counter[str] = sum((w.on for w in watches), Counter())
        bare_seen = sum(len(r.watch.waits) for r in row[BARE] if r.watch is not None)
        print(
            f"Lock waits, smsgate {kind} at {clients} clients ({len(watches)} runs, pg_locks "
            f"every 50 ms, {samples} samples): {seen} statements seen waiting, "
            f"{mean:.2f} waiting on average, at most {max(w.most for w in watches)}"
            f" (bare: {bare_seen})"
        )
        if seen:
            print(
                "  all between different numbers: every text in these runs is from its own number"
            )
            for what, n in on.most_common(4):
                print(f"  {n:5d} waiting for {what}")
    acceptance(medians)


def acceptance(m: dict[tuple[str, int, str], dict[str, float]]) -> None:
    def ratio(kind: str, clients: int, key: str) -> float:
        return over(m[(kind, clients, SMSGATE)][key], m[(kind, clients, BARE)][key])

    print()
    print("Issue 11's lines:")
    print(f"  STOPs/s ≥ 0.5 × bare at 1 client:   {ratio('STOPs', 1, 'rate'):.2f}")
    print(f"  STOPs/s ≥ 0.5 × bare at 16 clients: {ratio('STOPs', 16, 'rate'):.2f}")
    print(f"  p99 at 16 clients ≤ 3 × bare's:     {ratio('STOPs', 16, 'p99'):.1f}×")
    grow = {
        s: over(m[("STOPs", 4, s)]["rate"], m[("STOPs", 1, s)]["rate"]) for s in (SMSGATE, BARE)
    }
    print(
        f"  1 → 4 clients, like the bare's:     smsgate ×{grow[SMSGATE]:.2f},"
        f" bare ×{grow[BARE]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=300, help="texts per run and side")
    parser.add_argument("--runs", type=int, default=3, help="runs per row and side")
    parser.add_argument("--count", type=int, default=100, help="texts in the counting pass")
    args = parser.parse_args()
    given = os.environ.get("DATABASE_URL")
    if not given or not given.startswith("postgres"):
        print(
            "WARNING: no PostgreSQL DATABASE_URL: SQLite, one writer at a time, no lock or "
            "PostgreSQL CPU figures; the honest run is on PostgreSQL",
            file=sys.stderr,
        )
    texts = Texts()
    load = os.getloadavg()  # a shared machine shows as one
    with tempfile.TemporaryDirectory() as tmp, fresh_database(given, Path(tmp)) as url:
        engine = make_engine(url)
        upgrade(engine)
        create_tables(engine)
        postgres = engine.dialect.name == "postgresql"
        servers: dict[str, Server] = {}
        try:
            for side, app in ((BARE, "bench.bare_app:create_app()"), (SMSGATE, APP)):
                (Path(tmp) / side).mkdir()
                servers[side] = Server(app, url, Path(tmp) / side)
            results = timed(servers, texts, args, engine if postgres else None)
        finally:
            for server in servers.values():
                server.stop()
        statements = counted(url, Path(tmp), texts, args.count) if postgres else {}
        version = engine.dialect.server_version_info if postgres else None
        engine.dispose()
    where = make_url(given).render_as_string() if given else "SQLite"
    header = (
        f"smsgate against the bare INSERT + COMMIT endpoint: {where}"
        f"{' (PostgreSQL ' + '.'.join(map(str, version or ())) + ')' if postgres else ''}, "
        f"gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} workers × "
        f"{os.environ.get('WEB_THREADS', '8')} threads, {os.cpu_count()} cores; "
        f"{args.runs} interleaved runs of {args.texts} texts per row, medians; "
        f"load average before: {load[0]:.1f}"
    )
    report(results, statements, header)


if __name__ == "__main__":
    main()
