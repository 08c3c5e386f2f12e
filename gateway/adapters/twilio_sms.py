"""Twilio, the one module that imports it: webhook signatures and TwiML (sending comes with
the outbound path)."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse


def valid_signature(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Twilio signs the URL it was told plus the POST parameters with the auth token."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """What Twilio would send in X-Twilio-Signature (for tests and local tooling)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def twiml(reply: str | None) -> str:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response)
