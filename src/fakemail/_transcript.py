"""Protocol transcripts: what each session said, bounded, for failing-test reports."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from datetime import datetime, timezone
from typing import final

__all__ = ["Transcript", "TranscriptLog"]

log = logging.getLogger("fakemail")


@final
class Transcript:
    """One session's conversation: ``C:`` lines from the client, ``S:`` lines from the server.

    Only the first ``limit`` bytes are kept; the rest is counted and reported as omitted.
    Written by the session's server thread; read after the fact.
    """

    __slots__ = ("_chunks", "_kept", "_limit", "_omitted", "id", "peer", "protocol", "started_at")

    def __init__(self, id: int, protocol: str, peer: str, limit: int) -> None:
        self.id = id
        self.protocol = protocol
        self.peer = peer
        self.started_at = datetime.now(timezone.utc)
        self._chunks: list[tuple[str, bytes]] = []
        self._kept = 0
        self._omitted = 0
        self._limit = limit

    def _add(self, direction: str, data: bytes) -> None:
        room = self._limit - self._kept
        if room <= 0:
            self._omitted += len(data)
            return
        if len(data) > room:
            self._omitted += len(data) - room
            data = data[:room]
        self._kept += len(data)
        if self._chunks and self._chunks[-1][0] == direction:
            self._chunks[-1] = (direction, self._chunks[-1][1] + data)
        else:
            self._chunks.append((direction, data))

    def client(self, data: bytes) -> None:
        """Record bytes received from the client."""
        self._add("C", data)

    def server(self, data: bytes) -> None:
        """Record bytes sent to the client."""
        self._add("S", data)

    def note(self, text: str) -> None:
        """Record an event that is not on the wire (TLS started, timeout, error)."""
        self._chunks.append(("*", text.encode() + b"\n"))

    def fault(self, label: str) -> None:
        """Record a fault that fired (``!! fault: rcpt 451 (rule 2)``)."""
        self._chunks.append(("!", f"fault: {label}\n".encode()))

    @property
    def text(self) -> str:
        """The conversation, one prefixed line per protocol line."""
        lines = [
            f"--- {self.protocol} session #{self.id} from {self.peer} at "
            f"{self.started_at:%H:%M:%S.%f}"[:-3]
        ]
        for direction, data in list(self._chunks):
            for line in data.decode("utf-8", "replace").splitlines():
                lines.append(f"!! {line}" if direction == "!" else f"{direction}: {line}")
        if self._omitted:
            lines.append(f"... {self._omitted} more bytes not kept")
        return "\n".join(lines)


@final
class TranscriptLog:
    """The most recent transcripts of a server, thread-safe."""

    def __init__(self, sessions: int, bytes_per_session: int) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._transcripts: deque[Transcript] = deque(maxlen=sessions)
        self.bytes_per_session = bytes_per_session

    def configure(self, sessions: int, bytes_per_session: int) -> None:
        """Change the limits; kept transcripts beyond the new count are dropped."""
        with self._lock:
            if sessions != self._transcripts.maxlen:
                self._transcripts = deque(self._transcripts, maxlen=sessions)
            self.bytes_per_session = bytes_per_session

    def start(self, protocol: str, peer: str) -> Transcript:
        """Begin recording a new session."""
        with self._lock:
            transcript = Transcript(next(self._ids), protocol, peer, self.bytes_per_session)
            self._transcripts.append(transcript)
        log.info("%s session #%d from %s", protocol, transcript.id, peer)
        return transcript

    @property
    def transcripts(self) -> tuple[Transcript, ...]:
        """The kept transcripts, oldest first."""
        with self._lock:
            return tuple(self._transcripts)

    def clear(self) -> None:
        """Forget every transcript."""
        with self._lock:
            self._transcripts.clear()
