"""Which hosted session serves each trio listener (POP3 and IMAP)."""

from __future__ import annotations

from functools import partial

from fakemail._backend import Backend
from fakemail._exceptions import ConfigError
from fakemail._imap._hosted import ImapHosted
from fakemail._pop3._hosted import Pop3Hosted
from fakemail._triohost import SessionFactory

__all__ = ["session_factory"]

# Imported with the package rather than at the first start: a test session's first server
# then starts in milliseconds, and the import cost is paid where imports are expected.
_SESSIONS: dict[str, type[Pop3Hosted] | type[ImapHosted]] = {
    "pop3": Pop3Hosted,
    "pop3s": Pop3Hosted,
    "imap": ImapHosted,
    "imaps": ImapHosted,
}


def session_factory(listener: str, backend: Backend) -> SessionFactory:
    """The factory of sessions for a trio listener: ``pop3``, ``pop3s``, ``imap`` or ``imaps``."""
    session = _SESSIONS.get(listener)
    if session is None:
        raise ConfigError(f"no session type for listener {listener!r}")
    return partial(session, backend)
