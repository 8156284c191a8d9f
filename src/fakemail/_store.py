"""The mail store: the one shared, thread-safe model behind every protocol and the test API.

Two views of the mail, both first-class:

* **transactions** — every accepted SMTP transaction in arrival order (:attr:`MailStore.messages`),
  one :class:`~fakemail.Message` per transaction however many recipients it had;
* **mailboxes** — accounts keyed by address, each with folders holding per-recipient copies
  (:class:`MailItem`: UID, flags, internal date), with UIDVALIDITY/UIDNEXT per folder (RFC 3501
  §2.3.1.1).

Invariants:

1. One :class:`threading.RLock` guards all state. Calls are short and synchronous; nothing
   awaits, does I/O or calls plugins while holding it, so it is safe from any thread or loop.
2. Reads return snapshots (tuples of immutable objects): callers may iterate while servers
   write. Flag changes replace a :class:`MailItem` rather than mutating it.
3. Every mutation bumps :attr:`MailStore.version`, wakes :meth:`MailStore.wait` and then, after
   the lock is released, calls the change listeners with a :class:`Change` saying what changed
   (accounts touched; transactions new, updated or deleted; everything cleared).
4. A refused call (:class:`StoreError`) changes nothing, not even by creating the account it
   named; writing into a new address (delivery, append, create folder) creates its account.

Transaction state (the HTTP API's view, Mailpit's model): each transaction has a
:class:`Transaction` snapshot with a stable ID (``str``, unique for the store's life: IDs are
never reused, also not after :meth:`MailStore.clear`), a read flag and tags. Read state and tags
are mirrored to the mailbox copies and back:

* marking a transaction read or unread (:meth:`MailStore.set_read`) sets or removes ``\\Seen``
  on every copy of it, in every account and folder;
* setting its tags (:meth:`MailStore.set_tags`) replaces the keywords of every copy with the
  tags that are valid IMAP keywords (tags with spaces stay HTTP-only);
* an IMAP client changing ``\\Seen`` or keywords on a copy (:meth:`MailStore.set_flags`)
  changes the transaction: read follows that copy's ``\\Seen``, added keywords become tags and
  removed ones stop being tags (other copies are left as they are);
* deleting a transaction (:meth:`MailStore.delete_transactions`) removes it and expunges every
  copy of it; expunging a copy over IMAP or POP3 leaves the transaction.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Final, Literal, final

from fakemail._exceptions import FakemailError
from fakemail._message import Envelope, Message, normalize_address
from fakemail._tags import clean_tag, clean_tags, initial_tags, is_keyword, sorted_tags

__all__ = [
    "DEFAULT_FOLDERS",
    "INBOX",
    "AccountState",
    "Change",
    "FlagMode",
    "FolderSnapshot",
    "MailItem",
    "MailStore",
    "StoreError",
    "StoreState",
    "Transaction",
]

INBOX: Final = "INBOX"
#: Folders every account starts with, and their RFC 6154 special-use attribute.
DEFAULT_FOLDERS: Final[tuple[tuple[str, str | None], ...]] = (
    (INBOX, None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)
_EMPTY: Final[frozenset[str]] = frozenset()
_DEFAULT_NAMES: Final = frozenset(name for name, _ in DEFAULT_FOLDERS)
_SEEN: Final = "\\Seen"
_UIDVALIDITY: Final = itertools.count(int(time.time()) & 0x3FFFFFFF)


class StoreError(FakemailError):
    """A store operation was refused; ``code`` names why (IMAP response-code style).

    Codes: ``NONEXISTENT``, ``ALREADYEXISTS``, ``CANNOT`` (e.g. deleting INBOX),
    ``TRYCREATE`` (the target folder of an append or copy does not exist).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@final
@dataclass(frozen=True, slots=True)
class MailItem:
    """One message in one folder: the shared immutable message plus per-copy state."""

    uid: int
    message: Message
    flags: frozenset[str]
    internal_date: datetime
    #: Modification sequence of the last change to this item (RFC 7162 style).
    modseq: int


