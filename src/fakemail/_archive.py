"""Mail in files: a directory of ``.eml`` files, an mbox file, a Maildir (with folders).

Reading and writing go through the stdlib :mod:`mailbox` module; this module adds what it lacks
for a byte-exact round trip:

* **mbox** is written as *mboxrd*: a line matching ``>*From `` gets one more ``>`` and reading
  takes one off, so every line comes back as it was. (:class:`mailbox.mbox` alone quotes only
  ``From `` lines, "mboxo", and never unquotes: a body line ``>From x`` would come back as
  ``From x`` from one reader and a line ``From x`` as ``>From x`` from another.) The format ends
  every message with a line break, so a message whose bytes do not end with LF gets one on the
  way out; every message received over SMTP ends with CRLF (RFC 5321 §4.1.1.4), so this only
  concerns mail put in by IMAP APPEND or :meth:`~fakemail.MailServer.deliver`. The ``From ``
  line carries the envelope sender and the arrival time. Files are read as mboxrd too: an
  mboxo file's body line ``>From x`` comes back as ``From x``.
* **Maildir** keeps the bytes exactly, flags and keywords in the file names, folders as
  Maildir++ subfolders (the conventions are in :mod:`fakemail._maildir`), and the internal
  date as the file's modification time.
* **eml**: one file per message, ``000001.eml``, ``000002.eml`` ... in order, bytes exact, the
  arrival time as the modification time.

Messages larger than ``max_message_size`` are refused when read (:class:`ArchiveError`), before
anything is stored: a bad file changes nothing.
"""

from __future__ import annotations

import mailbox
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import getaddresses
from pathlib import Path
from typing import Final, Literal, final

from fakemail._backend import Backend
from fakemail._exceptions import ArchiveError
from fakemail._maildir import (
    Keywords,
    add_message,
    directory_name,
    files,
    folder_name,
    folder_path,
)
from fakemail._message import Envelope, Message
from fakemail._store import INBOX, MailStore

__all__ = [
    "FORMATS",
    "ArchiveError",
    "ArchivedMessage",
    "Format",
    "collect",
    "detect_format",
    "envelope_of",
    "load",
    "read_archive",
    "write_archive",
]

Format = Literal["eml", "mbox", "maildir"]
#: The formats, as named in the CLI and the HTTP API.
FORMATS: Final[tuple[Format, ...]] = ("eml", "mbox", "maildir")

_EMPTY: Final[frozenset[str]] = frozenset()
_QUOTED_FROM: Final = re.compile(rb"^(>*From )", re.MULTILINE)
_UNQUOTED_FROM: Final = re.compile(rb"^>(>*From )", re.MULTILINE)
#: Who the ``From `` line names when the envelope sender is empty or has spaces in it.
_NO_SENDER: Final = "MAILER-DAEMON"


@final
@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    """One message as it is in (or goes into) a file: its bytes and what the format keeps."""

    raw: bytes
    #: The folder it is in (Maildir subfolders; INBOX for the flat formats).
    folder: str = INBOX
    #: IMAP flags and keywords (Maildir only).
    flags: frozenset[str] = _EMPTY
    #: The envelope sender (mbox ``From `` lines only; ``None`` where the format has none).
    sender: str | None = None
    #: Arrival or internal date, if the format keeps one.
    date: datetime | None = None


# ---------------------------------------------------------------------- format detection


def detect_format(path: Path) -> Format:
    """The format of an existing file or directory: a directory with ``cur`` or ``new`` is a
    Maildir, any other directory a directory of ``.eml`` files; a file named ``*.eml`` is one
    message, any other file an mbox."""
    if path.is_dir():
        return "maildir" if (path / "cur").is_dir() or (path / "new").is_dir() else "eml"
    if path.is_file():
        return "eml" if path.suffix.lower() == ".eml" else "mbox"
    raise ArchiveError(f"{path}: no such file or directory")


# ---------------------------------------------------------------------- reading


def read_archive(
    path: Path, format: Format | None = None, *, max_message_size: int
) -> list[ArchivedMessage]:
    """Every message in ``path`` (a file or directory in ``format``, detected if ``None``), in
    order. Raises :class:`ArchiveError` for a message above ``max_message_size`` bytes or a
    file that cannot be read."""
    chosen = format or detect_format(path)
    readers = {"eml": _read_eml, "mbox": _read_mbox, "maildir": _read_maildir}
    try:
        return list(readers[chosen](path, max_message_size))
    except OSError as error:
        raise ArchiveError(f"cannot read {path}: {error.strerror or error}") from None
    except mailbox.Error as error:
        raise ArchiveError(f"cannot read {path} as {chosen}: {error}") from None


