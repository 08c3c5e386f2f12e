"""How long a patient's text takes through POST /twilio/inbound, against a bare Flask
endpoint measured in the same run.

    .venv/bin/python bench/webhook.py [--texts 2000]

Each text is signed as Twilio signs it, validated, classified, stored, applied to the
ledger (a STOP appends two chained events) and answered with TwiML — all through Flask's
test client, so no network is measured on either side. Baseline: a Flask app whose one
endpoint reads the same form and returns an empty TwiML answer. Prints texts per second
for both and the ratio. Uses DATABASE_URL when set, else a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, Response, request  # noqa: E402

from gateway.adapters.keyword_file import load_rules  # noqa: E402
from gateway.adapters.twilio_sms import sign  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.db import make_engine, session_factory  # noqa: E402
from gateway.migrate import upgrade  # noqa: E402
from gateway.runtime import Runtime  # noqa: E402
from gateway.settings import Settings  # noqa: E402

TOKEN, BASE = "bench-token", "https://gateway.bench.test"
TEXTS = ["STOP", "HELP", "I'll stop by at 3", "START", "please stop texting me", "YES"]


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/twilio/inbound")
    def inbound() -> Response:
        _ = request.form.get("Body")
        return Response("<Response/>", mimetype="application/xml")

    return app


def texts(count: int) -> list[tuple[dict[str, str], str]]:
    numbers = [f"+1{area}555{n:04d}" for area in (201, 305, 405) for n in range(101, 200)]
    out, body = [], itertools.cycle(TEXTS)
    for i in range(count):
        params = {
            "MessageSid": f"SM{i:032x}",
            "From": numbers[i % len(numbers)],
            "To": "+12015550100",
            "Body": next(body),
        }
        out.append((params, sign(TOKEN, f"{BASE}/twilio/inbound", params)))
    return out


def rate(app: Flask, batch: list[tuple[dict[str, str], str]]) -> float:
    client = app.test_client()
    started = time.perf_counter()
    for params, signature in batch:
        response = client.post(
            "/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200
    return len(batch) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        settings = Settings(
            database_url=url,
            twilio_auth_token=TOKEN,
            public_base_url=BASE,
            keywords_file=ROOT / "keywords.yml",
            journal_dir=Path(tmp),
        )
        runtime = Runtime(
            settings=settings,
            rules=load_rules(settings.keywords_file),
            engine=engine,
            sessions=session_factory(engine),
        )
        batch = texts(args.texts)
        bare = rate(bare_app(), batch)
        ours = rate(create_app(runtime=runtime), batch)
        print(f"database: {engine.dialect.name}, texts: {args.texts}")
        print(f"bare Flask endpoint:      {bare:8.1f} texts/s")
        print(f"/twilio/inbound (full):   {ours:8.1f} texts/s  ({1000 / ours:.1f} ms each)")
        print(f"ratio inbound / bare:     {ours / bare:8.3f}")


if __name__ == "__main__":
    main()
