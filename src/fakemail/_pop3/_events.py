"""POP3 events: the commands a client sends and the responses the server answers with.

The engine turns received bytes into *command events* (one per client line, plus
:class:`ConnectionClosed` at EOF) and turns *response events* into bytes. Every command
event gets exactly one response, in order; :class:`ConnectionClosed` gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "Apop",
    "Auth",
    "AuthResponse",
    "Capa",
    "Command",
    "ConnectionClosed",
    "Continuation",
    "Dele",
    "Err",
    "Event",
    "InvalidCommand",
    "List",
    "MultiLine",
    "Noop",
    "Ok",
    "Pass",
    "Quit",
    "Response",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "Utf8",
]


# --- command events (client -> server) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    """``USER name``: the mailbox name for a following ``PASS`` (RFC 1939 §7)."""

    name: str


@dataclass(frozen=True, slots=True)
class Pass:
    """``PASS password``: the rest of the line after ``PASS``, spaces included (RFC 1939 §7).

    Only produced right after a ``USER`` that got ``+OK``.
    """

    password: str

    def __repr__(self) -> str:
        # Keep passwords out of logs and assertion messages.
        return "Pass(password=...)"


@dataclass(frozen=True, slots=True)
class Apop:
    """``APOP name digest``: MD5 of the greeting's timestamp plus the secret (RFC 1939 §7).

    ``digest`` is 32 lower-case hexadecimal digits.
    """

    name: str
    digest: str


@dataclass(frozen=True, slots=True)
class Auth:
    """``AUTH [mechanism [initial-response]]`` (RFC 5034 §4).

    ``mechanism`` is upper-cased; ``None`` for a bare ``AUTH``, which asks for the list of
    mechanisms (answer with :class:`MultiLine`). ``initial_response`` is base64-decoded
    (``=`` is the empty response, ``b""``); ``None`` when the client sent none.
    """

    mechanism: str | None = None
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthResponse:
    """A client line during a SASL exchange, base64-decoded; ``None`` if the client sent ``*``.

    A cancelled exchange (``data is None``) must be answered with :class:`Err`
    (RFC 5034 §4).
    """

    data: bytes | None


@dataclass(frozen=True, slots=True)
class Quit:
    """``QUIT``. In TRANSACTION the engine is in UPDATE while this is answered (RFC 1939 §6)."""


@dataclass(frozen=True, slots=True)
class Stat:
    """``STAT``: message count and maildrop size (RFC 1939 §5)."""


@dataclass(frozen=True, slots=True)
class List:
    """``LIST [msg]``: a scan listing; ``msg is None`` asks for all (multi-line answer)."""

    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Retr:
    """``RETR msg``: a whole message (multi-line answer)."""

    msg: int


@dataclass(frozen=True, slots=True)
class Dele:
    """``DELE msg``: mark a message deleted; the deletion happens in UPDATE."""

    msg: int


@dataclass(frozen=True, slots=True)
class Noop:
    """``NOOP``."""


@dataclass(frozen=True, slots=True)
class Rset:
    """``RSET``: unmark all messages marked deleted."""


@dataclass(frozen=True, slots=True)
class Top:
    """``TOP msg lines``: headers, blank line, then ``lines`` body lines (multi-line answer)."""

    msg: int
    lines: int


@dataclass(frozen=True, slots=True)
class Uidl:
    """``UIDL [msg]``: unique-id listing; ``msg is None`` asks for all (multi-line answer)."""

    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Capa:
    """``CAPA``: the capability list (multi-line answer, RFC 2449 §5)."""


@dataclass(frozen=True, slots=True)
class Stls:
    """``STLS``: after ``+OK`` the TLS handshake starts (RFC 2595 §4)."""


@dataclass(frozen=True, slots=True)
class Utf8:
    """``UTF8``: enter UTF-8 mode (RFC 6856 §2.1)."""


@dataclass(frozen=True, slots=True)
class InvalidCommand:
    """A line the engine could not accept; answer it with :class:`Err`.

    Unknown command, wrong arguments, command not valid in the current state, over-long
    line, undecodable base64 during a SASL exchange, ... ``reason`` says which, in words
    fit for the ``-ERR`` text.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The client closed its side (EOF); not answered. No UPDATE happens (RFC 1939 §6)."""


Command: TypeAlias = (
    User
    | Pass
    | Apop
    | Auth
    | AuthResponse
    | Quit
    | Stat
    | List
    | Retr
    | Dele
    | Noop
    | Rset
    | Top
    | Uidl
    | Capa
    | Stls
    | Utf8
    | InvalidCommand
)
"""Any event that must be answered with exactly one response."""

Event: TypeAlias = Command | ConnectionClosed
"""Anything :meth:`Pop3Connection.events` returns."""


# --- response events (server -> client) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ok:
    """``+OK [CODE] text``: a single-line positive response.

    ``code`` is an RFC 2449 §8 extended response code such as ``"SYS/TEMP"`` (no brackets).
    """

    text: str = ""
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Err:
    """``-ERR [CODE] text``: a negative response; valid for any command."""

    text: str = ""
    code: str | None = None


@dataclass(frozen=True, slots=True)
class MultiLine:
    """``+OK text`` followed by ``body``, byte-stuffed and terminated by ``.`` (RFC 1939 §3).

    Bare LF line endings in ``body`` are sent as CRLF, and a final CRLF is added if missing.
    """

    text: str
    body: bytes
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Continuation:
    """``+ base64(data)``: a SASL server challenge, only valid in reply to an AUTH step."""

    data: bytes = b""


Response: TypeAlias = Ok | Err | MultiLine | Continuation
"""Anything :meth:`Pop3Connection.send` accepts."""
