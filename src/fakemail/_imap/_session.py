"""IMAP meaning: command events -> store and credential checks -> response events.

Synchronous and free of I/O; the engine (:mod:`._connection`) owns the grammar, the framing
and which command is valid in which state. :class:`ImapSession` answers each event with a list
of responses ending in the command's tagged response (or a continuation for AUTHENTICATE and
IDLE), and keeps the client's view of the selected mailbox in step with the shared store
(:mod:`._view`).

The commands are implemented by family, one mixin module each: any state and log-in
(:mod:`._auth`), mailboxes (:mod:`._mailboxes`), the selected state (:mod:`._selected`),
FETCH and STORE (:mod:`._fetch`), SEARCH (:mod:`._search`), SORT (:mod:`._sort`) and THREAD
(:mod:`._thread`). This module holds the one
dispatch table and the synchronisation around every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias, final

from fakemail._backend import Backend
from fakemail._imap._auth import AuthCommands
from fakemail._imap._events import (
    Append,
    Authenticate,
    AuthResponse,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Done,
    Enable,
    Expunge,
    Fetch,
    Id,
    Idle,
    InvalidCommand,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    Select,
    Sort,
    StartTls,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)
from fakemail._imap._fetch import FetchCommands
from fakemail._imap._mailboxes import MailboxCommands
from fakemail._imap._response import Response, Tagged, UntaggedStatus
from fakemail._imap._selected import SelectedCommands
from fakemail._imap._sort import SortCommands
from fakemail._imap._thread import ThreadCommands
from fakemail._imap._view import Gone

__all__ = ["ImapSession", "SessionEvent"]

SessionEvent: TypeAlias = Command | AuthResponse | Done | InvalidCommand
"""Every engine event but ``ConnectionClosed``."""


@final
class ImapSession(
    AuthCommands, MailboxCommands, SelectedCommands, FetchCommands, SortCommands, ThreadCommands
):
    """The state of one IMAP session and the answers to its commands.

    ``handle(event)`` returns the responses to send, in order: untagged data, then the tagged
    completion (or a :class:`Continuation` for AUTHENTICATE challenges and IDLE). While
    idling, :meth:`idle_updates` gives the unsolicited updates to send when the store changed.
    """

    def __init__(self, backend: Backend, *, is_tls: bool) -> None:
        super().__init__(backend, is_tls=is_tls)
        self._handlers: dict[type, Callable[..., Tagged | None]] = {
            Capability: self._capability,
            Noop: self._noop,
            Logout: self._logout,
            StartTls: self._starttls,
            Authenticate: self._authenticate,
            AuthResponse: self._auth_response,
            Login: self._login,
            Select: self._select,
            Create: self._create,
            Delete: self._delete,
            Rename: self._rename,
            Subscribe: self._subscribe,
            Unsubscribe: self._unsubscribe,
            List: self._list,
            Lsub: self._lsub,
            Status: self._status,
            Append: self._append,
            Check: self._check,
            Close: self._close,
            Unselect: self._unselect,
            Expunge: self._expunge,
            Search: self._search,
            Sort: self._sort,
            Thread: self._thread,
            Fetch: self._fetch,
            Store: self._store,
            Copy: self._copy,
            Move: self._move,
            Idle: self._idle,
            Done: self._done,
            Namespace: self._namespace,
            Id: self._id,
            Enable: self._enable,
        }

    def greeting(self) -> UntaggedStatus:
        """The server greeting, with the capabilities in a response code."""
        hostname = self.backend.options.hostname
        return UntaggedStatus("OK", f"{hostname} fakemail IMAP4rev1 ready", self._capability_code())

    def handle(self, event: SessionEvent) -> list[Response]:
        """The responses to one engine event (every event but ``ConnectionClosed``)."""
        out: list[Response] = []
        if isinstance(event, InvalidCommand):
            self._mechanism = None
            self.idling = False
            if event.tag is None:
                out.append(UntaggedStatus("BAD", event.reason))
            else:
                out.append(Tagged(event.tag, event.status, event.reason, event.code))
            return out
        if self.account is not None and not isinstance(event, (Logout, AuthResponse)):
            # The account may have been cleared by the test (server.reset()): recreate it.
            self.backend.store.ensure_account(self.account)
        syncs = self._view is not None and not isinstance(
            event, (Select, Close, Unselect, Logout, Idle, Done)
        )
        try:
            if syncs:
                # New messages first, so that SEARCH and FETCH see them; flags and
                # expunges after the command, when its sequence numbers are used up.
                self._sync(out, flags=False, expunge=False)
            tagged = self._handlers[type(event)](event, out)
            if tagged is not None and self._view is not None and not isinstance(event, Select):
                # RFC 3501 §7.4.1, RFC 5256 §3: not while answering these (UID SORT/THREAD
                # could, but need not).
                expunge = not isinstance(event, (Fetch, Store, Search, Sort, Thread))
                self._sync(out, flags=True, expunge=expunge)
        except Gone:
            self._gone(out)
            return out
        if tagged is not None:
            out.append(tagged)
        return out

    def idle_updates(self) -> list[Response]:
        """While idling: the untagged updates for what changed in the store (RFC 2177)."""
        out: list[Response] = []
        if not self.idling or self._view is None:
            return out
        try:
            self._sync(out, flags=True, expunge=True)
        except Gone:
            self._gone(out)
        return out

    def _gone(self, out: list[Response]) -> None:
        # The client's view cannot be reconciled with the store any more: end the session.
        self._view = None
        self.idling = False
        out.append(UntaggedStatus("BYE", "the selected mailbox was deleted or renamed elsewhere"))

    def timeout_goodbye(self) -> UntaggedStatus:
        """The ``* BYE`` of an autologout (RFC 3501 §5.4)."""
        return UntaggedStatus("BYE", "Autologout; idle for too long")

    def recover(self) -> None:
        """After an internal error: forget any exchange in progress."""
        self._mechanism = None
        self.idling = False

    def close(self) -> None:
        """The connection is gone."""
        self.recover()
        self._view = None
