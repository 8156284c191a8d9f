"""Events of the IMAP engine: what the client asked (commands) and what the session answers.

Command events come out of :meth:`ImapConnection.events`; every one except
:class:`ConnectionClosed` has a ``tag``. The engine has already checked the syntax (RFC 3501
§9 and the extensions we implement) and that the command is valid in the current state, and
has decoded mailbox names (modified UTF-7, ``INBOX`` case-folded). Everything else is the
session's job: it answers each command with any number of untagged responses and exactly
one :class:`Tagged` (re-exported here from :mod:`fakemail._imap._response`).

Also here are the values the commands carry: :class:`SequenceSet`, the ``Search*`` key tree
(:data:`SearchKey`) and the FETCH attributes (:class:`FetchItem`, :class:`BodySection`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from fakemail._imap._response import (
    Continuation,
    FetchData,
    Response,
    Tagged,
    Untagged,
    UntaggedStatus,
    astring,
)

__all__ = [
    "Append",
    "AuthResponse",
    "Authenticate",
    "BodySection",
    "Capability",
    "Check",
    "Close",
    "Command",
    "ConnectionClosed",
    "Continuation",
    "Copy",
    "Create",
    "Delete",
    "Done",
    "Enable",
    "Event",
    "Expunge",
    "Fetch",
    "FetchAttribute",
    "FetchData",
    "FetchItem",
    "FetchItemName",
    "Id",
    "Idle",
    "InvalidCommand",
    "List",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "Rename",
    "Response",
    "Search",
    "SearchAll",
    "SearchAnd",
    "SearchBody",
    "SearchDate",
    "SearchFlag",
    "SearchHeader",
    "SearchKey",
    "SearchModSeq",
    "SearchNot",
    "SearchOr",
    "SearchSequence",
    "SearchSize",
    "SearchText",
    "SearchUid",
    "Select",
    "SequenceSet",
    "Sort",
    "SortCriterion",
    "SortKeyName",
    "StartTls",
    "Status",
    "Store",
    "Subscribe",
    "Tagged",
    "Thread",
    "Unselect",
    "Unsubscribe",
    "Untagged",
    "UntaggedStatus",
]


# --------------------------------------------------------------------------- sequence sets


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A message sequence-number or UID set (RFC 3501 §9 ``sequence-set``).

    ``ranges`` holds ``(first, last)`` pairs as written by the client (either order);
    ``None`` stands for ``*``, the largest number in use. ``7`` is ``(7, 7)``; ``*`` is
    ``(None, None)``; ``10:*`` is ``(10, None)``.
    """

    ranges: tuple[tuple[int | None, int | None], ...]

    def _bounds(self, largest: int) -> Iterable[tuple[int, int]]:
        for first, last in self.ranges:
            a = largest if first is None else first
            b = largest if last is None else last
            yield (a, b) if a <= b else (b, a)

    def resolve(self, largest: int) -> list[int]:
        """The numbers of the set in ``1..largest``, sorted, without duplicates.

        ``*`` means ``largest``; so in an empty mailbox (``largest == 0``) the set is empty.
        Numbers above ``largest`` are dropped: the session decides whether that is an error
        (a sequence number) or not (a UID, RFC 3501 §6.4.8).
        """
        if largest <= 0:
            return []
        found: set[int] = set()
        for lo, hi in self._bounds(largest):
            found.update(range(max(lo, 1), min(hi, largest) + 1))
        return sorted(found)

    def contains(self, number: int, largest: int) -> bool:
        """Whether ``number`` (in ``1..largest``) is in the set, ``*`` meaning ``largest``."""
        if not 1 <= number <= largest:
            return False
        return any(lo <= number <= hi for lo, hi in self._bounds(largest))

    @property
    def max_explicit(self) -> int:
        """The largest number written in the set (``*`` not counted); 0 if none."""
        return max((n for pair in self.ranges for n in pair if n is not None), default=0)

    @classmethod
    def from_numbers(cls, numbers: Iterable[int]) -> SequenceSet:
        """The compact set of the given numbers (``1,2,3,7`` -> ``1:3,7``)."""
        ranges: list[tuple[int | None, int | None]] = []
        start = prev = -2
        for n in sorted(set(numbers)):
            if n != prev + 1:
                if prev >= 0:
                    ranges.append((start, prev))
                start = n
            prev = n
        if prev >= 0:
            ranges.append((start, prev))
        return cls(tuple(ranges))

    def __str__(self) -> str:
        """The wire form, e.g. ``1:3,7,*``."""

        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges)


# --------------------------------------------------------------------------- search keys


@dataclass(frozen=True, slots=True)
class SearchAll:
    """ALL: every message."""


