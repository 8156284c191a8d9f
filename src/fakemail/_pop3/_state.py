"""POP3 states and the rules that move between them: the one place the state rules live.

:class:`~fakemail._pop3._connection.Pop3Connection` consults these tables; it holds no
rule of its own. The RFC states are AUTHORIZATION, TRANSACTION and UPDATE (RFC 1939 §3);
the engine adds SASL_EXCHANGE (between an ``AUTH`` challenge and the client's answer),
STARTING_TLS (after ``+OK`` to ``STLS``, until the handshake is done) and CLOSED.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

from fakemail._pop3._events import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    Command,
    Continuation,
    Dele,
    Err,
    InvalidCommand,
    List,
    MultiLine,
    Noop,
    Ok,
    Pass,
    Quit,
    Response,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)

__all__ = [
    "COMMANDS",
    "FLAG_COMMANDS",
    "GREETING",
    "ON_COMMAND",
    "ON_REPLY",
    "ON_START_TLS",
    "Pop3State",
    "Reply",
    "command_error",
    "is_barrier",
    "reply_kind",
    "reply_kinds",
    "state_after_command",
    "state_after_reply",
]


class Pop3State(Enum):
    """Where a POP3 connection is."""

    AUTHORIZATION = "AUTHORIZATION"
    """Before login (RFC 1939 §4); also after ``STLS`` and after a failed ``AUTH``."""
    SASL_EXCHANGE = "SASL_EXCHANGE"
    """An ``AUTH`` challenge was sent: the next client line is an ``AuthResponse``."""
    STARTING_TLS = "STARTING_TLS"
    """``+OK`` was sent to ``STLS``: nothing is parsed until ``start_tls()``."""
    TRANSACTION = "TRANSACTION"
    """Logged in (RFC 1939 §5)."""
    UPDATE = "UPDATE"
    """``QUIT`` received in TRANSACTION and not yet answered: apply deletions now (§6)."""
    CLOSED = "CLOSED"
    """Nothing more is parsed; the host closes the connection."""


class Reply(Enum):
    """The kind of a response, which is what the rules look at."""

    OK = "+OK"
    ERR = "-ERR"
    MULTILINE = "+OK multi-line"
    CONTINUATION = "+ challenge"


_S = Pop3State
_R = Reply

COMMANDS: Final[Mapping[Pop3State, frozenset[type[Command]]]] = MappingProxyType(
    {
        # RFC 1939 §4, RFC 2449 §5 (CAPA), RFC 2595 §4 (STLS), RFC 5034 §4 (AUTH),
        # RFC 6856 §2 (UTF8 only here). NOOP is a TRANSACTION command (RFC 1939 §5).
        _S.AUTHORIZATION: frozenset({User, Pass, Apop, Auth, Capa, Stls, Utf8, Quit}),
        _S.SASL_EXCHANGE: frozenset({AuthResponse}),
        _S.STARTING_TLS: frozenset(),
        # RFC 1939 §5, RFC 2449 §5 (CAPA is valid in both states).
        _S.TRANSACTION: frozenset({Stat, List, Retr, Dele, Noop, Rset, Top, Uidl, Capa, Quit}),
        _S.UPDATE: frozenset(),
        _S.CLOSED: frozenset(),
    }
)
"""The client commands valid in each state; any other becomes ``InvalidCommand``."""

ON_COMMAND: Final[Mapping[tuple[Pop3State, type[Command]], Pop3State]] = MappingProxyType(
    {
        # RFC 1939 §6: QUIT from TRANSACTION enters UPDATE; the session deletes while
        # answering it.
        (_S.TRANSACTION, Quit): _S.UPDATE,
    }
)
"""State changes on *receiving* a command (before it is answered)."""

ON_REPLY: Final[Mapping[tuple[Pop3State, type[Command], Reply], Pop3State]] = MappingProxyType(
    {
        (_S.AUTHORIZATION, Pass, _R.OK): _S.TRANSACTION,
        (_S.AUTHORIZATION, Apop, _R.OK): _S.TRANSACTION,
        (_S.AUTHORIZATION, Auth, _R.OK): _S.TRANSACTION,
        (_S.AUTHORIZATION, Auth, _R.CONTINUATION): _S.SASL_EXCHANGE,
        (_S.SASL_EXCHANGE, AuthResponse, _R.OK): _S.TRANSACTION,
        (_S.SASL_EXCHANGE, AuthResponse, _R.CONTINUATION): _S.SASL_EXCHANGE,
        # RFC 5034 §4: -ERR ends the exchange "as if the client had not issued AUTH";
        # undecodable base64 (an InvalidCommand) must be rejected with -ERR too.
        (_S.SASL_EXCHANGE, AuthResponse, _R.ERR): _S.AUTHORIZATION,
        (_S.SASL_EXCHANGE, InvalidCommand, _R.ERR): _S.AUTHORIZATION,
        # RFC 2595 §4: TLS starts right after the CRLF of +OK.
        (_S.AUTHORIZATION, Stls, _R.OK): _S.STARTING_TLS,
        # RFC 1939 §6: QUIT in AUTHORIZATION closes without UPDATE. -ERR is allowed too
        # (the host answers -ERR when the session fails); the connection closes anyway.
        (_S.AUTHORIZATION, Quit, _R.OK): _S.CLOSED,
        (_S.AUTHORIZATION, Quit, _R.ERR): _S.CLOSED,
        # RFC 1939 §6: "-ERR some deleted messages not removed" still ends the session.
        (_S.UPDATE, Quit, _R.OK): _S.CLOSED,
        (_S.UPDATE, Quit, _R.ERR): _S.CLOSED,
    }
)
"""State changes on *answering* a command; a pair absent from the table keeps the state."""

GREETING: Final[Mapping[Reply, Pop3State]] = MappingProxyType(
    {_R.OK: _S.AUTHORIZATION, _R.ERR: _S.CLOSED}
)
"""The state after the greeting: ``-ERR`` (server refusing the client) closes."""

ON_START_TLS: Final[Mapping[Pop3State, Pop3State]] = MappingProxyType(
    # RFC 2595 §4: "the server remains in AUTHORIZATION state" after the handshake.
    {_S.STARTING_TLS: _S.AUTHORIZATION}
)
"""The state after the host completes the TLS handshake."""

FLAG_COMMANDS: Final[frozenset[type[Command]]] = frozenset(
    {
        User,  # +OK allows the PASS that comes right after it (RFC 1939 §7)
        Utf8,  # +OK forbids a later STLS (RFC 6856 §2.1)
    }
)
"""Commands whose answer changes a flag that :func:`command_error` reads."""

_SINGLE: Final = frozenset({_R.OK, _R.ERR})
_MULTI: Final = frozenset({_R.MULTILINE, _R.ERR})
_SASL_STEP: Final = frozenset({_R.OK, _R.ERR, _R.CONTINUATION})
_ERR_ONLY: Final = frozenset({_R.ERR})

_REPLIES: Final[Mapping[type[Command], frozenset[Reply]]] = MappingProxyType(
    {
        User: _SINGLE,
        Pass: _SINGLE,
        Apop: _SINGLE,
        Auth: _SASL_STEP,
        AuthResponse: _SASL_STEP,
        Quit: _SINGLE,
        Stat: _SINGLE,
        List: _SINGLE,
        Retr: _MULTI,
        Dele: _SINGLE,
        Noop: _SINGLE,
        Rset: _SINGLE,
        Top: _MULTI,
        Uidl: _SINGLE,
        Capa: _MULTI,
        Stls: _SINGLE,
        Utf8: _SINGLE,
        InvalidCommand: _ERR_ONLY,
    }
)

_BARRIERS: Final[frozenset[tuple[Pop3State, type[Command]]]] = frozenset(
    (state, command) for state, command, _reply in ON_REPLY
)


def reply_kind(response: Response) -> Reply:
    """The :class:`Reply` kind of a response event."""
    if isinstance(response, Ok):
        return Reply.OK
    if isinstance(response, Err):
        return Reply.ERR
    if isinstance(response, MultiLine):
        return Reply.MULTILINE
    if isinstance(response, Continuation):
        return Reply.CONTINUATION
    raise TypeError(f"not a POP3 response: {response!r}")


def reply_kinds(command: Command) -> frozenset[Reply]:
    """The response kinds allowed in answer to ``command``.

    ``-ERR`` is always allowed. A listing without a message number, ``RETR``, ``TOP``,
    ``CAPA`` and a bare ``AUTH`` need a multi-line ``+OK``; a cancelled SASL exchange and an
    invalid command need ``-ERR`` (RFC 5034 §4).
    """
    if isinstance(command, (List, Uidl)) and command.msg is None:
        return _MULTI
    if isinstance(command, Auth) and command.mechanism is None:
        return _MULTI
    if isinstance(command, AuthResponse) and command.data is None:
        return _ERR_ONLY
    return _REPLIES[type(command)]


def command_error(
    state: Pop3State,
    command: type[Command],
    *,
    user_accepted: bool,
    tls_active: bool,
    utf8_enabled: bool,
) -> str | None:
    """Why ``command`` may not be given now, or ``None`` if it may.

    ``user_accepted``: the line just before got ``+OK`` to ``USER``.
    """
    keyword = command.__name__.upper()
    if command not in COMMANDS[state]:
        return f"{keyword} is not valid in the {state.value} state"
    if command is Pass and not user_accepted:
        # RFC 1939 §7: PASS "may only be given ... immediately after a successful USER".
        return "PASS must follow a successful USER"
    if command is Stls and tls_active:
        return "TLS is already active"  # RFC 2595 §4
    if command is Stls and utf8_enabled:
        return "STLS is not allowed after UTF8"  # RFC 6856 §2.1
    return None


def state_after_command(state: Pop3State, command: Command) -> Pop3State:
    """The state once ``command`` has been received (see :data:`ON_COMMAND`)."""
    return ON_COMMAND.get((state, type(command)), state)


def state_after_reply(state: Pop3State, command: Command, reply: Reply) -> Pop3State:
    """The state once ``command`` has been answered with a ``reply`` (see :data:`ON_REPLY`)."""
    return ON_REPLY.get((state, type(command), reply), state)


def is_barrier(state: Pop3State, command: Command) -> bool:
    """Whether the answer to ``command`` (received in ``state``) can change how the next
    line is read, so that the engine must stop parsing until it is sent."""
    return (state, type(command)) in _BARRIERS or type(command) in FLAG_COMMANDS
