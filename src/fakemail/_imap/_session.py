"""IMAP meaning: command events -> store and credential checks -> response events.

Synchronous and free of I/O; the engine (:mod:`._connection`) owns the grammar, the framing
and which command is valid in which state. :class:`ImapSession` answers each event with a list
of responses ending in the command's tagged response (or a continuation for AUTHENTICATE and
IDLE), and keeps the client's view of the selected mailbox in step with the shared store.

The selected mailbox view (RFC 3501 §2.3.1, §7.4.1, §5.2): the session remembers the UIDs it
has announced, in sequence-number order, and their flags as last told. At each command it
compares that view with the store (skipping the work when ``folder_modseq`` says nothing
changed) and reports new messages (EXISTS, RECENT), flag changes (FETCH) and removals
(EXPUNGE, never while answering FETCH, STORE or SEARCH: until then a removed message stays
in the view, served from the immutable message the view still holds).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email.header
import quopri
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Final, Literal, TypeAlias, final

from fakemail._backend import Backend
from fakemail._imap._events import (
    Append,
    Authenticate,
    AuthResponse,
    BodySection,
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
    FetchAttribute,
    FetchItem,
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
    SearchAll,
    SearchAnd,
    SearchBody,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSequence,
    SearchSize,
    SearchText,
    SearchUid,
    Select,
    SequenceSet,
    StartTls,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from fakemail._imap._response import (
    Atom,
    Continuation,
    FetchData,
    ImapValue,
    Mailbox,
    Memo,
    Response,
    Tagged,
    Untagged,
    UntaggedStatus,
)
from fakemail._imap._structure import body_structure, envelope, partial, section
from fakemail._message import Envelope, Message, normalize_address
from fakemail._mime import MimePart, index_message
from fakemail._sasl import (
    MECHANISMS,
    Challenge,
    Credentials,
    Mechanism,
    password_credentials,
    start_mechanism,
)
from fakemail._store import INBOX, MailItem, StoreError
from fakemail._version import __version__

__all__ = ["DELIMITER", "ImapSession", "SessionEvent", "format_internal_date"]

DELIMITER: Final = "/"
"""The hierarchy delimiter of every account (the store's)."""

SessionEvent: TypeAlias = Command | AuthResponse | Done | InvalidCommand
"""Every engine event but ``ConnectionClosed``."""

_SEEN: Final = "\\Seen"
_DELETED: Final = "\\Deleted"
_RECENT: Final = "\\Recent"
_SYSTEM_FLAGS: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
# Special uses a CREATE (USE (...)) may give (RFC 6154 §3); \All and \Flagged are virtual.
_CREATABLE_USES: Final = frozenset({"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"})
_ENABLEABLE: Final = frozenset({"CONDSTORE"})
_STORE_MODES: Final[dict[str, Literal["add", "remove", "replace"]]] = {
    "+": "add",
    "-": "remove",
    "": "replace",
}

# Keys of message.derived(): computed once per stored message, shared by every session.
_KEY_INDEX: Final = "fakemail.imap.index"
_KEY_ENVELOPE: Final = "fakemail.imap.envelope"
_KEY_BODYSTRUCTURE: Final = "fakemail.imap.bodystructure"
_KEY_BODY: Final = "fakemail.imap.body"
_KEY_BODY_TEXT: Final = "fakemail.imap.search.body"
_KEY_HEADER_TEXT: Final = "fakemail.imap.search.header"


# --------------------------------------------------------------------------- helpers


def format_internal_date(when: datetime) -> str:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (RFC 3501 §9 ``date-time``, day space-padded)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    minutes = int((when.utcoffset() or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{when.day:2d}-{_MONTHS[when.month - 1]}-{when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} "
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def _index(message: Message) -> MimePart:
    return message.derived(_KEY_INDEX, lambda m: index_message(m.raw))


def _envelope(message: Message) -> ImapValue:
    # A Memo: every later FETCH of the message sends the bytes rendered the first time.
    return message.derived(_KEY_ENVELOPE, lambda m: Memo(envelope(_index(m))))


def _body_structure(message: Message, extensible: bool) -> ImapValue:
    key = _KEY_BODYSTRUCTURE if extensible else _KEY_BODY
    return message.derived(key, lambda m: Memo(body_structure(_index(m), extensible)))


def _octets_text(value: str) -> str:
    """Index header text may carry undecodable octets as surrogates: make it plain text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


_FOLD = re.compile(r"\r?\n")


def _decode_header(value: str) -> str:
    """A raw field body, unfolded, RFC 2047 encoded words decoded (best effort)."""
    value = _octets_text(_FOLD.sub("", value)).strip()
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:  # unknown charset, malformed word: search the raw text instead
        return value


def _decode_body(raw: bytes, part: MimePart) -> str:
    data = raw[part.body_start : part.end]
    try:
        if part.encoding == "base64":
            data = base64.b64decode(data, validate=False)
        elif part.encoding == "quoted-printable":
            data = quopri.decodestring(data)
    except (binascii.Error, ValueError):
        pass  # search the encoded text: better than nothing
    charset = part.param("charset") or "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"
    return data.decode(charset, "replace")


def _body_text(message: Message) -> str:
    """Decoded text of every text part (RFC 3501 §6.4.4 BODY), case-folded."""

    def compute(m: Message) -> str:
        texts = []
        for part in _index(m).walk():
            if not part.children and part.message is None and part.maintype == "text":
                texts.append(_decode_body(m.raw, part))
        return "\n".join(texts).casefold()

    return message.derived(_KEY_BODY_TEXT, compute)


def _header_text(message: Message) -> str:
    """Every header field of the message, decoded, one per line, case-folded."""

    def compute(m: Message) -> str:
        headers = _index(m).headers
        return "\n".join(f"{k}: {_decode_header(v)}" for k, v in headers.items()).casefold()

    return message.derived(_KEY_HEADER_TEXT, compute)


def _header_values(message: Message, name: str) -> list[str]:
    values = _index(message).headers.get_all(name) or []
    return [_decode_header(str(v)) for v in values]


def _sent_date(message: Message, fallback: datetime) -> date:
    sent = message.date
    return (sent or fallback).date()


def _is_keyword(flag: str) -> bool:
    return not flag.startswith("\\")


def _flag_list(flags: Iterable[str], recent: bool = False) -> tuple[Atom, ...]:
    ordered = sorted(flags, key=lambda f: (_is_keyword(f), f))
    if recent:
        ordered.append(_RECENT)
    return tuple(Atom(f) for f in ordered)


def _norm_mailbox(name: str) -> str:
    """``inbox/x`` names INBOX's children: treat the INBOX prefix case-insensitively too."""
    if name[:6].upper() == "INBOX" + DELIMITER:
        return INBOX + name[5:]
    return name


def _valid_new_name(name: str) -> str | None:
    """Why ``name`` cannot be created, or ``None`` if it can."""
    if not name:
        return "empty mailbox name"
    if name.startswith(DELIMITER) or DELIMITER * 2 in name:
        return "empty hierarchy level in mailbox name"
    if "*" in name or "%" in name:
        return "wildcards are not allowed in mailbox names"
    return None


def _ancestors(name: str) -> list[str]:
    parts = name.split(DELIMITER)
    return [DELIMITER.join(parts[:i]) for i in range(1, len(parts))]


def _pattern(reference: str, pattern: str) -> re.Pattern[str]:
    """The canonical LIST pattern (RFC 3501 §6.3.8: reference and pattern joined) as a regex."""
    text = _norm_mailbox(reference + pattern)
    if text[:5].upper() == INBOX and text[5:6] in ("", DELIMITER, "*", "%"):
        text = INBOX + text[5:]
    out = []
    for char in text:
        if char == "*":
            out.append(".*")
        elif char == "%":
            out.append(f"[^{re.escape(DELIMITER)}]*")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _matches_any(patterns: Sequence[re.Pattern[str]], name: str) -> bool:
    for pattern in patterns:
        if pattern.fullmatch(name):
            return True
        # INBOX is case-insensitive (RFC 3501 §5.1): "inbo%" matches it too.
        if name == INBOX and re.fullmatch(pattern.pattern, name, re.IGNORECASE | re.DOTALL):
            return True
    return False


def _mailbox_order(name: str) -> tuple[bool, str]:
    return (name != INBOX and not name.startswith(INBOX + DELIMITER), name)


# --------------------------------------------------------------------------- the view


@final
@dataclass(slots=True)
class _View:
    """The client's knowledge of the selected mailbox (see the module docstring)."""

    name: str
    readonly: bool
    uidvalidity: int
    #: Announced UIDs in sequence-number order (seq = index + 1).
    uids: list[int]
    #: The latest item known for each announced UID (an expunged one keeps its last item).
    items: dict[int, MailItem]
    #: Flags as last reported to the client (without \\Recent).
    flags: dict[int, frozenset[str]]
    #: UIDs that are \\Recent in this session (RFC 3501 §2.3.2).
    recent: set[int]
    #: Highest UID ever announced: anything above is new.
    max_uid: int
    #: Folder modseq of the last snapshot loaded into ``items``.
    modseq: int
    #: Keywords announced in the FLAGS response.
    keywords: frozenset[str]
    #: Announced UIDs that are gone from the store but not yet reported expunged.
    ghosts: set[int] = field(default_factory=set)
    #: A snapshot was loaded since flags were last compared.
    dirty: bool = False

    @property
    def largest_uid(self) -> int:
        """The UID ``*`` stands for in a UID set (RFC 3501 §9 seq-number), 0 when empty."""
        return self.uids[-1] if self.uids else 0


class _Gone(Exception):
    """The selected mailbox no longer exists as the client knows it."""


# --------------------------------------------------------------------------- the session


@final
class ImapSession:
    """The state of one IMAP session and the answers to its commands.

    ``handle(event)`` returns the responses to send, in order: untagged data, then the tagged
    completion (or a :class:`Continuation` for AUTHENTICATE challenges and IDLE). While
    idling, :meth:`idle_updates` gives the unsolicited updates to send when the store changed.
    """

    def __init__(self, backend: Backend, *, is_tls: bool) -> None:
        self.backend = backend
        #: Whether the connection is encrypted (implicit TLS or after STARTTLS).
        self.is_tls = is_tls
        #: The logged-in account (normalized address), or ``None``.
        self.account: str | None = None
        #: Whether an IDLE command is in progress.
        self.idling = False
        #: Whether CONDSTORE is enabled (RFC 7162 §3.1 "CONDSTORE enabling commands").
        self.condstore = False
        self._mechanism: Mechanism | None = None
        self._view: _View | None = None
        # \Recent UIDs of mailboxes selected before, by (name, UIDVALIDITY).
        self._recent_kept: dict[tuple[str, int], set[int]] = {}
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

    # ------------------------------------------------------------------ public API

    @property
    def selected(self) -> str | None:
        """The name of the selected mailbox, if any."""
        return self._view.name if self._view else None

    def capabilities(self) -> list[str]:
        """The capability list for the current state (RFC 3501 §7.2.1)."""
        caps = ["IMAP4rev1", "LITERAL+"]
        if self.account is None:
            if not self.is_tls:
                caps.append("STARTTLS")
            if self._login_disabled:
                caps.append("LOGINDISABLED")  # RFC 3501 §6.2.3
            else:
                caps += [f"AUTH={m}" for m in MECHANISMS]
                caps.append("SASL-IR")
        caps += [
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UIDPLUS",
            "MOVE",
            "UNSELECT",
            "CHILDREN",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "ESEARCH",
            "CONDSTORE",
            "STATUS=SIZE",
            f"APPENDLIMIT={self.backend.options.max_message_size}",
        ]
        return caps

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
                expunge = not isinstance(event, (Fetch, Store, Search))  # RFC 3501 §7.4.1
                self._sync(out, flags=True, expunge=expunge)
        except _Gone:
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
        except _Gone:
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

    # ------------------------------------------------------------------ any state

    def _capability_code(self) -> str:
        return "CAPABILITY " + " ".join(self.capabilities())

    def _capability(self, cmd: Capability, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities()))))
        return Tagged(cmd.tag, "OK", "CAPABILITY completed")

    def _noop(self, cmd: Noop, out: list[Response]) -> Tagged:
        return Tagged(cmd.tag, "OK", "NOOP completed")

    def _logout(self, cmd: Logout, out: list[Response]) -> Tagged:
        self._view = None
        out.append(UntaggedStatus("BYE", "fakemail IMAP4rev1 server logging out"))
        return Tagged(cmd.tag, "OK", "LOGOUT completed")

    def _id(self, cmd: Id, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("ID"), ("name", "fakemail", "version", __version__))))
        return Tagged(cmd.tag, "OK", "ID completed")

    # ------------------------------------------------------------------ not authenticated

    @property
    def _login_disabled(self) -> bool:
        return self.backend.options.require_tls and not self.is_tls

    def _starttls(self, cmd: StartTls, out: list[Response]) -> Tagged:
        if self.is_tls:
            return Tagged(cmd.tag, "BAD", "TLS is already active")
        return Tagged(cmd.tag, "OK", "Begin TLS negotiation now")

    def _login(self, cmd: Login, out: list[Response]) -> Tagged:
        if self._login_disabled:
            return Tagged(cmd.tag, "NO", "use STARTTLS before LOGIN", "PRIVACYREQUIRED")
        credentials = password_credentials(cmd.username, cmd.password, mechanism="LOGIN")
        return self._log_in(cmd.tag, credentials)

    def _authenticate(self, cmd: Authenticate, out: list[Response]) -> Tagged | None:
        if self._login_disabled:
            return Tagged(cmd.tag, "NO", "use STARTTLS before AUTHENTICATE", "PRIVACYREQUIRED")
        hostname = self.backend.options.hostname
        try:
            self._mechanism = start_mechanism(cmd.mechanism, hostname=hostname)
        except ValueError:  # a hostname unusable in a CRAM-MD5 challenge
            self._mechanism = start_mechanism(cmd.mechanism)
        if self._mechanism is None:
            return Tagged(cmd.tag, "NO", f"unsupported SASL mechanism {cmd.mechanism}")
        return self._sasl_step(cmd.tag, cmd.initial_response, out)

    def _auth_response(self, cmd: AuthResponse, out: list[Response]) -> Tagged | None:
        if cmd.data is None or self._mechanism is None:
            # RFC 3501 §6.2.2: a "*" line cancels, and the command is rejected with BAD.
            self._mechanism = None
            return Tagged(cmd.tag, "BAD", "authentication cancelled")
        return self._sasl_step(cmd.tag, cmd.data, out)

    def _sasl_step(self, tag: str, data: bytes | None, out: list[Response]) -> Tagged | None:
        assert self._mechanism is not None
        step = self._mechanism.step(data)
        if isinstance(step, Challenge):
            out.append(Continuation(base64.b64encode(step.data).decode("ascii")))
            return None
        self._mechanism = None
        if isinstance(step, Credentials):
            if step.authzid and normalize_address(step.authzid) != normalize_address(step.username):
                return Tagged(tag, "NO", "cannot act as another user", "AUTHORIZATIONFAILED")
            return self._log_in(tag, step)
        return Tagged(tag, "NO", f"authentication failed: {step.reason}", "AUTHENTICATIONFAILED")

    def _log_in(self, tag: str, credentials: Credentials) -> Tagged:
        username = credentials.username
        if not username or not self.backend.authenticate("imap", username, credentials):
            # RFC 3501 §11.3 (say no more than that), RFC 5530 response code.
            return Tagged(tag, "NO", "invalid user name or password", "AUTHENTICATIONFAILED")
        self.account = self.backend.store.ensure_account(username)
        return Tagged(tag, "OK", "Logged in", self._capability_code())

    # ------------------------------------------------------------------ authenticated

    def _user(self) -> str:
        assert self.account is not None
        return self.account

    def _namespace(self, cmd: Namespace, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("NAMESPACE"), (("", DELIMITER),), None, None)))
        return Tagged(cmd.tag, "OK", "NAMESPACE completed")

    def _enable(self, cmd: Enable, out: list[Response]) -> Tagged:
        enabled = [c for c in dict.fromkeys(cmd.capabilities) if c in _ENABLEABLE]
        if "CONDSTORE" in enabled:
            self.condstore = True
        out.append(Untagged((Atom("ENABLED"), *(Atom(c) for c in enabled))))
        return Tagged(cmd.tag, "OK", "ENABLE completed")

    def _deselect(self) -> None:
        view = self._view
        if view is not None:
            # \Recent belongs to this session for good (RFC 3501 §2.3.2): keep it for a
            # later SELECT of the same mailbox.
            key = (view.name, view.uidvalidity)
            self._recent_kept[key] = self._recent_kept.get(key, set()) | view.recent
        self._view = None

    def _select(self, cmd: Select, out: list[Response]) -> Tagged:
        verb = "EXAMINE" if cmd.readonly else "SELECT"
        # RFC 3501 §6.3.1: a SELECT first deselects, and on failure nothing is selected.
        self._deselect()
        store = self.backend.store
        account = self._user()
        name = _norm_mailbox(cmd.mailbox)
        try:
            snap = store.folder(account, name)
            if cmd.readonly:
                # EXAMINE must not take \Recent away from other sessions (RFC 3501 §6.3.2).
                recent = {i.uid for i in snap.items if i.uid > snap.recent_mark}
            else:
                recent = set(store.claim_recent(account, name))
        except StoreError:
            return Tagged(cmd.tag, "NO", f"no mailbox {cmd.mailbox}", "NONEXISTENT")
        if cmd.condstore:
            self.condstore = True
        items = {i.uid: i for i in snap.items}
        recent |= self._recent_kept.get((snap.name, snap.uidvalidity), set()) & items.keys()
        keywords = frozenset(f for i in snap.items for f in i.flags if _is_keyword(f))
        view = _View(
            name=snap.name,
            readonly=cmd.readonly,
            uidvalidity=snap.uidvalidity,
            uids=list(items),
            items=items,
            flags={uid: item.flags for uid, item in items.items()},
            recent=recent,
            max_uid=snap.items[-1].uid if snap.items else 0,
            modseq=snap.modseq,
            keywords=keywords,
        )
        out.append(Untagged((Atom("FLAGS"), _flag_list((*_SYSTEM_FLAGS, *keywords)))))
        out.append(Untagged((len(view.uids), Atom("EXISTS"))))
        out.append(Untagged((sum(1 for u in view.uids if u in recent), Atom("RECENT"))))
        for seq, item in enumerate(snap.items, 1):
            if _SEEN not in item.flags:
                out.append(UntaggedStatus("OK", "first unseen", f"UNSEEN {seq}"))
                break
        out.append(self._permanent_flags(view))
        out.append(UntaggedStatus("OK", "UIDs valid", f"UIDVALIDITY {snap.uidvalidity}"))
        out.append(UntaggedStatus("OK", "predicted next UID", f"UIDNEXT {snap.uidnext}"))
        if self.condstore:
            out.append(UntaggedStatus("OK", "highest", f"HIGHESTMODSEQ {snap.modseq}"))
        self._view = view
        code = "READ-ONLY" if cmd.readonly else "READ-WRITE"
        return Tagged(cmd.tag, "OK", f"{verb} completed", code)

    def _permanent_flags(self, view: _View) -> UntaggedStatus:
        if view.readonly:
            return UntaggedStatus("OK", "read-only mailbox", "PERMANENTFLAGS ()")
        flags = " ".join(_flag_list((*_SYSTEM_FLAGS, *view.keywords)))
        return UntaggedStatus("OK", "flags permitted", f"PERMANENTFLAGS ({flags} \\*)")

    def _create(self, cmd: Create, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        # RFC 3501 §6.3.3: a trailing delimiter declares the intent to create inferiors.
        name = _norm_mailbox(cmd.mailbox)
        if name.endswith(DELIMITER) and name != DELIMITER:
            name = name.rstrip(DELIMITER)
        problem = _valid_new_name(name)
        if problem:
            return Tagged(cmd.tag, "NO", problem, "CANNOT")
        uses = tuple(dict.fromkeys(cmd.special_use))
        if len(uses) > 1 or any(u not in _CREATABLE_USES for u in uses):
            return Tagged(cmd.tag, "NO", "unsupported special-use attribute(s)", "USEATTR")
        if name == INBOX or store.folder_modseq(account, name) is not None:
            return Tagged(cmd.tag, "NO", f"mailbox {name} already exists", "ALREADYEXISTS")
        self._create_parents(account, name)
        try:
            store.create_folder(account, name, special_use=uses[0] if uses else None)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", str(error), error.code)
        return Tagged(cmd.tag, "OK", "CREATE completed")

    def _create_parents(self, account: str, name: str) -> None:
        # RFC 3501 §6.3.3: the server SHOULD create superior hierarchical names as needed.
        store = self.backend.store
        for parent in _ancestors(name):
            if store.folder_modseq(account, parent) is None:
                with contextlib.suppress(StoreError):  # created meanwhile elsewhere
                    store.create_folder(account, parent)

    def _affects_selected(self, name: str) -> bool:
        selected = self.selected
        return selected is not None and (selected == name or selected.startswith(name + DELIMITER))

    def _delete(self, cmd: Delete, out: list[Response]) -> Tagged:
        name = _norm_mailbox(cmd.mailbox)
        if name == INBOX:
            return Tagged(cmd.tag, "NO", "INBOX cannot be deleted", "CANNOT")
        if self.selected == name:
            # RFC 5530 INUSE: it would saw off the branch this session sits on.
            return Tagged(cmd.tag, "NO", "close the selected mailbox first", "INUSE")
        try:
            self.backend.store.delete_folder(self._user(), name)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", f"no mailbox {cmd.mailbox}", error.code)
        return Tagged(cmd.tag, "OK", "DELETE completed")

    def _rename(self, cmd: Rename, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        old, new = _norm_mailbox(cmd.old), _norm_mailbox(cmd.new).rstrip(DELIMITER)
        problem = _valid_new_name(new)
        if problem:
            return Tagged(cmd.tag, "NO", problem, "CANNOT")
        if store.folder_modseq(account, old) is None:
            return Tagged(cmd.tag, "NO", f"no mailbox {cmd.old}", "NONEXISTENT")
        if new == INBOX or store.folder_modseq(account, new) is not None:
            return Tagged(cmd.tag, "NO", f"mailbox {new} already exists", "ALREADYEXISTS")
        if new.startswith(old + DELIMITER):
            return Tagged(cmd.tag, "NO", "cannot move a mailbox below itself", "CANNOT")
        if self._affects_selected(old):
            return Tagged(cmd.tag, "NO", "close the selected mailbox first", "INUSE")
        self._create_parents(account, new)
        try:
            store.rename_folder(account, old, new)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", str(error), error.code)
        return Tagged(cmd.tag, "OK", "RENAME completed")

    def _subscribe(self, cmd: Subscribe, out: list[Response]) -> Tagged:
        self.backend.store.subscribe(self._user(), _norm_mailbox(cmd.mailbox))
        return Tagged(cmd.tag, "OK", "SUBSCRIBE completed")

    def _unsubscribe(self, cmd: Unsubscribe, out: list[Response]) -> Tagged:
        store = self.backend.store
        store.subscribe(self._user(), _norm_mailbox(cmd.mailbox), subscribed=False)
        return Tagged(cmd.tag, "OK", "UNSUBSCRIBE completed")

    # ------------------------------------------------------------------ LIST, LSUB, STATUS

    def _list(self, cmd: List, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        if cmd.patterns == ("",):
            # RFC 3501 §6.3.8: the delimiter and the root name (always "" here).
            out.append(Untagged((Atom("LIST"), (Atom("\\Noselect"),), DELIMITER, "")))
            return Tagged(cmd.tag, "OK", "LIST completed")
        extended = bool(cmd.selection_options or cmd.return_options or len(cmd.patterns) > 1)
        folders = {f.name: f for f in store.folders(account)}
        subscriptions = store.subscriptions(account)
        select = set(cmd.selection_options)
        by_subscription = "SUBSCRIBED" in select
        by_special_use = "SPECIAL-USE" in select
        recursive = "RECURSIVEMATCH" in select
        show_subscribed = by_subscription or "SUBSCRIBED" in cmd.return_options
        criteria = tuple(o for o in cmd.selection_options if o not in ("RECURSIVEMATCH", "REMOTE"))
        patterns = [_pattern(cmd.reference, p) for p in cmd.patterns]

        def chosen(name: str) -> bool:
            if by_subscription and name not in subscriptions:
                return False
            if by_special_use:
                folder = folders.get(name)
                return folder is not None and folder.special_use is not None
            return by_subscription or name in folders

        names = set(folders) | set(subscriptions)
        names |= {a for n in list(names) for a in _ancestors(n)}
        selected_names = {n for n in names if chosen(n)}
        for name in sorted(names, key=_mailbox_order):
            if not _matches_any(patterns, name):
                continue
            prefix = name + DELIMITER
            below = [n for n in selected_names if n.startswith(prefix)]
            childinfo = recursive and bool(below)
            if name not in selected_names and not childinfo:
                # RFC 3501 §6.3.8 / RFC 5258 example 11: a missing hierarchy level with
                # mailboxes below is listed when none of those matches the pattern itself.
                if by_subscription or by_special_use or name in folders or not below:
                    continue
                if any(_matches_any(patterns, n) for n in below):
                    continue
            attrs: list[str] = []
            if name not in folders:
                attrs.append("\\NonExistent" if extended else "\\Noselect")
            if show_subscribed and name in subscriptions:
                attrs.append("\\Subscribed")
            has_children = any(n.startswith(prefix) for n in folders)
            attrs.append("\\HasChildren" if has_children else "\\HasNoChildren")
            folder = folders.get(name)
            if folder is not None and folder.special_use:
                attrs.append(folder.special_use)
            data: list[ImapValue] = [
                Atom("LIST"),
                tuple(Atom(a) for a in attrs),
                DELIMITER,
                Mailbox(name),
            ]
            if childinfo:
                data.append(("CHILDINFO", criteria))
            out.append(Untagged(tuple(data)))
            if cmd.status_items and folder is not None:
                out.append(self._status_response(name, cmd.status_items))
        return Tagged(cmd.tag, "OK", "LIST completed")

    def _lsub(self, cmd: Lsub, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        if cmd.pattern == "":
            out.append(Untagged((Atom("LSUB"), (Atom("\\Noselect"),), DELIMITER, "")))
            return Tagged(cmd.tag, "OK", "LSUB completed")
        subscriptions = store.subscriptions(account)
        patterns = [_pattern(cmd.reference, cmd.pattern)]
        names = set(subscriptions) | {a for n in subscriptions for a in _ancestors(n)}
        for name in sorted(names, key=_mailbox_order):
            if not _matches_any(patterns, name):
                continue
            attrs: tuple[Atom, ...] = ()
            if name not in subscriptions:
                # RFC 3501 §6.3.9: an unsubscribed level with subscribed names below, when
                # "%" stops at it, is listed \Noselect.
                below = [n for n in subscriptions if n.startswith(name + DELIMITER)]
                if any(_matches_any(patterns, n) for n in below):
                    continue
                attrs = (Atom("\\Noselect"),)
            out.append(Untagged((Atom("LSUB"), attrs, DELIMITER, Mailbox(name))))
        return Tagged(cmd.tag, "OK", "LSUB completed")

    def _status_response(self, name: str, items: Sequence[str]) -> Untagged:
        snap = self.backend.store.folder(self._user(), name)
        view = self._view
        values: list[ImapValue] = []
        for item in items:
            value: int
            if item == "MESSAGES":
                value = len(snap.items)
            elif item == "RECENT":
                if view is not None and view.name == snap.name:
                    value = sum(1 for i in snap.items if i.uid in view.recent)
                else:
                    value = sum(1 for i in snap.items if i.uid > snap.recent_mark)
            elif item == "UIDNEXT":
                value = snap.uidnext
            elif item == "UIDVALIDITY":
                value = snap.uidvalidity
            elif item == "UNSEEN":
                value = sum(1 for i in snap.items if _SEEN not in i.flags)
            elif item == "HIGHESTMODSEQ":
                value = snap.modseq
            elif item == "SIZE":
                value = sum(len(i.message.raw) for i in snap.items)
            elif item == "DELETED":
                value = sum(1 for i in snap.items if _DELETED in i.flags)
            else:  # pragma: no cover - the grammar only lets the items above through
                continue
            values += [Atom(item), value]
        return Untagged((Atom("STATUS"), Mailbox(snap.name), tuple(values)))

    def _status(self, cmd: Status, out: list[Response]) -> Tagged:
        if "HIGHESTMODSEQ" in cmd.items:
            self._enable_condstore(out)
        try:
            out.append(self._status_response(_norm_mailbox(cmd.mailbox), cmd.items))
        except StoreError:
            return Tagged(cmd.tag, "NO", f"no mailbox {cmd.mailbox}", "NONEXISTENT")
        return Tagged(cmd.tag, "OK", "STATUS completed")

    def _append(self, cmd: Append, out: list[Response]) -> Tagged:
        options = self.backend.options
        if len(cmd.message) > options.max_message_size:
            reason = f"message larger than the limit of {options.max_message_size} octets"
            return Tagged(cmd.tag, "NO", reason, "TOOBIG")
        store = self.backend.store
        account = self._user()
        now = datetime.now(timezone.utc)
        message = Message(
            cmd.message,
            Envelope(
                sender="",
                recipients=(account,),
                auth_user=account,
                is_tls=self.is_tls,
                protocol="imap",
            ),
            now,
            store.next_message_seq(),
        )
        try:
            uidvalidity, uid = store.append(
                account,
                _norm_mailbox(cmd.mailbox),
                message,
                flags=cmd.flags,
                internal_date=cmd.date or now,
            )
        except StoreError:
            # RFC 3501 §6.3.11: TRYCREATE when the mailbox does not exist.
            return Tagged(cmd.tag, "NO", f"no mailbox {cmd.mailbox}", "TRYCREATE")
        return Tagged(cmd.tag, "OK", "APPEND completed", f"APPENDUID {uidvalidity} {uid}")

    def _idle(self, cmd: Idle, out: list[Response]) -> None:
        self.idling = True
        out.append(Continuation("idling"))
        if self._view is not None:
            self._sync(out, flags=True, expunge=True)

    def _done(self, cmd: Done, out: list[Response]) -> Tagged:
        self.idling = False
        return Tagged(cmd.tag, "OK", "IDLE terminated")

    # ------------------------------------------------------------------ selected

    def _selected_view(self) -> _View:
        assert self._view is not None
        return self._view

    def _check(self, cmd: Check, out: list[Response]) -> Tagged:
        return Tagged(cmd.tag, "OK", "CHECK completed")

    def _close(self, cmd: Close, out: list[Response]) -> Tagged:
        view = self._selected_view()
        self._deselect()
        if not view.readonly:
            # RFC 3501 §6.4.2: expunge silently; no untagged EXPUNGE.
            store = self.backend.store
            try:
                snap = store.folder(self._user(), view.name)
                if snap.uidvalidity == view.uidvalidity:
                    doomed = [i.uid for i in snap.items if _DELETED in i.flags]
                    if doomed:
                        store.expunge(self._user(), view.name, doomed)
            except StoreError:
                pass  # the mailbox went away meanwhile: nothing to expunge
        return Tagged(cmd.tag, "OK", "CLOSE completed")

    def _unselect(self, cmd: Unselect, out: list[Response]) -> Tagged:
        self._deselect()
        return Tagged(cmd.tag, "OK", "UNSELECT completed")

    def _enable_condstore(self, out: list[Response]) -> None:
        if not self.condstore:
            self.condstore = True
            view = self._view
            if view is not None:
                # RFC 7162 §3.1: the first enabling command reports HIGHESTMODSEQ.
                modseq = self.backend.store.folder_modseq(self._user(), view.name)
                if modseq is not None:
                    out.append(UntaggedStatus("OK", "highest", f"HIGHESTMODSEQ {modseq[1]}"))

    def _resolve(
        self, view: _View, numbers: SequenceSet, uid: bool
    ) -> list[tuple[int, int]] | None:
        """``(seq, uid)`` of the messages a set names; ``None`` for a bad sequence number."""
        if uid:
            largest = view.largest_uid
            return [(n, u) for n, u in enumerate(view.uids, 1) if numbers.contains(u, largest)]
        count = len(view.uids)
        # RFC 3501 §9 seq-number: BAD for a number above the count, "*" in an empty mailbox.
        star = any(n is None for pair in numbers.ranges for n in pair)
        if numbers.max_explicit > count or (star and not count):
            return None
        return [(n, view.uids[n - 1]) for n in numbers.resolve(count)]

    @staticmethod
    def _bad_set(tag: str) -> Tagged:
        return Tagged(tag, "BAD", "no such message: sequence number out of range")

    def _expunge(self, cmd: Expunge, out: list[Response]) -> Tagged:
        view = self._selected_view()
        if view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        store = self.backend.store
        snap = store.folder(self._user(), view.name)
        current = {i.uid: i for i in snap.items}
        largest = view.largest_uid
        doomed = [
            uid
            for uid in view.uids
            if uid in current
            and _DELETED in current[uid].flags
            and (cmd.uid_set is None or cmd.uid_set.contains(uid, largest))
        ]
        removed = store.expunge(self._user(), view.name, doomed) if doomed else ()
        self._report_expunged(view, set(removed), out)
        return Tagged(cmd.tag, "OK", "EXPUNGE completed")

    def _report_expunged(self, view: _View, removed: set[int], out: list[Response]) -> None:
        """``* n EXPUNGE`` for each removed UID, highest first (each number stays valid)."""
        if not removed:
            return
        positions = [n for n, uid in enumerate(view.uids, 1) if uid in removed]
        for n in reversed(positions):
            out.append(Untagged((n, Atom("EXPUNGE"))))
        view.uids = [uid for uid in view.uids if uid not in removed]
        for uid in removed:
            view.items.pop(uid, None)
            view.flags.pop(uid, None)
            view.recent.discard(uid)
            view.ghosts.discard(uid)

    def _flags_value(self, view: _View, uid: int, flags: frozenset[str]) -> tuple[Atom, ...]:
        return _flag_list(flags, recent=uid in view.recent)

    def _fetch(self, cmd: Fetch, out: list[Response]) -> Tagged:
        view = self._selected_view()
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        attrs = cmd.attributes
        if cmd.changed_since is not None or FetchItem("MODSEQ") in attrs:
            self._enable_condstore(out)
        if cmd.changed_since is not None:
            since = cmd.changed_since
            targets = [(n, u) for n, u in targets if view.items[u].modseq > since]
        marks_seen = not view.readonly and any(
            (isinstance(a, BodySection) and not a.peek)
            or a in (FetchItem("RFC822"), FetchItem("RFC822.TEXT"))
            for a in attrs
        )
        seen_now: set[int] = set()
        if marks_seen:
            # RFC 3501 §6.4.5: BODY[...] (not .PEEK), RFC822 and RFC822.TEXT set \Seen.
            unseen = [
                u for _, u in targets if u not in view.ghosts and _SEEN not in view.items[u].flags
            ]
            if unseen:
                for item in self.backend.store.set_flags(
                    self._user(), view.name, unseen, (_SEEN,), "add"
                ):
                    view.items[item.uid] = item
                    seen_now.add(item.uid)
        wants_flags = FetchItem("FLAGS") in attrs
        wants_modseq = FetchItem("MODSEQ") in attrs
        for seq, uid in targets:
            item = view.items[uid]
            data = [self._fetch_item(view, item, attr) for attr in attrs]
            if uid in seen_now and not wants_flags:
                # §6.4.5: the implicit \Seen change is reported in the same FETCH.
                data.append(("FLAGS", self._flags_value(view, uid, item.flags)))
                if self.condstore and not wants_modseq:
                    data.append(("MODSEQ", (item.modseq,)))
            if wants_flags or uid in seen_now:
                view.flags[uid] = item.flags
            out.append(FetchData(seq, tuple(data)))
        return Tagged(cmd.tag, "OK", "FETCH completed")

    def _fetch_item(
        self, view: _View, item: MailItem, attr: FetchAttribute
    ) -> tuple[str, ImapValue]:
        message = item.message
        if isinstance(attr, BodySection):
            data = section(message.raw, _index(message), attr.part, attr.specifier, attr.fields)
            if attr.partial is not None:
                data = partial(data, *attr.partial)
            return attr.response_name(), data
        name = attr.name
        if name == "FLAGS":
            return name, self._flags_value(view, item.uid, item.flags)
        if name == "UID":
            return name, item.uid
        if name == "INTERNALDATE":
            return name, format_internal_date(item.internal_date)
        if name == "RFC822.SIZE":
            return name, len(message.raw)
        if name == "ENVELOPE":
            return name, _envelope(message)
        if name == "BODYSTRUCTURE":
            return name, _body_structure(message, True)
        if name == "BODY":
            return name, _body_structure(message, False)
        if name == "RFC822":
            return name, message.raw
        if name == "RFC822.HEADER":
            return name, section(message.raw, _index(message), (), "HEADER")
        if name == "RFC822.TEXT":
            return name, section(message.raw, _index(message), (), "TEXT")
        return name, (item.modseq,)  # MODSEQ

    def _store(self, cmd: Store, out: list[Response]) -> Tagged:
        view = self._selected_view()
        if view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        if cmd.unchanged_since is not None:
            self._enable_condstore(out)
        store = self.backend.store
        live = [(n, u) for n, u in targets if u not in view.ghosts]
        # Keywords are case-insensitive: use the spelling already in the mailbox.
        known = {f.lower(): f for u in view.uids for f in view.items[u].flags}
        flags = [known.get(f.lower(), f) for f in cmd.flags]
        if cmd.mode == "-":
            wanted = {f.lower() for f in flags}
            flags += [f for f in known.values() if f.lower() in wanted]
        mode = _STORE_MODES[cmd.mode]
        before = {u: view.items[u].modseq for _, u in live}
        results = store.set_flags(
            self._user(),
            view.name,
            [u for _, u in live],
            flags,
            mode,
            unchanged_since=cmd.unchanged_since,
        )
        failed: set[int] = set()
        for item in results:
            view.items[item.uid] = item
            if cmd.unchanged_since is not None and before[item.uid] > cmd.unchanged_since:
                failed.add(item.uid)
        self._announce_keywords(view, out)
        by_uid = {item.uid: item for item in results}
        for seq, uid in live:
            stored = by_uid.get(uid)
            if stored is None or uid in failed:
                continue
            data: list[tuple[str, ImapValue]] = []
            if cmd.uid:
                data.append(("UID", uid))
            if not cmd.silent:
                data.append(("FLAGS", self._flags_value(view, uid, stored.flags)))
            if self.condstore:
                data.append(("MODSEQ", (stored.modseq,)))
            view.flags[uid] = stored.flags
            # RFC 7162 §3.1.3: with UNCHANGEDSINCE the FETCH is sent even for .SILENT.
            if not cmd.silent or cmd.unchanged_since is not None:
                out.append(FetchData(seq, tuple(data)))
        if failed:
            numbers = failed if cmd.uid else {n for n, u in targets if u in failed}
            code = f"MODIFIED {SequenceSet.from_numbers(numbers)}"
            return Tagged(cmd.tag, "OK", "conditional STORE failed for some messages", code)
        return Tagged(cmd.tag, "OK", "STORE completed")

    def _copy_or_move(self, cmd: Copy | Move, out: list[Response], move: bool) -> Tagged:
        view = self._selected_view()
        if move and view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        uids = [u for _, u in targets if u not in view.ghosts]
        try:
            uidvalidity, pairs = self.backend.store.copy(
                self._user(), view.name, uids, _norm_mailbox(cmd.mailbox), move=move
            )
        except StoreError as error:
            if error.code == "TRYCREATE":
                return Tagged(cmd.tag, "NO", f"no mailbox {cmd.mailbox}", "TRYCREATE")
            raise
        code = None
        if pairs:
            # RFC 4315 §3: the two sets correspond pairwise, in ascending UID order.
            source = SequenceSet.from_numbers(p[0] for p in pairs)
            target = SequenceSet.from_numbers(p[1] for p in pairs)
            code = f"COPYUID {uidvalidity} {source} {target}"
        if move:
            # RFC 6851 §4.3: COPYUID in an untagged OK, before the EXPUNGEs.
            if code is not None:
                out.append(UntaggedStatus("OK", "moved", code))
            self._report_expunged(view, {p[0] for p in pairs}, out)
            return Tagged(cmd.tag, "OK", "MOVE completed")
        return Tagged(cmd.tag, "OK", "COPY completed", code)

    def _copy(self, cmd: Copy, out: list[Response]) -> Tagged:
        return self._copy_or_move(cmd, out, move=False)

    def _move(self, cmd: Move, out: list[Response]) -> Tagged:
        return self._copy_or_move(cmd, out, move=True)

    # ------------------------------------------------------------------ SEARCH

    def _search(self, cmd: Search, out: list[Response]) -> Tagged:
        view = self._selected_view()
        uses_modseq = _has_modseq(cmd.criteria)
        if uses_modseq:
            self._enable_condstore(out)
        count = len(view.uids)
        largest_uid = view.largest_uid
        found: list[tuple[int, MailItem]] = []
        for seq, uid in enumerate(view.uids, 1):
            item = view.items[uid]
            if self._matches(cmd.criteria, seq, item, view, count, largest_uid):
                found.append((seq, item))
        numbers = [item.uid if cmd.uid else seq for seq, item in found]
        highest = max((item.modseq for _, item in found), default=0)
        if cmd.return_options:
            # RFC 4731 §3.1: ESEARCH; MIN, MAX and ALL are omitted when nothing matched.
            data: list[ImapValue] = [Atom("ESEARCH"), (Atom("TAG"), cmd.tag)]
            if cmd.uid:
                data.append(Atom("UID"))
            options = cmd.return_options
            if numbers and "MIN" in options:
                data += [Atom("MIN"), min(numbers)]
            if numbers and "MAX" in options:
                data += [Atom("MAX"), max(numbers)]
            if numbers and "ALL" in options:
                data += [Atom("ALL"), Atom(str(SequenceSet.from_numbers(numbers)))]
            if "COUNT" in options:
                data += [Atom("COUNT"), len(numbers)]
            if uses_modseq and numbers:
                data += [Atom("MODSEQ"), highest]
            out.append(Untagged(tuple(data)))
        else:
            result: list[ImapValue] = [Atom("SEARCH"), *numbers]
            if uses_modseq and numbers:
                result.append((Atom("MODSEQ"), highest))  # RFC 7162 §3.1.5
            out.append(Untagged(tuple(result)))
        return Tagged(cmd.tag, "OK", "SEARCH completed")

    def _matches(
        self, key: SearchKey, seq: int, item: MailItem, view: _View, count: int, largest: int
    ) -> bool:
        message = item.message
        if isinstance(key, SearchAll):
            return True
        if isinstance(key, SearchFlag):
            if key.flag == _RECENT:
                has = item.uid in view.recent
            elif key.flag.startswith("\\"):
                has = key.flag in item.flags
            else:
                wanted = key.flag.lower()
                has = any(f.lower() == wanted for f in item.flags)
            return has == key.present
        if isinstance(key, SearchHeader):
            needle = key.value.casefold()
            values = _header_values(message, key.field)
            if not needle:
                return bool(values)
            return any(needle in v.casefold() for v in values)
        if isinstance(key, SearchBody):
            return key.value.casefold() in _body_text(message)
        if isinstance(key, SearchText):
            needle = key.value.casefold()
            return needle in _header_text(message) or needle in _body_text(message)
        if isinstance(key, SearchDate):
            day = _sent_date(message, item.internal_date) if key.sent else item.internal_date.date()
            if key.relation == "BEFORE":
                return day < key.date
            if key.relation == "ON":
                return day == key.date
            return day >= key.date
        if isinstance(key, SearchSize):
            size = len(message.raw)
            return size > key.octets if key.relation == "LARGER" else size < key.octets
        if isinstance(key, SearchSequence):
            return key.sequence_set.contains(seq, count)
        if isinstance(key, SearchUid):
            return key.sequence_set.contains(item.uid, largest)
        if isinstance(key, SearchModSeq):
            return item.modseq >= key.modseq
        if isinstance(key, SearchNot):
            return not self._matches(key.key, seq, item, view, count, largest)
        if isinstance(key, SearchOr):
            return self._matches(key.left, seq, item, view, count, largest) or self._matches(
                key.right, seq, item, view, count, largest
            )
        return all(self._matches(k, seq, item, view, count, largest) for k in key.keys)

    # ------------------------------------------------------------------ synchronisation

    def _announce_keywords(self, view: _View, out: list[Response]) -> None:
        """RFC 3501 §7.2.6: a new FLAGS (and PERMANENTFLAGS) when new keywords appear."""
        keywords = frozenset(
            f for uid in view.uids for f in view.items[uid].flags if _is_keyword(f)
        )
        if keywords <= view.keywords:
            return
        view.keywords |= keywords
        out.append(Untagged((Atom("FLAGS"), _flag_list((*_SYSTEM_FLAGS, *view.keywords)))))
        out.append(self._permanent_flags(view))

    def _sync(self, out: list[Response], *, flags: bool, expunge: bool) -> None:
        """Report what changed in the selected mailbox since the client was last told.

        New messages always (EXISTS, RECENT); flag changes with ``flags``; removals with
        ``expunge`` (never while answering FETCH, STORE or SEARCH: RFC 3501 §7.4.1).
        Raises :class:`_Gone` if the mailbox was deleted or renamed.
        """
        view = self._selected_view()
        store = self.backend.store
        account = self._user()
        state = store.folder_modseq(account, view.name)
        if state is None or state[0] != view.uidvalidity:
            raise _Gone
        if state[1] != view.modseq:
            try:
                snap = store.folder(account, view.name)
            except StoreError:
                raise _Gone from None
            if snap.uidvalidity != view.uidvalidity:
                raise _Gone
            current = {i.uid: i for i in snap.items}
            for uid in view.uids:
                item = current.get(uid)
                if item is None:
                    view.ghosts.add(uid)
                else:
                    view.items[uid] = item
            new = [i for i in snap.items if i.uid > view.max_uid]
            if new:
                if view.readonly:
                    view.recent |= {i.uid for i in new if i.uid > snap.recent_mark}
                else:
                    try:
                        view.recent |= store.claim_recent(account, view.name)
                    except StoreError:
                        raise _Gone from None
                for item in new:
                    view.uids.append(item.uid)
                    view.items[item.uid] = item
                    view.flags[item.uid] = item.flags
                view.max_uid = new[-1].uid
                out.append(Untagged((len(view.uids), Atom("EXISTS"))))
                recent = sum(1 for uid in view.uids if uid in view.recent)
                out.append(Untagged((recent, Atom("RECENT"))))
            view.modseq = snap.modseq
            view.dirty = True
        if expunge and view.ghosts:
            self._report_expunged(view, set(view.ghosts), out)
        if flags and view.dirty:
            view.dirty = False
            self._announce_keywords(view, out)
            for seq, uid in enumerate(view.uids, 1):
                if uid in view.ghosts:
                    continue
                item = view.items[uid]
                if item.flags != view.flags[uid]:
                    view.flags[uid] = item.flags
                    data: list[tuple[str, ImapValue]] = [
                        ("UID", uid),
                        ("FLAGS", self._flags_value(view, uid, item.flags)),
                    ]
                    if self.condstore:
                        data.append(("MODSEQ", (item.modseq,)))
                    out.append(FetchData(seq, tuple(data)))


def _has_modseq(key: SearchKey) -> bool:
    if isinstance(key, SearchModSeq):
        return True
    if isinstance(key, SearchNot):
        return _has_modseq(key.key)
    if isinstance(key, SearchOr):
        return _has_modseq(key.left) or _has_modseq(key.right)
    if isinstance(key, SearchAnd):
        return any(_has_modseq(k) for k in key.keys)
    return False
