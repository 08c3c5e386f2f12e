"""What the services need from the outside, as protocols: sending a text, asking whether a
number was reassigned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from gateway.domain.reassigned import ReassignedAnswer


class SendError(Exception):
    """Twilio refused or could not be reached. `permanent`: never retry; `unknown`: the request
    may have reached Twilio, so resending blindly could text the patient twice."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent, self.code, self.unknown = permanent, code, unknown


CARRIER_BLOCK = 21610  # the recipient texted STOP to this sender at the carrier
INVALID_NUMBER = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614, 21660})


class SmsSender(Protocol):
    dry_run: bool

    def send(self, *, to: str, sender: str, body: str) -> str:
        """Hand the message over; return the provider's id. Raises SendError."""
        ...


class Queue(Protocol):
    def deliver(self, message_id: str, job_id: str, at: dt.datetime | None = None) -> None:
        """Enqueue the send-time decision for a committed message."""
        ...

    def deliver_many(self, deliveries: Sequence[tuple[str, str]]) -> None:
        """Enqueue (message id, job id) pairs, committed messages, in one round trip."""
        ...


class CheckError(Exception):
    """The reassigned-numbers provider gave no answer. `permanent`: asking again will not help
    (the account lacks the package, say); otherwise try again later."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent, self.code = permanent, code


class ReassignedNumbers(Protocol):
    def check(self, number: str, last_verified: dt.date) -> ReassignedAnswer:
        """Was `number` permanently disconnected since `last_verified`? Raises CheckError."""
        ...