def _too_large(limit: int, where: object) -> ArchiveError:
    return ArchiveError(f"{where}: message larger than max_message_size ({limit} bytes)")


def _read_limited(read: Callable[[int], bytes], limit: int, where: object) -> bytes:
    # One byte more than allowed tells "too large" without reading a huge file whole.
    data = read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit, where)
    return data


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _read_eml(path: Path, limit: int) -> Iterator[ArchivedMessage]:
    if path.is_file():
        files = [path]
    else:
        # Natural order, so that 10.eml follows 9.eml in directories not written by us.
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() == ".eml" and p.is_file()),
            key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)],
        )
    for file in files:
        with file.open("rb") as handle:
            raw = _read_limited(handle.read, limit, file)
        yield ArchivedMessage(raw, date=_mtime(file))


def _read_mbox(path: Path, limit: int) -> Iterator[ArchivedMessage]:
    if not path.is_file():
        raise ArchiveError(f"{path}: not a file (an mbox is one file)")
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.keys(), 1):
            where = f"{path}, message {index}"
            with box.get_file(key, from_=True) as handle:
                from_line = handle.readline()
                # Quoting adds one ">" per line of at least six bytes ("From \n").
                raw = _UNQUOTED_FROM.sub(rb"\1", handle.read(limit + limit // 5 + 2))
            if len(raw) > limit:
                raise _too_large(limit, where)
            sender, date = _from_line(from_line)
            yield ArchivedMessage(raw, sender=sender, date=date)
    finally:
        box.close()


def _from_line(line: bytes) -> tuple[str | None, datetime | None]:
    """Sender and date of an mbox ``From sender date`` line (either may be missing)."""
    words = line.decode("utf-8", "replace").split(None, 2)
    sender = words[1] if len(words) > 1 and words[1] != _NO_SENDER else None
    date = None
    if len(words) > 2:
        try:
            date = datetime.strptime(" ".join(words[2].split()), "%a %b %d %H:%M:%S %Y")
            date = date.replace(tzinfo=timezone.utc)
        except ValueError:
            date = None  # other writers put time zones or remote-from notes here
    return sender, date


def _read_maildir(path: Path, limit: int) -> Iterator[ArchivedMessage]:
    root = mailbox.Maildir(path, factory=None, create=False)
    folders = [INBOX, *(folder_name(name) for name in sorted(root.list_folders()))]
    for folder in folders:
        directory = folder_path(path, folder)
        keywords = Keywords(directory)
        # Oldest first: a directory lists its files in no particular order.
        stamped = sorted(
            (file.path.stat().st_mtime, key, file) for key, file in files(directory).items()
        )
        for stamp, _, file in stamped:
            with file.path.open("rb") as handle:
                raw = _read_limited(handle.read, limit, file.path)
            date = datetime.fromtimestamp(stamp, timezone.utc)
            yield ArchivedMessage(raw, folder, keywords.flags(file.letters), None, date)


# ---------------------------------------------------------------------- writing


def write_archive(path: Path, messages: Sequence[ArchivedMessage], format: Format) -> int:
    """Write ``messages`` to ``path`` (which must not exist, or be an empty directory for the
    directory formats); returns how many were written."""
    if format == "mbox":
        if path.exists():
            raise ArchiveError(f"{path} exists; an mbox export writes a new file")
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ArchiveError(f"{path} exists and is not an empty directory")
    writers = {"eml": _write_eml, "mbox": _write_mbox, "maildir": _write_maildir}
    try:
        writers[format](path, messages)
    except OSError as error:
        raise ArchiveError(f"cannot write {path}: {error.strerror or error}") from None
    return len(messages)


def _set_mtime(path: Path, date: datetime | None) -> None:
    if date is not None:
        stamp = date.timestamp()
        os.utime(path, (stamp, stamp))


def _write_eml(path: Path, messages: Sequence[ArchivedMessage]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(len(messages))))
    for index, message in enumerate(messages, 1):
        file = path / f"{index:0{width}d}.eml"
        file.write_bytes(message.raw)
        _set_mtime(file, message.date)


def _write_mbox(path: Path, messages: Sequence[ArchivedMessage]) -> None:
    box = mailbox.mbox(path, create=True)
    box.lock()
    try:
        for message in messages:
            # A From line of our own, so that a message starting "From " is never taken for
            # one; mboxrd quoting leaves no line starting "From " for stdlib to quote again.
            box.add(_mbox_from_line(message) + _QUOTED_FROM.sub(rb">\1", message.raw))
        box.flush()
    finally:
        box.unlock()
        box.close()


def _mbox_from_line(message: ArchivedMessage) -> bytes:
    sender = message.sender or ""
    if not sender or any(c.isspace() for c in sender):
        sender = _NO_SENDER
    date = message.date or datetime.now(timezone.utc)
    stamp = time.asctime(date.astimezone(timezone.utc).timetuple())
    return f"From {sender} {stamp}\n".encode("utf-8", "replace")


def _write_maildir(path: Path, messages: Sequence[ArchivedMessage]) -> None:
    if path.is_dir():
        path.rmdir()  # empty (checked): stdlib makes tmp/, new/, cur/ only in a new directory
    root = mailbox.Maildir(path, factory=None, create=True)
    boxes: dict[str, tuple[mailbox.Maildir, Keywords]] = {INBOX: (root, Keywords(path))}
    for message in messages:
        if message.folder not in boxes:
            box = root.add_folder(directory_name(message.folder))
            boxes[message.folder] = (box, Keywords(folder_path(path, message.folder)))
        box, keywords = boxes[message.folder]
        letters = keywords.letters(message.flags)
        add_message(box, folder_path(path, message.folder), message.raw, letters, message.date)
    for _, keywords in boxes.values():
        keywords.save()


# ---------------------------------------------------------------------- envelopes


def envelope_of(message: ArchivedMessage) -> tuple[str, tuple[str, ...]]:
    """``(sender, recipients)`` for storing a file's message as an SMTP transaction.

    The formats keep no recipients, so they come from the To, Cc and Bcc headers (as
    ``sendmail -t`` reads them). The sender is the mbox ``From `` line's, else the
    Return-Path header's, else the From header's address, else empty (the null sender).
    """
    parsed = Message(message.raw, Envelope("", ()), datetime.now(timezone.utc))
    bcc = [a for _, a in getaddresses(parsed.headers.get_all("Bcc")) if a]
    recipients = tuple(dict.fromkeys((*parsed.to, *parsed.cc, *bcc)))
    if message.sender is not None:
        return message.sender, recipients
    return_path = [a for _, a in getaddresses(parsed.headers.get_all("Return-Path")) if a]
    return (return_path[0] if return_path else parsed.from_ or ""), recipients


# ---------------------------------------------------------------------- the store's side


def collect(
    store: MailStore, *, account: str | None = None, folder: str | None = None
) -> list[ArchivedMessage]:
    """What an export writes. Without ``account``: every SMTP transaction in arrival order,
    with its envelope sender and arrival time. With it: that account's folders (or only
    ``folder``), each message with its flags and internal date, folders in the store's order
    and messages in UID order."""
    if account is None:
        return [
            ArchivedMessage(m.raw, sender=m.envelope.sender, date=m.received_at)
            for m in store.messages
        ]
    if not store.has_account(account):
        raise ArchiveError(f"no account {account!r}")
    folders = store.folders(account) if folder is None else (store.folder(account, folder),)
    return [
        ArchivedMessage(item.message.raw, snapshot.name, item.flags, None, item.internal_date)
        for snapshot in folders
        for item in snapshot.items
    ]


def load(
    backend: Backend, messages: Iterable[ArchivedMessage], *, account: str | None = None
) -> list[Message]:
    """Store messages read from files; returns them as stored.

    Without ``account``, each becomes an SMTP transaction as if it had just been received:
    the envelope from :func:`envelope_of`, a copy in the INBOX of each recipient (or where the
    ``fakemail_route`` hooks say), ``fakemail_message_stored`` called, the file's date (if
    any) as the arrival time. With ``account``, each goes into that account's folder of the
    same name (created if missing) with its flags and date, as IMAP APPEND would put it: no
    transaction, no hooks.
    """
    store = backend.store
    stored: list[Message] = []
    for item in messages:
        if account is None:
            sender, recipients = envelope_of(item)
            envelope = Envelope(sender, recipients, protocol="import")
            mailboxes = backend.plugins.route(envelope)
            message = store.record(item.raw, envelope, mailboxes, received_at=item.date)
            backend.plugins.message_stored(message, mailboxes)
        else:
            envelope = Envelope("", (account,), protocol="import")
            when = item.date or datetime.now(timezone.utc)
            message = Message(item.raw, envelope, when, store.next_message_seq())
            store.append(
                account, item.folder, message, flags=item.flags, internal_date=when, create=True
            )
        stored.append(message)
    return stored
