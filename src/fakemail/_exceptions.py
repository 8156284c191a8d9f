"""The exceptions fakemail raises.

::

    FakemailError
    ├── ArchiveError                a file or directory cannot be read or written as mail
    ├── ConfigError                 bad options given to a server, the marker or the CLI
    │   └── PortInUse               a listener's port is taken (another server holds it)
    ├── RelayError                  the relay (upstream SMTP server) refused or was unreachable
    ├── ServerError                 something failed inside a server thread (re-raised in the test)
    ├── ProtocolError               raised by the sans-IO protocol engines
    │   ├── LocalProtocolError      fakemail misused an engine: a bug in fakemail
    │   └── RemoteProtocolError     the peer broke the protocol beyond recovery
    └── MailAssertionError          (also an AssertionError) an assertion on captured mail failed
        └── WaitTimeout             (also a TimeoutError) ``wait_for`` gave up
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = [
    "ArchiveError",
    "ConfigError",
    "FakemailError",
    "LocalProtocolError",
    "MailAssertionError",
    "PortInUse",
    "ProtocolError",
    "RelayError",
    "RemoteProtocolError",
    "ServerError",
    "WaitTimeout",
    "raised_at_call",
]

P = ParamSpec("P")
R = TypeVar("R")


class FakemailError(Exception):
    """Base class of every exception fakemail raises."""


class ArchiveError(FakemailError):
    """A file or directory cannot be read or written as mail: not found, not in the format,
    a message above ``max_message_size``, or an export target that exists (the message says
    which)."""


class RelayError(FakemailError):
    """The upstream SMTP server of a release could not be reached or refused the message (the
    message says why, with the server's reply)."""


class ConfigError(FakemailError, ValueError):
    """An option has a value fakemail cannot use."""


class PortInUse(ConfigError):
    """A listener cannot bind its port: another process (or server) holds it.

    ``listener`` names the listener (``"smtp"``, ``"imaps"``...); ``host`` and ``port`` are
    the address asked for.
    """

    def __init__(self, listener: str, host: str, port: int) -> None:
        super().__init__(
            f"cannot listen for {listener} on {host}:{port}: address already in use "
            f"({listener}_port=0 picks a free port)"
        )
        self.listener = listener
        self.host = host
        self.port = port


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


def raised_at_call(method: Callable[P, R]) -> Callable[P, R]:
    """Make ``method``'s errors start their traceback at the caller's line.

    A :class:`ConfigError`, a failed assertion or a refused store operation says what to
    change in the caller's code; fakemail's frames below the public call (option validation,
    socket binding, matching) only bury that line, in pytest (which also honours
    ``__tracebackhide__``), unittest and plain tracebacks alike. A :class:`ProtocolError`
    keeps its frames: it points at a bug in fakemail. A :class:`ServerError`'s cause keeps
    the server thread's frames.
    """

    @functools.wraps(method)
    def public(*args: P.args, **kwargs: P.kwargs) -> R:
        __tracebackhide__ = True
        try:
            return method(*args, **kwargs)
        except FakemailError as error:
            if isinstance(error, ProtocolError):
                raise
            failure = error
        raise failure.with_traceback(None)

    return public


# Failure output names the public module, not the private one.
for _cls in (
    ConfigError,
    FakemailError,
    LocalProtocolError,
    MailAssertionError,
    PortInUse,
    ProtocolError,
    RemoteProtocolError,
    ServerError,
    WaitTimeout,
):
    _cls.__module__ = "fakemail"
del _cls
