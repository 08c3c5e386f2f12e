"""SMS segments: GSM-7 or UCS-2, and how much of one SMS a text fills. PURE."""

from __future__ import annotations

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each costs two septets (escape + char)


def non_gsm7(text: str) -> str:
    """The characters of `text` outside the GSM-7 alphabet (they force UCS-2: 70 per SMS)."""
    seen = dict.fromkeys(ch for ch in text if ch not in _GSM7_BASIC and ch not in _GSM7_EXTENSION)
    return "".join(seen)


def segment_size(text: str) -> tuple[int, int]:
    """(length in the encoding's units, units that fit in one SMS) for `text`."""
    if non_gsm7(text):
        return len(text.encode("utf-16-le")) // 2, 70
    return sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text), 160
