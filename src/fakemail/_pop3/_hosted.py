"""POP3 as the trio host drives it: the sans-IO engine plus the session, behind bytes in/out."""

from __future__ import annotations

import time
from collections import deque
from typing import Final, final, get_args

from fakemail._backend import Backend
from fakemail._pop3._connection import Pop3Connection
from fakemail._pop3._events import (
    AuthResponse,
    Command,
    ConnectionClosed,
    Err,
    Event,
    InvalidCommand,
)
from fakemail._pop3._session import Pop3Session
from fakemail._pop3._state import Pop3State
from fakemail._triohost import ConnectionInfo

__all__ = ["STAGES", "Pop3Hosted"]

# Fault stages: the greeting, then each command by its name (not SASL lines or bad commands).
_COMMAND_NAMES: Final[dict[type, str]] = {
    kind: kind.__name__.lower()
    for kind in get_args(Command)
    if kind not in (AuthResponse, InvalidCommand)
}
STAGES: Final = ("connect", *sorted(_COMMAND_NAMES.values()))

# Seconds of pipelined commands answered in one go: then the host sends, and the sessions
# sharing its thread get their turn (a command itself is not cut short).
_SLICE = 0.01


@final
class Pop3Hosted:
    """One POP3 connection: implements :class:`fakemail._triohost.HostedSession`."""

    #: POP3 sessions never need store wake-ups: the maildrop is fixed at login (RFC 1939 §5).
    account: str | None = None

    def __init__(self, backend: Backend, info: ConnectionInfo) -> None:
        options = backend.options
        self.backend = backend
        self.timeout = options.pop3_timeout
        self.connection = Pop3Connection(options.max_line_length, tls=info.is_tls)
        self.session = Pop3Session(backend, is_tls=info.is_tls)
        self._dropped = False
        self._events: deque[Event] = deque()  # parsed, not answered yet (see _answer)

    def start(self) -> None:
        """Queue the greeting."""
        self.connection.send(self.session.greeting())

    def refuse(self, reason: str) -> None:
        """Greet with ``-ERR`` (the engine then closes)."""
        self.connection.send(Err(reason, code="SYS/TEMP"))

    def receive_data(self, data: bytes) -> None:
        """Feed client bytes and answer every complete command, in order (pipelining)."""
        self.connection.receive_data(data)
        self._answer()

    def _answer(self) -> None:
        """Answer the commands received, in order, while the output waiting for the client
        stays within ``max_output_buffer``; the rest waits for :meth:`data_to_send` (a client
        pipelining RETRs it never reads holds a bounded amount of memory, issue 11 §2)."""
        connection = self.connection
        limit = self.backend.options.max_output_buffer
        events = self._events
        deadline = time.perf_counter() + _SLICE
        while connection.pending_output <= limit:
            if connection.pending_output and time.perf_counter() > deadline:
                return  # the rest after these answers are sent: other sessions go first
            if not events:
                # events() pauses after commands whose answer changes how the next line is
                # read: ask again once those are answered.
                events.extend(connection.events())
                if not events:
                    return
            event = events.popleft()
            if isinstance(event, ConnectionClosed):
                continue
            try:
                # send() raises LocalProtocolError for an answer of the wrong kind, and
                # changes nothing then: the -ERR below still answers the command.
                connection.send(self.session.handle(event))
            except Exception as error:
                self.backend.record_error(error, f"POP3 {type(event).__name__}")
                connection.send(Err("internal error in the test mail server", code="SYS/TEMP"))

    def data_to_send(self) -> bytes:
        """Bytes queued for the client; once those are taken, the commands held back by the
        output bound are answered."""
        data = self.connection.data_to_send()
        if not data and not self.is_closed:
            self._answer()
            data = self.connection.data_to_send()
        return data

    @property
    def is_closed(self) -> bool:
        """Closed after QUIT, EOF, a refusal or a timeout."""
        return self._dropped or self.connection.state is Pop3State.CLOSED

    @property
    def wants_tls(self) -> bool:
        """STLS was accepted and the handshake is due."""
        return self.connection.state is Pop3State.STARTING_TLS

    @property
    def trailing_data(self) -> bytes:
        """Bytes sent in clear text after STLS."""
        return self.connection.trailing_data

    def tls_started(self) -> None:
        """Resume in AUTHORIZATION over TLS (RFC 2595 §4)."""
        self.connection.start_tls()
        self.session.is_tls = True
        self._answer()

    def store_changed(self) -> None:
        """Nothing to do: a POP3 maildrop does not change during a session."""

    def timed_out(self) -> None:
        """RFC 1939 §3: close without a response and without deleting anything."""
        self._dropped = True

    def close(self) -> None:
        """Release the maildrop lock; marked deletions are forgotten unless QUIT was answered."""
        self.session.release()
