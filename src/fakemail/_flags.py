"""Message flags: one spelling and one validity rule for every way a flag is set.

IMAP ``STORE``/``APPEND`` and the test API (``deliver(flags=)``, ``Folder.set_flags``,
``Mailbox.append``) all go through :func:`normalize_flag`, so ``\\seen`` from a test and
``\\sEEn`` from a client are both stored as ``\\Seen`` and ``SEARCH UNSEEN`` agrees with both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from fakemail._exceptions import ConfigError

__all__ = ["RECENT", "SYSTEM_FLAGS", "normalize_flag", "normalize_flags"]

#: The system flags a client or test may set (RFC 3501 §2.3.2), in their canonical spelling.
SYSTEM_FLAGS: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
#: Set by the server only: a message is \Recent in the first session to see it.
RECENT: Final = "\\Recent"

# Flags are case-insensitive (RFC 3501 §2.3.2): the canonical spelling by lower-cased name.
_CANONICAL: Final = {flag.lower(): flag for flag in SYSTEM_FLAGS}
_BARE: Final = {flag[1:].lower(): flag for flag in (*SYSTEM_FLAGS, RECENT)}
# RFC 3501 §9: flag-keyword = atom, 1*ATOM-CHAR: CHAR (US-ASCII) except atom-specials
# ( ) { SP CTL % * " \ and resp-specials ].
_KEYWORD: Final = re.compile(r'[^(){ \x00-\x1f\x7f-\U0010ffff%*"\\\]]+')


def normalize_flag(flag: str, *, settable: bool = True) -> str:
    """``flag`` in its canonical spelling (``\\seen`` -> ``\\Seen``; keywords unchanged).

    Raises :class:`~fakemail.ConfigError` for an unknown system flag, for ``\\Recent`` when
    ``settable`` (only the server sets it; searching for it is fine) and for a keyword that
    is not an IMAP atom (spaces, brackets, non-ASCII...).
    """
    if flag.startswith("\\"):
        canonical = _CANONICAL.get(flag.lower())
        if canonical is not None:
            return canonical
        if flag.lower() == RECENT.lower():
            if settable:
                raise ConfigError("\\Recent cannot be set: only the server sets it")
            return RECENT
        raise ConfigError(f"unknown system flag {flag}; system flags are {' '.join(SYSTEM_FLAGS)}")
    if not _KEYWORD.fullmatch(flag):
        raise ConfigError(
            f"{flag!r} is not a valid keyword: an IMAP atom (ASCII, no space, control "
            'character or any of ( ) { } % * " \\ ])'
        )
    return flag


def normalize_flags(flags: Iterable[str]) -> frozenset[str]:
    """Flags given through the test API, normalised by :func:`normalize_flag`.

    Stricter than IMAP in one way: a keyword spelled like a system flag without its
    backslash (``"Seen"``) is refused, as it is almost always a missing backslash.
    """
    if isinstance(flags, (str, bytes)):
        raise ConfigError(f"flags= takes a list of flags, got the string {flags!r}")
    normalized = set()
    for flag in flags:
        if not isinstance(flag, str):
            raise ConfigError(f"a flag is a string such as '\\\\Seen', got {flag!r}")
        system = _BARE.get(flag.lower())
        if system is not None:
            raise ConfigError(f"{flag!r} would be a keyword; the system flag is {system!r}")
        normalized.add(normalize_flag(flag))
    return frozenset(normalized)
