"""Which hosted session serves each trio listener (POP3 and IMAP)."""

from __future__ import annotations

from fakemail._backend import Backend
from fakemail._exceptions import ConfigError
from fakemail._triohost import ConnectionInfo, HostedSession, SessionFactory

__all__ = ["session_factory"]


def session_factory(listener: str, backend: Backend) -> SessionFactory:
    """The factory of sessions for a trio listener: ``pop3``, ``pop3s``, ``imap`` or ``imaps``."""
    if listener in ("pop3", "pop3s"):
        from fakemail._pop3._hosted import Pop3Hosted

        def pop3(info: ConnectionInfo) -> HostedSession:
            return Pop3Hosted(backend, info)

        return pop3
    if listener in ("imap", "imaps"):
        from fakemail._imap._hosted import ImapHosted

        def imap(info: ConnectionInfo) -> HostedSession:
            return ImapHosted(backend, info)

        return imap
    raise ConfigError(f"no session type for listener {listener!r}")
