"""Which hosted session serves each trio listener (POP3 and IMAP)."""

from __future__ import annotations

from fakemail._backend import Backend
from fakemail._exceptions import ConfigError
from fakemail._triohost import SessionFactory

__all__ = ["AVAILABLE", "session_factory"]

#: Protocols the trio host can serve.
AVAILABLE: frozenset[str] = frozenset({"smtp"})


def session_factory(listener: str, backend: Backend) -> SessionFactory:
    """The factory of sessions for ``listener`` (``"pop3"``, ``"pop3s"``, ``"imap"``, ``"imaps"``)."""
    raise ConfigError(f"no {listener} server is available yet")
