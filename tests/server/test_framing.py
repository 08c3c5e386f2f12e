"""When a request is whole (the worker hands it to a thread only then): a table."""

from __future__ import annotations

import pytest

from gateway.serving.framing import Limits, Progress, Verdict, judge

LIMITS = Limits(line=100, head=1000, body=50)
POST = b"POST /twilio/inbound HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b"", Verdict.WAIT),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", Verdict.WAIT),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", Verdict.READY),
        (b"GET /healthz HTTP/1.1\r\n\r\nGET /healthz HT", Verdict.READY),  # pipelined
        (POST + b"Content-Length: 4\r\n\r\nST", Verdict.WAIT),
        (POST + b"Content-Length: 4\r\n\r\nSTOP", Verdict.READY),
        (POST + b"content-length:4\r\n\r\nSTOP", Verdict.READY),
        (POST + b"Content-Length: 4\r\nExpect: 100-continue\r\n\r\n", Verdict.CONTINUE),
        (POST + b"Content-Length: 4\r\nExpect: 100-continue\r\n\r\nSTOP", Verdict.READY),
        (POST + b"Content-Length: 51\r\n\r\n", Verdict.BODY_TOO_LARGE),
        (POST + b"Content-Length: 4\r\nContent-Length: 5\r\n\r\nSTOP", Verdict.PARSE),
        (POST + b"Content-Length: 4\r\nContent-Length: 4\r\n\r\nSTOP", Verdict.READY),
        (POST + b"Content-Length: -4\r\n\r\nSTOP", Verdict.PARSE),
        (POST + b"Content-Length: \xd9\xa4\r\n\r\nSTOP", Verdict.PARSE),  # Arabic-Indic 4
        (POST + b"Transfer-Encoding: chunked\r\n\r\n4\r\nST", Verdict.WAIT),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n4\r\nSTOP\r\n0\r\n", Verdict.WAIT),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n4\r\nSTOP\r\n0\r\n\r\n", Verdict.READY),
        (
            POST + b"Transfer-Encoding: chunked\r\n\r\n4;x=y\r\nSTOP\r\n0\r\nT: 1\r\n\r\n",
            Verdict.READY,
        ),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n40\r\n", Verdict.BODY_TOO_LARGE),
        (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", Verdict.PARSE),
        (POST + b"Transfer-Encoding: gzip\r\n\r\n", Verdict.PARSE),
        (POST + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", Verdict.PARSE),
        (b"GET /healthz HTTP/1.1\nHost: x\n\n", Verdict.PARSE),  # bare LF
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", Verdict.PARSE),
        (b"GET /healthz HTTP/1.1\r\nno colon\r\n\r\n", Verdict.PARSE),
        (b"GET /" + b"a" * 100 + b" HTTP/1.1", Verdict.PARSE),  # over the line limit: 414
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 1000, Verdict.HEAD_TOO_LARGE),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 1000 + b"\r\n\r\n", Verdict.HEAD_TOO_LARGE),
    ],
)
def test_a_request_is_whole_once_its_framing_says_so(data: bytes, verdict: Verdict) -> None:
    assert judge(data, LIMITS) is verdict


CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"
TRICKLES = [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    POST + b"Content-Length: 4\r\n\r\nSTOP",
    CHUNKED + b"1\r\nS\r\n1\r\nT\r\n2;x=y\r\nOP\r\n0\r\nTrailer: 1\r\n\r\n",
    CHUNKED + b"1\r\nS\r\n1\r\nT\r\n0\r\n\r\n",
    POST + b"Host\n: x\r\n\r\n",
    CHUNKED + b"zz\r\n",
]


@pytest.mark.parametrize("whole", TRICKLES)
def test_a_request_read_byte_by_byte_is_judged_as_if_read_at_once(whole: bytes) -> None:
    """The loop keeps each connection's progress: judging as bytes trickle in reaches, at
    every step, what judging everything so far from the start would."""
    progress = Progress()
    for end in range(1, len(whole) + 1):
        assert judge(whole[:end], LIMITS, progress) is judge(whole[:end], LIMITS), whole[:end]


def test_chunks_already_passed_are_not_read_again() -> None:
    data = CHUNKED + b"1\r\nS\r\n" * 30
    progress = Progress()
    assert judge(data, LIMITS, progress) is Verdict.WAIT
    assert (progress.total, progress.at) == (30, len(data))  # the next call starts here
