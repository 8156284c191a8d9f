"""Maildir conventions shared by export/import and the data directory.

Writing goes through the stdlib :class:`mailbox.Maildir` (unique names, ``tmp/`` then a rename
into ``new/``: a crash never leaves half a message). What it lacks before Python 3.13 (no
``get_info``/``set_info``) is reading and changing a message's info without parsing and
rewriting it; that is a file name convention, kept here:

* the info is what follows ``:2,`` in the name: letters for the IMAP system flags (RFC 3501
  §2.3.2) ``D`` ``\\Draft``, ``F`` ``\\Flagged``, ``R`` ``\\Answered``, ``S`` ``\\Seen``,
  ``T`` ``\\Deleted``, sorted; ``P`` (passed) has no IMAP flag and is ignored;
* keywords are letters ``a``-``z`` named by the folder's ``dovecot-keywords`` file (lines
  ``0 $Label1`` for ``a`` ...), as Dovecot does: 26 per folder at most;
* INBOX is the Maildir itself, other folders Maildir++ subfolders: ``Sent`` is ``.Sent``,
  ``Projects/2024`` is ``.Projects.2024``; a ``.`` or ``%`` inside a name is ``%2E``, ``%25``.
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, final
from urllib.parse import quote, unquote

from fakemail._store import INBOX

__all__ = [
    "Keywords",
    "MaildirFile",
    "add_message",
    "directory_name",
    "files",
    "folder_name",
    "folder_path",
    "rename_flags",
    "write_atomically",
]

_FLAGS: Final = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_LETTERS: Final = {flag.lower(): letter for letter, flag in _FLAGS.items()}
_KEYWORD_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_KEYWORDS_FILE: Final = "dovecot-keywords"
_INFO: Final = ":2,"


def folder_name(directory: str) -> str:
    """The folder a Maildir++ subfolder holds (its name without the leading dot)."""
    return "/".join(unquote(part) for part in directory.split("."))


def directory_name(folder: str) -> str:
    """The Maildir++ subfolder name (without the leading dot) for a folder other than INBOX."""
    return ".".join(quote(part, safe=" ").replace(".", "%2E") for part in folder.split("/"))


def folder_path(root: Path, folder: str) -> Path:
    """Where a folder's Maildir is: the root for INBOX, else its Maildir++ subfolder."""
    return root if folder == INBOX else root / f".{directory_name(folder)}"


@final
class Keywords:
    """A folder's keyword letters (``dovecot-keywords``), read at creation, saved by
    :meth:`save` when new ones were given letters."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / _KEYWORDS_FILE
        self._letters: dict[str, str] = {}
        self._changed = False
        try:
            text = self._path.read_text("utf-8")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            number, _, name = line.partition(" ")
            if number.isdigit() and int(number) < len(_KEYWORD_LETTERS) and name:
                self._letters[name] = _KEYWORD_LETTERS[int(number)]

    def flags(self, letters: str) -> frozenset[str]:
        """The IMAP flags and keywords an info's letters stand for."""
        names = {letter: name for name, letter in self._letters.items()}
        found = {_FLAGS[c] for c in letters if c in _FLAGS}
        found.update(names[c] for c in letters if c in names)
        return frozenset(found)

    def __bool__(self) -> bool:
        return bool(self._letters)

    def letters(self, flags: Iterable[str]) -> str:
        """The info letters for ``flags``, sorted; a new keyword takes the next free letter
        (beyond 26 keywords, the rest are dropped, as Dovecot does)."""
        found = set()
        for flag in flags:
            letter = _LETTERS.get(flag.lower())
            if letter is None and not flag.startswith("\\"):
                letter = self._letters.get(flag)
                if letter is None and len(self._letters) < len(_KEYWORD_LETTERS):
                    letter = self._letters[flag] = _KEYWORD_LETTERS[len(self._letters)]
                    self._changed = True
            if letter is not None:
                found.add(letter)
        return "".join(sorted(found))

    def save(self) -> None:
        """Write ``dovecot-keywords`` if letters were added (tmp file, then a rename)."""
        if self._changed:
            lines = "".join(
                f"{_KEYWORD_LETTERS.index(letter)} {name}\n"
                for name, letter in self._letters.items()
            )
            write_atomically(self._path, lines.encode("utf-8"))
            self._changed = False


@final
@dataclass(frozen=True, slots=True)
class MaildirFile:
    """One message file of a Maildir."""

    #: The unique name (the file name before ``:2,``): stable across flag changes.
    key: str
    path: Path
    #: The info's letters (``""`` in ``new/`` or without info).
    letters: str


def files(directory: Path) -> dict[str, MaildirFile]:
    """The messages of one Maildir (``new/`` and ``cur/``) by key. ``tmp/`` holds writes not
    yet finished and is never read."""
    found: dict[str, MaildirFile] = {}
    for sub in ("new", "cur"):
        try:
            names = os.listdir(directory / sub)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            key, _, info = name.partition(":")
            letters = info[len("2,") :] if info.startswith("2,") else ""
            found[key] = MaildirFile(key, directory / sub / name, letters)
    return found


def add_message(
    box: mailbox.Maildir, directory: Path, raw: bytes, letters: str, date: datetime | None
) -> MaildirFile:
    """Write ``raw`` into ``box`` (whose directory is ``directory``) exactly, with the given
    info letters and ``date`` as the file's modification time."""
    key = box.add(raw)  # stdlib: tmp/, then a rename into new/
    file = MaildirFile(key, directory / "new" / key, "")
    if letters:
        file = rename_flags(file, letters)
    if date is not None:
        stamp = date.timestamp()
        os.utime(file.path, (stamp, stamp))
    return file


def rename_flags(file: MaildirFile, letters: str) -> MaildirFile:
    """Give a message other info letters: one rename into ``cur/`` (it is seen by now)."""
    target = file.path.parent.parent / "cur" / f"{file.key}{_INFO}{letters}"
    os.rename(file.path, target)
    return MaildirFile(file.key, target, letters)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers, and a crash, see the old file or the
    new one, never a part."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
