"""The hosted opt-in form's rules (SPEC §10): what `/join` shows, which categories wait for the
patient's YES, and the texts sent after it. PURE.

A published disclosure is never edited (keywords.yml adds a new version instead), so the form
names the version it shows and keeps a digest of exactly the text shown: the proof the FTC's
"complete record of consent" asks for, whatever the file says later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

JOIN_TEXT_KEYS = ("confirmation", "confirmation_pending", "confirmed")
JOIN_TEXT_FIELDS = frozenset({"program", "contact", "frequency", "categories", "pending"})


@dataclass(frozen=True)
class Disclosure:
    """One disclosure as a form shows it: the version on file, its text, and that text's digest."""

    version: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JoinRules:
    """keywords.yml `join:`. `disclosures`: category -> language -> disclosure version id, in
    the order the form shows them. `double_opt_in`: categories a form's tick only requests; the
    patient's YES grants them (CTIA, so a number typed by a stranger never gets offers)."""

    disclosures: Mapping[str, Mapping[str, str]]
    double_opt_in: tuple[str, ...]
    pending_hours: int
    texts: Mapping[str, Mapping[str, str]]  # language -> JOIN_TEXT_KEYS -> text


def form_disclosure(
    join: JoinRules,
    disclosures: Mapping[str, str],
    category: str,
    language: str,
    default_language: str,
) -> Disclosure | None:
    """The disclosure the form shows for `category` in `language` (else the default language);
    None when the form does not offer that category."""
    versions = join.disclosures.get(category)
    if not versions:
        return None
    version = versions.get(language) or versions.get(default_language)
    if version is None or version not in disclosures:
        return None
    return Disclosure(version, disclosures[version])
