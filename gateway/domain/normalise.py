"""Reading a text as a keyword reader would (SPEC §5.4): invisibles, look-alikes, spacing. PURE.

`plain` is the strict normal form, `folded` the loose one; `compacted` and `squeezed` undo
letter spacing and repeats ("s t o p", "STOPPP").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Invisible characters people (and spoofers) leave inside words: zero-width space/joiners,
# direction marks, soft hyphen, word joiner, BOM, emoji variation selectors and tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})


def _look_alikes() -> dict[int, str]:
    """Letters from other scripts that read as Latin ones (NFKC leaves them alone)."""
    pairs = {
        # Cyrillic
        "А": "A",
        "а": "a",
        "В": "B",
        "Е": "E",
        "е": "e",
        "Ё": "E",
        "ё": "e",
        "К": "K",
        "к": "k",
        "М": "M",
        "м": "m",
        "Н": "H",
        "О": "O",
        "о": "o",
        "Р": "P",
        "р": "p",
        "С": "C",
        "с": "c",
        "Т": "T",
        "т": "t",
        "У": "Y",
        "у": "y",
        "Х": "X",
        "х": "x",
        "Ѕ": "S",
        "ѕ": "s",
        "І": "I",
        "і": "i",
        "Ї": "I",
        "ї": "i",
        "Ј": "J",
        "ј": "j",
        "Ԁ": "D",
        "ԁ": "d",
        "Ү": "Y",
        "ү": "y",
        "Ԛ": "Q",
        "ԛ": "q",
        "Ԝ": "W",
        "ԝ": "w",
        "Һ": "H",
        "һ": "h",
        "Ӏ": "I",
        "ӏ": "l",
        "Ɡ": "G",
        "ɡ": "g",
        "Ꮪ": "S",
        "Ꭲ": "T",
        # Greek
        "Α": "A",
        "α": "a",
        "Β": "B",
        "Ε": "E",
        "ε": "e",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "ι": "i",
        "Κ": "K",
        "κ": "k",
        "Μ": "M",
        "Ν": "N",
        "ν": "v",
        "Ο": "O",
        "ο": "o",
        "Ρ": "P",
        "ρ": "p",
        "Τ": "T",
        "τ": "t",
        "Υ": "Y",
        "υ": "u",
        "Χ": "X",
        "χ": "x",
        "ϲ": "c",
        "Ϲ": "C",
        "ϳ": "j",
        # Latin small capitals and other look-alikes
        "ᴀ": "a",
        "ʙ": "b",
        "ᴄ": "c",
        "ᴅ": "d",
        "ᴇ": "e",
        "ꜰ": "f",
        "ɢ": "g",
        "ʜ": "h",
        "ɪ": "i",
        "ᴊ": "j",
        "ᴋ": "k",
        "ʟ": "l",
        "ᴍ": "m",
        "ɴ": "n",
        "ᴏ": "o",
        "ᴘ": "p",
        "ǫ": "q",
        "ʀ": "r",
        "ꜱ": "s",
        "ᴛ": "t",
        "ᴜ": "u",
        "ᴠ": "v",
        "ᴡ": "w",
        "ʏ": "y",
        "ᴢ": "z",
        "ı": "i",
        "ȷ": "j",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "đ": "d",  # Vietnamese d with stroke: no accent to strip, but read as d
        "Đ": "D",
    }
    table = {ord(k): v for k, v in pairs.items()}
    # Emoji letters NFKC keeps: regional indicators 🇸🇹🇴🇵 and (negative) circled/squared 🅢🆂.
    for first in (0x1F1E6, 0x1F150, 0x1F170):
        table.update({first + i: chr(ord("a") + i) for i in range(26)})
    return table


_LOOK_ALIKES = _look_alikes()
WORDS = re.compile(r"\w+")


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _trim(text: str) -> str:
    """Strip surrounding punctuation, symbols (emoji) and spaces; keep what is inside."""
    start, end = 0, len(text)
    while start < end and not _is_word_char(text[start]):
        start += 1
    while end > start and not _is_word_char(text[end - 1]):
        end -= 1
    return text[start:end]


_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NOT_ALNUM = re.compile(r"[\W_]+")


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))


@lru_cache(maxsize=16)  # one text is normalised several ways in one reading
def visible(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


@lru_cache(maxsize=16)  # one text is normalised several ways in one reading
def plain(text: str) -> str:
    """SPEC §5.4 normal form: NFKC, no invisibles, case-folded, trimmed, single spaces."""
    folded = visible(text).casefold().translate(_APOSTROPHES)
    return " ".join(_trim(" ".join(folded.split())).split())


@lru_cache(maxsize=16)  # one text is normalised several ways in one reading
def folded(text: str) -> str:
    """The plain form read more loosely: look-alike letters mapped, accents removed."""
    mapped = visible(text).translate(_LOOK_ALIKES)
    return plain(strip_accents(mapped.casefold()))


@lru_cache(maxsize=16)  # one text is normalised several ways in one reading
def folded_cased(text: str) -> str:
    """Like `folded` but keeping case and punctuation: for finding sentences and names."""
    mapped = visible(text).translate(_LOOK_ALIKES).translate(_APOSTROPHES)
    return strip_accents(mapped)


def compacted(text: str) -> str:
    """Letters and digits only: "s.t.o.p" and "s t o p" read as "stop"."""
    return _NOT_ALNUM.sub("", text)


def squeezed(text: str) -> str:
    """Repeated letters read once: "STOPPPP" and "sstop" read as "stop"."""
    return re.sub(r"(.)\1+", r"\1", text)
