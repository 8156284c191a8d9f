"""The IMAP and POP3 sessions driven through their hosted glue, bytes in and bytes out: no
sockets, no threads (for the tests that measure one session's own work)."""

from __future__ import annotations

from typing import Any

from fakemail._backend import Backend
from fakemail._config import Options
from fakemail._imap._hosted import ImapHosted
from fakemail._pop3._hosted import Pop3Hosted
from fakemail._triohost import ConnectionInfo

__all__ = ["ImapDriver", "Pop3Driver"]


class ImapDriver:
    """An :class:`ImapHosted` session: :meth:`send` bytes, get back what it answered."""

    def __init__(self, backend: Backend | None = None, **options: Any) -> None:
        self.backend = backend or Backend(Options(**options))
        self.hosted = ImapHosted(self.backend, ConnectionInfo("test:1", False, "imap"))
        self.hosted.start()
        self.greeting = self.take()

    def take(self) -> bytes:
        """Everything queued for the client, as the host's send loop would take it."""
        out = b""
        while data := self.hosted.data_to_send():
            out += data
        return out

    def send(self, data: bytes) -> bytes:
        """Feed ``data``; everything answered."""
        self.hosted.receive_data(data)
        return self.take()

    def login(self, user: str = "user@example.com") -> None:
        """Log in as ``user`` (any password: no users are configured)."""
        assert b"a0 OK" in self.send(f"a0 LOGIN {user} x\r\n".encode())


class Pop3Driver:
    """A :class:`Pop3Hosted` session: :meth:`send` bytes, get back what it answered."""

    def __init__(self, backend: Backend | None = None, **options: Any) -> None:
        self.backend = backend or Backend(Options(**options))
        self.hosted = Pop3Hosted(self.backend, ConnectionInfo("test:1", False, "pop3"))
        self.hosted.start()
        self.greeting = self.take()

    def take(self) -> bytes:
        """Everything queued for the client."""
        out = b""
        while data := self.hosted.data_to_send():
            out += data
        return out

    def send(self, data: bytes) -> bytes:
        """Feed ``data``; everything answered."""
        self.hosted.receive_data(data)
        return self.take()
