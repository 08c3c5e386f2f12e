"""A worker asked to stop (SIGTERM, the end of a burst) is gone within seconds: RQ's listener
for its commands waits 60 s for each message, and since redis-py 8.2 a stopping worker waits
for that listener — a minute, past what a platform allows before it kills the worker."""

from __future__ import annotations

import threading
import time

from redis import Redis
from rq import Queue

from gateway.adapters.rq_queue import QUEUE
from workers.__main__ import LISTENER_WAKES_SECONDS, Worker


def test_a_stopping_worker_does_not_wait_a_minute_for_its_listener(redis: Redis) -> None:
    worker = Worker([Queue(QUEUE, connection=redis)], connection=redis)
    worker.subscribe()
    assert worker.pubsub is not None
    deadline = time.monotonic() + 10
    while not worker.pubsub.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    # The moment RQ's listener waits longest: it has read its channel's unsubscription and
    # waits for a subscription that will never come.
    worker.pubsub.unsubscribe()
    while worker.pubsub.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=10 * LISTENER_WAKES_SECONDS)
    assert not stopping.is_alive(), "the worker is still waiting for its listener"
