"""Receive buffer shared by the line-based engines (POP3, IMAP): CRLF lines and counted bytes.

Pure: no sockets, no threads. Work per byte received is O(1) amortised: a search for the
line end never rescans bytes already scanned.
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["TOO_LONG", "LineBuffer", "TooLong"]


@final
class TooLong:
    """Marker returned by :meth:`LineBuffer.next_line` for a line longer than the limit."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = TooLong()


@final
class LineBuffer:
    """Bytes received and not yet consumed.

    Lines end with LF; a CR before it is dropped, so bare-LF clients work too. A line whose
    length passes ``max_line`` without an LF is reported once as :data:`TOO_LONG`, and its
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
                    self._buf.clear()
                    self._scanned = 0
                    return TOO_LONG
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
                return TOO_LONG
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