@dataclass(frozen=True, slots=True)
class SearchFlag:
    """A message has (``present``) or lacks a flag or keyword.

    ANSWERED/DELETED/DRAFT/FLAGGED/SEEN/RECENT and KEYWORD are ``present=True``; the UN-
    forms, UNKEYWORD and OLD (``\\Recent`` absent) are ``present=False``. System flags are
    spelled canonically (``\\Seen``); keywords as the client wrote them.
    """

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class SearchHeader:
    """A header field contains ``value`` (case-insensitive substring, RFC 3501 §6.4.4).

    BCC/CC/FROM/SUBJECT/TO are this with that field; ``HEADER name value`` too. ``field``
    is upper-cased. An empty ``value`` matches every message that has the field.
    """

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchBody:
    """BODY: the body (after the header) contains ``value``."""

    value: str


@dataclass(frozen=True, slots=True)
class SearchText:
    """TEXT: the header or body contains ``value``."""

    value: str


@dataclass(frozen=True, slots=True)
class SearchDate:
    """BEFORE/ON/SINCE (internal date) or SENTBEFORE/SENTON/SENTSINCE (``sent``: Date: field).

    Dates compare without time or time zone (RFC 3501 §6.4.4).
    """

    relation: Literal["BEFORE", "ON", "SINCE"]
    date: datetime.date
    sent: bool = False


@dataclass(frozen=True, slots=True)
class SearchSize:
    """LARGER/SMALLER: RFC 822 size strictly greater / smaller than ``octets``."""

    relation: Literal["LARGER", "SMALLER"]
    octets: int


@dataclass(frozen=True, slots=True)
class SearchSequence:
    """A bare sequence set: messages with these sequence numbers."""

    sequence_set: SequenceSet


@dataclass(frozen=True, slots=True)
class SearchUid:
    """UID set: messages with these UIDs."""

    sequence_set: SequenceSet


@dataclass(frozen=True, slots=True)
class SearchModSeq:
    """MODSEQ n (RFC 7162 §3.1.5): mod-sequence at least ``modseq``; entry name ignored."""

    modseq: int


@dataclass(frozen=True, slots=True)
class SearchNot:
    """NOT key."""

    key: SearchKey


@dataclass(frozen=True, slots=True)
class SearchOr:
    """OR key1 key2."""

    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class SearchAnd:
    """All of ``keys`` (at least two): a parenthesised list, or several top-level keys.

    ``NEW`` is ``SearchAnd((SearchFlag("\\\\Recent"), SearchFlag("\\\\Seen", False)))``.
    A parenthesised list of one key is that key, unwrapped.
    """

    keys: tuple[SearchKey, ...]


SearchKey: TypeAlias = (
    SearchAll
    | SearchFlag
    | SearchHeader
    | SearchBody
    | SearchText
    | SearchDate
    | SearchSize
    | SearchSequence
    | SearchUid
    | SearchModSeq
    | SearchNot
    | SearchOr
    | SearchAnd
)
"""A search criterion tree (RFC 3501 §6.4.4)."""


# --------------------------------------------------------------------------- fetch attributes

FetchItemName: TypeAlias = Literal[
    "FLAGS",
    "UID",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.TEXT",
    "MODSEQ",
]


@dataclass(frozen=True, slots=True)
class FetchItem:
    """A FETCH attribute without section: ``FLAGS``, ``ENVELOPE``, ``BODY`` (structure)..."""

    name: FetchItemName

    def response_name(self) -> str:
        """The name of this item in the FETCH response."""
        return self.name


@dataclass(frozen=True, slots=True)
class BodySection:
    """``BODY[section]<partial>`` or ``BODY.PEEK[...]`` (RFC 3501 §6.4.5).

    ``part`` is the MIME part path (``(1, 2)`` for ``1.2``; ``()`` for the whole message);
    ``specifier`` is ``""``, ``HEADER``, ``HEADER.FIELDS``, ``HEADER.FIELDS.NOT``, ``TEXT`` or
    ``MIME``; ``fields`` the upper-cased header names of ``HEADER.FIELDS[.NOT]``;
    ``partial`` the ``(origin, count)`` of ``<origin.count>``.
    """

    peek: bool = False
    part: tuple[int, ...] = ()
    specifier: Literal["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"] = ""
    fields: tuple[str, ...] = ()
    partial: tuple[int, int] | None = None

    def section_text(self) -> str:
        """The section as written between the brackets, e.g. ``1.HEADER.FIELDS (SUBJECT)``."""
        text = ".".join(str(p) for p in self.part)
        if self.specifier:
            text = f"{text}.{self.specifier}" if text else self.specifier
        if self.fields:
            text += " (" + " ".join(map(astring, self.fields)) + ")"
        return text

    def response_name(self) -> str:
        """The FETCH response name: always ``BODY[...]``, partial as ``<origin>`` only."""
        name = f"BODY[{self.section_text()}]"
        if self.partial is not None:
            name += f"<{self.partial[0]}>"
        return name


