"""IMAP as the trio host drives it: the sans-IO engine plus the session, behind bytes in/out."""

from __future__ import annotations

import time
from collections import deque
from typing import Final, final, get_args

from fakemail._backend import Backend
from fakemail._exceptions import RemoteProtocolError
from fakemail._imap._connection import ImapConnection
from fakemail._imap._events import Command, ConnectionClosed, InvalidCommand, Select, StartTls
from fakemail._imap._response import Response, Tagged, UntaggedStatus
from fakemail._imap._session import ImapSession, SessionEvent
from fakemail._imap._state import ImapState
from fakemail._triohost import ConnectionInfo

__all__ = ["STAGES", "ImapHosted", "command_stage"]

# Fault stages: the greeting, then each command by its name (EXAMINE is a read-only Select).
_COMMAND_NAMES: Final[dict[type, str]] = {kind: kind.__name__.lower() for kind in get_args(Command)}
STAGES: Final = ("connect", *sorted({*_COMMAND_NAMES.values(), "examine"}))


def command_stage(command: Command) -> str:
    """The fault stage of an IMAP command: its name, lower-case (``fetch`` for UID FETCH)."""
    if isinstance(command, Select) and command.readonly:
        return "examine"
    return _COMMAND_NAMES[type(command)]


_SERVERBUG_TEXT = "internal error in the test mail server"
# Seconds of pipelined commands answered in one go: then the host sends, and the sessions
# sharing its thread get their turn (a command itself is not cut short).
_SLICE = 0.01


