"""`make run` (`smsgate dev`) as a new user meets it: the banner, a webhook signed with the
development token at the URL that follows the port, and a stop by SIGTERM or SIGHUP (a closed
terminal) that leaves no worker, no embedded Redis and no temporary folder behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.adapters.twilio_sms import sign
from gateway.settings import DEV_WEBHOOK_TOKEN

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DevRun:
    process: subprocess.Popen[bytes]
    folder: Path
    temp: Path
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def banner(self) -> str:
        return (self.folder / "out.log").read_text()

    def pids(self) -> list[int]:
        """The command's descendants (worker, its scheduler) and the embedded Redis, which
        daemonizes and so is nobody's child: its pid file is the only way to it."""
        redis = int((self.folder / "var" / "redis" / "redis.pid").read_text())
        assert "redis" in Path(f"/proc/{redis}/cmdline").read_text()
        return [*_descendants(self.process.pid), redis]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc, or None when there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _descendants(root: int) -> list[int]:
    parents = {int(p.name): _stat(int(p.name)) for p in Path("/proc").glob("[0-9]*")}
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, st in parents.items() if st and st[1] in frontier}
        found.extend(frontier)
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _wait(probe: Callable[[], Any], run: DevRun, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert run.process.poll() is None, f"smsgate dev exited:\n{run.banner()}"
        try:
            if (found := probe()) is not None:
                return found
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting:\n{run.banner()}")


def _start(folder: Path) -> DevRun:
    """`smsgate dev --port N` in a fresh folder holding only keywords.yml, with nothing set."""
    shutil.copy(ROOT / "keywords.yml", folder / "keywords.yml")
    temp = folder / "tmp"  # TMPDIR: anything left here is a temporary folder left behind
    temp.mkdir()
    unset = ("DATABASE_", "TWILIO_", "REDIS_", "PUBLIC_BASE_URL", "PORT", "KEYWORDS_FILE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env["TMPDIR"] = str(temp)
    port = _free_port()
    smsgate = str(Path(sys.executable).parent / "smsgate")
    with (folder / "out.log").open("wb") as out:
        process = subprocess.Popen(
            [smsgate, "dev", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
    run = DevRun(process, folder, temp, port)
    try:
        _wait(lambda: urllib.request.urlopen(f"{run.base}/healthz", timeout=2).read(), run)
    except BaseException:
        _kill(run)
        raise
    return run


def _kill(run: DevRun) -> None:
    """Whatever a test left running: stopped gracefully if it will, else killed — the
    embedded Redis too, which daemonizes out of the process group (by its pid file)."""
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGINT)
        try:
            run.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
    pid_file = run.folder / "var" / "redis" / "redis.pid"
    if pid_file.exists() and _alive(redis := int(pid_file.read_text())):
        os.kill(redis, signal.SIGKILL)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevRun]:
    run = _start(tmp_path)
    yield run
    _kill(run)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevRun]:
    """One first run for the tests that only look (starting one takes seconds)."""
    run = _start(tmp_path_factory.mktemp("dev"))
    yield run
    _kill(run)


def _stop(run: DevRun, deliver: Callable[[], None]) -> None:
    pids = run.pids()
    assert len(pids) >= 2, pids  # at least the worker and Redis
    socket_file = run.folder / "var" / "redis" / "redis.socket"
    assert socket_file.is_socket()  # the embedded Redis lives under ./var/, not in /tmp
    deliver()
    assert run.process.wait(timeout=30) == 0, run.banner()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == [], "a worker or the embedded Redis survived"
    assert not (run.folder / "var" / "redis").exists()
    assert list(run.folder.rglob("*.socket")) == []
    assert list(run.temp.iterdir()) == []


def test_sigterm_stops_everything_and_leaves_nothing_behind(dev: DevRun) -> None:
    _stop(dev, lambda: dev.process.send_signal(signal.SIGTERM))


def test_a_closed_terminal_sighup_stops_everything_and_leaves_nothing_behind(
    dev: DevRun,
) -> None:
    # A closed terminal sends SIGHUP to its whole foreground process group.
    _stop(dev, lambda: os.killpg(dev.process.pid, signal.SIGHUP))


def test_the_banner_names_the_simulator_and_the_development_token(running: DevRun) -> None:
    banner = running.banner()
    assert f"{running.base}/simulator" in banner
    assert DEV_WEBHOOK_TOKEN in banner and "development token" in banner
    assert f"PUBLIC_BASE_URL:    {running.base}  (signatures are checked against it)" in banner


def test_the_first_run_prints_an_admin_who_can_sign_in(running: DevRun) -> None:
    found = re.search(r"sign in as 'admin', password '([^']+)' \(shown once", running.banner())
    assert found, running.banner()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = browser.open(f"{running.base}/sign-in", timeout=5).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    fields = {"csrf_token": token.group(1), "name": "admin", "password": found.group(1)}
    answer = browser.open(f"{running.base}/sign-in", urllib.parse.urlencode(fields).encode())
    assert answer.url == f"{running.base}/" and b"Sign out" in answer.read()


def test_a_webhook_signed_with_the_development_token_at_its_port_is_taken(
    running: DevRun,
) -> None:
    # PUBLIC_BASE_URL was not set: it follows --port, so this URL is the one signed.
    url = f"{running.base}/twilio/inbound"
    form = {"MessageSid": "SM" + "3" * 32, "From": "+12015550123", "To": "+12015550100"}
    form["Body"] = "HELP"
    headers = {"X-Twilio-Signature": sign(DEV_WEBHOOK_TOKEN, url, form)}
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=5) as answer:
        assert answer.status == 200 and b"Msg &amp; data rates may apply" in answer.read()
    forged = urllib.request.Request(url, data, {"X-Twilio-Signature": "forged"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.code == 403
