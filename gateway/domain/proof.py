"""What a consent record must carry to be provable later (SPEC §4).

Prior express written consent for marketing must show the disclosure the patient agreed to
(its text, or a version whose text is on file) and the channel's own evidence; courts reject
records that show only today's form text, and the FTC asks for a complete record of consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.domain.consent import Action, Source

CHANNEL_EVIDENCE: Mapping[Source, tuple[str, ...]] = {
    Source.WEB_FORM: ("page_url", "ip", "user_agent", "checkbox_unchecked_by_default"),
    Source.PAPER_FORM: ("form_id", "staff"),
    Source.FRONT_DESK: ("staff",),
}

MIN_DISCLOSURE = 20  # "ok" is not a disclosure a patient agreed to

# Sources staff and systems may record through the API; the rest the gateway records itself.
RECORDABLE = frozenset(
    {Source.WEB_FORM, Source.FRONT_DESK, Source.PAPER_FORM, Source.API, Source.IMPORT}
)


def missing_proof(
    *,
    requires_grant: bool,
    action: Action,
    source: Source,
    evidence: Mapping[str, Any],
    disclosures: Mapping[str, str],
) -> list[str]:
    """The pieces of evidence a grant lacks; empty when it is provable."""
    if action is not Action.GRANT or not requires_grant:
        return []
    if source not in CHANNEL_EVIDENCE:
        return [f"a channel that can prove consent ({', '.join(CHANNEL_EVIDENCE)}), not {source}"]
    missing = [key for key in CHANNEL_EVIDENCE[source] if _blank(evidence.get(key))]
    if source is Source.WEB_FORM and evidence.get("checkbox_unchecked_by_default") is not True:
        missing.append("checkbox_unchecked_by_default must be true")
    version, text = evidence.get("disclosure_version"), evidence.get("disclosure_text")
    known_version = isinstance(version, str) and version in disclosures
    if not known_version and not (isinstance(text, str) and len(text.strip()) >= MIN_DISCLOSURE):
        missing.insert(0, "disclosure_text (the words agreed to) or a known disclosure_version")
    return list(dict.fromkeys(missing))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
