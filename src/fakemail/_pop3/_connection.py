"""The POP3 server protocol engine: bytes in, command events out; responses in, bytes out.

Sans-IO: no sockets, no threads, no store. Grammar and framing live here, state rules in
:mod:`._state`, and meaning in the session that answers the events.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from fakemail._exceptions import LocalProtocolError
from fakemail._pop3._events import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    Command,
    ConnectionClosed,
    Continuation,
    Dele,
    Err,
    Event,
    InvalidCommand,
    List,
    MultiLine,
    Noop,
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
from fakemail._pop3._state import (
    GREETING,
    ON_START_TLS,
    Pop3State,
    Reply,
    command_error,
    is_barrier,
    reply_kind,
    reply_kinds,
    state_after_command,
    state_after_reply,
)
from fakemail._wire import LineBuffer, TooLong

__all__ = ["Pop3Connection", "dot_stuff"]

_KEYWORDS: Final[Mapping[str, type[Command]]] = MappingProxyType(
    {
        "USER": User,
        "PASS": Pass,
        "APOP": Apop,
        "AUTH": Auth,
        "QUIT": Quit,
        "STAT": Stat,
        "LIST": List,
        "RETR": Retr,
        "DELE": Dele,
        "NOOP": Noop,
        "RSET": Rset,
        "TOP": Top,
        "UIDL": Uidl,
        "CAPA": Capa,
        "STLS": Stls,
        "UTF8": Utf8,
    }
)

_NO_ARGUMENTS: Final[Mapping[type[Command], Callable[[], Command]]] = MappingProxyType(
    {Quit: Quit, Stat: Stat, Noop: Noop, Rset: Rset, Capa: Capa, Stls: Stls, Utf8: Utf8}
)

_CONTROL: Final = re.compile(rb"[\x00-\x1f\x7f]")
_BASE64: Final = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
# 20 digits is far beyond any maildrop and keeps int() away from huge inputs.
_NUMBER: Final = re.compile(r"[0-9]{1,20}")
_DIGEST: Final = re.compile(r"[0-9a-fA-F]{32}")
_MECHANISM: Final = re.compile(r"[A-Za-z0-9_-]{1,20}")  # RFC 4422 §3.1
# RFC 2449 §8: resp-level *("/" resp-level), rchar = printable but "/" and "]".
_CODE: Final = re.compile(r"[\x21-\x2e\x30-\x5c\x5e-\x7e]+(?:/[\x21-\x2e\x30-\x5c\x5e-\x7e]+)*")
_BAD_TEXT: Final = re.compile(r"[\r\n\x00]")


def dot_stuff(body: bytes) -> bytes:
    """``body`` framed as a multi-line response body (RFC 1939 §3), terminator included.

    Bare LF becomes CRLF, a final CRLF is added if missing, every line starting with ``.``
    gets another ``.``, and ``.\\r\\n`` ends it.
    """
    return b"".join(_stuffed_chunks(body))


def _stuffed_chunks(body: bytes) -> list[bytes]:
    # Whole-buffer replaces rather than a per-line loop (RETR of big maildrops is hot), and
    # chunks rather than concatenation: adding the "." prefix or the terminator copies nothing.
    if not body:
        return [b".\r\n"]
    if body.count(b"\n") != body.count(b"\r\n"):
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    chunks = [b"."] if body.startswith(b".") else []
    chunks.append(body.replace(b"\r\n.", b"\r\n.."))
    chunks.append(b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n")
    return chunks


def _b64decode(data: str | bytes) -> bytes | None:
    # RFC 5034 §4: reject (not ignore) characters outside the alphabet, missing padding and
    # misplaced "=". b64decode(validate=True) alone lets excess padding through.
    if isinstance(data, str):
        if not data.isascii():
            return None
        data = data.encode("ascii")
    if len(data) % 4 or not _BASE64.fullmatch(data):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        return None


def _number(text: str, *, minimum: int) -> int | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value >= minimum else None


def _parse_arguments(command: type[Command], args: list[str]) -> Command:
    """Build ``command`` from its whitespace-separated arguments (PASS is handled apart)."""
    keyword = command.__name__.upper()
    make = _NO_ARGUMENTS.get(command)
    if make is not None:
        return make() if not args else InvalidCommand(f"{keyword} takes no arguments")
    if command is User:
        if len(args) != 1:
            return InvalidCommand("USER takes exactly one argument")
        return User(args[0])
    if command is Apop:
        if len(args) != 2:
            return InvalidCommand("APOP takes a name and a digest")
        if not _DIGEST.fullmatch(args[1]):
            return InvalidCommand("APOP digest must be 32 hexadecimal digits")
        return Apop(args[0], args[1].lower())
    if command is Auth:
        return _parse_auth(args)
    if command in (List, Uidl):
        if len(args) > 1:
            return InvalidCommand(f"{keyword} takes at most one message number")
        if not args:
            return List() if command is List else Uidl()
        msg = _number(args[0], minimum=1)
        if msg is None:
            return InvalidCommand("invalid message number")
        return List(msg) if command is List else Uidl(msg)
    if command in (Retr, Dele):
        if len(args) != 1:
            return InvalidCommand(f"{keyword} takes one message number")
        msg = _number(args[0], minimum=1)
        if msg is None:
            return InvalidCommand("invalid message number")
        return Retr(msg) if command is Retr else Dele(msg)
    if command is Top:
        if len(args) != 2:
            return InvalidCommand("TOP takes a message number and a line count")
        msg = _number(args[0], minimum=1)
        if msg is None:
            return InvalidCommand("invalid message number")
        lines = _number(args[1], minimum=0)  # RFC 1939 §7: "a non-negative number"
        if lines is None:
            return InvalidCommand("invalid line count")
        return Top(msg, lines)
    raise AssertionError(f"no argument parser for {keyword}")  # pragma: no cover


def _parse_auth(args: list[str]) -> Command:
    if len(args) > 2:
        return InvalidCommand("AUTH takes a mechanism and an optional initial response")
    if not args:
        return Auth()
    if not _MECHANISM.fullmatch(args[0]):
        return InvalidCommand("invalid SASL mechanism name")
    mechanism = args[0].upper()
    if len(args) == 1:
        return Auth(mechanism)
    # RFC 5034 §4: "=" is a present but empty initial response.
    initial = b"" if args[1] == "=" else _b64decode(args[1])
    if initial is None:
        return InvalidCommand("malformed base64 in the initial response")
    return Auth(mechanism, initial)


def _parse_sasl_response(line: bytes) -> Command:
    if line == b"*":
        return AuthResponse(None)  # RFC 5034 §4: the client cancels
    data = _b64decode(line)
    if data is None:
        return InvalidCommand("malformed base64 in the SASL response")
    return AuthResponse(data)


def _status_line(status: str, text: str, code: str | None) -> bytes:
    line = status
    if code is not None:
        if not _CODE.fullmatch(code):
            raise LocalProtocolError(f"invalid response code {code!r}")
        line += f" [{code}]"
    if text:
        if _BAD_TEXT.search(text):
            raise LocalProtocolError(f"response text contains CR, LF or NUL: {text!r}")
        line += " " + text
    return (line + "\r\n").encode("utf-8")


class Pop3Connection:
    """One POP3 server connection (RFC 1939, 2449, 2595, 5034, 6856), sans-IO.

    The host sends the greeting, then pumps::

        conn.send(Ok("fakemail POP3 ready <1896.697170952@localhost>"))
        while conn.state is not Pop3State.CLOSED:
            events = conn.events()
            if events:
                for event in events:
                    if not isinstance(event, ConnectionClosed):
                        conn.send(session.answer(event))
            elif conn.state is Pop3State.STARTING_TLS:
                ...  # check conn.trailing_data, handshake, then conn.start_tls()
            else:
                conn.receive_data(read())  # b"" at EOF
            write(conn.data_to_send())

    :meth:`events` stops after a command whose answer can change how the next line is read
    (``USER``, ``PASS``, ``AUTH``, ``STLS``, ``QUIT`` ...), so pipelined lines wait in the
    buffer: call :meth:`events` again after answering, *before* reading more bytes.

    ``max_line`` bounds a command line (CRLF excluded); ``tls`` says whether the transport
    is already TLS (POP3S), which makes ``STLS`` invalid.
    """

    __slots__ = (
        "_barrier",
        "_buffer",
        "_eof",
        "_greeted",
        "_out",
        "_out_size",
        "_pending",
        "_state",
        "_tls",
        "_trailing",
        "_user_accepted",
        "_utf8",
    )

    def __init__(self, max_line: int = 8192, *, tls: bool = False) -> None:
        self._buffer = LineBuffer(max_line)
        self._state = Pop3State.AUTHORIZATION
        self._pending: deque[Command] = deque()  # events given out and not yet answered
        self._barrier = False  # the last pending command's answer may change the rules
        self._greeted = False
        self._eof = False
        self._out: list[bytes] = []
        self._out_size = 0
        self._tls = tls
        self._trailing = b""
        self._user_accepted = False
        self._utf8 = False

    @property
    def state(self) -> Pop3State:
        """The current :class:`Pop3State`."""
        return self._state

    @property
    def tls_active(self) -> bool:
        """Whether the transport is TLS (from the start, or after ``STLS``)."""
        return self._tls

    @property
    def utf8_enabled(self) -> bool:
        """Whether the client's ``UTF8`` got ``+OK`` (RFC 6856 §2.1)."""
        return self._utf8

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after the ``STLS`` line once ``+OK`` was sent to it.

        They arrived in clear text before the handshake; if any, the host must drop the
        connection rather than treat them as commands (a command-injection attack).
        """
        return self._trailing

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; ``b""`` means EOF.

        Ignored once CLOSED. In STARTING_TLS the bytes go to :attr:`trailing_data`.
        """
        if self._state is Pop3State.CLOSED:
            return
        if self._eof:
            if data:
                raise LocalProtocolError("data received after EOF")
            return
        if not data:
            self._eof = True
        elif self._state is Pop3State.STARTING_TLS:
            self._trailing += data
        else:
            self._buffer.feed(data)

    def events(self) -> list[Event]:
        """Parse buffered lines into events, in order: one per complete line.

        Stops (and returns ``[]`` until it is answered) at a command whose answer decides
        how the next line is read; returns ``[]`` before the greeting, in STARTING_TLS and
        once CLOSED. At EOF, :class:`ConnectionClosed` comes last and the state is CLOSED.
        """
        out: list[Event] = []
        if not self._greeted or self._barrier:
            return out
        while self._state not in (Pop3State.STARTING_TLS, Pop3State.CLOSED):
            line = self._buffer.next_line()
            if line is None:
                if self._eof:
                    # An unfinished last line is dropped: it was never a command.
                    self._buffer.take_all()
                    self._state = Pop3State.CLOSED
                    out.append(ConnectionClosed())
                break
            command = self._parse(line)
            self._state = state_after_command(self._state, command)
            self._pending.append(command)
            out.append(command)
            if is_barrier(self._state, command):
                self._barrier = True
                break
        return out

    def send(self, response: Response) -> None:
        """Queue ``response`` as the answer to the oldest unanswered command.

        The first call sends the greeting (``Ok``, or ``Err`` to refuse and close).
        Raises :class:`LocalProtocolError` when no command awaits an answer, or when the
        response kind is wrong for it (see :func:`~._state.reply_kinds`).
        """
        reply = reply_kind(response)
        if not self._greeted:
            new_state = GREETING.get(reply)
            if new_state is None:
                raise LocalProtocolError(f"the greeting must be Ok or Err, not {response!r}")
            self._queue(self._render(response))
            self._greeted = True
            self._state = new_state
            return
        if not self._pending:
            raise LocalProtocolError(f"no command awaits a response; cannot send {response!r}")
        command = self._pending[0]
        if reply not in reply_kinds(command):
            raise LocalProtocolError(f"{reply.value} is not a valid answer to {command!r}")
        self._queue(self._render(response))  # may raise: change nothing before it
        self._pending.popleft()
        if not self._pending:
            self._barrier = False
        if isinstance(command, User):
            self._user_accepted = reply is Reply.OK
        elif isinstance(command, Utf8) and reply is Reply.OK:
            self._utf8 = True
        self._state = state_after_reply(self._state, command, reply)
        if self._state is Pop3State.STARTING_TLS:
            # RFC 2595 §4: TLS begins right after the +OK; anything already received was
            # sent in clear text after STLS.
            self._trailing = self._buffer.take_all()

    @property
    def pending_output(self) -> int:
        """Bytes queued for the client and not yet taken by :meth:`data_to_send`."""
        return self._out_size

    def data_to_send(self) -> bytes:
        """The bytes to write to the client; clears the outgoing buffer."""
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        return data

    def start_tls(self) -> None:
        """Resume parsing after the host finished the TLS handshake that ``STLS`` began.

        Raises :class:`LocalProtocolError` outside STARTING_TLS, or if
        :attr:`trailing_data` is not empty (the host must drop such a connection).
        """
        new_state = ON_START_TLS.get(self._state)
        if new_state is None:
            raise LocalProtocolError(f"start_tls() in state {self._state.value}")
        if self._trailing:
            raise LocalProtocolError("trailing data after STLS: drop the connection")
        self._state = new_state
        self._tls = True

    # --- internals ---------------------------------------------------------------------

    def _queue(self, chunks: list[bytes]) -> None:
        self._out.extend(chunks)
        self._out_size += sum(map(len, chunks))

    def _parse(self, line: bytes | TooLong) -> Command:
        user_accepted = self._user_accepted
        self._user_accepted = False  # PASS must come *immediately* after USER (RFC 1939 §7)
        if isinstance(line, TooLong):
            return InvalidCommand("line too long")
        if self._state is Pop3State.SASL_EXCHANGE:
            return _parse_sasl_response(line)
        if not line:
            return InvalidCommand("empty command")
        if _CONTROL.search(line):
            return InvalidCommand("control character in command")
        try:
            text = line.decode("utf-8")  # RFC 6856 §2.2: UTF-8 names even before UTF8
        except UnicodeDecodeError:
            return InvalidCommand("command is not valid UTF-8")
        keyword, separator, rest = text.partition(" ")
        # isascii(): str.upper() maps some non-ASCII letters onto ASCII ones (U+017F -> "S").
        command = _KEYWORDS.get(keyword.upper()) if keyword.isascii() else None
        if command is None:
            return InvalidCommand("unknown command")
        error = command_error(
            self._state,
            command,
            user_accepted=user_accepted,
            tls_active=self._tls,
            utf8_enabled=self._utf8,
        )
        if error is not None:
            return InvalidCommand(error)
        if command is Pass:
            # RFC 1939 §7: the password is the rest of the line, spaces included.
            return Pass(rest) if separator else InvalidCommand("PASS needs a password")
        return _parse_arguments(command, [arg for arg in rest.split(" ") if arg])

    def _render(self, response: Response) -> list[bytes]:
        if isinstance(response, Continuation):
            return [b"+ " + base64.b64encode(response.data) + b"\r\n"]
        if isinstance(response, Err):
            return [_status_line("-ERR", response.text, response.code)]
        head = _status_line("+OK", response.text, response.code)
        if isinstance(response, MultiLine):
            return [head, *_stuffed_chunks(response.body)]
        return [head]
