"""The console's navigation: every page a person may look for, in the order they look.

An entry is shown only if its page is served; an entry the signed-in role may not use is
shown disabled, so an auditor sees that sending exists and that it is not theirs to do."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.web.auth import READ, WRITE_CONSENT

AUDIT = ("admin", "auditor")


@dataclass(frozen=True)
class Entry:
    label: str
    endpoint: str
    roles: tuple[str, ...]


ENTRIES = (
    Entry("Dashboard", "home.dashboard", READ),
    Entry("Send", "send_pages.send", WRITE_CONSENT),
    Entry("Numbers", "number_pages.lookup", READ),
    Entry("Messages", "message_pages.outbox", READ),
    Entry("Reviews", "review_pages.queue", READ),
    Entry("Ledger", "ledger_pages.search", READ),
    # As the API: exports, verification, proofs and who-read-what are for auditors and admins.
    Entry("Export", "ledger_pages.export", AUDIT),
    Entry("Verify", "ledger_pages.verify", AUDIT),
    Entry("Access log", "access_pages.log", AUDIT),
    Entry("Disclosures", "access_pages.lookup", AUDIT),
    Entry("Proof", "ledger_pages.proof", AUDIT),
)
