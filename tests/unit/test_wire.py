"""The receive buffer shared by the POP3 and IMAP engines, against a plain model: however the
bytes are cut into reads, the same lines, literals and over-long-line reports come out."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from fakemail._wire import PREFIX_SIZE, LineBuffer, TooLong

# Line contents: no LF; a CR may appear anywhere (only one before the LF is the line end).
CONTENT = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x"))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the positions ``cuts`` (taken modulo its length), in order."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def expected_lines(data: bytes, max_line: int) -> list[bytes | None]:
    """What reading every line of ``data`` yields: the line without LF and one CR before it,
    or ``None`` for a line over ``max_line``; an unfinished last line counts only if it is
    already over the limit."""
    *complete, rest = data.split(b"\n")
    out: list[bytes | None] = []
    for segment in complete:
        line = segment[:-1] if segment.endswith(b"\r") else segment
        out.append(None if len(line) > max_line else line)
    pending = len(rest) - (1 if rest.endswith(b"\r") else 0)
    if pending > max_line:
        out.append(None)
    return out


@given(
    st.lists(CONTENT, max_size=12),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    st.lists(st.integers(0, 10_000), max_size=12),
    st.integers(0, 30),
    st.booleans(),
)
def test_lines_do_not_depend_on_how_reads_cut_them(
    lines: list[bytes], tail: bytes, cuts: list[int], max_line: int, crlf: bool
) -> None:
    end = b"\r\n" if crlf else b"\n"
    data = b"".join(line + end for line in lines) + tail
    buffer = LineBuffer(max_line)
    got: list[bytes | None] = []
    segments = data.split(b"\n")
    for chunk in chunked(data, cuts):
        buffer.feed(chunk)
        while (line := buffer.next_line()) is not None:
            if isinstance(line, TooLong):
                # The prefix starts the over-long line and is enough to read an IMAP tag.
                segment = segments[len(got)]
                assert segment.startswith(line.prefix)
                assert len(line.prefix) >= min(PREFIX_SIZE, max_line + 1)
                got.append(None)
            else:
                got.append(line)
    assert got == expected_lines(data, max_line)


Item = tuple[str, bytes]
ITEMS = st.lists(
    st.one_of(
        st.tuples(st.just("line"), CONTENT.filter(lambda b: not b.endswith(b"\r"))),
        st.tuples(st.just("bytes"), st.binary(max_size=40)),
    ),
    max_size=12,
)


@given(ITEMS, st.lists(st.integers(0, 10_000), max_size=12), st.binary(max_size=20))
def test_lines_and_counted_bytes_interleave(
    items: list[Item], cuts: list[int], leftover: bytes
) -> None:
    # As IMAP reads a command line, then the literal it announced, then the rest of the line.
    data = b"".join(value + b"\r\n" if kind == "line" else value for kind, value in items)
    buffer = LineBuffer(100)
    got: list[Item] = []
    chunks = iter(chunked(data + leftover, cuts))
    for kind, value in items:
        while True:
            taken = buffer.next_line() if kind == "line" else buffer.next_bytes(len(value))
            if taken is not None:
                break
            buffer.feed(next(chunks))
        assert isinstance(taken, bytes)
        got.append((kind, taken))
    assert got == items
    for chunk in chunks:
        buffer.feed(chunk)
    # What is left over (bytes after STARTTLS, say) comes out whole and the buffer is empty.
    assert len(buffer) == len(leftover)
    assert buffer.take_all() == leftover
    assert len(buffer) == 0
    assert buffer.next_line() is None
