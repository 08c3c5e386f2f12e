"""Twilio, the one module that imports it: sending, webhook signatures, TwiML."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from gateway.ports import SendError

# The number stays locked while Twilio answers; an inbound STOP waits at most 5 s for that
# lock before it is journaled. Twilio answers in well under a second when it is healthy.
SEND_TIMEOUT_SECONDS = 4.0


class TwilioSender:
    """Sends through Twilio's REST API with the official SDK."""

    dry_run = False

    def __init__(
        self, account_sid: str, auth_token: str, status_callback: str, api_url: str | None = None
    ) -> None:
        http = TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS)
        self.client = Client(account_sid, auth_token, http_client=http)
        if api_url:
            self.client.api.base_url = api_url.rstrip("/")  # a stub on loopback, or staging
        self.status_callback = status_callback

    def send(self, *, to: str, sender: str, body: str) -> str:
        try:
            message = self.client.messages.create(
                to=to, from_=sender, body=body, status_callback=self.status_callback
            )
        except TwilioRestException as exc:
            raise _refusal(exc) from None
        except requests.ConnectionError as exc:
            if _never_left(exc):
                raise SendError(
                    f"Twilio unreachable: {type(exc).__name__}", permanent=False
                ) from None
            raise _unknown() from None
        except requests.Timeout:
            raise _unknown() from None
        return str(message.sid)

    def received(self, clinic_number: str, since: dt.datetime) -> Iterator[Received]:
        """Texts Twilio received for a clinic number since `since` (for backfill)."""
        for message in self.client.messages.stream(to=clinic_number, date_sent_after=since):
            if str(message.direction) == "inbound":
                yield Received(
                    sid=str(message.sid),
                    from_number=str(message.from_),
                    to_number=str(message.to),
                    body=str(message.body or ""),
                    received_at=message.date_sent or since,
                )


@dataclass(frozen=True)
class Received:
    sid: str
    from_number: str
    to_number: str
    body: str
    received_at: dt.datetime


def _never_left(exc: requests.ConnectionError) -> bool:
    """Refused or timed out while connecting: nothing reached Twilio, a retry is safe."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, (NewConnectionError, ConnectTimeoutError)
    )


def _unknown() -> SendError:
    # The request left (read timeout, connection dropped mid-answer): Twilio may have accepted
    # it. Never resend blindly: the message becomes `unknown`, visible to staff.
    return SendError("no complete answer from Twilio", permanent=True, unknown=True)


def _refusal(exc: TwilioRestException) -> SendError:
    code = int(exc.code) if exc.code else None
    transient = exc.status == 429 or exc.status >= 500
    return SendError(f"Twilio {exc.status} {code}: {exc.msg}", permanent=not transient, code=code)


class DryRunSender:
    """No credentials: every decision is made and recorded, nothing leaves (SPEC §2)."""

    dry_run = True

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def send(self, *, to: str, sender: str, body: str) -> str:
        return f"DRYRUN{next(self._ids):026d}"


def valid_signature(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Twilio signs the URL it was told plus the POST parameters with the auth token; a
    repeated key is signed with every value (pass the multi-dict itself, not a dict of it)."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """What Twilio would send in X-Twilio-Signature (for tests and local tooling)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def twiml(reply: str | None) -> str:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response)
