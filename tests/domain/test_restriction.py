"""No PHI by text (HIPAA §164.522(b)): the send rule picks the private text or blocks. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.consent import Source, Status
from gateway.domain.policy import Outcome, Reason, Recipient, decide
from gateway.domain.restriction import Text, missing_request_proof

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)  # noon in New York


def recipient(restricted: bool, status: Status = Status.NONE) -> Recipient:
    return Recipient(status, None, ("America/New_York",), {}, restricted=restricted)


@pytest.mark.parametrize(
    ("restricted", "private_text", "outcome", "reason", "text"),
    [
        (False, False, Outcome.SEND, Reason.OK, Text.BODY),
        (False, True, Outcome.SEND, Reason.OK, Text.BODY),
        (True, True, Outcome.SEND, Reason.OK, Text.PRIVATE_TEXT),
        (True, False, Outcome.BLOCK, Reason.RESTRICTED, None),
    ],
)
def test_a_restricted_number_gets_only_a_private_text(
    restricted: bool, private_text: bool, outcome: Outcome, reason: Reason, text: Text | None
) -> None:
    decision = decide(
        recipient=recipient(restricted),
        requires_grant=False,
        sender="+12015550100",
        caps=(),
        sent_at=(),
        now=NOW,
        private_text=private_text,
    )
    assert (decision.outcome, decision.reason, decision.text) == (outcome, reason, text)


def test_an_opt_out_is_named_before_the_restriction() -> None:
    decision = decide(
        recipient=recipient(True, Status.REVOKED),
        requires_grant=False,
        sender="+12015550100",
        caps=(),
        sent_at=(),
        now=NOW,
    )
    assert decision.reason is Reason.OPTED_OUT


def test_recording_a_restriction_names_the_staff_member_how_and_a_note() -> None:
    assert missing_request_proof(Source.FRONT_DESK, {}) == [
        "staff",
        "method (one of in_person, phone_call, signed_form)",
        "note",
    ]
    proof = {"staff": "Dana", "method": "in_person", "note": "asked at check-in"}
    assert missing_request_proof(Source.FRONT_DESK, proof) == []
    assert missing_request_proof(Source.API, proof)[0].startswith("source front_desk")


def test_a_corrected_restriction_is_no_longer_in_force() -> None:
    from gateway.domain.consent import Action, Event
    from gateway.domain.restriction import NO_PHI_BY_TEXT, in_force

    def event(id_: int, action: Action, source: Source, **evidence: object) -> Event:
        return Event(id_, "+12015550123", NO_PHI_BY_TEXT, action, source, NOW, NOW, "x", evidence)

    grant = event(1, Action.GRANT, Source.FRONT_DESK)
    # Recorded on the wrong number: the correction voids it and leaves nothing in force,
    # though its action (an action cannot say "none") is the voided grant's.
    voided = event(2, Action.GRANT, Source.CORRECTION, corrects=1, status="none")
    assert in_force(grant)
    assert not in_force(voided)
    assert not in_force(None)
