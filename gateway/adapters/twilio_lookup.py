"""Twilio Lookup v2's Reassigned Number package: the FCC's Reassigned Numbers Database asked
through the official SDK (`GET /v2/PhoneNumbers/{n}?Fields=reassigned_number&LastVerifiedDate=`).
The account must have the package enabled (Twilio console: Lookup → Reassigned Number)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.domain.reassigned import Answer, ReassignedAnswer
from gateway.ports import CheckError

# Asked before the number's lock is taken, so nothing waits on it but this one message; a
# bound all the same, well inside outbound.CLAIM_SETTLES (10 s): a claimed message whose worker
# is still asking must not look abandoned to a status callback or to reconcile.
LOOKUP_TIMEOUT_SECONDS = 5.0
ANSWERS = {"yes": Answer.YES, "no": Answer.NO, "no_data_available": Answer.NO_DATA}


class TwilioReassignedNumbers:
    def __init__(self, account_sid: str, auth_token: str, api_url: str | None = None) -> None:
        http = TwilioHttpClient(timeout=LOOKUP_TIMEOUT_SECONDS)
        self.client = Client(account_sid, auth_token, http_client=http)
        if api_url:
            self.client.lookups.base_url = api_url.rstrip("/")  # a stub on loopback, or staging

    def check(self, number: str, last_verified: dt.date) -> ReassignedAnswer:
        try:
            found = self.client.lookups.v2.phone_numbers(number).fetch(
                fields="reassigned_number", last_verified_date=f"{last_verified:%Y%m%d}"
            )
        except TwilioRestException as exc:
            transient = exc.status == 429 or exc.status >= 500
            code = int(exc.code) if exc.code else None
            raise CheckError(
                f"Twilio Lookup {exc.status} {code}: {exc.msg}", permanent=not transient, code=code
            ) from None
        except requests.RequestException as exc:
            raise CheckError(
                f"Twilio Lookup unreachable: {type(exc).__name__}", permanent=False
            ) from None
        return answer_of(found.reassigned_number)


def answer_of(payload: Any) -> ReassignedAnswer:
    """The package's object: {"last_verified_date": "2019-09-24", "is_number_reassigned":
    "yes"|"no"|"no_data_available", "error_code": null}. Anything else is no answer."""
    if not isinstance(payload, dict):
        raise CheckError("Twilio Lookup answered without reassigned_number", permanent=True)
    if payload.get("error_code"):
        code = str(payload["error_code"])
        raise CheckError(
            f"Twilio Lookup reassigned_number error {code}",
            permanent=False,
            code=int(code) if code.isdigit() else None,
        )
    answer = ANSWERS.get(str(payload.get("is_number_reassigned")))
    if answer is None:
        raise CheckError(f"Twilio Lookup answered {payload!r}", permanent=False)
    return ReassignedAnswer(
        answer=answer, since=_date(payload.get("last_verified_date")), raw=payload
    )


def _date(value: Any) -> dt.date | None:
    text = str(value or "").replace("-", "")
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 (a date, no time)
    except ValueError:
        return None
