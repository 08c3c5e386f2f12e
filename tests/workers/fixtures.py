"""Worker fixtures: the worker's runtime on the test database and Redis, Twilio's HTTP API
faked with `responses` (the SDK's own code runs), and an in-process RQ worker to drain."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from gateway.adapters.rq_queue import QUEUE, Outbox
from gateway.adapters.twilio_sms import DryRunSender, TwilioSender
from gateway.runtime import Runtime
from workers import runtime as worker_runtime
from workers.__main__ import Worker
from workers.runtime import WorkerRuntime

ACCOUNT = "AC" + "1" * 32
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


class FakeTwilio:
    """Twilio's Messages endpoint at the HTTP level: queue answers, record what was sent."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.answers: list[Any] = []
        self.sent: list[dict[str, str]] = []
        self.sids = itertools.count(1)
        mock.add_callback(responses.POST, MESSAGES_URL, callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.sent.append(form)
        answer = self.answers.pop(0) if self.answers else 201
        if isinstance(answer, Exception):
            raise answer
        if answer == 201:
            sid = f"SM{next(self.sids):032x}"
            body = {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
            return 201, {}, json.dumps(body)
        status, code = answer
        return status, {}, json.dumps({"code": code, "message": "refused", "status": status})

    def answer(self, *answers: Any) -> None:
        self.answers.extend(answers)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeTwilio(mock)


@pytest.fixture
def worker(runtime: Runtime, outbox: Outbox, twilio: FakeTwilio) -> Iterator[WorkerRuntime]:
    settings = replace(runtime.settings, twilio_account_sid=ACCOUNT)
    sender = TwilioSender(ACCOUNT, "token", status_callback=settings.public_base_url + "/s")
    wired = WorkerRuntime(
        settings=settings,
        rules=runtime.rules,
        sessions=runtime.sessions,
        sender=sender,
        outbox=outbox,
        clock=runtime.clock,
    )
    worker_runtime.install(wired)
    yield wired
    worker_runtime.install(None)


@pytest.fixture
def drain(redis: Redis, worker: WorkerRuntime) -> Callable[[], None]:
    """Run every job that is due now, retries included, in this process."""

    def run() -> None:
        Worker([Queue(QUEUE, connection=redis)], connection=redis).work(burst=True)

    return run


@pytest.fixture
def send(client: FlaskClient, auth: Any) -> Callable[..., dict[str, Any]]:
    def post(
        to: str,
        body: str = "Your visit is tomorrow",
        category: str = "transactional",
        key: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        headers = {**auth("front_desk"), **({"Idempotency-Key": key} if key else {})}
        payload = {"to": to, "body": body, "category": category, **extra}
        response = client.post("/api/v1/messages", headers=headers, json=payload)
        assert response.status_code == 202, response.get_json()
        return dict(response.get_json())

    return post


@pytest.fixture
def fetch(client: FlaskClient, auth: Any) -> Callable[[str], dict[str, Any]]:
    def get(message_id: str) -> dict[str, Any]:
        return dict(
            client.get(f"/api/v1/messages/{message_id}", headers=auth("auditor")).get_json()
        )

    return get


@pytest.fixture
def dry_drain(runtime: Runtime, outbox: Outbox, redis: Redis) -> Iterator[Callable[[], None]]:
    """The worker as `make run` has it without Twilio credentials: every decision made and
    recorded, nothing handed to Twilio (status dry_run). Runs every job due now."""
    wired = WorkerRuntime(
        settings=runtime.settings,
        rules=runtime.rules,
        sessions=runtime.sessions,
        sender=DryRunSender(),
        outbox=outbox,
        clock=runtime.clock,
    )
    worker_runtime.install(wired)

    def run() -> None:
        wired.rules = runtime.rules  # a test may have changed them (with_rules)
        Worker([Queue(QUEUE, connection=redis)], connection=redis).work(burst=True)

    yield run
    worker_runtime.install(None)
