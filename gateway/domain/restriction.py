"""A patient's request that we text them in a specific manner (HIPAA §164.522(b), confidential
communications): `no_phi_by_text`, no protected health information in a text. PURE.

The restriction is a ledger event like consent, on its own pseudo-category: a grant puts it in
force, a revoke lifts it. It is not a sending category: STOP, START and `all` never touch it,
and it never decides whether a category may be sent — only which text may go.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from gateway.domain.consent import Event, Source, Status, missing_lift_proof, status_of

NO_PHI_BY_TEXT = "no_phi_by_text"
RESTRICTIONS = (NO_PHI_BY_TEXT,)
# Who records one: the desk that heard the patient ask (a signed form is `front_desk` with
# method `signed_form`, as for consent).
RESTRICTION_SOURCES = (Source.FRONT_DESK,)


class Text(StrEnum):
    """Which of a message's texts went: the one asked for, or its template's private text."""

    BODY = "body"
    PRIVATE_TEXT = "private_text"


def in_force(event: Event | None) -> bool:
    """The restriction holds while its latest event leaves it granted (a correction that
    voided the grant leaves `none`, whatever its action)."""
    return status_of(event) is Status.GRANTED


def missing_request_proof(source: Source, evidence: Mapping[str, Any]) -> list[str]:
    """What recording (or lifting) a restriction lacks: it is the patient's own request, so it
    names the staff member who heard it, how the patient asked, and a note."""
    if source not in RESTRICTION_SOURCES:
        return [f"source front_desk (the desk records the patient's request), not {source.value}"]
    return missing_lift_proof(Source.FRONT_DESK, evidence)
