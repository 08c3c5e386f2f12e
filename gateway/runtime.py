"""What one process wires once: settings, rules, engine, sessions, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.domain.keywords import KeywordRules
from gateway.ports import Queue
from gateway.settings import Settings


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    settings: Settings
    rules: KeywordRules
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    queue: Queue | None = None  # set when the app enqueues deliveries
