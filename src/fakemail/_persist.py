"""``data_dir``: a store's mail kept in a directory, so that it survives restarts.

Layout (format 1)::

    DIR/fakemail.json               what files cannot say: each message's envelope and arrival
                                    time, the transactions in order, the next message number
    DIR/transactions/               the SMTP transactions: a Maildir, one file per transaction
    DIR/accounts/ADDRESS/           an account: a Maildir++ (INBOX is the Maildir, other folders
                                    subfolders; flags in the file names, see fakemail._maildir)
        fakemail-account.json       its folders in order, its subscriptions
        [.FOLDER/]fakemail-folder.json
                                    UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and each message's UID,
                                    so IMAP clients keep their caches (RFC 3501 §2.3.1.1)
    DIR/.lock                       held (flock) while a server uses the directory

Crash safety: message files are written to ``tmp/`` and renamed into place (stdlib
:class:`mailbox.Maildir`), JSON files to a temporary name and renamed over the old one, so
every file is whole or absent; ``tmp/`` is ignored when loading. Order does the rest: files
are removed before the JSON stops naming them and added before it names them, so after a crash
a JSON entry whose file is gone is dropped, and a file no JSON names is taken in as new mail
(a transaction read from its headers, or a new UID in its folder) -- also what happens to mail
another program drops into the Maildirs.

Writes run on a background thread woken by the store's change listener, which only sets an
event: nothing is written under the store lock or on a protocol thread. The thread writes what
changed since its last pass (at most ten passes a second, so a burst of mail costs a few
passes), and :meth:`DataDir.close` writes the rest.
"""

from __future__ import annotations

import json
import logging
import mailbox
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, final
from urllib.parse import quote, unquote

from fakemail._archive import ArchivedMessage, envelope_of
from fakemail._backend import Backend
from fakemail._exceptions import ConfigError
from fakemail._maildir import (
    Keywords,
    MaildirFile,
    add_message,
    directory_name,
    files,
    folder_name,
    folder_path,
    rename_flags,
    write_atomically,
)
from fakemail._message import Envelope, Message
from fakemail._store import (
    INBOX,
    AccountState,
    FolderSnapshot,
    MailItem,
    StoreState,
)

if sys.platform != "win32":
    import fcntl

__all__ = ["DataDir"]

log = logging.getLogger("fakemail")

_FORMAT: Final = 1
_MAIN: Final = "fakemail.json"
_ACCOUNT: Final = "fakemail-account.json"
_FOLDER: Final = "fakemail-folder.json"
#: Shortest time between two writing passes: a burst of changes is written in a few passes.
_PASS_INTERVAL: Final = 0.1


# ---------------------------------------------------------------------- JSON forms


def _envelope_json(message: Message) -> dict[str, Any]:
    e = message.envelope
    return {
        "sender": e.sender,
        "recipients": list(e.recipients),
        "client_address": list(e.client_address) if e.client_address else None,
        "helo": e.helo,
        "auth_user": e.auth_user,
        "is_tls": e.is_tls,
        "protocol": e.protocol,
        "mail_options": list(e.mail_options),
        "received_at": message.received_at.isoformat(),
    }


def _envelope(data: dict[str, Any]) -> tuple[Envelope, datetime]:
    address = data.get("client_address")
    envelope = Envelope(
        sender=str(data["sender"]),
        recipients=tuple(map(str, data["recipients"])),
        client_address=(str(address[0]), int(address[1])) if address else None,
        helo=data.get("helo"),
        auth_user=data.get("auth_user"),
        is_tls=bool(data.get("is_tls")),
        protocol=str(data.get("protocol", "smtp")),
        mail_options=tuple(map(str, data.get("mail_options", ()))),
    )
    return envelope, datetime.fromisoformat(data["received_at"])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def _write_json(path: Path, value: object) -> None:
    write_atomically(path, json.dumps(value, separators=(",", ":")).encode())


def _account_directory(address: str) -> str:
    # Addresses may hold "/" or start with "."; nothing else is special in a file name.
    name = quote(address, safe="@+-_=.!#$&'*^`{|}~")
    return "%2E" + name[1:] if name.startswith(".") else name


# ---------------------------------------------------------------------- what is on disk


@dataclass(slots=True)
class _SavedFolder:
    snapshot: FolderSnapshot
    files: dict[int, MaildirFile]
    keywords: Keywords


@dataclass(slots=True)
class _SavedAccount:
    subscriptions: frozenset[str]
    order: tuple[str, ...]
    folders: dict[str, _SavedFolder] = field(default_factory=dict)