FetchAttribute: TypeAlias = FetchItem | BodySection
"""One FETCH data item asked for; macros (ALL, FAST, FULL) are already expanded."""


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Capability:
    """CAPABILITY."""

    tag: str


@dataclass(frozen=True, slots=True)
class Noop:
    """NOOP."""

    tag: str


@dataclass(frozen=True, slots=True)
class Logout:
    """LOGOUT: answer ``* BYE`` then the tagged OK."""

    tag: str


@dataclass(frozen=True, slots=True)
class StartTls:
    """STARTTLS: after the tagged OK the engine stops parsing until ``start_tls()``."""

    tag: str


@dataclass(frozen=True, slots=True)
class Authenticate:
    """AUTHENTICATE mechanism [initial-response] (RFC 3501 §6.2.2, SASL-IR RFC 4959).

    ``mechanism`` is upper-cased. ``initial_response`` is the decoded SASL-IR (``=`` is
    ``b""``), or ``None`` if absent. Answer with :class:`Continuation` (a base64 challenge)
    to get an :class:`AuthResponse`, or with the tagged result.
    """

    tag: str
    mechanism: str
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthResponse:
    """A client SASL response line, base64-decoded; ``None`` is ``*``: the client cancels.

    ``tag`` is the AUTHENTICATE command's.
    """

    tag: str
    data: bytes | None


@dataclass(frozen=True, slots=True)
class Login:
    """LOGIN username password."""

    tag: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Select:
    """SELECT mailbox, or EXAMINE mailbox (``readonly=True``).

    ``condstore`` is the RFC 7162 ``(CONDSTORE)`` select parameter.
    """

    tag: str
    mailbox: str
    readonly: bool = False
    condstore: bool = False


@dataclass(frozen=True, slots=True)
class Create:
    """CREATE mailbox [(USE (\\Sent ...))] (RFC 6154 §3): ``special_use`` attributes."""

    tag: str
    mailbox: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Delete:
    """DELETE mailbox."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename:
    """RENAME old new."""

    tag: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    """SUBSCRIBE mailbox."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """UNSUBSCRIBE mailbox."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class List:
    """LIST, including LIST-EXTENDED (RFC 5258), SPECIAL-USE (6154) and LIST-STATUS (5819).

    ``patterns`` holds one pattern for the basic form; a pattern (or reference) that is not
    valid modified UTF-7 is left out, since it matches nothing (so may be empty).
    ``selection_options`` (upper-cased) come from ``LIST (SUBSCRIBED ...)``;
    ``return_options`` (upper-cased) from ``RETURN (CHILDREN STATUS (...))``,
    and ``status_items`` are the ``STATUS`` items.
    """

    tag: str
    reference: str
    patterns: tuple[str, ...]
    selection_options: tuple[str, ...] = ()
    return_options: tuple[str, ...] = ()
    status_items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lsub:
    """LSUB reference pattern; ``pattern`` is ``None`` when it (or the reference) is not valid
    modified UTF-7, and then matches nothing."""

    tag: str
    reference: str
    pattern: str | None


@dataclass(frozen=True, slots=True)
class Status:
    """STATUS mailbox (items): upper-cased MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN,
    HIGHESTMODSEQ, SIZE, DELETED."""

    tag: str
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Append:
    """APPEND mailbox [(flags)] [date-time] literal.

    ``date`` is time-zone aware, or ``None`` (the session uses the current time).
    """

    tag: str
    mailbox: str
    flags: tuple[str, ...]
    date: datetime.datetime | None
    message: bytes


@dataclass(frozen=True, slots=True)
class Check:
    """CHECK."""

    tag: str


@dataclass(frozen=True, slots=True)
class Close:
    """CLOSE: expunge silently and leave the selected state."""

    tag: str


@dataclass(frozen=True, slots=True)
class Unselect:
    """UNSELECT (RFC 3691): leave the selected state without expunging."""

    tag: str


