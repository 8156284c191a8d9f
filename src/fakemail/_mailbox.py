"""Test-side views of accounts and folders, over the store (what IMAP and POP3 clients see)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import final

from fakemail._exceptions import raised_at_call
from fakemail._flags import normalize_flags
from fakemail._message import Message, normalize_address
from fakemail._store import INBOX, FlagMode, FolderSnapshot, MailItem, MailStore

__all__ = ["Folder", "Mailbox"]


def _uid_list(uids: int | Iterable[int]) -> list[int]:
    return [uids] if isinstance(uids, int) else list(uids)


@final
class Folder:
    """One folder of one account. Reads are snapshots taken at the time of the call."""

    def __init__(self, store: MailStore, address: str, name: str) -> None:
        self._store = store
        self.address = address
        #: The folder's name (hierarchy delimiter ``/``).
        self.name = name

    def __repr__(self) -> str:
        return f"<Folder {self.address}/{self.name} ({len(self)} messages)>"

    @property
    def snapshot(self) -> FolderSnapshot:
        """The folder's state now: UIDVALIDITY, UIDNEXT and every item."""
        return self._store.folder(self.address, self.name)

    @property
    def items(self) -> tuple[MailItem, ...]:
        """Messages with their UID, flags and internal date, in UID order."""
        return self.snapshot.items

    @property
    def messages(self) -> tuple[Message, ...]:
        """The messages, in UID order."""
        return tuple(item.message for item in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def flags(self, uid: int) -> frozenset[str]:
        """Flags of the message with ``uid`` (``KeyError`` if there is none)."""
        for item in self.items:
            if item.uid == uid:
                return item.flags
        raise KeyError(uid)

    @raised_at_call
    def set_flags(
        self, uids: int | Iterable[int], flags: Iterable[str], mode: FlagMode = "replace"
    ) -> None:
        """Set (``mode="replace"``), add or remove flags such as ``\\Seen`` or keywords.

        Flags are normalised as IMAP's ``STORE`` does them (see :ref:`flags <flags>`): system flags
        in any case, never ``\\Recent``; :class:`~fakemail.ConfigError` for a bad one.
        IMAP sessions with this folder selected see the change (RFC 3501 §7.4.2 FETCH).
        """
        checked = normalize_flags(flags)
        self._store.set_flags(self.address, self.name, _uid_list(uids), checked, mode)

    def expunge(self, uids: int | Iterable[int]) -> tuple[int, ...]:
        """Remove messages by UID; returns the UIDs removed."""
        return self._store.expunge(self.address, self.name, _uid_list(uids))


@final
class Mailbox:
    """One account (keyed by address) and its folders."""

    def __init__(self, store: MailStore, address: str) -> None:
        self._store = store
        #: The account's address (domain lower-cased).
        self.address = normalize_address(address)

    def __repr__(self) -> str:
        return f"<Mailbox {self.address} folders={list(self.folder_names)}>"

    @property
    def folder_names(self) -> tuple[str, ...]:
        """Names of every folder, INBOX first."""
        return tuple(f.name for f in self._store.folders(self.address))

    def folder(self, name: str = INBOX) -> Folder:
        """A folder by name (``INBOX`` in any case)."""
        snapshot = self._store.folder(self.address, name)
        return Folder(self._store, self.address, snapshot.name)

    @property
    def inbox(self) -> Folder:
        """The INBOX."""
        return self.folder(INBOX)

    @property
    def messages(self) -> tuple[Message, ...]:
        """Messages in the INBOX."""
        return self.inbox.messages

    def create_folder(self, name: str, *, special_use: str | None = None) -> Folder:
        """Create a folder (``"Projects/2026"`` nests with ``/``)."""
        self._store.create_folder(self.address, name, special_use=special_use)
        return self.folder(name)

    @raised_at_call
    def append(
        self,
        message: Message,
        folder: str = INBOX,
        *,
        flags: Iterable[str] = (),
        internal_date: datetime | None = None,
    ) -> int:
        """Put an already built message in a folder (created if missing); returns its UID.

        ``flags`` are checked as in :meth:`Folder.set_flags`.
        """
        checked = normalize_flags(flags)
        _, uid = self._store.append(
            self.address,
            folder,
            message,
            flags=checked,
            internal_date=internal_date,
            create=True,
        )
        return uid
