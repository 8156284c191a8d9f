"""The client's view of the selected mailbox, and the session state every command family shares.

The selected mailbox view (RFC 3501 §2.3.1, §7.4.1, §5.2): the session remembers the UIDs it
has announced, in sequence-number order, and their flags as last told. At each command it
compares that view with the store (skipping the work when ``folder_modseq`` says nothing
changed) and reports new messages (EXISTS, RECENT), flag changes (FETCH) and removals
(EXPUNGE, never while answering FETCH, STORE or SEARCH: until then a removed message stays
in the view, served from the immutable message the view still holds).

:class:`SessionBase` holds the session's state and the helpers more than one command family
uses; each family (:mod:`._auth`, :mod:`._mailboxes`, :mod:`._selected`, :mod:`._fetch`,
:mod:`._search`) is a mixin over it, and :class:`~._session.ImapSession` combines them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, final

from fakemail._backend import Backend
from fakemail._flags import RECENT, SYSTEM_FLAGS
from fakemail._imap._events import SequenceSet
from fakemail._imap._response import (
    Atom,
    FetchData,
    ImapValue,
    Response,
    Tagged,
    Untagged,
    UntaggedStatus,
)
from fakemail._sasl import Mechanism
from fakemail._store import INBOX, MailItem, StoreError

__all__ = [
    "DELETED",
    "DELIMITER",
    "RECENT",
    "SEEN",
    "SYSTEM_FLAGS",
    "Gone",
    "SessionBase",
    "View",
    "flag_list",
    "is_keyword",
    "norm_mailbox",
]

DELIMITER: Final = "/"
"""The hierarchy delimiter of every account (the store's)."""

SEEN: Final = "\\Seen"
DELETED: Final = "\\Deleted"


def is_keyword(flag: str) -> bool:
    """A keyword (``$Junk``, ``work``), not a system flag (``\\Seen``)."""
    return not flag.startswith("\\")


def flag_list(flags: Iterable[str], recent: bool = False) -> tuple[Atom, ...]:
    """A flag list in a stable order: system flags, then keywords, then ``\\Recent``."""
    ordered = sorted(flags, key=lambda f: (is_keyword(f), f))
    if recent:
        ordered.append(RECENT)
    return tuple(Atom(f) for f in ordered)


def norm_mailbox(name: str) -> str:
    """``inbox/x`` names INBOX's children: treat the INBOX prefix case-insensitively too."""
    if name[:6].upper() == "INBOX" + DELIMITER:
        return INBOX + name[5:]
    return name


@final
@dataclass(slots=True)
class View:
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


class Gone(Exception):
    """The selected mailbox no longer exists as the client knows it."""


class SessionBase:
    """The state of one IMAP session and the helpers its command families share."""

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
        self._view: View | None = None
        # \Recent UIDs of mailboxes selected before, by (name, UIDVALIDITY).
        self._recent_kept: dict[tuple[str, int], set[int]] = {}

    @property
    def selected(self) -> str | None:
        """The name of the selected mailbox, if any."""
        return self._view.name if self._view else None

    def _user(self) -> str:
        assert self.account is not None
        return self.account

    def _selected_view(self) -> View:
        assert self._view is not None
        return self._view

    def _deselect(self) -> None:
        view = self._view
        if view is not None:
            # \Recent belongs to this session for good (RFC 3501 §2.3.2): keep it for a
            # later SELECT of the same mailbox.
            key = (view.name, view.uidvalidity)
            self._recent_kept[key] = self._recent_kept.get(key, set()) | view.recent
        self._view = None

    def _permanent_flags(self, view: View) -> UntaggedStatus:
        if view.readonly:
            return UntaggedStatus("OK", "read-only mailbox", "PERMANENTFLAGS ()")
        flags = " ".join(flag_list((*SYSTEM_FLAGS, *view.keywords)))
        return UntaggedStatus("OK", "flags permitted", f"PERMANENTFLAGS ({flags} \\*)")

    def _enable_condstore(self, out: list[Response]) -> None:
        if not self.condstore:
            self.condstore = True
            view = self._view
            if view is not None:
                # RFC 7162 §3.1: the first enabling command reports HIGHESTMODSEQ.
                modseq = self.backend.store.folder_modseq(self._user(), view.name)
                if modseq is not None:
                    out.append(UntaggedStatus("OK", "highest", f"HIGHESTMODSEQ {modseq[1]}"))

    def _resolve(self, view: View, numbers: SequenceSet, uid: bool) -> list[tuple[int, int]] | None:
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

    def _report_expunged(self, view: View, removed: set[int], out: list[Response]) -> None:
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

    def _flags_value(self, view: View, uid: int, flags: frozenset[str]) -> tuple[Atom, ...]:
        return flag_list(flags, recent=uid in view.recent)

    def _announce_keywords(self, view: View, out: list[Response]) -> None:
        """RFC 3501 §7.2.6: a new FLAGS (and PERMANENTFLAGS) when new keywords appear."""
        keywords = frozenset(f for uid in view.uids for f in view.items[uid].flags if is_keyword(f))
        if keywords <= view.keywords:
            return
        view.keywords |= keywords
        out.append(Untagged((Atom("FLAGS"), flag_list((*SYSTEM_FLAGS, *view.keywords)))))
        out.append(self._permanent_flags(view))

    def _sync(self, out: list[Response], *, flags: bool, expunge: bool) -> None:
        """Report what changed in the selected mailbox since the client was last told.

        New messages always (EXISTS, RECENT); flag changes with ``flags``; removals with
        ``expunge`` (never while answering FETCH, STORE or SEARCH: RFC 3501 §7.4.1).
        Raises :class:`Gone` if the mailbox was deleted or renamed.
        """
        view = self._selected_view()
        store = self.backend.store
        account = self._user()
        state = store.folder_modseq(account, view.name)
        if state is None or state[0] != view.uidvalidity:
            raise Gone
        if state[1] != view.modseq:
            try:
                snap = store.folder(account, view.name)
            except StoreError:
                raise Gone from None
            if snap.uidvalidity != view.uidvalidity:
                raise Gone
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
                        raise Gone from None
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