@final
@dataclass(frozen=True, slots=True)
class FolderSnapshot:
    """A folder at one instant."""

    name: str
    uidvalidity: int
    uidnext: int
    #: Highest modification sequence in the folder (grows on every change).
    modseq: int
    special_use: str | None
    #: Messages in UID order (message sequence number = index + 1).
    items: tuple[MailItem, ...]
    #: UIDs above this were never yet reported as \\Recent to any session.
    recent_mark: int

    @property
    def uids(self) -> tuple[int, ...]:
        """UIDs in order."""
        return tuple(item.uid for item in self.items)

    def __len__(self) -> int:
        return len(self.items)


@final
@dataclass(frozen=True, slots=True)
class Transaction:
    """One SMTP transaction's state as the HTTP API sees it (a snapshot)."""

    #: Stable ID, unique for the store's life (never reused).
    id: str
    message: Message
    #: Read (Mailpit's ``Read``), mirrored with ``\\Seen`` on the mailbox copies.
    read: bool
    #: Tags, sorted case-insensitively; those valid as IMAP keywords mirror the copies' keywords.
    tags: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class Change:
    """What a mutation touched, passed to change listeners."""

    #: Normalised addresses of the accounts changed (empty for transaction-only changes).
    accounts: frozenset[str]
    #: Whether the whole store was cleared (every transaction and account is gone).
    is_clear: bool = False
    #: IDs of transactions recorded by this change.
    new: tuple[str, ...] = ()
    #: IDs of transactions whose read state or tags changed.
    updated: tuple[str, ...] = ()
    #: IDs of transactions deleted.
    deleted: tuple[str, ...] = ()
    #: Whether every transaction was deleted (:meth:`MailStore.delete_transactions`); a
    #: :meth:`MailStore.clear` says :attr:`is_clear` instead.
    truncated: bool = False


@final
@dataclass(frozen=True, slots=True)
class AccountState:
    """One account at one instant: its folders in order and its subscriptions."""

    address: str
    folders: tuple[FolderSnapshot, ...]
    subscriptions: frozenset[str]


@final
@dataclass(frozen=True, slots=True)
class StoreState:
    """Everything a store holds, at one instant (:meth:`MailStore.dump`), to be saved and
    loaded again (:meth:`MailStore.load`)."""

    #: The SMTP transactions in arrival order.
    transactions: tuple[Message, ...]
    accounts: tuple[AccountState, ...]
    #: The arrival sequence number the next message gets (numbers are never reused).
    next_seq: int


def _uidvalidities(floor: int) -> Iterator[int]:
    """The process-wide UIDVALIDITY counter, but never at or below ``floor`` (the highest a
    loaded folder has): values stay unique and growing (RFC 3501 §2.3.1.1). Called under the
    store lock only (a generator is not safe to advance from two threads at once)."""
    last = floor
    for value in _UIDVALIDITY:
        last = max(value, last + 1)
        yield last


@dataclass(slots=True)
class _Folder:
    name: str
    uidvalidity: int
    special_use: str | None = None
    uidnext: int = 1
    modseq: int = 1
    recent_mark: int = 0
    items: dict[int, MailItem] = field(default_factory=dict)  # insertion order == UID order

    def snapshot(self) -> FolderSnapshot:
        return FolderSnapshot(
            self.name,
            self.uidvalidity,
            self.uidnext,
            self.modseq,
            self.special_use,
            tuple(self.items.values()),
            self.recent_mark,
        )


@dataclass(slots=True)
class _Account:
    address: str
    folders: dict[str, _Folder]
    subscriptions: set[str]


def _folder_key(name: str) -> str:
    # RFC 3501 §5.1: INBOX is case-insensitive; every other name is case-sensitive.
    return INBOX if name.upper() == INBOX else name


FlagMode = Literal["add", "remove", "replace"]


