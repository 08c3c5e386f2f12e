"""Washington's 8:00–20:00 window (RCW 80.36.390) applies at send time to a Seattle number.

The hour that shows it is 20:30: before 8:00 the federal window (8:00–21:00) defers anyway."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Clock
from tests.workers.test_deliver import _deferred_then_sent, grant

WASHINGTON, OREGON = "+12065550142", "+15035550100"


def test_a_washington_number_waits_for_eight_after_twenty_hundred(
    send, fetch, drain, twilio, client, auth, clock: Clock
) -> None:
    grant(client, auth, WASHINGTON)
    clock.now = dt.datetime(2026, 11, 25, 4, 30, tzinfo=dt.UTC)  # 20:30 in Seattle (PST)
    _deferred_then_sent(
        send, fetch, drain, twilio, clock, WASHINGTON, "20:30", "2026-11-25T16:00:00Z"
    )


def test_oregon_next_door_keeps_the_federal_window(
    send, fetch, drain, twilio, client, auth, clock: Clock
) -> None:
    grant(client, auth, OREGON)
    clock.now = dt.datetime(2026, 11, 25, 4, 30, tzinfo=dt.UTC)  # 20:30 in Portland too
    message = send(OREGON, "Flu shots are in!", "marketing")
    drain()
    assert fetch(message["id"])["status"] == "sent" and len(twilio.sent) == 1
