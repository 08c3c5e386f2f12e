"""Has a client sent a whole HTTP/1.1 request yet? Read over the bytes received so far,
without parsing more than the framing needs (RFC 9112 §6: Content-Length or chunked).

Anything the framing cannot make sense of goes to gunicorn's own parser, which refuses it
with its precise status; this module only decides when a request is complete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    WAIT = "wait"  # more bytes to come
    CONTINUE = "continue"  # the head is in and the client waits for "100 Continue"
    READY = "ready"  # a whole request is here: a thread can serve it without waiting
    PARSE = "parse"  # malformed or over gunicorn's own limits: let its parser answer
    HEAD_TOO_LARGE = "head_too_large"  # 431
    BODY_TOO_LARGE = "body_too_large"  # 413


@dataclass(frozen=True)
class Limits:
    line: int  # the request line (gunicorn's limit_request_line)
    head: int  # request line and header fields together
    body: int  # the body, by Content-Length or the sum of its chunks


_BARE_LF = re.compile(rb"(?<!\r)\n")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CHUNK_LINE = 1024  # a chunk-size line with its extensions


def judge(data: bytes | bytearray, limits: Limits) -> Verdict:
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    line_end = head.find(b"\r\n")
    if _BARE_LF.search(head) or (line_end if line_end >= 0 else len(head)) > limits.line:
        return Verdict.PARSE
    if len(head) > limits.head:
        return Verdict.HEAD_TOO_LARGE
    if end < 0:
        return Verdict.WAIT
    fields = _fields(head)
    if fields is None:
        return Verdict.PARSE
    body = end + 4
    if "transfer-encoding" in fields:
        if "content-length" in fields or fields["transfer-encoding"] != ["chunked"]:
            return Verdict.PARSE
        verdict = _chunked(data, body, limits.body)
    else:
        verdict = _sized(data, body, fields.get("content-length"), limits.body)
    if verdict is Verdict.WAIT and len(data) > limits.head + 2 * limits.body:
        return Verdict.BODY_TOO_LARGE  # chunk framing or trailers beyond any honest overhead
    if verdict is Verdict.WAIT and fields.get("expect") == ["100-continue"]:
        return Verdict.CONTINUE
    return verdict


def _fields(head: bytes | bytearray) -> dict[str, list[str]] | None:
    """The framing fields, lower-cased, each with its comma-separated values; None when a
    line is not a field (gunicorn refuses it, with obsolete line folding)."""
    found: dict[str, list[str]] = {}
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or line[:1] in (b" ", b"\t"):
            return None
        key = name.strip().lower().decode("latin-1")
        if key in ("content-length", "transfer-encoding", "expect"):
            values = value.decode("latin-1").lower().split(",")
            found.setdefault(key, []).extend(v.strip() for v in values)
    return found


def _sized(data: bytes | bytearray, body: int, lengths: list[str] | None, limit: int) -> Verdict:
    if not lengths:
        return Verdict.READY  # no body
    if len(set(lengths)) != 1 or not lengths[0].isdigit() or not lengths[0].isascii():
        return Verdict.PARSE
    length = int(lengths[0])
    if length > limit:
        return Verdict.BODY_TOO_LARGE
    return Verdict.READY if len(data) - body >= length else Verdict.WAIT


def _chunked(data: bytes | bytearray, at: int, limit: int) -> Verdict:
    total = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return Verdict.WAIT if len(data) - at <= _CHUNK_LINE else Verdict.PARSE
        size = data[at:line_end].split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size):
            return Verdict.PARSE
        total += int(size, 16)
        if total > limit:
            return Verdict.BODY_TOO_LARGE
        if int(size, 16) == 0:  # the last chunk; the trailer section ends with an empty line
            trailers = line_end + 2
            done = data.startswith(b"\r\n", trailers) or data.find(b"\r\n\r\n", trailers) >= 0
            return Verdict.READY if done else Verdict.WAIT
        at = line_end + 2 + int(size, 16) + 2
        if at > len(data):
            return Verdict.WAIT
