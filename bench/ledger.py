"""A ledger of millions: smsgate's reads of the ledger against the least work that reads the
same rows, on PostgreSQL, in one interleaved run.

    DATABASE_URL=postgresql://… .venv/bin/python bench/ledger.py \\
        [--numbers 1000000] [--events 5000000] [--reuse] [--runs 3] [--heavy-runs 1] \\
        [--import-rows 100000] [--skip lookups|verify|export|import]

Fills a schema of DATABASE_URL with --numbers numbers and --events consent events by COPY
(bench/ledger_fill.py: every event a valid link of its number's hash chain, heads, states and
seals as gateway/ledger.py keeps them) and prints how long that took. Without --reuse the
schema is new and dropped at the end; with --reuse it is ledger_<numbers>_<events>, filled
once and kept (later migrations are applied to it), so a run costs no fill. 100000/500000 is
a quick run. Then, each side against its baseline, --runs (lookups) or --heavy-runs (verify,
export) times, alternating, medians:

* consent lookup: what GET /api/v1/consent/{number} reads (ledger.consent_of in
  gateway.db.reading, then the events the corrections voided) against one bare indexed SELECT of the
  same rows on a raw autocommit connection; and the same for ?at= (the number's history).
  --lookups random numbers per run and side; µs per lookup (median and mean).
* verify: ledger.verify (what `smsgate ledger verify` runs) against reading the same events
  in the same order through a raw server-side cursor and hashing the same canonical bytes
  with hashlib, nothing else; events/s.
* export: the CSV export (gateway.exports.export, what the API and `smsgate ledger export`
  write) into /dev/null against COPY (SELECT … ORDER BY id) TO STDOUT
  (FORMAT csv) of the same columns; rows/s, and each one's peak RSS growth (each runs in a
  forked process: VmHWM at the end minus VmRSS at the start).
* an import while STOPs arrive: the Procfile's web server (bench/webhook.py's Server) takes
  signed STOPs every --stop-every seconds, first alone for --quiet seconds, then while
  `smsgate ledger import` records --import-rows rows (an opt-out list of other numbers, so no
  STOP waits on the import's number locks); max, p99 and p50 STOP latency of both phases, and
  the journal must stay empty (a STOP that waited too long for the database is journaled).

Every wait is bounded: requests by TIMEOUT, the import by --import-timeout, child processes
by --child-timeout.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from json.encoder import encode_basestring, encode_basestring_ascii
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.ledger_fill import SPAN, START, Ready, filled, numbers  # noqa: E402
from bench.webhook import TIMEOUT, Server, signed  # noqa: E402
from gateway import corrections, ledger  # noqa: E402
from gateway.db import reading, session_factory, transaction  # noqa: E402
from gateway.exports import WHOLE_LINE_SQL, export  # noqa: E402

EVENT_SQL = (
    "e.id, e.number, e.category, e.action, e.source, e.occurred_at, e.recorded_at, e.actor,"
    " e.evidence, e.hash"
)
BARE_NOW = (
    f"SELECT {EVENT_SQL} FROM consent_state s JOIN consent_events e ON e.id = s.event_id"
    " WHERE s.number = %s"
)
BARE_AT = f"SELECT {EVENT_SQL} FROM consent_events e WHERE e.number = %s ORDER BY e.id"
CHAIN_SQL = (
    "SELECT id, number, category, action, source, occurred_at, recorded_at, actor, evidence,"
    " prev_hash FROM consent_events ORDER BY number, id"
)
EXPORT_COLUMNS = (
    "id, number, category, action, source, occurred_at, recorded_at, actor, evidence,"
    " prev_hash, hash"
)


def median(values: list[float]) -> float:
    return statistics.median(values)


def over(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --- Lookups -------------------------------------------------------------------------------


def smsgate_lookup(engine: Engine) -> Callable[[str, dt.datetime | None], int]:
    sessions = session_factory(engine)

    def lookup(number: str, at: dt.datetime | None) -> int:
        """GET /api/v1/consent/{number}'s reads, as gateway/web/api/consent.py makes them."""
        with reading(sessions) as session:
            in_force, fixes = ledger.consent_of(session, number, at)
            voided_by = corrections.voided_by(fixes)
            voided = {e.id: ledger.get(session, fixed) for fixed, e in voided_by.items()}
        return len(in_force) + len(voided)

    return lookup


