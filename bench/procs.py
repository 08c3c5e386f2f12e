"""What the benches share: the Procfile's commands started as a platform starts them (each in
its own process group, killed whole, and told to die with the bench), a fresh PostgreSQL
schema per run, and CPU time read from /proc."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import phonenumbers
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
TICK = 1.0 / os.sysconf("SC_CLK_TCK")  # seconds per /proc CPU tick


def procfile(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise SystemExit(f"no {kind!r} line in the Procfile")


def fictional_numbers() -> Iterator[str]:
    """The fictional lines 555-0101…0199 of every valid US area code (45,000 of them)."""
    for line in range(101, 200):
        for area in range(201, 990):
            number = f"+1{area}555{line:04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                yield number


def die_with_parent() -> None:
    """The child gets SIGTERM should the bench die without stopping it (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """`command` through /bin/sh's exec (the pid is the command's), output to `log`."""

    def __init__(self, command: str, env: Mapping[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=cwd,
                env={**env, "PATH": path, "PYTHONPATH": str(ROOT)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: killed whole, whatever it forked
                preexec_fn=die_with_parent,
            )
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its live children so far."""
        return sum(cpu_ticks(pid) for pid in [self.pid, *children(self.pid)]) * TICK

    def stop(self, wait: float = 15) -> None:
        """SIGTERM to the group, SIGKILL if it is not gone within `wait` seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=wait)
        with contextlib.suppress(ProcessLookupError):  # anything it forked, had it died first
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                found.append(int(entry))
    return found


@contextmanager
def fresh_database(url: str | None, folder: Path) -> Iterator[str]:
    """A URL whose tables are the bench's alone: on PostgreSQL a new schema in `url`'s
    database (search_path through the connection's options), dropped afterwards; without
    `url`, a SQLite file in `folder`."""
    if not url:
        yield f"sqlite:///{folder}/bench.db"
        return
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    given = parsed.query.get("options")
    options = (
        f"{given} -csearch_path={schema}" if isinstance(given, str) else f"-csearch_path={schema}"
    )
    query = {**parsed.query, "options": options}
    try:
        yield parsed.set(query=query).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
