"""Receive buffer shared by the line-based engines (POP3, IMAP): CRLF lines and counted bytes.

Pure: no sockets, no threads. Work per byte received is O(1) amortised: a search for the
line end never rescans bytes already scanned.
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["PREFIX_SIZE", "TOO_LONG", "LineBuffer", "TooLong"]


@final
class TooLong:
    """Returned by :meth:`LineBuffer.next_line` for a line longer than the limit.

    ``prefix`` holds the line's first bytes (up to :data:`PREFIX_SIZE`), so that an engine can
    still read a command tag and answer it (IMAP ``tag BAD``).
    """

    __slots__ = ("prefix",)

    def __init__(self, prefix: bytes = b"") -> None:
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"TooLong({self.prefix[:20]!r}...)"


#: Bytes of an over-long line kept in :attr:`TooLong.prefix`.
PREFIX_SIZE: Final = 128
TOO_LONG: Final = TooLong()


@final
class LineBuffer:
    """Bytes received and not yet consumed.

    Lines end with LF; a CR before it is dropped, so bare-LF clients work too. A line whose
    length passes ``max_line`` without an LF is reported once as a :class:`TooLong`, and its
    bytes are discarded up to and including the next LF, so the session can answer an error
    and go on with the following command (RFC 2449 §4, RFC 3501 §4).
    """

    __slots__ = ("_buf", "_discarding", "_scanned", "max_line")

    def __init__(self, max_line: int) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes at the start of _buf known to hold no LF
        self._discarding = False
        self.max_line = max_line

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buf += data

    def next_line(self) -> bytes | TooLong | None:
        """Take one line without its line ending; ``None`` until a whole line is buffered."""
        while True:
            end = self._buf.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buf)
                if self._discarding:
                    self._buf.clear()
                    self._scanned = 0
                    return None
                # A CR at the very end may be the first half of the line end: not content.
                pending = len(self._buf) - (1 if self._buf.endswith(b"\r") else 0)
                if pending > self.max_line:
                    self._discarding = True
                    prefix = bytes(self._buf[:PREFIX_SIZE])
                    self._buf.clear()
                    self._scanned = 0
                    return TooLong(prefix)
                return None
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._scanned = 0
            if self._discarding:
                self._discarding = False
                continue
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_line:
                return TooLong(line[:PREFIX_SIZE])
            return line

    def next_bytes(self, count: int) -> bytes | None:
        """Take exactly ``count`` bytes (an IMAP literal); ``None`` until they are buffered."""
        if len(self._buf) < count:
            return None
        data = bytes(self._buf[:count])
        del self._buf[:count]
        self._scanned = 0
        return data

    def take_all(self) -> bytes:
        """Take every buffered byte (the trailing data at a STARTTLS switch)."""
        data = bytes(self._buf)
        self._buf.clear()
        self._scanned = 0
        return data