@final
class MailStore:
    """Thread-safe in-memory mail: transactions, accounts, folders, flags.

    See the module docstring for the invariants every method keeps.
    """

    def __init__(self, *, hierarchy_delimiter: str = "/") -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._transactions: list[Message] = []
        # Transaction state by ID (insertion order = arrival order), and the ID of each
        # transaction's message (keyed by the object: message numbers restart on clear()).
        self._states: dict[str, Transaction] = {}
        self._ids: dict[Message, str] = {}
        # Transaction IDs never repeat for this store, also across clear().
        self._next_id = itertools.count(1)
        self._accounts: dict[str, _Account] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._seq = itertools.count(1)
        # UIDVALIDITY must never repeat for a folder name (RFC 3501 §2.3.1.1), also across
        # clear() and across servers made again on the same port; a process-wide counter
        # seeded from the clock guarantees it (next() on a count is atomic in CPython).
        self._uidvalidity: Iterator[int] = _UIDVALIDITY
        self._maildrop_locks: set[str] = set()
        self._version = 0
        self.delimiter = hierarchy_delimiter

    # ------------------------------------------------------------------ notification

    @property
    def version(self) -> int:
        """Counter bumped by every mutation."""
        return self._version

    def add_listener(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener(change)`` after every mutation (outside the lock, on the writer's
        thread). Returns a function that removes it. Listeners must be quick and not raise."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

        def remove() -> None:
            with self._lock:
                self._listeners = [cb for cb in self._listeners if cb is not listener]

        return remove

    def wait(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Block until ``predicate()`` (called under the lock) is true or ``timeout`` passes.

        Returns the predicate's last value. No polling: woken by each mutation.
        """
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def _changed(
        self,
        accounts: Iterable[str],
        *,
        is_clear: bool = False,
        new: tuple[str, ...] = (),
        updated: Iterable[str] = (),
        deleted: tuple[str, ...] = (),
        truncated: bool = False,
    ) -> Change:
        # Caller holds the lock.
        self._version += 1
        self._cond.notify_all()
        return Change(
            frozenset(accounts),
            is_clear,
            new,
            tuple(dict.fromkeys(updated)),
            deleted,
            truncated,
        )

    def _notify(self, change: Change) -> None:
        # Caller must NOT hold the lock (invariant 3).
        for listener in self._listeners:
            listener(change)

    # ------------------------------------------------------------------ transactions

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every accepted SMTP transaction, in arrival order (a snapshot)."""
        with self._lock:
            return tuple(self._transactions)

    def record(
        self,
        raw: bytes,
        envelope: Envelope,
        mailboxes: Sequence[str],
        *,
        received_at: datetime | None = None,
    ) -> Message:
        """Store one accepted transaction and put a copy in the INBOX of each of ``mailboxes``.

        All or nothing: the transaction and every copy appear together to readers.
        """
        when = received_at or datetime.now(timezone.utc)
        # Before taking the lock: this may parse the headers (only when they name X-Tags).
        tags = initial_tags(raw, envelope)
        keywords = frozenset(t for t in tags if is_keyword(t)) or _EMPTY
        with self._lock:
            message = Message(raw, envelope, when, next(self._seq))
            keys: dict[str, None] = {}
            for address in mailboxes:
                account = self._account(address)
                if account.address not in keys:  # one copy per mailbox, however often named
                    self._add(account.folders[INBOX], message, keywords, when)
                    keys[account.address] = None
            self._transactions.append(message)
            state = Transaction(str(next(self._next_id)), message, False, tags)
            self._states[state.id] = state
            self._ids[message] = state.id
            change = self._changed(keys, new=(state.id,))
        self._notify(change)
        return message

    # ------------------------------------------------------------------ transaction state

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        """Every transaction's state, in arrival order (a snapshot; cheap)."""
        with self._lock:
            return tuple(self._states.values())

    def transaction(self, id: str) -> Transaction | None:
        """The transaction with this ID, or ``None`` (never stored, or deleted)."""
        with self._lock:
            return self._states.get(id)

    def id_of(self, message: Message) -> str | None:
        """The ID of the transaction that stored ``message``, or ``None`` (not a transaction,
        or deleted)."""
        with self._lock:
            return self._ids.get(message)

    def _copies(self, messages: Container[Message]) -> Iterable[tuple[str, _Folder, MailItem]]:
        # Caller holds the lock. Every mailbox copy of the given transactions.
        for account in self._accounts.values():
            for folder in account.folders.values():
                for item in folder.items.values():
                    if item.message in messages:
                        yield account.address, folder, item

    def _mirror(
        self, states: dict[Message, Transaction], *, seen: bool, keywords: bool
    ) -> set[str]:
        # Caller holds the lock: make the copies' \Seen (and/or keywords) say what each
        # transaction says. Returns the accounts touched.
        touched: set[str] = set()
        for address, folder, item in list(self._copies(states)):
            state = states[item.message]
            flags = set(item.flags)
            if seen:
                flags.discard(_SEEN)
                if state.read:
                    flags.add(_SEEN)
            if keywords:
                flags = {f for f in flags if f.startswith("\\")}
                flags.update(t for t in state.tags if is_keyword(t))
            if flags != item.flags:
                folder.modseq += 1
                new = frozenset(flags) or _EMPTY
                folder.items[item.uid] = replace(item, flags=new, modseq=folder.modseq)
                touched.add(address)
        return touched

    def _update(
        self, states: Iterable[Transaction], *, seen: bool, keywords: bool
    ) -> Change | None:
        # Caller holds the lock: keep the changed states and mirror them to the copies.
        changed = {s.message: s for s in states if self._states.get(s.id) != s}
        if not changed:
            return None
        self._states.update((s.id, s) for s in changed.values())
        touched = self._mirror(changed, seen=seen, keywords=keywords)
        return self._changed(touched, updated=[s.id for s in changed.values()])

    def _selected(self, ids: Iterable[str] | None) -> list[Transaction]:
        # Caller holds the lock. None selects every transaction; unknown IDs are skipped.
        if ids is None:
            return list(self._states.values())
        found = []
        for id in ids:
            if state := self._states.get(id):
                found.append(state)
        return found

    def set_read(self, ids: Iterable[str] | None, read: bool) -> tuple[str, ...]:
        """Mark transactions read or unread (``None``: all), and ``\\Seen`` on their copies.

        Returns the IDs whose state changed (unknown IDs are ignored).
        """
        with self._lock:
            states = [replace(s, read=read) for s in self._selected(ids) if s.read != read]
            change = self._update(states, seen=True, keywords=False)
        if change:
            self._notify(change)
        return change.updated if change else ()

    def set_tags(self, ids: Iterable[str] | None, tags: Iterable[str]) -> tuple[str, ...]:
        """Replace the tags of transactions (``None``: all), and the keywords of their copies.

        Tags are cleaned (:func:`fakemail._tags.clean_tags`). Returns the IDs changed.
        """
        wanted = clean_tags(tags)
        with self._lock:
            states = [replace(s, tags=wanted) for s in self._selected(ids)]
            change = self._update(states, seen=False, keywords=True)
        if change:
            self._notify(change)
        return change.updated if change else ()

    def rename_tag(self, old: str, new: str) -> tuple[str, ...]:
        """Rename a tag (compared case-insensitively) on every transaction; returns the IDs
        changed. Renaming to a tag already there merges them."""
        return self._retag(old, new)

    def delete_tag(self, tag: str) -> tuple[str, ...]:
        """Remove a tag (compared case-insensitively) from every transaction; returns the IDs
        changed."""
        return self._retag(tag, None)

    def _retag(self, old: str, new: str | None) -> tuple[str, ...]:
        # The name as given matches too: a tag that came from an IMAP keyword ("$Forwarded")
        # is not a cleaned name.
        targets = {old.lower(), clean_tag(old).lower()} - {""}
        added = clean_tags([new]) if new is not None else ()
        with self._lock:
            states = []
            for state in self._states.values():
                kept = [t for t in state.tags if t.lower() not in targets]
                if len(kept) != len(state.tags):
                    states.append(replace(state, tags=sorted_tags([*kept, *added])))
            change = self._update(states, seen=False, keywords=True)
        if change:
            self._notify(change)
        return change.updated if change else ()

    def delete_transactions(self, ids: Iterable[str] | None) -> tuple[str, ...]:
        """Delete transactions (``None``: all) and expunge every mailbox copy of them.

        Returns the IDs deleted (unknown IDs are ignored).
        """
        with self._lock:
            gone = {s.message: s.id for s in self._selected(ids)}
            if not gone:
                return ()
            touched: set[str] = set()
            for address, folder, item in list(self._copies(gone)):
                del folder.items[item.uid]
                folder.modseq += 1
                touched.add(address)
            for message, id in gone.items():
                del self._states[id]
                del self._ids[message]
            self._transactions = [m for m in self._transactions if m not in gone]
            deleted = tuple(gone.values())
            change = self._changed(touched, deleted=deleted, truncated=not self._states)
        self._notify(change)
        return deleted

    # ------------------------------------------------------------------ accounts

    def _account(self, address: str) -> _Account:
        key = normalize_address(address)
        account = self._accounts.get(key)
        if account is None:
            folders = {
                name: _Folder(name, next(self._uidvalidity), special_use)
                for name, special_use in DEFAULT_FOLDERS
            }
            account = _Account(key, folders, set(folders))
            self._accounts[key] = account
        return account

    def ensure_account(self, address: str) -> str:
        """Create the account if needed (with the default folders); return its key."""
        with self._lock:
            existed = normalize_address(address) in self._accounts
            key = self._account(address).address
            change = None if existed else self._changed([key])
        if change:
            self._notify(change)
        return key

    @property
    def accounts(self) -> tuple[str, ...]:
        """Addresses of every account, in creation order."""
        with self._lock:
            return tuple(self._accounts)

    def has_account(self, address: str) -> bool:
        """Whether an account exists for ``address``."""
        with self._lock:
            return normalize_address(address) in self._accounts

    def _folder_names(self, address: str) -> Iterable[str]:
        # The account's folder names, or those a new account would get: checks that refuse
        # must not make the account as a side effect (a refusal changes nothing).
        account = self._accounts.get(normalize_address(address))
        return account.folders.keys() if account else _DEFAULT_NAMES

    def _existing(self, address: str, name: str) -> _Account:
        account = self._accounts.get(normalize_address(address))
        if account is None:
            raise StoreError("NONEXISTENT", f"no folder {name!r}")
        return account

    def _folder(self, address: str, name: str) -> _Folder:
        account = self._accounts.get(normalize_address(address))
        folder = account.folders.get(_folder_key(name)) if account else None
        if folder is None:
            raise StoreError("NONEXISTENT", f"no folder {name!r} for {address!r}")
        return folder

    # ------------------------------------------------------------------ folders

    def folders(self, address: str) -> tuple[FolderSnapshot, ...]:
        """Every folder of the account, INBOX first (none if there is no such account)."""
        with self._lock:
            account = self._accounts.get(normalize_address(address))
            return tuple(f.snapshot() for f in account.folders.values()) if account else ()

    def folder_count(self, address: str) -> int:
        """How many folders the account has, INBOX included (0 if there is no such account)."""
        with self._lock:
            account = self._accounts.get(normalize_address(address))
            return len(account.folders) if account else 0

    def folder(self, address: str, name: str) -> FolderSnapshot:
        """One folder's snapshot; :class:`StoreError` ``NONEXISTENT`` if there is none."""
        with self._lock:
            return self._folder(address, name).snapshot()

    def folder_modseq(self, address: str, name: str) -> tuple[int, int] | None:
        """``(uidvalidity, modseq)`` of a folder, or ``None`` if it is gone: a cheap check
        of whether a cached snapshot is still current."""
        with self._lock:
            try:
                folder = self._folder(address, name)
            except StoreError:
                return None
            return folder.uidvalidity, folder.modseq

    def create_folder(self, address: str, name: str, *, special_use: str | None = None) -> None:
        """Create a folder. Raises :class:`StoreError` ``ALREADYEXISTS``."""
        with self._lock:
            key = _folder_key(name)
            if key in self._folder_names(address):
                raise StoreError("ALREADYEXISTS", f"folder {name!r} already exists")
            account = self._account(address)
            account.folders[key] = _Folder(key, next(self._uidvalidity), special_use)
            change = self._changed([account.address])
        self._notify(change)

    def delete_folder(self, address: str, name: str) -> None:
        """Delete a folder and its messages (not INBOX; subfolders are kept, RFC 3501 §6.3.4)."""
        with self._lock:
            key = _folder_key(name)
            if key == INBOX:
                raise StoreError("CANNOT", "INBOX cannot be deleted")
            account = self._existing(address, name)
            if key not in account.folders:
                raise StoreError("NONEXISTENT", f"no folder {name!r}")
            del account.folders[key]
            change = self._changed([account.address])
        self._notify(change)

    def rename_folder(self, address: str, old: str, new: str) -> None:
        """Rename a folder and its subfolders.

        Renaming INBOX moves its messages to the new folder and leaves INBOX empty
        (RFC 3501 §6.3.5).
        """
        with self._lock:
            account = self._existing(address, old)
            old_key, new_key = _folder_key(old), _folder_key(new)
            if old_key not in account.folders:
                raise StoreError("NONEXISTENT", f"no folder {old!r}")
            if new_key in account.folders:
                raise StoreError("ALREADYEXISTS", f"folder {new!r} already exists")
            if old_key == INBOX:
                inbox = account.folders[INBOX]
                account.folders[new_key] = replace(
                    inbox, name=new_key, uidvalidity=next(self._uidvalidity), special_use=None
                )
                account.folders[INBOX] = _Folder(INBOX, next(self._uidvalidity))
            else:
                prefix = old_key + self.delimiter
                # RFC 3501 §6.3.5: subfolders are renamed too; refuse before changing anything
                # if one of their new names is taken.
                taken = [
                    new_key + key[len(old_key) :]
                    for key in account.folders
                    if key.startswith(prefix) and new_key + key[len(old_key) :] in account.folders
                ]
                if taken:
                    raise StoreError("ALREADYEXISTS", f"folder {taken[0]!r} already exists")
                renamed: dict[str, _Folder] = {}
                for key, folder in account.folders.items():
                    if key == old_key:
                        key = new_key
                    elif key.startswith(prefix):
                        key = new_key + key[len(old_key) :]
                    else:
                        renamed[key] = folder
                        continue
                    folder.name = key
                    folder.uidvalidity = next(self._uidvalidity)
                    renamed[key] = folder
                account.folders = renamed
                for sub in list(account.subscriptions):
                    if sub == old_key or sub.startswith(prefix):
                        account.subscriptions.discard(sub)
                        account.subscriptions.add(new_key + sub[len(old_key) :])
            change = self._changed([account.address])
        self._notify(change)

    def subscriptions(self, address: str) -> frozenset[str]:
        """Names of the folders the account is subscribed to (RFC 3501 §6.3.6)."""
        with self._lock:
            account = self._accounts.get(normalize_address(address))
            return frozenset(account.subscriptions) if account else frozenset()

    def subscribe(self, address: str, name: str, *, subscribed: bool = True) -> None:
        """Add (or with ``subscribed=False`` remove) a subscription; the folder need not exist."""
        with self._lock:
            account = self._account(address)
            if subscribed:
                account.subscriptions.add(_folder_key(name))
            else:
                account.subscriptions.discard(_folder_key(name))
            change = self._changed([account.address])
        self._notify(change)

    # ------------------------------------------------------------------ messages in folders

    def _add(
        self, folder: _Folder, message: Message, flags: frozenset[str], when: datetime
    ) -> MailItem:
        uid = folder.uidnext
        folder.uidnext += 1
        folder.modseq += 1
        item = MailItem(uid, message, flags, when, folder.modseq)
        folder.items[uid] = item
        return item

    def append(
        self,
        address: str,
        folder: str,
        message: Message,
        *,
        flags: Iterable[str] = (),
        internal_date: datetime | None = None,
        create: bool = False,
    ) -> tuple[int, int]:
        """Put ``message`` into a folder (IMAP APPEND, test-side delivery).

        Returns ``(uidvalidity, uid)``. With ``create=True`` a missing folder is created.
        """
        when = internal_date or message.received_at
        with self._lock:
            key = _folder_key(folder)
            if not create and key not in self._folder_names(address):
                raise StoreError("TRYCREATE", f"no folder {folder!r}")
            account = self._account(address)
            if key not in account.folders:
                account.folders[key] = _Folder(key, next(self._uidvalidity))
            target = account.folders[key]
            item = self._add(target, message, frozenset(flags) or _EMPTY, when)
            change = self._changed([account.address])
        self._notify(change)
        return target.uidvalidity, item.uid

    def next_message_seq(self) -> int:
        """Reserve an arrival sequence number for a message built outside :meth:`record`."""
        with self._lock:
            return next(self._seq)

    def set_flags(
        self,
        address: str,
        folder: str,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        *,
        unchanged_since: int | None = None,
    ) -> tuple[MailItem, ...]:
        """Change flags of the given UIDs; returns the items as they are afterwards (only those
        that exist). Items whose modseq is above ``unchanged_since`` are left alone
        (RFC 7162 §3.1.3)."""
        wanted = frozenset(flags)
        with self._lock:
            target = self._folder(address, folder)
            result = []
            changed = False
            updated: list[str] = []
            for uid in uids:
                item = target.items.get(uid)
                if item is None:
                    continue
                if unchanged_since is not None and item.modseq > unchanged_since:
                    result.append(item)
                    continue
                if mode == "add":
                    new = item.flags | wanted
                elif mode == "remove":
                    new = item.flags - wanted
                else:
                    new = wanted
                if new != item.flags:
                    target.modseq += 1
                    updated.extend(self._follow_copy(item.message, item.flags, new))
                    item = replace(item, flags=new or _EMPTY, modseq=target.modseq)
                    target.items[uid] = item
                    changed = True
                result.append(item)
            change = (
                self._changed([normalize_address(address)], updated=updated) if changed else None
            )
        if change:
            self._notify(change)
        return tuple(result)

    def _follow_copy(self, message: Message, old: frozenset[str], new: frozenset[str]) -> list[str]:
        # Caller holds the lock: an IMAP client changed a copy's flags; the transaction's
        # read state and tags follow (the other copies are left alone). Returns its ID if changed.
        id = self._ids.get(message)
        state = self._states.get(id) if id is not None else None
        if state is None:
            return []
        keywords_old = {f for f in old if not f.startswith("\\")}
        keywords_new = {f for f in new if not f.startswith("\\")}
        removed = {k.lower() for k in keywords_old - keywords_new}
        # Keywords become tags as they are spelled (not cleaned: "$Forwarded" stays itself).
        tags = sorted_tags(
            [*(t for t in state.tags if t.lower() not in removed), *(keywords_new - keywords_old)]
        )
        read = (_SEEN in new) if (_SEEN in old) != (_SEEN in new) else state.read
        follow = replace(state, read=read, tags=tags)
        if follow == state:
            return []
        self._states[state.id] = follow
        return [state.id]

    def expunge(self, address: str, folder: str, uids: Iterable[int]) -> tuple[int, ...]:
        """Remove messages by UID; returns the UIDs actually removed, ascending."""
        with self._lock:
            target = self._folder(address, folder)
            removed = sorted(uid for uid in set(uids) if target.items.pop(uid, None) is not None)
            if removed:
                target.modseq += 1
            change = self._changed([normalize_address(address)]) if removed else None
        if change:
            self._notify(change)
        return tuple(removed)

    def copy(
        self,
        address: str,
        source: str,
        uids: Iterable[int],
        destination: str,
        *,
        move: bool = False,
    ) -> tuple[int, list[tuple[int, int]]]:
        """Copy (or move, RFC 6851) messages between folders of one account, atomically.

        Returns ``(destination uidvalidity, [(source uid, new uid), ...])``. Flags are kept;
        the copies get a new UID and are \\Recent for the destination (RFC 3501 §6.4.7).
        Raises :class:`StoreError` ``TRYCREATE`` if the destination does not exist.
        """
        with self._lock:
            src = self._folder(address, source)
            account = self._account(address)
            dest = account.folders.get(_folder_key(destination))
            if dest is None:
                raise StoreError("TRYCREATE", f"no folder {destination!r}")
            pairs: list[tuple[int, int]] = []
            for uid in sorted(set(uids)):
                item = src.items.get(uid)
                if item is None:
                    continue
                new = self._add(dest, item.message, item.flags, item.internal_date)
                pairs.append((uid, new.uid))
            if move and pairs:
                for uid, _ in pairs:
                    del src.items[uid]
                src.modseq += 1
            change = self._changed([account.address]) if pairs else None
        if change:
            self._notify(change)
        return dest.uidvalidity, pairs

    def claim_recent(self, address: str, folder: str) -> frozenset[int]:
        """Take the \\Recent UIDs of a folder: those never yet claimed by any session.

        RFC 3501 §2.3.2: a message is \\Recent in exactly one session.
        """
        with self._lock:
            target = self._folder(address, folder)
            fresh = frozenset(uid for uid in target.items if uid > target.recent_mark)
            target.recent_mark = target.uidnext - 1
            return fresh

    # ------------------------------------------------------------------ POP3 maildrop lock

    def lock_maildrop(self, address: str) -> bool:
        """Take the exclusive POP3 lock on an account (RFC 1939 §8); ``False`` if held."""
        key = normalize_address(address)
        with self._lock:
            if key in self._maildrop_locks:
                return False
            self._maildrop_locks.add(key)
            return True

    def unlock_maildrop(self, address: str) -> None:
        """Release the POP3 lock taken by :meth:`lock_maildrop`."""
        with self._lock:
            self._maildrop_locks.discard(normalize_address(address))

    # ------------------------------------------------------------------ reset

    def clear(self) -> None:
        """Forget every transaction and account, in O(1), and number messages from 1 again.
        Folder UIDVALIDITYs never repeat."""
        with self._lock:
            self._transactions = []
            self._states = {}
            self._ids = {}
            self._accounts = {}
            # Message numbers start again: a test's first message is #1 after the reset.
            self._seq = itertools.count(1)
            change = self._changed((), is_clear=True)
        self._notify(change)

    # ------------------------------------------------------------------ saving and loading

    def dump(self) -> StoreState:
        """Everything in the store, consistent at one instant (for persistence)."""
        with self._lock:
            next_seq = next(self._seq)
            self._seq = itertools.count(next_seq)  # peeked, not taken
            accounts = tuple(
                AccountState(
                    account.address,
                    tuple(folder.snapshot() for folder in account.folders.values()),
                    frozenset(account.subscriptions),
                )
                for account in self._accounts.values()
            )
            return StoreState(tuple(self._transactions), accounts, next_seq)

    def load(self, state: StoreState) -> None:
        """Replace everything with ``state`` (as :meth:`dump` gave it, e.g. read back from
        disk). A folder's ``uidvalidity`` of 0 means "give it a new one"; loaded messages are
        not \\Recent unless above their folder's ``recent_mark``. Later UIDVALIDITYs and
        arrival numbers are above every loaded one."""
        with self._lock:
            highest = 0
            accounts: dict[str, _Account] = {}
            for account in state.accounts:
                folders = {}
                for snapshot in account.folders:
                    uidvalidity = snapshot.uidvalidity or next(self._uidvalidity)
                    highest = max(highest, uidvalidity)
                    folders[_folder_key(snapshot.name)] = _Folder(
                        _folder_key(snapshot.name),
                        uidvalidity,
                        snapshot.special_use,
                        snapshot.uidnext,
                        snapshot.modseq,
                        snapshot.recent_mark,
                        {item.uid: item for item in snapshot.items},
                    )
                key = normalize_address(account.address)
                accounts[key] = _Account(key, folders, set(account.subscriptions))
            self._transactions = list(state.transactions)
            # Loaded transactions get new IDs (IDs are this store's), unread, with the tags
            # they arrived with.
            self._states = {}
            self._ids = {}
            for message in self._transactions:
                loaded = Transaction(
                    str(next(self._next_id)),
                    message,
                    False,
                    initial_tags(message.raw, message.envelope),
                )
                self._states[loaded.id] = loaded
                self._ids[message] = loaded.id
            self._accounts = accounts
            self._uidvalidity = _uidvalidities(highest)
            seqs = [m.seq for m in state.transactions]
            seqs += [i.message.seq for a in state.accounts for f in a.folders for i in f.items]
            self._seq = itertools.count(max([state.next_seq, *(s + 1 for s in seqs)]))
            change = self._changed(accounts, is_clear=True)
        self._notify(change)
