"""POP3 meaning: command events -> store and credential checks -> responses (RFC 1939).

Synchronous and free of I/O; the engine (:mod:`._connection`) owns grammar and state rules.
The maildrop is fixed at login: message numbers and sizes do not change during a session
(RFC 1939 §5), deletions are only marked until ``QUIT`` (§6 UPDATE), and an account has at most
one POP3 session at a time (§8, ``[IN-USE]``, RFC 2449 §8.1.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, final

from fakemail._backend import Backend, Refusal
from fakemail._message import Message
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
from fakemail._sasl import (
    MECHANISMS,
    Challenge,
    Credentials,
    Mechanism,
    apop_credentials,
    make_challenge,
    password_credentials,
    start_mechanism,
)
from fakemail._store import INBOX, StoreError
from fakemail._version import __version__

__all__ = ["Pop3Session"]

IMPLEMENTATION: Final = f"fakemail-{__version__}"


def wire_size(message: Message) -> int:
    """Octets the message takes on the wire, where every line ends in CRLF (RFC 1939 §11)."""
    raw = message.raw
    missing_end = 2 if raw and not raw.endswith(b"\n") else 0
    return len(raw) + raw.count(b"\n") - raw.count(b"\r\n") + missing_end


# The blank line ending the header; at the very start when the message has no header.
_HEADER_END: Final = re.compile(rb"(?:\A|\n)\r?\n")


def top_of(raw: bytes, lines: int) -> bytes:
    """The header, the blank line and the first ``lines`` body lines (RFC 1939 §7 TOP)."""
    match = _HEADER_END.search(raw)
    if match is None:
        return raw  # no blank line: the whole message is header
    head, body = raw[: match.end()], raw[match.end() :]
    if lines <= 0:
        return head
    parts = body.split(b"\n", lines)
    if len(parts) <= lines:
        return raw  # the body has no more than ``lines`` lines
    return head + b"\n".join(parts[:lines]) + b"\n"


@final
@dataclass(slots=True)
class _Entry:
    uid: int
    message: Message
    size: int
    deleted: bool = False


@final
class Pop3Session:
    """The state of one POP3 session and the answer to each command."""

    def __init__(self, backend: Backend, *, is_tls: bool) -> None:
        self.backend = backend
        self.is_tls = is_tls
        options = backend.options
        self.hostname = options.hostname
        try:
            self.timestamp = make_challenge(self.hostname)  # APOP, RFC 1939 §7
        except ValueError:  # a host name not fit for msg-id syntax (spaces, IDN, "@")
            self.timestamp = make_challenge()
        self._user: str | None = None
        self._mechanism: Mechanism | None = None
        #: The account whose maildrop this session holds (locked), once logged in.
        self.account: str | None = None
        self._uidvalidity = 0
        self._drop: list[_Entry] = []

    # ------------------------------------------------------------------ life cycle

    def greeting(self) -> Ok:
        """The server greeting, carrying the APOP timestamp."""
        return Ok(f"fakemail POP3 server ready {self.timestamp}")

    def release(self) -> None:
        """The connection ended: unlock the maildrop, deleting nothing (RFC 1939 §6)."""
        if self.account is not None:
            self.backend.store.unlock_maildrop(self.account)
            self.account = None

    @property
    def _plaintext_refused(self) -> bool:
        return self.backend.options.require_tls and not self.is_tls

    # ------------------------------------------------------------------ dispatch

    def handle(self, command: Command) -> Response:
        """The response to one command event."""
        handler = getattr(self, f"_do_{type(command).__name__.lower()}")
        response: Response = handler(command)
        return response

    def _do_invalidcommand(self, command: InvalidCommand) -> Response:
        self._mechanism = None  # an invalid line ends any SASL exchange
        return Err(command.reason)

    def _do_capa(self, command: Capa) -> Response:
        caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        # RFC 2449 §5: what AUTHORIZATION offers MUST be announced in both states (USER,
        # SASL, UTF8 too: RFC 5034 §3, RFC 6856 §2); STLS is the exception (RFC 2595 §4).
        if not self._plaintext_refused:
            caps += ["USER", "SASL " + " ".join(MECHANISMS)]
        if self.account is None and not self.is_tls:
            caps.append("STLS")
        caps.append("UTF8")
        caps.append(f"IMPLEMENTATION {IMPLEMENTATION}")
        return MultiLine("Capability list follows", "".join(c + "\r\n" for c in caps).encode())

    def _do_stls(self, command: Stls) -> Response:
        return Ok("Begin TLS negotiation")

    def _do_utf8(self, command: Utf8) -> Response:
        return Ok("UTF8 enabled")

    def _do_noop(self, command: Noop) -> Response:
        return Ok()

    def _do_quit(self, command: Quit) -> Response:
        if self.account is None:
            return Ok("fakemail POP3 server signing off")
        # RFC 1939 §6: the UPDATE state removes the messages marked as deleted.
        store = self.backend.store
        doomed = [e.uid for e in self._drop if e.deleted]
        removed: tuple[int, ...] = ()
        try:
            # UIDs are only meaningful in the INBOX incarnation seen at login: after
            # server.clear() or an IMAP RENAME of INBOX the same UIDs name other messages.
            current = store.folder_modseq(self.account, INBOX)
            if doomed and current is not None and current[0] == self._uidvalidity:
                removed = store.expunge(self.account, INBOX, doomed)
        except StoreError:
            pass  # INBOX vanished meanwhile: nothing left to delete
        finally:
            self.release()
        left = len(self._drop) - len(doomed)
        return Ok(
            f"fakemail POP3 server signing off ({left} messages left, {len(removed)} deleted)"
        )

    # ------------------------------------------------------------------ authorization

    def _refuse_plaintext(self) -> Err | None:
        if self._plaintext_refused:
            return Err("plaintext authentication requires TLS: use STLS first", code="AUTH")
        return None

    def _do_user(self, command: User) -> Response:
        refused = self._refuse_plaintext()
        if refused:
            return refused
        self._user = command.name
        return Ok(f"send the password for {command.name}")

    def _do_pass(self, command: Pass) -> Response:
        user, self._user = self._user or "", None
        return self._login(password_credentials(user, command.password, mechanism="USER"))

    def _do_apop(self, command: Apop) -> Response:
        # Allowed before TLS even with require_tls: APOP does not send the password.
        credentials = apop_credentials(command.name, self.timestamp, command.digest)
        return self._login(credentials)

    def _do_auth(self, command: Auth) -> Response:
        if command.mechanism is None:
            # Pre-RFC 5034 clients list mechanisms with a bare AUTH (RFC 1734 practice).
            listing = "".join(m + "\r\n" for m in MECHANISMS).encode()
            return MultiLine("SASL mechanisms follow", listing)
        refused = self._refuse_plaintext()
        if refused:
            return refused
        self._mechanism = start_mechanism(command.mechanism, hostname=self.hostname)
        if self._mechanism is None:
            return Err(f"unsupported SASL mechanism {command.mechanism}")
        return self._sasl_step(command.initial_response)

    def _do_authresponse(self, command: AuthResponse) -> Response:
        if command.data is None or self._mechanism is None:  # "*": RFC 5034 §4 cancel
            self._mechanism = None
            return Err("authentication cancelled")
        return self._sasl_step(command.data)

    def _sasl_step(self, data: bytes | None) -> Response:
        assert self._mechanism is not None
        step = self._mechanism.step(data)
        if isinstance(step, Challenge):
            return Continuation(step.data)
        self._mechanism = None
        if isinstance(step, Credentials):
            return self._login(step)
        return Err(f"authentication failed: {step.reason}", code="AUTH")

    def _login(self, credentials: Credentials) -> Response:
        address = self.backend.log_in("pop3", credentials)
        if isinstance(address, Refusal):
            return Err(address.value, code="AUTH")
        store = self.backend.store
        store.ensure_account(address)  # a login before any mail still sees an empty drop
        if not store.lock_maildrop(address):
            return Err("maildrop already locked by another session", code="IN-USE")
        try:
            snapshot = store.folder(address, INBOX)
        except StoreError:
            store.unlock_maildrop(address)
            return Err("cannot open the maildrop", code="SYS/TEMP")
        self.account = address
        self._uidvalidity = snapshot.uidvalidity
        self._drop = [_Entry(i.uid, i.message, wire_size(i.message)) for i in snapshot.items]
        total = sum(e.size for e in self._drop)
        return Ok(f"{address} has {len(self._drop)} messages ({total} octets)")

    # ------------------------------------------------------------------ transaction

    def _entry(self, number: int) -> _Entry | Err:
        if not 1 <= number <= len(self._drop):
            return Err(f"no message {number}")
        entry = self._drop[number - 1]
        if entry.deleted:
            return Err(f"message {number} is deleted")
        return entry

    def _live(self) -> list[tuple[int, _Entry]]:
        return [(n, e) for n, e in enumerate(self._drop, 1) if not e.deleted]

    def _uid(self, entry: _Entry) -> str:
        # Stable across sessions and never reused: UIDVALIDITY and UID together (RFC 1939 §7).
        return f"{self._uidvalidity}.{entry.uid}"

    def _do_stat(self, command: Stat) -> Response:
        live = self._live()
        return Ok(f"{len(live)} {sum(e.size for _, e in live)}")

    def _scan(self, msg: int | None, value: Callable[[_Entry], object], heading: str) -> Response:
        """LIST and UIDL: ``n value`` for message ``msg``, or a listing of every message not
        deleted under ``heading`` (``{count}`` replaced by their number)."""
        if msg is not None:
            entry = self._entry(msg)
            return entry if isinstance(entry, Err) else Ok(f"{msg} {value(entry)}")
        live = self._live()
        listing = "".join(f"{n} {value(e)}\r\n" for n, e in live).encode()
        return MultiLine(heading.format(count=len(live)), listing)

    def _do_list(self, command: List) -> Response:
        return self._scan(command.msg, lambda entry: entry.size, "{count} messages")

    def _do_uidl(self, command: Uidl) -> Response:
        return self._scan(command.msg, self._uid, "unique-id listing follows")

    def _do_retr(self, command: Retr) -> Response:
        entry = self._entry(command.msg)
        if isinstance(entry, Err):
            return entry
        return MultiLine(f"{entry.size} octets", entry.message.raw)

    def _do_top(self, command: Top) -> Response:
        entry = self._entry(command.msg)
        if isinstance(entry, Err):
            return entry
        return MultiLine("top of message follows", top_of(entry.message.raw, command.lines))

    def _do_dele(self, command: Dele) -> Response:
        entry = self._entry(command.msg)
        if isinstance(entry, Err):
            return entry
        entry.deleted = True
        return Ok(f"message {command.msg} deleted")

    def _do_rset(self, command: Rset) -> Response:
        for entry in self._drop:
            entry.deleted = False
        total = sum(e.size for e in self._drop)
        return Ok(f"maildrop has {len(self._drop)} messages ({total} octets)")