@final
class DataDir:
    """A store's state in a directory: :meth:`open` loads it into the store and keeps it
    written; :meth:`close` writes the last changes and lets the directory go."""

    def __init__(self, path: str | os.PathLike[str], backend: Backend) -> None:
        self.path = Path(path)
        self._store = backend.store
        self._on_error = backend.record_error
        self._wake = threading.Event()
        #: Held by each writing pass (the writer thread's, or a direct call of save()).
        self.saving = threading.Lock()
        # The store version the last finished pass started from, for wait_written().
        self._written = threading.Condition()
        self._written_version = -1
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._lock_file: Any = None
        # By arrival number, with the message written: numbers start again after a clear(),
        # so a number alone does not say which message a file holds.
        self._transactions: dict[int, tuple[Message, MaildirFile]] = {}
        self._main: object = None  # the fakemail.json value last written
        self._accounts: dict[str, _SavedAccount] = {}

    # ------------------------------------------------------------------ life cycle

    def open(self) -> None:
        """Take the directory (:class:`ConfigError` if another server has it), load its mail
        into the store and start writing changes."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._take_lock()
            state = self._load()
        except OSError as error:
            raise ConfigError(f"cannot use data_dir {self.path}: {error}") from None
        self._store.load(state)
        self._remove_listener = self._store.add_listener(lambda change: self._wake.set())
        self._wake.set()  # a first pass writes what loading took in
        self._thread = threading.Thread(target=self._run, name="fakemail-data-dir", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write every change not yet written, then release the directory. Idempotent."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join()
            self._thread = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _take_lock(self) -> None:
        self._lock_file = open(self.path / ".lock", "a+b")  # noqa: SIM115 - held until close
        if sys.platform == "win32":  # pragma: no cover - no flock: the directory is not locked
            return
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise ConfigError(
                f"data_dir {self.path} is in use by another fakemail server"
            ) from None

    def wait_written(self, timeout: float) -> bool:
        """Block until every change made before the call is on disk (or ``timeout``
        passes); returns whether it is."""
        target = self._store.version
        with self._written:
            return self._written.wait_for(lambda: self._written_version >= target, timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            stopping = self._stopping.is_set()
            version = self._store.version
            try:
                self.save()
            except Exception as error:  # reported in the test thread; the next pass retries
                self._on_error(error, "data_dir writer")
            else:
                with self._written:
                    self._written_version = version
                    self._written.notify_all()
            if stopping:
                return
            self._stopping.wait(_PASS_INTERVAL)

    # ------------------------------------------------------------------ loading

    def _load(self) -> StoreState:
        main = _read_json(self.path / _MAIN) or {"format": _FORMAT, "next_seq": 1}
        if main.get("format") != _FORMAT:
            raise ConfigError(f"{self.path / _MAIN}: not a fakemail data directory (format 1)")
        loader = _Loader(int(main["next_seq"]), main.get("messages", {}))
        transactions: list[Message] = []
        on_disk = files(self.path / "transactions")
        for entry in main.get("transactions", ()):
            file = on_disk.pop(str(entry["key"]), None)
            if file is not None:  # else removed, and a crash came before the JSON said so
                message = loader.message(int(entry["seq"]), file, None)
                transactions.append(message)
                self._transactions[message.seq] = (message, file)
        for file in _oldest_first(on_disk.values()):  # mail no JSON names: take it in
            raw = file.path.read_bytes()
            sender, recipients = envelope_of(ArchivedMessage(raw))
            message = loader.adopt(file, Envelope(sender, recipients, protocol="import"))
            transactions.append(message)
            self._transactions[message.seq] = (message, file)
        accounts = []
        root = self.path / "accounts"
        for directory in sorted(root.iterdir()) if root.is_dir() else ():
            if directory.is_dir():
                accounts.append(self._load_account(directory, loader))
        self._main = None  # written again on the first pass (adopted mail, dropped entries)
        return StoreState(tuple(transactions), tuple(accounts), loader.next_seq)

    def _load_account(self, directory: Path, loader: _Loader) -> AccountState:
        info = _read_json(directory / _ACCOUNT) or {}
        address = str(info.get("address") or unquote(directory.name))
        box = mailbox.Maildir(directory, factory=None, create=False)
        names = [INBOX, *(folder_name(n) for n in sorted(box.list_folders()))]
        order = [n for n in info.get("folders", ()) if n in names]
        order += [n for n in names if n not in order]
        saved = _SavedAccount(frozenset(info.get("subscriptions", order)), tuple(order))
        folders = []
        for name in order:
            folder = _load_folder(folder_path(directory, name), name, address, loader)
            folders.append(folder.snapshot)
            saved.folders[name] = folder
        self._accounts[address] = saved
        return AccountState(address, tuple(folders), saved.subscriptions)

    # ------------------------------------------------------------------ writing

    def save(self) -> None:
        """Write what changed in the store since the last call (the writer thread's pass)."""
        with self.saving:
            self._save(self._store.dump())

    def _save(self, state: StoreState) -> None:
        transactions = self._save_transactions(state)
        for account in state.accounts:
            self._save_account(account)
        for address in set(self._accounts) - {a.address for a in state.accounts}:
            shutil.rmtree(self.path / "accounts" / _account_directory(address), ignore_errors=True)
            del self._accounts[address]
        # Every message a transaction or folder holds: its envelope is kept here.
        held: dict[int, Message] = {m.seq: m for m in state.transactions}
        for account in state.accounts:
            for folder in account.folders:
                for item in folder.items:
                    held.setdefault(item.message.seq, item.message)
        main = {
            "format": _FORMAT,
            "next_seq": state.next_seq,
            "messages": {str(seq): self._envelope(m) for seq, m in sorted(held.items())},
            "transactions": transactions,
        }
        if main != self._main:
            _write_json(self.path / _MAIN, main)
            self._main = main

    def _envelope(self, message: Message) -> dict[str, Any]:
        # Messages are immutable: each one's JSON form is made once.
        return message.derived("data_dir.envelope", _envelope_json)

    def _save_transactions(self, state: StoreState) -> list[dict[str, Any]]:
        box_path = self.path / "transactions"
        current = {m.seq: m for m in state.transactions}
        for seq, (message, file) in list(self._transactions.items()):
            if current.get(seq) is not message:
                file.path.unlink(missing_ok=True)
                del self._transactions[seq]
        box = None
        for m in current.values():
            if m.seq not in self._transactions:
                if box is None:  # (not "box or": a Maildir's truth is its length, a scan)
                    box = mailbox.Maildir(box_path, factory=None, create=True)
                written = add_message(box, box_path, m.raw, "", m.received_at)
                self._transactions[m.seq] = (m, written)
        return [{"seq": m.seq, "key": self._transactions[m.seq][1].key} for m in state.transactions]

    def _save_account(self, account: AccountState) -> None:
        directory = self.path / "accounts" / _account_directory(account.address)
        saved = self._accounts.get(account.address)
        if saved is None:
            saved = self._accounts[account.address] = _SavedAccount(frozenset(), ())
        if not directory.is_dir():
            directory.parent.mkdir(exist_ok=True)
        box = mailbox.Maildir(directory, factory=None, create=True)
        current = {f.name for f in account.folders}
        for name in [n for n in saved.folders if n not in current]:
            self._drop_folder(directory, name, saved.folders.pop(name))
        for folder in account.folders:
            old = saved.folders.get(folder.name)
            if old is not None and old.snapshot.uidvalidity != folder.uidvalidity:
                # Recreated or renamed onto: another mailbox under the same name.
                self._drop_folder(directory, folder.name, saved.folders.pop(folder.name))
                old = None
            if old is not None and (old.snapshot.modseq, old.snapshot.uidnext) == (
                folder.modseq,
                folder.uidnext,
            ):
                continue
            if old is None:
                path = folder_path(directory, folder.name)
                if folder.name != INBOX:
                    box.add_folder(directory_name(folder.name))
                old = saved.folders[folder.name] = _SavedFolder(folder, {}, Keywords(path))
            _save_folder(folder_path(directory, folder.name), folder, old)
        order = tuple(f.name for f in account.folders)
        if (saved.subscriptions, saved.order) != (account.subscriptions, order):
            _write_json(
                directory / _ACCOUNT,
                {
                    "address": account.address,
                    "folders": list(order),
                    "subscriptions": sorted(account.subscriptions),
                },
            )
            saved.subscriptions, saved.order = account.subscriptions, order

    @staticmethod
    def _drop_folder(directory: Path, name: str, saved: _SavedFolder) -> None:
        if name == INBOX:  # the account's root: its subfolders live inside it
            for file in saved.files.values():
                file.path.unlink(missing_ok=True)
            (directory / _FOLDER).unlink(missing_ok=True)
        else:
            shutil.rmtree(folder_path(directory, name), ignore_errors=True)


def _oldest_first(found: Iterable[MaildirFile]) -> list[MaildirFile]:
    return sorted(found, key=lambda file: (file.path.stat().st_mtime, file.key))


def _file_date(file: MaildirFile) -> datetime:
    return datetime.fromtimestamp(file.path.stat().st_mtime, timezone.utc)


@final
class _Loader:
    """Builds the messages of a data directory as it is read: copies of one message (a
    transaction and its INBOX copies, IMAP COPY) become one object again, as in memory."""

    def __init__(self, next_seq: int, metadata: dict[str, dict[str, Any]]) -> None:
        self.next_seq = next_seq
        self._metadata = metadata
        self._messages: dict[int, Message] = {}

    def message(self, seq: int, file: MaildirFile, account: str | None) -> Message:
        """The message numbered ``seq`` whose bytes ``file`` holds."""
        found = self._messages.get(seq)
        if found is None:
            data = self._metadata.get(str(seq))
            if data is None:  # written, and a crash came before its envelope was
                return self.adopt(file, _adopted_envelope(file, account))
            envelope, when = _envelope(data)
            found = self._messages[seq] = Message(file.path.read_bytes(), envelope, when, seq)
        return found

    def adopt(self, file: MaildirFile, envelope: Envelope) -> Message:
        """A message the JSON does not know, numbered anew."""
        message = Message(file.path.read_bytes(), envelope, _file_date(file), self.next_seq)
        self._messages[message.seq] = message
        self.next_seq += 1
        return message


def _adopted_envelope(file: MaildirFile, account: str | None) -> Envelope:
    if account is not None:
        return Envelope("", (account,), protocol="import")
    sender, recipients = envelope_of(ArchivedMessage(file.path.read_bytes()))
    return Envelope(sender, recipients, protocol="import")


def _save_folder(path: Path, folder: FolderSnapshot, saved: _SavedFolder) -> None:
    current = {item.uid: item for item in folder.items}
    for uid in [u for u in saved.files if u not in current]:
        saved.files.pop(uid).path.unlink(missing_ok=True)
    # Keyword letters first: a file named with a letter the keywords file lacks would lose it.
    letters = {item.uid: saved.keywords.letters(item.flags) for item in folder.items}
    saved.keywords.save()
    box = None
    for item in folder.items:
        file = saved.files.get(item.uid)
        if file is None:
            if box is None:
                box = mailbox.Maildir(path, factory=None, create=False)
            saved.files[item.uid] = add_message(
                box, path, item.message.raw, letters[item.uid], item.internal_date
            )
        elif file.letters != letters[item.uid]:
            saved.files[item.uid] = rename_flags(file, letters[item.uid])
    _write_json(
        path / _FOLDER,
        {
            "uidvalidity": folder.uidvalidity,
            "uidnext": folder.uidnext,
            "modseq": folder.modseq,
            "special_use": folder.special_use,
            "messages": [
                [
                    item.uid,
                    item.modseq,
                    item.message.seq,
                    saved.files[item.uid].key,
                    item.internal_date.isoformat(),
                ]
                for item in folder.items
            ],
        },
    )
    saved.snapshot = folder


def _load_folder(path: Path, name: str, address: str, loader: _Loader) -> _SavedFolder:
    info = _read_json(path / _FOLDER) or {}
    keywords = Keywords(path)
    on_disk = files(path)
    uidnext = int(info.get("uidnext", 1))
    modseq = int(info.get("modseq", 1))
    items: list[MailItem] = []
    saved: dict[int, MaildirFile] = {}
    for uid, item_modseq, seq, key, when in info.get("messages", ()):
        file = on_disk.pop(key, None)
        if file is None:
            continue  # expunged, and a crash came before the JSON said so
        message = loader.message(int(seq), file, address)
        flags = keywords.flags(file.letters)
        items.append(MailItem(uid, message, flags, datetime.fromisoformat(when), item_modseq))
        saved[uid] = file
    for file in _oldest_first(on_disk.values()):  # mail no JSON names: the next UID
        message = loader.adopt(file, Envelope("", (address,), protocol="import"))
        modseq += 1
        flags = keywords.flags(file.letters)
        items.append(MailItem(uidnext, message, flags, message.received_at, modseq))
        saved[uidnext] = file
        uidnext += 1
    snapshot = FolderSnapshot(
        name,
        int(info.get("uidvalidity", 0)),  # 0: a folder new to us, the store numbers it
        uidnext,
        modseq,
        info.get("special_use"),
        tuple(items),
        uidnext - 1,  # loaded mail is not \Recent: no session of this server saw it arrive
    )
    return _SavedFolder(snapshot, saved, keywords)
