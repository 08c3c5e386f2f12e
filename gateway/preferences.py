"""Preferences by text (SPEC §10): the signed link a HELP reply ends with, and what the
patient's page shows and changes. Takes the caller's session, never commits.

Changes go through `services.record_consent` as `web_form` events, so SPEC §4's rules hold
here as everywhere: a stop is the patient's own revocation (only the patient lifts it), and a
start carries the form's evidence and the disclosure the page showed, word for word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import ledger, services
from gateway.domain import preference_link
from gateway.domain.consent import (
    SELF_SERVICE_REVOCATIONS,
    Action,
    Event,
    Source,
    Status,
    may_send,
    status_of,
)
from gateway.domain.join_form import Disclosure, form_disclosure
from gateway.domain.keywords import KeywordRules
from gateway.models import PreferenceLink
from gateway.services import Problem


@dataclass(frozen=True)
class Links:
    """How links are issued: where the page is served, the key, how long a link lives."""

    base_url: str
    key: bytes
    lifetime: dt.timedelta

    def issue(
        self, session: Session, number: str, language: str, inbound_sid: str, now: dt.datetime
    ) -> str:
        """A new link for `number`, recorded; its URL, to end the HELP reply with."""
        row = PreferenceLink(
            number=number,
            language=language,
            inbound_sid=inbound_sid,
            issued_at=now,
            expires_at=now + self.lifetime,
        )
        session.add(row)
        session.flush()
        return preference_link.url(self.base_url, row.id, self.key)


class LinkRefused(Exception):
    """`forged`: not a link we made (404). `gone`: ours, but expired or revoked (410); its
    `language` is the one the link was sent in, to say so in."""

    def __init__(self, kind: str, language: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.language = kind, language


def open_link(session: Session, token: str, key: bytes, now: dt.datetime) -> PreferenceLink:
    """The link a token names, while it holds; else LinkRefused."""
    found = preference_link.link_id(token, key)
    link = session.get(PreferenceLink, found) if found is not None else None
    if link is None:
        raise LinkRefused("forged")
    if link.revoked_at is not None or now >= link.expires_at:
        raise LinkRefused("gone", link.language)
    return link


def open_links(session: Session, number: str, now: dt.datetime) -> list[PreferenceLink]:
    query = select(PreferenceLink).where(
        PreferenceLink.number == number,
        PreferenceLink.revoked_at.is_(None),
        PreferenceLink.expires_at > now,
    )
    return list(session.execute(query.order_by(PreferenceLink.id)).scalars())


@dataclass(frozen=True)
class Choice:
    """One category as the page shows it. `disclosure`: what to agree to, word for word, to
    start it again — only when it is not received and the hosted form offers it.
    `stopped_by_text`: a STOP text (or the carrier's block) stopped it; the carrier keeps
    holding our texts back until the patient texts START, whatever the ledger says."""

    category: str
    label: str
    receiving: bool
    disclosure: Disclosure | None
    status: Status = Status.NONE
    stopped_by_text: bool = False


def choices(session: Session, rules: KeywordRules, number: str, language: str) -> list[Choice]:
    in_force = ledger.current(session, number)
    found = []
    for name, rule in rules.categories.items():
        event = in_force.get(name)
        status = status_of(event)
        receiving = may_send(status, rule.requires_grant)
        found.append(
            Choice(
                category=name,
                label=rule.labels.get(language) or rule.labels.get(rules.default_language, name),
                receiving=receiving,
                disclosure=None if receiving else disclosure_for(rules, name, language),
                status=status,
                stopped_by_text=status is Status.REVOKED
                and event is not None
                and event.source in SELF_SERVICE_REVOCATIONS,
            )
        )
    return found


def disclosure_for(rules: KeywordRules, category: str, language: str) -> Disclosure | None:
    """The very disclosure the hosted /join form shows for this category and language."""
    if rules.join is None:
        return None
    return form_disclosure(
        rules.join, rules.disclosures, category, language, rules.default_language
    )


def stop(
    session: Session,
    rules: KeywordRules,
    link: PreferenceLink,
    category: str,
    evidence: Mapping[str, Any],
    now: dt.datetime,
) -> Event | None:
    """The patient stops a category they receive; None when they already do not."""
    _known(rules, category)
    rule = rules.categories[category]
    if not may_send(ledger.current_status(session, link.number, category), rule.requires_grant):
        return None
    return services.record_consent(
        session,
        rules,
        number=link.number,
        category=category,
        action=Action.REVOKE,
        source=Source.WEB_FORM,
        evidence={**evidence, "preference_link": link.id},
        actor=link.number,
        now=now,
    )


def start(
    session: Session,
    rules: KeywordRules,
    link: PreferenceLink,
    category: str,
    language: str,
    version_shown: str,
    evidence: Mapping[str, Any],
    now: dt.datetime,
) -> Event | None:
    """The patient ticked the box under the disclosure: a grant that records exactly which text
    they saw. No second YES: the link came to this phone, which is what a YES would prove.
    None when the category is already received (a second press of the button)."""
    _known(rules, category)
    rule = rules.categories[category]
    if may_send(ledger.current_status(session, link.number, category), rule.requires_grant):
        return None
    disclosure = disclosure_for(rules, category, language)
    if disclosure is None:
        raise Problem(422, "invalid_category", "this page does not offer that category", "category")
    if version_shown != disclosure.version:
        # keywords.yml changed between showing the page and the tick: the patient agreed to
        # a text no longer on the page, so ask again rather than record the wrong words.
        raise Problem(409, "disclosure_changed", "the text to agree to has changed", "category")
    return services.record_consent(
        session,
        rules,
        number=link.number,
        category=category,
        action=Action.GRANT,
        source=Source.WEB_FORM,
        evidence={
            **evidence,
            "preference_link": link.id,
            "disclosure_version": disclosure.version,
            "disclosure_sha256": disclosure.sha256,
            "checkbox_unchecked_by_default": True,
            "language": language,
        },
        actor=link.number,
        now=now,
    )


def _known(rules: KeywordRules, category: str) -> None:
    if category not in rules.categories:
        raise Problem(422, "invalid_category", "no such category", "category")
