"""Counting failures per key in fixed one-minute windows, in Redis so every web process (and
every gunicorn worker) shares one count; in this process's memory while Redis does not answer.

A window is the minute of the clock given (`INCR` + `EXPIRE` on `smsgate:authfail:KEY:MINUTE`).
Redis waits are bounded by short socket timeouts, and after a Redis error the counter stays in
memory for a few seconds before trying Redis again, so a dead Redis costs one timeout, not one
per request — and never an error to the client.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

WINDOW = 60  # seconds
PREFIX = "smsgate:authfail:"
SOCKET_TIMEOUT = 0.25  # seconds: a request waits at most this long for Redis
RETRY_REDIS_AFTER = 5.0  # seconds in memory after a Redis error
LOCAL_KEYS = 10_000  # the in-memory fallback forgets everything past this many keys
_BOUNDS = {
    "socket_timeout": SOCKET_TIMEOUT,
    "socket_connect_timeout": SOCKET_TIMEOUT,
    "retry": Retry(NoBackoff(), 0),
}


class FailureCounter:
    def __init__(
        self,
        connection: Redis | None,
        limit: int,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float] = time.monotonic,
        *,
        window: int = WINDOW,
        prefix: str = PREFIX,
    ) -> None:
        """`limit` per key in fixed windows of `window` seconds, counted under `prefix`."""
        self.redis = connection
        self.window = window
        self.prefix = prefix
        self.limit = limit
        self.clock = clock
        self.monotonic = monotonic
        self._local: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._redis_down_until = 0.0

    def wait(self, key: str) -> int:
        """Seconds `key` must wait before trying again (0: it may try now)."""
        window, left = self._window()
        count = self._get(key, window)
        return left if count >= self.limit else 0

    def failed(self, key: str) -> int:
        """Count one failure for `key`; the count in this window, this one included."""
        window, _ = self._window()
        return self._incr(key, window)

    def _window(self) -> tuple[int, int]:
        """The current window's number and the whole seconds left in it (1 or more)."""
        now = self.clock().timestamp()
        window = int(now // self.window)
        return window, max(1, int((window + 1) * self.window - now + 0.999))

    def _use_redis(self) -> Redis | None:
        if self.redis is None or self.monotonic() < self._redis_down_until:
            return None
        return self.redis

    def _redis_failed(self, exc: Exception) -> None:
        if self.monotonic() >= self._redis_down_until:
            log.warning(
                "Redis unavailable for the %s counter (%s); counting in this process for %ds",
                self.prefix,
                type(exc).__name__,
                RETRY_REDIS_AFTER,
            )
        self._redis_down_until = self.monotonic() + RETRY_REDIS_AFTER

    def _get(self, key: str, window: int) -> int:
        redis = self._use_redis()
        if redis is not None:
            try:
                value = redis.get(f"{self.prefix}{key}:{window}")
                return max(int(value or 0), self._local_count(key, window))
            except (RedisError, OSError, ValueError) as exc:
                self._redis_failed(exc)
        return self._local_count(key, window)

    def _incr(self, key: str, window: int) -> int:
        local = self._local_incr(key, window)
        redis = self._use_redis()
        if redis is not None:
            name = f"{self.prefix}{key}:{window}"
            try:
                pipe = redis.pipeline(transaction=False)
                pipe.incr(name)
                pipe.expire(name, self.window * 2)
                count, _ = pipe.execute()
                return max(int(count), local)
            except (RedisError, OSError, ValueError) as exc:
                self._redis_failed(exc)
        return local

    # The in-memory count is kept always (not only while Redis is down), so a Redis that
    # goes away mid-window does not hand an address a fresh allowance.
    def _local_count(self, key: str, window: int) -> int:
        with self._lock:
            return self._local.get((key, window), 0)

    def _local_incr(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._local) >= LOCAL_KEYS:
                self._local = {k: v for k, v in self._local.items() if k[1] >= window}
                if len(self._local) >= LOCAL_KEYS:
                    self._local.clear()
            count = self._local.get((key, window), 0) + 1
            self._local[(key, window)] = count
            return count


def connect_bounded(url: str) -> Redis:
    """A client whose every wait is bounded: short socket timeouts and no retries (redis-py
    retries three times with backoff by default). Connects on first use."""
    return Redis(connection_pool=ConnectionPool.from_url(url, **_BOUNDS))
