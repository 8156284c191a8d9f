"""LIST and LSUB mailbox patterns (RFC 3501 §6.3.8), matched in time linear in the name.

``*`` matches any run of characters, ``%`` any run without the hierarchy delimiter. A
translation to a backtracking regex takes time exponential in the number of wildcards on a
name that almost matches (``*********q`` against 40 ``a``: seconds, on the thread every IMAP
and POP3 session shares). :class:`Pattern` instead runs the pattern as a nondeterministic
automaton, all its states at once as the bits of one integer: one step per character of the
name, each a few integer operations on a number of as many bits as the pattern is long.
"""

from __future__ import annotations

import re
from typing import Final, final

__all__ = ["Pattern"]

# A run of wildcards is one wildcard: "*" if the run holds one, else "%".
_WILDCARD_RUN: Final = re.compile(r"[*%]{2,}")


def _one_wildcard(run: re.Match[str]) -> str:
    return "*" if "*" in run.group() else "%"


@final
class Pattern:
    """A compiled LIST pattern: ``Pattern("INBOX/%", "/").matches("INBOX/Sent")``.

    ``ignore_case`` compares characters case-insensitively (for the name INBOX, RFC 3501 §5.1).
    """

    __slots__ = ("_accept", "_delimiter", "_fold", "_literal", "_star", "_wild")

    def __init__(self, pattern: str, delimiter: str, *, ignore_case: bool = False) -> None:
        self._fold = ignore_case
        self._delimiter = delimiter
        text = _WILDCARD_RUN.sub(_one_wildcard, pattern.casefold() if ignore_case else pattern)
        # Bit i stands for "the first i pattern characters are matched".
        self._literal: dict[str, int] = {}  # char -> bits i where pattern[i] is that char
        self._star = 0  # bits i where pattern[i] is "*"
        self._wild = 0  # bits i where pattern[i] is "*" or "%"
        for index, char in enumerate(text):
            bit = 1 << index
            if char in "*%":
                self._wild |= bit
                if char == "*":
                    self._star |= bit
            else:
                self._literal[char] = self._literal.get(char, 0) | bit
        self._accept = 1 << len(text)

    def matches(self, name: str) -> bool:
        """Whether ``name`` matches the whole pattern."""
        if self._fold:
            name = name.casefold()
        literal = self._literal
        star, wild = self._star, self._wild
        delimiter = self._delimiter
        # A wildcard may match nothing: a state before one is also the state after it.
        # Runs were collapsed, so one shift closes the set.
        states = 1 | ((1 & wild) << 1)
        for char in name:
            kept = states & (wild if char != delimiter else star)
            advanced = (states & literal.get(char, 0)) << 1
            states = kept | advanced
            if not states:
                return False
            states |= (states & wild) << 1
        return bool(states & self._accept)