@final
class ImapHosted:
    """One IMAP connection: implements :class:`fakemail._triohost.HostedSession`."""

    def __init__(self, backend: Backend, info: ConnectionInfo) -> None:
        options = backend.options
        self.backend = backend
        #: Seconds of client silence before the autologout (RFC 3501 §5.4).
        self.timeout = options.imap_timeout
        self.connection = ImapConnection(options.max_line_length, options.max_message_size)
        self.session = ImapSession(backend, is_tls=info.is_tls)
        self._wants_tls = False
        self._dropped = False
        self._eof = False
        self._extra = b""  # a fatal engine error's reply, sent after the queued responses
        # Answers not rendered yet, with the event each answers: rendered only while less
        # than max_output_buffer waits for the client (backpressure, see _pump).
        # None stands for an IDLE update (no command answered).
        self._answers: deque[tuple[SessionEvent | None, Response]] = deque()

    # ------------------------------------------------------------------ HostedSession

    @property
    def account(self) -> str | None:
        """The logged-in account: the host wakes this session when it changes."""
        return self.session.account

    def start(self) -> None:
        """Queue the greeting ``* OK [CAPABILITY ...]``."""
        self.connection.send(self.session.greeting())

    def refuse(self, reason: str) -> None:
        """Greet with ``* BYE reason`` and close (RFC 3501 §7.1.5)."""
        self.connection.send(UntaggedStatus("BYE", reason))
        self._dropped = True

    def receive_data(self, data: bytes) -> None:
        """Feed client bytes (``b""``: EOF) and answer every complete command, in order."""
        if self._eof or self.is_closed:
            return
        if not data:
            self._eof = True
        # Options may change between tests (MailServer.configure): follow them.
        self.connection.max_literal = self.backend.options.max_message_size
        self.connection.receive_data(data)
        self._pump()

    def data_to_send(self) -> bytes:
        """Bytes queued for the client. Once those are taken (the host has sent the last
        ones), the answers and commands held back by the output bound go on."""
        data = self.connection.data_to_send()
        if not data and not self.is_closed:
            self._pump()
            data = self.connection.data_to_send()
        if self._extra:
            data, self._extra = data + self._extra, b""
        return data

    @property
    def is_closed(self) -> bool:
        """Closed after LOGOUT, a ``* BYE``, EOF, a refusal or a fatal protocol error."""
        return self._dropped or self.connection.state is ImapState.LOGOUT

    @property
    def wants_tls(self) -> bool:
        """STARTTLS was answered OK and the handshake is due."""
        return self._wants_tls

    @property
    def trailing_data(self) -> bytes:
        """Bytes sent in clear text after STARTTLS (RFC 3501 §6.2.1: must be none)."""
        return self.connection.trailing_data

    def tls_started(self) -> None:
        """Resume, encrypted, in the not-authenticated state."""
        self._wants_tls = False
        self.connection.start_tls()
        self.session.is_tls = True
        self._pump()

    def store_changed(self) -> None:
        """The account's mail changed: an idling session reports it at once (RFC 2177)."""
        if self.is_closed or not self.session.idling:
            return
        try:
            updates = self.session.idle_updates()
        except Exception as error:
            self.backend.record_error(error, "IMAP IDLE update")
            return
        if self._answers:  # after the IDLE continuation, if it is still held back
            self._answers.extend((None, response) for response in updates)
            return
        for response in updates:
            try:
                self.connection.send(response)
            except Exception as error:
                self.backend.record_error(error, "IMAP IDLE update")
                return

    def timed_out(self) -> None:
        """The autologout: ``* BYE`` and close."""
        if not self.is_closed:
            self.connection.send(self.session.timeout_goodbye())
        self._dropped = True

    def close(self) -> None:
        """The connection is gone: nothing is held beyond the session's view."""
        self.session.close()

    # ------------------------------------------------------------------ internals

    def _pump(self) -> None:
        """Answer the commands received, in order, while the output waiting for the client
        stays within ``max_output_buffer``. Beyond it, the rest waits (answers unrendered,
        commands unparsed) until :meth:`data_to_send` has handed out what is queued: a
        client that pipelines commands and never reads the answers holds a bounded amount
        of memory (issue 11 §2), and the host reads nothing more from it meanwhile."""
        connection = self.connection
        deadline = time.perf_counter() + _SLICE
        while not self.is_closed and not self._wants_tls:
            if not self._render_answers():
                return
            if connection.pending_output and time.perf_counter() > deadline:
                return  # the rest after these answers are sent: other sessions go first
            try:
                event = connection.next_event()
            except RemoteProtocolError as error:
                # The client announced an absurd literal: say why, then hang up.
                self._extra += error.reply
                self._dropped = True
                return
            if event is None:
                return
            if isinstance(event, ConnectionClosed):
                self._dropped = True
                return
            self._dispatch(event)

    def _dispatch(self, event: SessionEvent) -> None:
        try:
            responses = self.session.handle(event)
        except Exception as error:
            self.backend.record_error(error, f"IMAP {type(event).__name__}")
            self.session.recover()
            responses = [self._failure(event)]
        self._answers.extend((event, response) for response in responses)

    def _render_answers(self) -> bool:
        """Render held-back answers while the output is under the bound; whether it still is."""
        limit = self.backend.options.max_output_buffer
        connection = self.connection
        answers = self._answers
        while answers and connection.pending_output <= limit:
            event, response = answers.popleft()
            try:
                connection.send(response)
            except Exception as error:
                if event is None:
                    self.backend.record_error(error, "IMAP IDLE update")
                    continue
                self.backend.record_error(error, f"IMAP {type(event).__name__} response")
                self.session.recover()
                # The command's other answers go too: its failure is its tagged answer.
                while answers and answers[0][0] is event:
                    answers.popleft()
                connection.send(self._failure(event))
                continue
            if (
                isinstance(event, StartTls)
                and isinstance(response, Tagged)
                and response.status == "OK"
            ):
                self._wants_tls = True
        return connection.pending_output <= limit

    @staticmethod
    def _failure(event: SessionEvent) -> Response:
        """The answer to a command our own code failed on: a temporary failure."""
        tag = event.tag
        if tag is None:
            return UntaggedStatus("BAD", _SERVERBUG_TEXT)
        if isinstance(event, InvalidCommand):
            return Tagged(tag, "BAD", _SERVERBUG_TEXT, "SERVERBUG")
        return Tagged(tag, "NO", _SERVERBUG_TEXT, "SERVERBUG")
