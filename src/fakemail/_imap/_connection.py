"""The sans-IO IMAP server connection: bytes in, command events out; responses in, bytes out.

::

    conn = ImapConnection()
    conn.send(UntaggedStatus("OK", "fakemail ready"))   # the greeting
    conn.receive_data(data)                             # b"" is EOF
    for event in conn.events():
        ...                                             # answer it:
        conn.send(Tagged(event.tag, "OK", "done"))      # untagged responses, then one Tagged
    sock.sendall(conn.data_to_send())

Commands are handed out one at a time (RFC 3501 §5.5 lets a server run them serially): after
a command event, :meth:`ImapConnection.events` yields nothing more until the session has
sent that command's :class:`Tagged` response, because the next command's validity, and even
how its bytes are read (a SASL response, ``DONE``, TLS), depend on that answer. The only
events for a command still running are :class:`AuthResponse` and :class:`Done`, once the
session has sent a :class:`Continuation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from fakemail._exceptions import LocalProtocolError, RemoteProtocolError
from fakemail._imap._events import (
    Authenticate,
    AuthResponse,
    Command,
    ConnectionClosed,
    Done,
    Event,
    Idle,
    InvalidCommand,
    StartTls,
)
from fakemail._imap._grammar import CommandHead, check_head, decode_sasl, parse_command
from fakemail._imap._response import (
    Continuation,
    Response,
    Tagged,
    UntaggedStatus,
    render_response,
)
from fakemail._imap._state import ImapState, next_state
from fakemail._wire import LineBuffer, TooLong

__all__ = ["LITERAL_CONTINUATION", "ImapConnection"]

LITERAL_CONTINUATION: Final = b"+ Ready for literal data\r\n"
"""What the engine sends itself before reading a synchronizing literal (RFC 3501 §7.5)."""

# A line announcing a literal ends with {n}, {n+} (LITERAL+, RFC 7888) or ~{n} (literal8).
_LITERAL_MARKER = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}\Z")
_ABSURD_FACTOR: Final = 4  # a non-sync literal this many times the limit ends the connection
_TOOBIG: Final = "TOOBIG"
# A tag: ASTRING-CHARs except "+" (RFC 3501 §9), followed by a space.
_TAG_AT_START: Final = re.compile(rb"([\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+) ")


class ImapConnection:
    """One server-side IMAP connection, without I/O (see the module docstring).

    ``max_line`` bounds a command line (each line of a command with literals);
    ``max_literal`` bounds one literal and, with ``max_line``, a whole command.
    ``utf8_enabled`` (RFC 6855 ``UTF8=ACCEPT``) makes mailbox names UTF-8 both ways and
    lets strings be quoted UTF-8; it is for whoever drives the engine to set (the session does
    not offer ``UTF8=ACCEPT``, so fakemail leaves it off).
    """

    def __init__(self, max_line: int = 64 * 1024, max_literal: int = 25 * 1024 * 1024) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.utf8_enabled = False
        self.trailing_data = b""
        """Bytes received after STARTTLS, before its tagged OK was sent (RFC 3501 §6.2.1)."""
        self._state = ImapState.NOT_AUTHENTICATED
        self._buffer = LineBuffer(max_line)
        self._out = bytearray()
        # The command awaiting its tagged response (serial processing).
        self._current_tag: str | None = None
        self._current: Command | None = None
        self._client_turn = False  # a Continuation was sent: next line is SASL data or DONE
        # The command being assembled from lines and literals.
        self._parts: list[bytes] = []
        self._size = 0
        self._head: CommandHead | None = None
        self._literal: int | None = None
        # A refused command whose remaining bytes are being thrown away.
        self._discard = 0
        self._skip_rest = False
        self._eof = False
        self._closed = False  # ConnectionClosed was emitted
        self._tls_pending = False

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> ImapState:
        """The connection state (RFC 3501 §3), updated as the session answers."""
        return self._state

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; ``b""`` means the client closed (EOF)."""
        if self._eof:
            raise LocalProtocolError("receive_data() after EOF")
        if not data:
            self._eof = True
        elif self._tls_pending:
            self.trailing_data += data
        elif self._state is not ImapState.LOGOUT:  # after LOGOUT, input is ignored
            self._buffer.feed(data)

    def events(self) -> Iterator[Event]:
        """Yield the events available now, one at a time (see the module docstring).

        Each command is parsed only when the previous one has been answered, so send the
        responses inside the loop body. Raises :exc:`RemoteProtocolError` (``reply`` set to
        a ``* BYE``) if the client announced an absurdly large non-synchronizing literal.
        """
        while (event := self.next_event()) is not None:
            yield event

    def next_event(self) -> Event | None:
        """The next event, or ``None`` if more data (or the session's answer) is needed."""
        if self._closed:
            return None
        if self._tls_pending or self._state is ImapState.LOGOUT:
            return self._need_data()
        while True:
            if self._current_tag is not None and not self._client_turn:
                return None  # the session has not answered yet
            if self._discard:
                self._discard -= len(
                    self._buffer.next_bytes(min(len(self._buffer), self._discard)) or b""
                )
                if self._discard:
                    return self._need_data()
                continue
            if self._literal is not None:
                data = self._buffer.next_bytes(self._literal)
                if data is None:
                    return self._need_data()
                self._parts.append(data)
                self._literal = None
                continue
            line = self._buffer.next_line()
            if line is None:
                return self._need_data()
            if self._client_turn:
                return self._client_line(line)
            if self._skip_rest:
                self._skip_rest_of_command(line)
                continue
            event = self._command_line(line)
            if event is not None:
                return event

    def send(self, response: Response) -> None:
        """Queue a response for the client and follow its effect on the connection.

        A :class:`Tagged` must answer the command in progress (else
        :exc:`LocalProtocolError`); it may change :attr:`state`. A :class:`Continuation` is
        allowed only for AUTHENTICATE and IDLE. ``* PREAUTH`` moves to the authenticated
        state, ``* BYE`` to logout.
        """
        data = render_response(response, utf8=self.utf8_enabled)
        if isinstance(response, Tagged):
            self._answer(response)
        elif isinstance(response, Continuation):
            if not isinstance(self._current, (Authenticate, Idle)) or self._client_turn:
                raise LocalProtocolError("a continuation only answers AUTHENTICATE or IDLE")
            self._client_turn = True
        elif isinstance(response, UntaggedStatus):
            if response.status == "PREAUTH" and self._state is ImapState.NOT_AUTHENTICATED:
                self._state = ImapState.AUTHENTICATED
            elif response.status == "BYE":
                self._state = ImapState.LOGOUT
        self._out += data

    @property
    def pending_output(self) -> int:
        """Bytes queued for the client and not yet taken by :meth:`data_to_send`."""
        return len(self._out)

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the client."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def start_tls(self) -> None:
        """Resume parsing after the TLS handshake that followed STARTTLS's tagged OK."""
        if not self._tls_pending:
            raise LocalProtocolError("start_tls() without a STARTTLS answered OK")
        self._tls_pending = False

    # ------------------------------------------------------------------ internals

    def _need_data(self) -> Event | None:
        if self._eof and not self._closed:
            self._closed = True
            return ConnectionClosed()
        return None

    def _answer(self, response: Tagged) -> None:
        if response.tag != self._current_tag:
            raise LocalProtocolError(
                f"tagged response {response.tag!r} does not answer the command in progress"
                f" ({self._current_tag!r})"
            )
        command = self._current
        self._current_tag = None
        self._current = None
        self._client_turn = False
        if command is None:
            return
        self._state = next_state(self._state, command, response.status)
        if isinstance(command, StartTls) and response.status == "OK":
            # RFC 3501 §6.2.1 / RFC 2595 §3.1: nothing sent in clear after STARTTLS may be
            # used; keep it for the host to see (and drop the connection).
            self._tls_pending = True
            self.trailing_data += self._buffer.take_all()

    def _start(self, event: Command | InvalidCommand) -> Event:
        """Hand out a command event; a tagged one waits for its tagged response."""
        if not isinstance(event, InvalidCommand):
            self._current = event
            self._current_tag = event.tag
        elif event.tag is not None:
            self._current_tag = event.tag
        return event

    def _reset_command(self) -> None:
        self._parts = []
        self._size = 0
        self._head = None
        self._literal = None

    def _client_line(self, line: bytes | TooLong) -> Event:
        """A line sent in answer to a continuation: SASL data (RFC 3501 §6.2.2) or DONE."""
        assert self._current_tag is not None
        tag = self._current_tag
        self._client_turn = False
        if isinstance(line, TooLong):
            return InvalidCommand(tag, "line too long")
        if isinstance(self._current, Idle):
            if line.upper() == b"DONE":
                return Done(tag)
            # RFC 2177: only DONE may follow; anything else ends IDLE with a BAD.
            return InvalidCommand(tag, "expected DONE to end IDLE")
        if line == b"*":
            return AuthResponse(tag, None)
        data = decode_sasl(line)
        if data is None or line == b"=":
            return InvalidCommand(tag, "malformed base64 in authentication exchange")
        return AuthResponse(tag, data)

    def _skip_rest_of_command(self, line: bytes | TooLong) -> None:
        """Discard a line of a refused command; follow its non-synchronizing literals."""
        marker = None if isinstance(line, TooLong) else _LITERAL_MARKER.search(line)
        if marker is not None and marker.group(3):
            self._discard = int(marker.group(2))
        else:
            self._skip_rest = False

    def _refuse(self, event: InvalidCommand, size: int, nonsync: bool) -> Event:
        """Refuse a command at a literal: no continuation, and skip what the client sends."""
        self._reset_command()
        if nonsync:
            # RFC 7888 §4: the client sends the literal anyway; read and drop it.
            self._discard = size
            self._skip_rest = True
        return self._start(event)

    def _command_line(self, line: bytes | TooLong) -> Event | None:
        if isinstance(line, TooLong):
            tag = self._head.tag if self._head is not None else None
            if tag is None:
                # The tag is still readable at the start of the line: answer it, so the client
                # is not left waiting for a tagged reply (RFC 3501 §7.1.3).
                found = _TAG_AT_START.match(line.prefix)
                tag = found.group(1).decode("ascii") if found else None
            self._reset_command()
            return self._start(InvalidCommand(tag, f"line longer than {self.max_line} octets"))
        marker = _LITERAL_MARKER.search(line)
        if marker is None:
            raw = b"".join(self._parts) + line if self._parts else line
            self._reset_command()
            return self._start(parse_command(raw, utf8=self.utf8_enabled, state=self._state))
        binary, size, nonsync = marker.group(1), int(marker.group(2)), bool(marker.group(3))
        if self._head is None:
            # Refuse an unknown or misplaced command before the client sends its literal
            # (RFC 3501 §7.5: the server may answer instead of "+").
            head = check_head(line, self._state)
            if isinstance(head, InvalidCommand):
                return self._refuse(head, size, nonsync)
            self._head = head
        tag = self._head.tag
        if binary:
            reason = "literal8 (~{n}) is not supported: BINARY is not advertised"
            return self._refuse(InvalidCommand(tag, reason), size, nonsync)
        total = self._size + len(line) + 2 + size
        if size > self.max_literal or total > self.max_literal + self.max_line:
            if nonsync and size > _ABSURD_FACTOR * self.max_literal:
                self._state = ImapState.LOGOUT
                self._reset_command()
                raise RemoteProtocolError(
                    f"non-synchronizing literal of {size} octets",
                    reply=b"* BYE [ALERT] literal too large\r\n",
                )
            reason = f"literal of {size} octets is larger than the limit of {self.max_literal}"
            return self._refuse(InvalidCommand(tag, reason, "NO", _TOOBIG), size, nonsync)
        self._parts.append(line + b"\r\n")
        self._size = total
        self._literal = size
        if not nonsync:
            self._out += LITERAL_CONTINUATION
        return None
