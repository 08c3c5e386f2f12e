"""Logs never hold a full phone number (SPEC §8). Numbers reach log lines from places no
call site controls — a request line in the web server's access log, the URI of an aborted
request, an exception's text — so every line is masked as it is written: each number in it,
in any form a URL or a person writes one, is cut to its last 4 digits (`phone.mask`)."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from gateway.domain.phone import mask

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_DIGIT = r"(?:\d|%3\d|%253\d)"  # a digit, or a digit percent-encoded (once or twice)
# spaces (tab, no-break), dots, dashes, slashes, parentheses: raw, encoded or encoded twice
_JOIN = r"(?:[ \t\u00a0./\-+()]|%(?:25)?(?:20|09|2[bBdDeEfF89]|[cC]2%(?:25)?[aA]0))"
# Not inside a word or a hex id (SM0123…), unless a percent-escape ends right before it.
_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"
_NUMBER = re.compile(
    # +1 201 555 0123, +12015550123, %2B12015550123, +44 20 7946 0123: a + and 7 digits or more
    rf"(?:\+|%(?:25)?2[bB]){_JOIN}{{0,3}}{_DIGIT}(?:{_JOIN}{{0,3}}{_DIGIT}){{6,}}"
    # 12015550123, 2015550123: 10 digits or more in a row
    rf"|{_START}{_DIGIT}{{10,}}"
    # (201) 555-0123, 201-555-0123, 201.555.0123, 1 201 555 0123: the North American shape
    rf"|{_START}(?:1{_JOIN}{{1,3}})?(?:\(|%28)?\d{{3}}(?:\)|%29)?{_JOIN}{{0,3}}\d{{3}}{_JOIN}{{0,3}}\d{{4}}(?!\d)"
)


def mask_numbers(text: str) -> str:
    """`text` with every phone number in it masked to its last 4 digits."""
    return _NUMBER.sub(lambda found: mask(unquote(found.group())), text)


class MaskNumbers(logging.Filter):
    """Masks a record's whole text — message, arguments, traceback — before any handler
    writes it. Attach it to handlers (it then sees records from every logger) or to a logger
    (the records logged on it)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep the format alone
            message = str(record.msg)
        record.msg, record.args = mask_numbers(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_numbers(record.stack_info)
        return True


def masked(target: logging.Logger | logging.Handler) -> None:
    """Attach the mask to a logger or handler, once."""
    if not any(isinstance(f, MaskNumbers) for f in target.filters):
        target.addFilter(MaskNumbers())


def configure(level: int = logging.INFO) -> None:
    """The project's processes log to stderr, masked: `smsgate dev`, the workers, and the
    application's own loggers under gunicorn."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        masked(handler)