def bare_lookup(url: str) -> Callable[[str, dt.datetime | None], int]:
    import psycopg

    connection = psycopg.connect(_libpq(url), autocommit=True)
    cursor = connection.cursor()

    def lookup(number: str, at: dt.datetime | None) -> int:
        cursor.execute(BARE_NOW if at is None else BARE_AT, (number,))
        return len(cursor.fetchall())

    return lookup


def lookups(ready: Ready, drawn: list[str], args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    sides = {"bare": bare_lookup(ready.url), "smsgate": smsgate_lookup(ready.engine)}
    found: dict[str, Any] = {}
    for kind in ("now", "at"):
        times: dict[str, list[list[float]]] = {side: [] for side in sides}
        for lookup in sides.values():  # warm: pools, prepared statements
            for number in rng.sample(drawn, 50):
                lookup(number, None if kind == "now" else START + SPAN / 2)
        for _ in range(args.runs):
            batch = rng.sample(drawn, args.lookups)
            ats = [START + SPAN * rng.random() for _ in batch]
            for side, lookup in sides.items():
                spent = []
                for number, at in zip(batch, ats, strict=True):
                    began = time.perf_counter()
                    lookup(number, None if kind == "now" else at)
                    spent.append(time.perf_counter() - began)
                times[side].append(spent)
        found[kind] = {
            side: (
                median([median(run) for run in runs]) * 1e6,
                median([statistics.fmean(run) for run in runs]) * 1e6,
            )
            for side, runs in times.items()
        }
    return found


# --- Verify --------------------------------------------------------------------------------

NULL = '"' + hashlib.sha256(b"null").hexdigest() + '"'


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def raw_hashing(url: str) -> tuple[float, int]:
    """The baseline: the same events in the same order (each number's chain in turn) through
    a raw server-side cursor, and SHA-256 over the same canonical bytes (the evidence's field
    digests, their digest, the event's fields), written as directly as they can be."""
    import psycopg

    began = time.monotonic()
    count = 0
    sha = hashlib.sha256
    with psycopg.connect(_libpq(url)) as connection, connection.cursor(name="chain") as cursor:
        cursor.itersize = 2000
        cursor.execute(CHAIN_SQL)
        for event_id, number, category, action, source, occ, rec, actor, evidence, prev in cursor:
            parts = []
            for key in sorted(evidence):
                value = evidence[key]
                if type(value) is str:
                    digest = '"' + sha(encode_basestring(value).encode()).hexdigest() + '"'
                elif value is None:
                    digest = NULL
                else:
                    data = json.dumps(value, sort_keys=True, separators=(",", ":"))
                    digest = '"' + sha(data.encode()).hexdigest() + '"'
                parts.append(f"{encode_basestring(key)}:{digest}")
            evidence_digest = sha(("{" + ",".join(parts) + "}").encode()).hexdigest()
            sha(
                (
                    f'{{"action":{encode_basestring_ascii(action)},'
                    f'"actor":{encode_basestring_ascii(actor)},'
                    f'"category":{encode_basestring_ascii(category)},'
                    f'"evidence_digest":"{evidence_digest}","id":{event_id},'
                    f'"number":{encode_basestring_ascii(number)},"occurred_at":"{iso(occ)}",'
                    f'"prev_hash":"{prev}","recorded_at":"{iso(rec)}",'
                    f'"source":{encode_basestring_ascii(source)}}}'
                ).encode()
            ).hexdigest()
            count += 1
    return time.monotonic() - began, count


def smsgate_verify(url: str) -> tuple[float, int]:
    from gateway.db import make_engine

    engine = make_engine(url)
    began = time.monotonic()
    with transaction(session_factory(engine)) as session:
        verdict = ledger.verify(session)
    took = time.monotonic() - began
    engine.dispose()
    if not verdict.ok:
        raise SystemExit(f"verify failed on the bench's ledger: {verdict.summary}")
    return took, verdict.count


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- Export --------------------------------------------------------------------------------


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def smsgate_export(url: str) -> tuple[float, int]:
    from gateway.db import make_engine

    engine = make_engine(url)
    written = 0
    began = time.monotonic()
    with (
        transaction(session_factory(engine)) as session,
        open(os.devnull, "w", encoding="utf-8") as out,
    ):
        for chunk in export(session, ledger.EventFilter(), "csv"):
            written += out.write(chunk)
    took = time.monotonic() - began
    engine.dispose()
    return took, written


def copy_export(url: str) -> tuple[float, int]:
    import psycopg

    written = 0
    began = time.monotonic()
    query = (
        f"COPY (SELECT {EXPORT_COLUMNS} FROM consent_events ORDER BY id)"
        " TO STDOUT (FORMAT csv, HEADER)"
    )
    with (
        psycopg.connect(_libpq(url)) as connection,
        connection.cursor() as cursor,
        cursor.copy(query) as copy,
        open(os.devnull, "wb") as out,
    ):
        for data in copy:
            written += out.write(data)
    return time.monotonic() - began, written


def _child(work: Callable[[str], tuple[float, int]], url: str, results: Any) -> None:
    start = rss_kb("VmRSS")
    took, amount = work(url)
    results.put((took, amount, (rss_kb("VmHWM") - start) / 1024))


def in_child(
    work: Callable[[str], tuple[float, int]], url: str, timeout: float
) -> tuple[float, int, float]:
    """`work` in a forked process: (seconds, its count, peak RSS growth in MB)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_child, args=(work, url, results), daemon=True)
    process.start()
    try:
        found: tuple[float, int, float] = results.get(timeout=timeout)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return found


# --- Import while STOPs arrive -------------------------------------------------------------


class Stops:
    """Signed STOPs posted one every `every` seconds from their own numbers; the latency of
    each, by phase."""

    def __init__(self, port: int, senders: list[str], every: float) -> None:
        self.port, self.every = port, every
        self.senders = iter(senders)
        self.prefix = uuid.uuid4().hex[:8]
        self.sent = 0
        self.latencies: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self.phase = "quiet"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT + 5)

    def _loop(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        due = time.monotonic()
        while not self._stop.is_set():
            sender = next(self.senders, None)
            if sender is None:
                return
            body, signature = signed(f"SM{self.prefix}{self.sent:024x}", sender, "STOP")
            self.sent += 1
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            }
            phase = self.phase
            began = time.perf_counter()
            try:
                connection.request("POST", "/twilio/inbound", body, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            if ok:
                self.latencies.setdefault(phase, []).append(time.perf_counter() - began)
            else:
                self.failures[phase] = self.failures.get(phase, 0) + 1
            due += self.every
            self._stop.wait(max(0.0, due - time.monotonic()))


def import_file(folder: Path, drawn: list[str], rows: int) -> Path:
    """An opt-out list: revokes for the first numbers, several rows (categories, dates) each;
    a run-unique note, so a kept ledger takes every row again."""
    path = folder / "optouts.csv"
    tag = uuid.uuid4().hex[:8]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["number", "category", "action", "occurred_at", "source", "note"])
        for i in range(rows):
            number = drawn[i // 4]
            category = ("transactional", "marketing")[i % 2]
            day = dt.date(2019, 1, 1) + dt.timedelta(days=(i // 2) % 2 * 30)
            writer.writerow([number, category, "revoke", day.isoformat(), "old_crm", f"run {tag}"])
    return path


def import_with_stops(
    ready: Ready, fictional: list[str], args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    importing = fictional[: (args.import_rows + 3) // 4]
    senders = fictional[len(importing) :]
    if not senders:
        raise SystemExit("no fictional number left for the STOPs: lower --import-rows")
    path = import_file(folder, fictional, args.import_rows)
    (folder / "web").mkdir()
    server = Server(args.app, ready.url, folder / "web")
    journal = folder / "web" / "journal"
    try:
        stops = Stops(server.port, senders, args.stop_every)
        stops.start()
        time.sleep(args.quiet)
        stops.phase = "import"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
        env.update(DATABASE_URL=ready.url, KEYWORDS_FILE=str(ROOT / "keywords.yml"))
        began = time.monotonic()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "smsgate"), "ledger", "import", str(path)],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=args.import_timeout,
            check=False,
        )
        took = time.monotonic() - began
        stops.phase = "after"
        stops.finish()
    finally:
        server.stop()
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    journaled = [p.name for p in journal.glob("*") if p.stat().st_size] if journal.exists() else []
    return {
        "seconds": took,
        "said": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        "latencies": stops.latencies,
        "failures": stops.failures,
        "journaled": journaled,
    }


# --- The bench -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep (or take) the filled schema")
    parser.add_argument("--runs", type=int, default=3, help="lookup runs per side")
    parser.add_argument("--lookups", type=int, default=2000, help="lookups per run and side")
    parser.add_argument("--heavy-runs", type=int, default=1, help="verify and export runs")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--stop-every", type=float, default=0.05, help="seconds between STOPs")
    parser.add_argument("--quiet", type=float, default=15, help="seconds of STOPs alone first")
    parser.add_argument("--import-timeout", type=float, default=3600)
    parser.add_argument("--child-timeout", type=float, default=3600)
    parser.add_argument(
        "--skip", action="append", default=[], choices=["lookups", "verify", "export", "import"]
    )
    parser.add_argument("--app", default="gateway.app:create_app()", help=argparse.SUPPRESS)
    args = parser.parse_args()
    given = os.environ.get("DATABASE_URL")
    if not given or not given.startswith("postgres"):
        raise SystemExit("bench/ledger.py needs a PostgreSQL DATABASE_URL (COPY, millions)")
    load = os.getloadavg()
    out: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        filled(given, args.numbers, args.events, args.reuse) as ready,
    ):
        how = "reused, filled earlier in" if ready.reused else "filled in"
        print(
            f"ledger: {args.numbers:,} numbers, {args.events:,} events in schema {ready.schema}"
            f" ({how} {ready.fill_seconds:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        drawn = numbers(args.numbers)
        if "lookups" not in args.skip:
            out["lookups"] = lookups(ready, drawn, args)
            report_lookups(out["lookups"], args)
        if "verify" not in args.skip:
            out["verify"] = heavy(ready.url, raw_hashing, smsgate_verify, args)
            report_heavy("verify", "events", out["verify"])
        if "export" not in args.skip:
            out["export"] = heavy(ready.url, copy_export, smsgate_export, args)
            report_heavy("export", "bytes", out["export"])
            report_whole_lines(ready.engine)
        if "import" not in args.skip:
            fictional = [n for n in drawn[:45_000] if not n.startswith("+11")]
            out["import"] = import_with_stops(ready, fictional, args, Path(tmp))
            report_import(out["import"], args)
    print(
        f"\nPostgreSQL {make_url(given).render_as_string()}, {os.cpu_count()} cores,"
        f" load average before: {load[0]:.1f}"
    )


def heavy(
    url: str,
    baseline: Callable[[str], tuple[float, int]],
    ours: Callable[[str], tuple[float, int]],
    args: argparse.Namespace,
) -> dict[str, list[tuple[float, int, float]]]:
    runs: dict[str, list[tuple[float, int, float]]] = {"baseline": [], "smsgate": []}
    for _ in range(args.heavy_runs):
        for side, work in (("baseline", baseline), ("smsgate", ours)):
            runs[side].append(in_child(work, url, args.child_timeout))
            took, amount, _ = runs[side][-1]
            print(f"  {work.__name__}: {took:.1f} s, {amount:,}", file=sys.stderr, flush=True)
    return runs


def report_lookups(found: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nConsent lookups ({args.runs} interleaved runs of {args.lookups} random numbers"
        " per side; µs per lookup, medians of the runs):"
    )
    for kind, label in (("now", "GET /consent/{n}"), ("at", "GET /consent/{n}?at=")):
        (ours_p50, ours_mean), (bare_p50, bare_mean) = found[kind]["smsgate"], found[kind]["bare"]
        print(
            f"  {label:24} smsgate p50 {ours_p50:7.0f} mean {ours_mean:7.0f}   bare SELECT"
            f" p50 {bare_p50:7.0f} mean {bare_mean:7.0f}   ratio p50"
            f" {over(ours_p50, bare_p50):.2f}× mean {over(ours_mean, bare_mean):.2f}×"
            f"  (≤ 3×)"
        )


def report_heavy(what: str, unit: str, runs: dict[str, list[tuple[float, int, float]]]) -> None:
    took = {side: median([r[0] for r in rs]) for side, rs in runs.items()}
    amount = {side: rs[0][1] for side, rs in runs.items()}
    growth = {side: max(r[2] for r in rs) for side, rs in runs.items()}
    if what == "verify":
        rate = {side: amount[side] / took[side] for side in took}
        print(
            f"\nVerify ({len(runs['smsgate'])} run(s) per side, median): ledger.verify"
            f" {rate['smsgate']:,.0f} events/s ({took['smsgate']:.1f} s for"
            f" {amount['smsgate']:,}); raw SHA-256 over the same canonical bytes"
            f" {rate['baseline']:,.0f} events/s ({took['baseline']:.1f} s)"
        )
        print(f"  ratio {over(rate['smsgate'], rate['baseline']):.2f} (≥ 0.5)")
        return
    print(
        f"\nExport ({len(runs['smsgate'])} run(s) per side, median): CSV export"
        f" {amount['smsgate'] / 1e6:,.0f} MB in {took['smsgate']:.1f} s, peak RSS growth"
        f" {growth['smsgate']:.0f} MB; COPY … TO STDOUT (csv) {amount['baseline'] / 1e6:,.0f} MB"
        f" in {took['baseline']:.1f} s, peak RSS growth {growth['baseline']:.0f} MB"
    )
    print(f"  ratio (rows/s, the same rows) {over(took['baseline'], took['smsgate']):.2f} (≥ 0.3)")


def report_whole_lines(engine: Engine) -> None:
    """How many of the exported rows PostgreSQL wrote whole (gateway.exports: canonical
    evidence text, plain cells); one more scan, after the timed runs."""
    with engine.connect() as connection:
        whole, rows = connection.exec_driver_sql(
            f"SELECT count(*) FILTER (WHERE {WHOLE_LINE_SQL}), count(*) FROM consent_events e"
        ).one()
    print(f"  lines written whole by PostgreSQL: {whole:,} of {rows:,}")


def report_import(found: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nImport of {args.import_rows:,} rows (`smsgate ledger import`):"
        f" {found['seconds']:.1f} s, {args.import_rows / found['seconds']:,.0f} rows/s —"
        f" {found['said']}"
    )
    for phase, label in (("quiet", "STOPs alone"), ("import", "STOPs during the import")):
        times = sorted(found["latencies"].get(phase, []))
        failed = found["failures"].get(phase, 0)
        if not times:
            print(f"  {label}: none answered ({failed} failed)")
            continue
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"  {label:24} {len(times):5d} answered, {failed} failed: max"
            f" {times[-1] * 1000:6.0f} ms, p99 {p99 * 1000:6.0f} ms, p50"
            f" {times[len(times) // 2] * 1000:5.1f} ms"
        )
    journaled = found["journaled"]
    print(f"  journaled: {', '.join(journaled) if journaled else 'none'} (must be none)")
    during = found["latencies"].get("import", [])
    if during:
        print(f"  max STOP latency during the import < 1 s: {max(during) < 1.0}")


if __name__ == "__main__":
    main()