@dataclass(frozen=True, slots=True)
class Expunge:
    """EXPUNGE, or UID EXPUNGE set (RFC 4315) when ``uid_set`` is given."""

    tag: str
    uid_set: SequenceSet | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """[UID] SEARCH [RETURN (...)] [CHARSET x] keys.

    ``charset`` is upper-cased or ``None``; strings in ``criteria`` are already decoded.
    ``return_options`` (RFC 4731 ESEARCH: ``MIN``, ``MAX``, ``ALL``, ``COUNT``) is ``()`` for
    a plain SEARCH (answer ``* SEARCH``); ``RETURN ()`` is given as ``("ALL",)``.
    """

    tag: str
    uid: bool
    charset: str | None
    criteria: SearchKey
    return_options: tuple[str, ...] = ()


SortKeyName: TypeAlias = Literal[
    "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"
]
"""A SORT key (RFC 5256 §3; DISPLAYFROM and DISPLAYTO: RFC 5957 §4)."""


@dataclass(frozen=True, slots=True)
class SortCriterion:
    """One sort criterion: a key, ascending unless ``reverse``."""

    key: SortKeyName
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Sort:
    """[UID] SORT [RETURN (...)] (criteria) charset keys (RFC 5256 §3, ESORT RFC 5267 §3).

    ``return_options`` as for :class:`Search`; ``()`` answers with ``* SORT``.
    """

    tag: str
    uid: bool
    sort_criteria: tuple[SortCriterion, ...]
    charset: str
    criteria: SearchKey
    return_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thread:
    """[UID] THREAD algorithm charset keys (RFC 5256 §3)."""

    tag: str
    uid: bool
    algorithm: Literal["ORDEREDSUBJECT", "REFERENCES"]
    charset: str
    criteria: SearchKey


@dataclass(frozen=True, slots=True)
class Fetch:
    """[UID] FETCH set attributes [(CHANGEDSINCE n)] (RFC 7162 §3.1.4).

    For UID FETCH, ``FetchItem("UID")`` is always among ``attributes`` (RFC 3501 §6.4.8);
    with ``changed_since``, ``FetchItem("MODSEQ")`` is too (RFC 7162 §3.1.4.1).
    """

    tag: str
    uid: bool
    sequence_set: SequenceSet
    attributes: tuple[FetchAttribute, ...]
    changed_since: int | None = None


@dataclass(frozen=True, slots=True)
class Store:
    """[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags.

    ``mode`` ``"+"`` adds, ``"-"`` removes, ``""`` replaces.
    """

    tag: str
    uid: bool
    sequence_set: SequenceSet
    mode: Literal["+", "-", ""]
    silent: bool
    flags: tuple[str, ...]
    unchanged_since: int | None = None


@dataclass(frozen=True, slots=True)
class Copy:
    """[UID] COPY set mailbox."""

    tag: str
    uid: bool
    sequence_set: SequenceSet
    mailbox: str


@dataclass(frozen=True, slots=True)
class Move:
    """[UID] MOVE set mailbox (RFC 6851)."""

    tag: str
    uid: bool
    sequence_set: SequenceSet
    mailbox: str


@dataclass(frozen=True, slots=True)
class Idle:
    """IDLE (RFC 2177): answer :class:`Continuation`, then untagged updates until :class:`Done`."""

    tag: str


@dataclass(frozen=True, slots=True)
class Done:
    """The client ended IDLE; ``tag`` is the IDLE command's. Send its tagged OK."""

    tag: str


@dataclass(frozen=True, slots=True)
class Namespace:
    """NAMESPACE (RFC 2342)."""

    tag: str


@dataclass(frozen=True, slots=True)
class Id:
    """ID (RFC 2971): field/value pairs, or ``None`` for ``ID NIL``."""

    tag: str
    parameters: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class Enable:
    """ENABLE capabilities (RFC 5161), upper-cased."""

    tag: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InvalidCommand:
    """A command the engine refused: bad syntax, unknown, wrong state, literal too big...

    Answer ``tag status [code] reason``; when ``tag`` is ``None`` (no tag could be read)
    answer ``* BAD reason`` instead.
    """

    tag: str | None
    reason: str
    status: Literal["BAD", "NO"] = "BAD"
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The client closed its side (EOF). No more events follow."""


Command: TypeAlias = (
    Capability
    | Noop
    | Logout
    | StartTls
    | Authenticate
    | Login
    | Select
    | Create
    | Delete
    | Rename
    | Subscribe
    | Unsubscribe
    | List
    | Lsub
    | Status
    | Append
    | Check
    | Close
    | Unselect
    | Expunge
    | Search
    | Sort
    | Thread
    | Fetch
    | Store
    | Copy
    | Move
    | Idle
    | Namespace
    | Id
    | Enable
)
"""A well-formed command (each has a ``tag``)."""

Event: TypeAlias = Command | AuthResponse | Done | InvalidCommand | ConnectionClosed
"""Anything :meth:`ImapConnection.events` yields."""
