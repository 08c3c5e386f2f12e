"""The signed link a HELP reply may end with (SPEC §10): short enough for a text, useless
when forged, and holding nothing about the patient. PURE.

A token is url-safe base64 of the link's id (5 bytes) and the first 10 bytes of its
HMAC-SHA256 under a key derived from SECRET_KEY: 20 characters. The number, language and
lifetime stay in the `preference_links` row the id names, so a forwarded or logged link shows
no phone number, and a link can be revoked or expire whatever its token says. 80 bits of MAC,
checked in constant time behind a per-address failure limit, leave nothing to guess.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

ID_BYTES = 5
MAC_BYTES = 10
TOKEN_LENGTH = (ID_BYTES + MAC_BYTES) * 4 // 3  # 20: 15 bytes are 20 base64 characters
PATH = "/p/"
# What the HELP reply's link is introduced with, per language (English when the reply's
# language has none): the patient should know what a link in a clinic's text is for.
LEAD = {
    "en": "Choose your texts: {link}",
    "es": "Elija sus mensajes: {link}",
}


def link_key(secret: str) -> bytes:
    """A key for links alone, derived from SECRET_KEY: a session cookie's signature can never
    be replayed as a link's, nor the other way round."""
    return hmac.new(secret.encode(), b"smsgate preference link v1", hashlib.sha256).digest()


def token(link_id: int, key: bytes) -> str:
    if not 0 < link_id < 256**ID_BYTES:
        raise ValueError(f"a link id is 1 to {256**ID_BYTES - 1}, not {link_id}")
    raw = link_id.to_bytes(ID_BYTES, "big")
    return base64.urlsafe_b64encode(raw + _mac(raw, key)).decode()


def link_id(text: str, key: bytes) -> int | None:
    """The id a token was signed for; None when it is not one of ours (any change at all)."""
    if len(text) != TOKEN_LENGTH or not text.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).decode() != text:
        return None  # only the one canonical spelling of a token
    given, mac = raw[:ID_BYTES], raw[ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(given, key)):
        return None
    number = int.from_bytes(given, "big")
    return number or None


def _mac(raw: bytes, key: bytes) -> bytes:
    return hmac.new(key, raw, hashlib.sha256).digest()[:MAC_BYTES]


def url(base_url: str, link_id_: int, key: bytes) -> str:
    return f"{base_url.rstrip('/')}{PATH}{token(link_id_, key)}"


def lead(language: str, link: str) -> str:
    return LEAD.get(language, LEAD["en"]).format(link=link)
