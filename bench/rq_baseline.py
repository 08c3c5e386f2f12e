"""bench/worker.py's baselines, run by a plain RQ SimpleWorker: the Twilio SDK call smsgate's
worker makes for a message (`client.messages.create`, same client settings, same stub), and
nothing else — no database, no decision. Its client is built once per process, as smsgate's
worker builds its sender once."""

from __future__ import annotations

import os

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.adapters.twilio_sms import SEND_TIMEOUT_SECONDS

_client: Client | None = None


def send(to: str, sender: str, body: str) -> str:
    global _client
    if _client is None:
        http = TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS)
        _client = Client(
            os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], http_client=http
        )
        _client.api.base_url = os.environ["TWILIO_API_URL"].rstrip("/")
    message = _client.messages.create(
        to=to, from_=sender, body=body, status_callback=os.environ["STATUS_CALLBACK"]
    )
    return str(message.sid)


def nothing() -> None:
    """RQ's own cost: fetch a job, run nothing, record the result."""
