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


@dataclass
class Progress:
    """How far one request's bytes have been read, so that each new byte costs only its own
    reading: a client trickling a byte at a time never makes the loop re-read what came
    before (which, over a megabyte of one-byte chunks, would stall every client)."""

    scanned: int = 0  # the head has been searched up to here for its end
    end: int = -1  # where the head ends (its empty line), once found
    fields: dict[str, list[str]] | None = None
    at: int = 0  # chunked: where the next chunk-size line starts
    total: int = 0  # chunked: body bytes in the chunks passed so far


_BARE_LF = re.compile(rb"(?<!\r)\n")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")  # any length: a huge one is simply too large
_CHUNK_LINE = 8190  # a chunk-size line with its extensions (gunicorn's field-size limit)


def judge(data: bytes | bytearray, limits: Limits, progress: Progress | None = None) -> Verdict:
    p = progress if progress is not None else Progress()
    if p.end < 0:
        verdict = _head(data, limits, p)
        if verdict is not None:
            return verdict
    fields, body = p.fields or {}, p.end + 4
    if "transfer-encoding" in fields:
        if "content-length" in fields or fields["transfer-encoding"] != ["chunked"]:
            return Verdict.PARSE
        if p.at < body:
            p.at = body
        verdict = _chunked(data, p, limits)
    else:
        verdict = _sized(data, body, fields.get("content-length"), limits.body)
    if verdict is Verdict.WAIT and len(data) > limits.head + 2 * limits.body:
        return Verdict.BODY_TOO_LARGE  # chunk framing or trailers beyond any honest overhead
    if verdict is Verdict.WAIT and fields.get("expect") == ["100-continue"]:
        return Verdict.CONTINUE
    return verdict


def _head(data: bytes | bytearray, limits: Limits, p: Progress) -> Verdict | None:
    """Search only the bytes not yet searched; None once the head is whole and read."""
    end = data.find(b"\r\n\r\n", max(0, p.scanned - 3))
    stop = len(data) if end < 0 else end
    if _BARE_LF.search(data, max(0, p.scanned - 1), stop):
        return Verdict.PARSE
    line_end = data.find(b"\r\n", 0, min(stop, limits.line + 2))
    if (line_end if line_end >= 0 else stop) > limits.line:
        return Verdict.PARSE
    if stop > limits.head:
        return Verdict.HEAD_TOO_LARGE
    if end < 0:
        p.scanned = len(data)
        return Verdict.WAIT
    p.end, p.fields = end, _fields(data[:end])
    return Verdict.PARSE if p.fields is None else None


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


def _chunked(data: bytes | bytearray, p: Progress, limits: Limits) -> Verdict:
    """From the first chunk not yet passed; each whole chunk is passed once."""
    while True:
        line_end = data.find(b"\r\n", p.at, p.at + _CHUNK_LINE + 2)
        if line_end < 0:
            return Verdict.WAIT if len(data) - p.at <= _CHUNK_LINE else Verdict.PARSE
        size_text = bytes(data[p.at : line_end]).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            return Verdict.PARSE
        size = int(size_text, 16)
        if p.total + size > limits.body:
            return Verdict.BODY_TOO_LARGE
        if size == 0:  # the last chunk; the trailer section ends with an empty line
            trailers = line_end + 2
            if data.startswith(b"\r\n", trailers):
                return Verdict.READY
            if data.find(b"\r\n\r\n", trailers, trailers + limits.head + 4) >= 0:
                return Verdict.READY
            return Verdict.WAIT if len(data) - trailers <= limits.head else Verdict.HEAD_TOO_LARGE
        following = line_end + 2 + size + 2
        if following > len(data):
            return Verdict.WAIT
        p.at, p.total = following, p.total + size
