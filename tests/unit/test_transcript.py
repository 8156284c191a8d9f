"""Transcripts: direction prefixes, merging, the byte limit, notes, and the bounded log."""

from __future__ import annotations

import re
from datetime import timezone

from fakemail._transcript import Transcript, TranscriptLog


def body(transcript: Transcript) -> list[str]:
    return transcript.text.splitlines()[1:]


def test_lines_are_prefixed_by_direction() -> None:
    transcript = Transcript(3, "smtp", "127.0.0.1:5000", limit=1000)
    transcript.server(b"220 hi\r\n")
    transcript.client(b"EHLO x\r\n")
    transcript.server(b"250-a\r\n")
    transcript.server(b"250 b\r\n")
    transcript.note("TLS started")
    transcript.client(b"QUIT\r\n")
    assert body(transcript) == [
        "S: 220 hi",
        "C: EHLO x",
        "S: 250-a",
        "S: 250 b",
        "*: TLS started",
        "C: QUIT",
    ]
    header = transcript.text.splitlines()[0]
    assert re.fullmatch(
        r"--- smtp session #3 from 127\.0\.0\.1:5000 at \d\d:\d\d:\d\d\.\d{3}", header
    )
    assert (transcript.id, transcript.protocol, transcript.peer) == (3, "smtp", "127.0.0.1:5000")
    assert transcript.started_at.tzinfo is timezone.utc


def test_a_line_split_across_reads_is_one_line() -> None:
    transcript = Transcript(1, "pop3", "p", limit=1000)
    transcript.client(b"US")
    transcript.client(b"ER bob\r\nPA")
    transcript.client(b"SS x\r\n")
    assert body(transcript) == ["C: USER bob", "C: PASS x"]


def test_undecodable_bytes_are_replaced() -> None:
    transcript = Transcript(1, "smtp", "p", limit=1000)
    transcript.client(b"MAIL FROM:<\xff@x>\r\n")
    assert body(transcript) == ["C: MAIL FROM:<\ufffd@x>"]


def test_limit_keeps_the_first_bytes_and_counts_the_rest() -> None:
    transcript = Transcript(1, "imap", "p", limit=10)
    transcript.server(b"* OK hi\r\n")  # 9 bytes
    transcript.client(b"a LOGIN x y\r\n")  # 1 byte kept, 12 omitted
    transcript.server(b"a OK\r\n")  # 6 omitted
    transcript.note("closed")  # notes are always kept
    assert body(transcript) == ["S: * OK hi", "C: a", "*: closed", "... 18 more bytes not kept"]


def test_zero_limit_keeps_nothing() -> None:
    transcript = Transcript(1, "smtp", "p", limit=0)
    transcript.client(b"abc")
    assert body(transcript) == ["... 3 more bytes not kept"]


def test_log_keeps_the_most_recent_sessions() -> None:
    log = TranscriptLog(sessions=2, bytes_per_session=5)
    first = log.start("smtp", "a")
    second = log.start("pop3", "b")
    third = log.start("imap", "c")
    assert log.transcripts == (second, third)
    assert [t.id for t in (first, second, third)] == [1, 2, 3]
    third.client(b"1234567")
    assert body(third) == ["C: 12345", "... 2 more bytes not kept"]
    log.clear()
    assert log.transcripts == ()
    assert log.start("smtp", "d").id == 4  # ids keep counting
