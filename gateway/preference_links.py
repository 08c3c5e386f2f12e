"""Ending a number's preference links (SPEC §10) when the phone is no longer the patient's.

A link reaches whoever held the phone when HELP was texted. When staff find the number is
someone else's (a wrong-number review) or the reassigned-numbers database says it changed
hands, a link still in the previous holder's messages must not change the new holder's texts.
Its own module, so the services that revoke reach it without importing the preference page's
service (which imports them). Takes the caller's session; never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.models import PreferenceLink


def revoke_links(session: Session, number: str, now: dt.datetime) -> int:
    """End every link still open for a number; how many were open."""
    result = session.execute(
        update(PreferenceLink)
        .where(
            PreferenceLink.number == number,
            PreferenceLink.revoked_at.is_(None),
            PreferenceLink.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
