"""The exceptions fakemail raises.

::

    FakemailError
    ├── ConfigError                 bad options given to a server, the marker or the CLI
    ├── ServerError                 something failed inside a server thread (re-raised in the test)
    ├── ProtocolError               raised by the sans-IO protocol engines
    │   ├── LocalProtocolError      fakemail misused an engine: a bug in fakemail
    │   └── RemoteProtocolError     the peer broke the protocol beyond recovery
    └── MailAssertionError          (also an AssertionError) an assertion on captured mail failed
        └── WaitTimeout             (also a TimeoutError) ``wait_for`` gave up
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FakemailError",
    "LocalProtocolError",
    "MailAssertionError",
    "ProtocolError",
    "RemoteProtocolError",
    "ServerError",
    "WaitTimeout",
]


class FakemailError(Exception):
    """Base class of every exception fakemail raises."""


class ConfigError(FakemailError, ValueError):
    """An option has a value fakemail cannot use."""


class ServerError(FakemailError):
    """An exception escaped fakemail's code or a plugin inside a server thread.

    The client got a temporary-failure reply (SMTP 451, IMAP ``NO``, POP3 ``-ERR``); the
    original exception is chained as ``__cause__`` and re-raised in the test that was running.
    """


class ProtocolError(FakemailError):
    """A protocol engine met input or output it cannot handle."""


class LocalProtocolError(ProtocolError):
    """fakemail asked an engine to do something the protocol forbids (a bug in fakemail)."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol so that the connection cannot go on.

    ``reply`` is the line to send before closing, if any (for example an IMAP ``* BYE``).
    """

    def __init__(self, message: str, *, reply: bytes = b"") -> None:
        super().__init__(message)
        self.reply = reply


class MailAssertionError(FakemailError, AssertionError):
    """An assertion about captured mail failed; the message lists what was captured."""


class WaitTimeout(MailAssertionError, TimeoutError):
    """``wait_for`` did not see enough matching messages before its timeout."""


# Failure output names the public module, not the private one.
for _cls in (
    ConfigError,
    FakemailError,
    LocalProtocolError,
    MailAssertionError,
    ProtocolError,
    RemoteProtocolError,
    ServerError,
    WaitTimeout,
):
    _cls.__module__ = "fakemail"
del _cls
