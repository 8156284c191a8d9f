"""The client command grammar of RFC 3501 §9 (and the extensions we speak), parsed into events.

A command arrives here complete, in wire form: the command line, and for every literal the
``{n}`` marker, CRLF and the ``n`` bytes, then the rest of the line (the connection has done
the framing). :func:`parse_command` gives a command event or an :class:`InvalidCommand`; it
never raises for client input.

Extensions: LITERAL+ (RFC 7888), SASL-IR (4959), UIDPLUS ``UID EXPUNGE`` (4315), UNSELECT
(3691), MOVE (6851), IDLE (2177), NAMESPACE (2342), ID (2971), ENABLE (5161), ESEARCH
``RETURN`` (4731), LIST-EXTENDED (5258), LIST-STATUS (5819), SPECIAL-USE (6154), CONDSTORE
(7162: ``CHANGEDSINCE``, ``UNCHANGEDSINCE``, ``MODSEQ``, ``(CONDSTORE)``), SORT and THREAD
(5256, 5957, 5267: in :mod:`._grammar_sort`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from fakemail._exceptions import ConfigError
from fakemail._flags import normalize_flag
from fakemail._imap._events import (
    Append,
    Authenticate,
    BodySection,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Expunge,
    Fetch,
    FetchAttribute,
    FetchItem,
    FetchItemName,
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
    Sort,
    StartTls,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)
from fakemail._imap._grammar_sort import parse_sort, parse_thread
from fakemail._imap._state import ImapState, is_valid_in
from fakemail._imap._utf7 import decode_mailbox

__all__ = [
    "BADCHARSET_CODE",
    "MAX_SEARCH_DEPTH",
    "CommandHead",
    "check_head",
    "decode_sasl",
    "parse_command",
    "parse_head",
    "parse_sequence_set",
]

BADCHARSET_CODE: Final = "BADCHARSET (UTF-8 US-ASCII)"
"""Response code for a SEARCH in a charset we do not know (RFC 3501 §6.4.4)."""

_SPECIAL_USE: Final = {
    f.lower(): f
    for f in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
}

_MAX_NUMBER: Final = 2**32 - 1  # RFC 3501 §9 number / nz-number
_MAX_MODSEQ: Final = 2**63 - 1  # RFC 7162 §7 mod-sequence-value
# Search keys nested deeper than this (parentheses, NOT, OR) are refused: parsing and
# evaluating them recurse, and Python's stack ends near 1,000 frames.
MAX_SEARCH_DEPTH: Final = 100

# atom-specials: ( ) { SP CTL % * " \ ]  -- and no 8-bit in atoms.
_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f-\xff%*"\\\]]+')
_ASTRING_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f-\xff%*"\\]+')  # ASTRING-CHAR adds "]"
_LIST_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f-\xff"\\]+')  # list-char adds % * ]
_TAG = re.compile(rb'[^(){ \x00-\x1f\x7f-\xff%*"\\+]+')  # ASTRING-CHAR except "+"
# QUOTED-CHAR, with 8-bit allowed (UTF-8 in quoted strings, RFC 6855 §3 / RFC 9051).
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_UNESCAPE = re.compile(rb"\\([\"\\])")
_LITERAL = re.compile(rb"\{([0-9]{1,20})(\+?)\}\r\n")
_NUMBER = re.compile(rb"[0-9]+")
_SEQ_SET = re.compile(rb"[0-9*:,$]+")
_SEQ_RANGE = re.compile(rb"(?:([1-9][0-9]*)|\*)(?::(?:([1-9][0-9]*)|\*))?")
_NAME = re.compile(rb"[A-Za-z0-9.+-]+")
_SECTION_PART = re.compile(rb"[1-9][0-9]*(?:\.[1-9][0-9]*)*")
_SECTION_TEXT = re.compile(rb"[A-Za-z.]+")
_DATE = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_DATE_TIME = re.compile(
    rb'"([ 0-9]?[0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        b"JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(),
        1,
    )
}


_Specifier = Literal["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


class _ParseError(Exception):
    """Client syntax error; becomes an InvalidCommand."""

    def __init__(
        self, reason: str, status: Literal["BAD", "NO"] = "BAD", code: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status: Literal["BAD", "NO"] = status
        self.code = code


def _bounded(digits: bytes, maximum: int, what: str = "number") -> int:
    """The value of ``digits``; a :class:`_ParseError` (a BAD) above ``maximum``. Checked on
    the length first: ``int()`` of more than 4,300 digits raises (Python's int-string limit),
    and converting a long run of digits costs quadratic time."""
    significant = digits.lstrip(b"0")
    if len(significant) > len(str(maximum)) or int(significant or b"0") > maximum:
        raise _ParseError(f"{what} too large (at most {maximum})")
    return int(significant or b"0")


def _shown(raw: bytes, limit: int = 40) -> str:
    """A client's token as an error text may quote it: escaped, shortened."""
    return repr(raw[:limit])[2:-1] + ("..." if len(raw) > limit else "")


def _text(raw: bytes) -> str:
    # Client strings are UTF-8 in practice (RFC 6855/9051); never fail on them.
    return raw.decode("utf-8", "replace")


class _Parser:
    """A cursor over one complete command in wire form."""

    __slots__ = ("data", "depth", "pos", "utf8")

    def __init__(self, data: bytes, pos: int = 0, *, utf8: bool = False) -> None:
        self.data = data
        self.pos = pos
        self.utf8 = utf8
        self.depth = 0  # search keys being parsed, one inside the other

    # ---------------------------------------------------------------- basics

    def error(self, what: str) -> _ParseError:
        """A syntax error: ``what`` was expected at the current position."""
        found = self.data[self.pos : self.pos + 12]
        shown = repr(found)[2:-1] if found else "end of line"
        return _ParseError(f"expected {what} at position {self.pos}, found {shown}")

    def peek(self) -> int:
        """The next byte, or -1 at the end."""
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def at(self, token: bytes) -> bool:
        return self.data.startswith(token, self.pos)

    def accept(self, token: bytes) -> bool:
        if self.data.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: bytes, what: str | None = None) -> None:
        if not self.accept(token):
            raise self.error(what or repr(token.decode())[1:-1])

    def sp(self) -> None:
        self.expect(b" ", "SP")

    def blanks(self) -> bool:
        """Skip any spaces; whether there were some (only where we are lenient)."""
        start = self.pos
        while self.peek() == 0x20:
            self.pos += 1
        return self.pos != start

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.error("end of command")

    def match(self, pattern: re.Pattern[bytes], what: str) -> re.Match[bytes]:
        m = pattern.match(self.data, self.pos)
        if m is None:
            raise self.error(what)
        self.pos = m.end()
        return m

    def keyword(self) -> str:
        """An atom, upper-cased (command names, options, keys)."""
        return self.match(_ATOM, "atom").group().decode("ascii").upper()

    def name(self) -> str:
        """A FETCH/STORE item name such as ``BODY.PEEK`` or ``+FLAGS.SILENT``, upper-cased."""
        return self.match(_NAME, "data item name").group().decode("ascii").upper()

    # ---------------------------------------------------------------- strings

    def quoted(self) -> bytes:
        m = self.match(_QUOTED, "quoted string")
        body = m.group(1)
        return _UNESCAPE.sub(rb"\1", body) if b"\\" in body else body

    def literal(self) -> bytes:
        if self.at(b"~{"):
            raise _ParseError("literal8 (~{n}) is not supported: BINARY is not advertised")
        m = self.match(_LITERAL, "literal")
        size = int(m.group(1))
        start = self.pos
        if start + size > len(self.data):
            raise self.error("literal data")
        self.pos = start + size
        return self.data[start : self.pos]

    def at_string(self) -> bool:
        """Whether a quoted string or a literal (``~{`` is literal8; ``~`` alone an atom)."""
        return self.peek() in (0x22, 0x7B) or self.at(b"~{")

    def string(self) -> bytes:
        if self.peek() == 0x22:  # '"'
            return self.quoted()
        if self.at(b"{") or self.at(b"~{"):
            return self.literal()
        raise self.error("string")

    def astring(self) -> bytes:
        if self.at_string():
            return self.string()
        return self.match(_ASTRING_ATOM, "astring").group()

    def nstring(self) -> bytes | None:
        if self.data[self.pos : self.pos + 3].upper() == b"NIL":
            after = self.pos + 3
            if after == len(self.data) or self.data[after] in b" )":
                self.pos = after
                return None
        return self.string()

    def astring_text(self) -> str:
        return _text(self.astring())

    # ---------------------------------------------------------------- numbers and sets

    def number(self, maximum: int = _MAX_NUMBER) -> int:
        return _bounded(self.match(_NUMBER, "number").group(), maximum)

    def nz_number(self) -> int:
        value = self.number()
        if value == 0:
            raise _ParseError("number must not be zero")
        return value

    def sequence_set(self) -> SequenceSet:
        start = self.pos
        token = self.match(_SEQ_SET, "sequence set").group()
        try:
            return parse_sequence_set(token)
        except _ParseError as exc:
            raise _ParseError(f"{exc.reason} at position {start}") from None

    # ---------------------------------------------------------------- mailboxes and flags

    def mailbox(self) -> str:
        """A mailbox name. One that is not valid modified UTF-7 is a valid command naming no
        mailbox that can exist: ``NO``, as Dovecot answers, not ``BAD``."""
        try:
            return decode_mailbox(self.astring(), utf8=self.utf8)
        except ValueError as exc:
            raise _ParseError(f"invalid mailbox name: {exc}", "NO", "NONEXISTENT") from None

    def list_mailbox(self) -> str | None:
        """A LIST/LSUB pattern; ``None`` for one that is not valid modified UTF-7 (it
        matches nothing)."""
        raw = self.string() if self.at_string() else self.match(_LIST_ATOM, "pattern").group()
        try:
            return decode_mailbox(raw, utf8=self.utf8)
        except ValueError:
            return None

    def flag(self, *, settable: bool = True) -> str:
        """A flag: a system flag (canonical spelling) or a keyword atom."""
        prefix = "\\" if self.accept(b"\\") else ""
        name = prefix + self.match(_ATOM, "flag").group().decode("ascii")
        try:
            return normalize_flag(name, settable=settable)
        except ConfigError as exc:  # the test API's rule, as a protocol error
            raise _ParseError(str(exc)) from None

    def flag_list(self) -> tuple[str, ...]:
        self.expect(b"(")
        flags: list[str] = []
        if not self.accept(b")"):
            while True:
                flags.append(self.flag())
                if self.accept(b")"):
                    break
                self.sp()
        return tuple(flags)

    def paren_keywords(self, allowed: frozenset[str], what: str) -> tuple[str, ...]:
        """``(A B C)`` of upper-cased atoms from ``allowed``; at least one."""
        self.expect(b"(")
        items: list[str] = []
        while True:
            item = self.keyword()
            if item not in allowed:
                raise _ParseError(f"unknown {what} {item}")
            items.append(item)
            if self.accept(b")"):
                return tuple(items)
            self.sp()

    # ---------------------------------------------------------------- dates

    def date(self) -> datetime.date:
        quoted = self.accept(b'"')
        m = self.match(_DATE, "date (d-Mon-yyyy)")
        if quoted:
            self.expect(b'"')
        month = _MONTHS.get(m.group(2).upper())
        if month is None:
            raise self.error("month name")
        try:
            return datetime.date(int(m.group(3)), month, int(m.group(1)))
        except ValueError as exc:
            raise _ParseError(f"invalid date: {exc}") from None

    def date_time(self) -> datetime.datetime:
        m = self.match(_DATE_TIME, 'date-time ("dd-Mon-yyyy hh:mm:ss +zzzz")')
        day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
        month = _MONTHS.get(mon.upper())
        if month is None:
            raise _ParseError("invalid month in date-time")
        offset = datetime.timedelta(hours=int(zh), minutes=int(zm))
        try:
            tz = datetime.timezone(-offset if sign == b"-" else offset)
            return datetime.datetime(
                int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=tz
            )
        except ValueError as exc:
            raise _ParseError(f"invalid date-time: {exc}") from None

    # ---------------------------------------------------------------- search

    def at_keyword(self, word: bytes) -> bool:
        """Whether the atom ``word`` (upper case), then SP, comes next (case-insensitively)."""
        end = self.pos + len(word)
        return self.data[self.pos : end].upper() == word and self.data[end : end + 1] == b" "

    def return_options(self) -> tuple[str, ...]:
        """``RETURN (options) SP`` of SEARCH and SORT (RFC 4731 §3, RFC 5267 §3)."""
        self.pos += 7  # "RETURN "
        # RFC 4731 §3: RETURN () means RETURN (ALL).
        if self.accept(b"()"):
            options: tuple[str, ...] = ("ALL",)
        else:
            options = self.paren_keywords(_ESEARCH_RETURN, "return option")
        self.sp()
        return options

    def charset(self) -> str:
        """A search charset, upper-cased (see :meth:`supported`)."""
        return self.astring().decode("ascii", "replace").upper()

    @staticmethod
    def supported(charset: str) -> None:
        """``NO [BADCHARSET]`` unless ``charset`` is UTF-8 or US-ASCII (RFC 3501 §6.4.4)."""
        if charset not in ("UTF-8", "US-ASCII"):
            # A literal charset may hold CR/LF: echoed only in its shown (escaped) form.
            reason = f"charset {_shown(charset.encode())} is not supported"
            raise _ParseError(reason, "NO", BADCHARSET_CODE)

    def search_program(self) -> SearchKey:
        keys = [self.search_key()]
        while self.accept(b" "):
            keys.append(self.search_key())
        return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))

    def search_key(self) -> SearchKey:
        self.depth += 1
        if self.depth > MAX_SEARCH_DEPTH:
            raise _ParseError(f"search keys nested more than {MAX_SEARCH_DEPTH} deep")
        try:
            return self._search_key()
        finally:
            self.depth -= 1

    def _search_key(self) -> SearchKey:
        c = self.peek()
        if c == 0x28:  # "("
            self.pos += 1
            # Lenient, as Dovecot (apps send "( SEEN  FLAGGED )"): any blanks after "(",
            # between keys and before ")"; keys still need one between them.
            self.blanks()
            keys = [self.search_key()]
            while True:
                spaced = self.blanks()
                if self.accept(b")"):
                    break
                if not spaced:
                    raise self.error("SP")
                keys.append(self.search_key())
            return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))
        if c == 0x2A or 0x30 <= c <= 0x39 or c == 0x24:  # "*", digit, "$"
            return SearchSequence(self.sequence_set())
        start = self.pos
        key = self.keyword()
        simple = _SEARCH_SIMPLE.get(key)
        if simple is not None:
            return simple
        handler = _SEARCH_ARG.get(key)
        if handler is None:
            self.pos = start
            raise self.error("search key")
        self.sp()
        return handler(self, key)

    def _search_keyword(self, key: str) -> SearchKey:
        return SearchFlag(self.match(_ATOM, "keyword").group().decode("ascii"), key == "KEYWORD")

    def _search_header(self, key: str) -> SearchKey:
        if key == "HEADER":
            field = self.astring().decode("ascii", "replace").upper()
            self.sp()
        else:
            field = key
        return SearchHeader(field, self.astring_text())

    def _search_body(self, key: str) -> SearchKey:
        return SearchBody(self.astring_text())

    def _search_text(self, key: str) -> SearchKey:
        return SearchText(self.astring_text())

    def _search_date(self, key: str) -> SearchKey:
        sent = key.startswith("SENT")
        return SearchDate(_DATE_RELATIONS[key.removeprefix("SENT")], self.date(), sent)

    def _search_size(self, key: str) -> SearchKey:
        return SearchSize("LARGER" if key == "LARGER" else "SMALLER", self.number())

    def _search_not(self, key: str) -> SearchKey:
        return SearchNot(self.search_key())

    def _search_or(self, key: str) -> SearchKey:
        left = self.search_key()
        self.sp()
        return SearchOr(left, self.search_key())

    def _search_uid(self, key: str) -> SearchKey:
        return SearchUid(self.sequence_set())

    def _search_modseq(self, key: str) -> SearchKey:
        # RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
        if self.peek() == 0x22:
            self.quoted()
            self.sp()
            if self.keyword() not in ("PRIV", "SHARED", "ALL"):
                raise _ParseError("MODSEQ entry type must be priv, shared or all")
            self.sp()
        return SearchModSeq(self.number(_MAX_MODSEQ))

    # ---------------------------------------------------------------- fetch

    def fetch_att(self) -> FetchAttribute:
        start = self.pos
        name = self.name()
        if name in ("BODY", "BODY.PEEK") and self.at(b"["):
            return self._body_section(peek=name == "BODY.PEEK")
        if name in _FETCH_ITEMS:
            return FetchItem(_FETCH_ITEMS[name])
        self.pos = start
        if name.startswith("BINARY"):
            raise _ParseError(f"{name} is not supported: BINARY is not advertised")
        raise self.error("fetch attribute")

    def _body_section(self, *, peek: bool) -> BodySection:
        self.expect(b"[")
        part: tuple[int, ...] = ()
        m = _SECTION_PART.match(self.data, self.pos)
        if m is not None:
            self.pos = m.end()
            part = tuple(_bounded(p, _MAX_NUMBER, "section part") for p in m.group().split(b"."))
        specifier: _Specifier = ""
        fields: tuple[str, ...] = ()
        # section-spec = section-msgtext / (section-part ["." section-text])
        if (part and self.accept(b".")) or (not part and not self.at(b"]")):
            text = self.match(_SECTION_TEXT, "section text").group().decode().upper()
            if text not in _SPECIFIERS or (text == "MIME" and not part):
                raise _ParseError(f"invalid section {text!r}")
            specifier = _SPECIFIERS[text]
            if specifier.startswith("HEADER.FIELDS"):
                self.sp()
                fields = self._header_list()
        self.expect(b"]")
        partial: tuple[int, int] | None = None
        if self.accept(b"<"):
            origin = self.number()
            self.expect(b".")
            count = self.nz_number()
            self.expect(b">")
            partial = (origin, count)
        return BodySection(peek, part, specifier, fields, partial)

    def _header_list(self) -> tuple[str, ...]:
        self.expect(b"(")
        names = [self.astring().decode("ascii", "replace").upper()]
        while not self.accept(b")"):
            self.sp()
            names.append(self.astring().decode("ascii", "replace").upper())
        return tuple(names)


_SEARCH_SIMPLE: Final[dict[str, SearchKey]] = {
    "ALL": SearchAll(),
    "ANSWERED": SearchFlag("\\Answered"),
    "DELETED": SearchFlag("\\Deleted"),
    "DRAFT": SearchFlag("\\Draft"),
    "FLAGGED": SearchFlag("\\Flagged"),
    "SEEN": SearchFlag("\\Seen"),
    "RECENT": SearchFlag("\\Recent"),
    "UNANSWERED": SearchFlag("\\Answered", False),
    "UNDELETED": SearchFlag("\\Deleted", False),
    "UNDRAFT": SearchFlag("\\Draft", False),
    "UNFLAGGED": SearchFlag("\\Flagged", False),
    "UNSEEN": SearchFlag("\\Seen", False),
    "OLD": SearchFlag("\\Recent", False),
    "NEW": SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False))),
}

_SEARCH_ARG: Final[dict[str, Callable[[_Parser, str], SearchKey]]] = {
    "KEYWORD": _Parser._search_keyword,
    "UNKEYWORD": _Parser._search_keyword,
    "BCC": _Parser._search_header,
    "CC": _Parser._search_header,
    "FROM": _Parser._search_header,
    "SUBJECT": _Parser._search_header,
    "TO": _Parser._search_header,
    "HEADER": _Parser._search_header,
    "BODY": _Parser._search_body,
    "TEXT": _Parser._search_text,
    "BEFORE": _Parser._search_date,
    "ON": _Parser._search_date,
    "SINCE": _Parser._search_date,
    "SENTBEFORE": _Parser._search_date,
    "SENTON": _Parser._search_date,
    "SENTSINCE": _Parser._search_date,
    "LARGER": _Parser._search_size,
    "SMALLER": _Parser._search_size,
    "NOT": _Parser._search_not,
    "OR": _Parser._search_or,
    "UID": _Parser._search_uid,
    "MODSEQ": _Parser._search_modseq,
}

_FETCH_ITEMS: Final[dict[str, FetchItemName]] = {
    "FLAGS": "FLAGS",
    "UID": "UID",
    "INTERNALDATE": "INTERNALDATE",
    "RFC822.SIZE": "RFC822.SIZE",
    "ENVELOPE": "ENVELOPE",
    "BODYSTRUCTURE": "BODYSTRUCTURE",
    "BODY": "BODY",
    "RFC822": "RFC822",
    "RFC822.HEADER": "RFC822.HEADER",
    "RFC822.TEXT": "RFC822.TEXT",
    "MODSEQ": "MODSEQ",
}

# RFC 3501 §6.4.5 macros.
_FETCH_MACROS: Final[dict[str, tuple[FetchAttribute, ...]]] = {
    "ALL": (
        FetchItem("FLAGS"),
        FetchItem("INTERNALDATE"),
        FetchItem("RFC822.SIZE"),
        FetchItem("ENVELOPE"),
    ),
    "FAST": (FetchItem("FLAGS"), FetchItem("INTERNALDATE"), FetchItem("RFC822.SIZE")),
    "FULL": (
        FetchItem("FLAGS"),
        FetchItem("INTERNALDATE"),
        FetchItem("RFC822.SIZE"),
        FetchItem("ENVELOPE"),
        FetchItem("BODY"),
    ),
}

_SPECIFIERS: Final[dict[str, _Specifier]] = {
    "HEADER": "HEADER",
    "HEADER.FIELDS": "HEADER.FIELDS",
    "HEADER.FIELDS.NOT": "HEADER.FIELDS.NOT",
    "TEXT": "TEXT",
    "MIME": "MIME",  # only after a part number (RFC 3501 §9 section-text)
}
_DATE_RELATIONS: Final[dict[str, Literal["BEFORE", "ON", "SINCE"]]] = {
    "BEFORE": "BEFORE",
    "ON": "ON",
    "SINCE": "SINCE",
}

_STATUS_ITEMS: Final = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED"}
)
_LIST_SELECT: Final = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_LIST_RETURN: Final = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
_ESEARCH_RETURN: Final = frozenset({"MIN", "MAX", "ALL", "COUNT"})


def parse_sequence_set(token: bytes) -> SequenceSet:
    """Parse a ``sequence-set`` such as ``1:3,7,*,10:*`` (RFC 3501 §9).

    Raises ``_ParseError`` (a BAD) for syntax errors, zero, numbers above 2**32-1 and the
    RFC 5182 ``$`` reference (SEARCHRES is not advertised).
    """
    if b"$" in token:
        raise _ParseError("search result reference ($) is not supported")
    ranges: list[tuple[int | None, int | None]] = []
    for item in token.split(b","):
        m = _SEQ_RANGE.fullmatch(item)
        if m is None:
            raise _ParseError(f"invalid sequence set {token.decode('ascii', 'replace')!r}")
        first = _bounded(m.group(1), _MAX_NUMBER, "sequence number") if m.group(1) else None
        if b":" not in item:
            last = first
        else:
            last = _bounded(m.group(2), _MAX_NUMBER, "sequence number") if m.group(2) else None
        ranges.append((first, last))
    return SequenceSet(tuple(ranges))


# --------------------------------------------------------------------------- commands

_Body = Callable[[_Parser, str, bool], Command]


def _no_args(cls: Callable[[str], Command]) -> _Body:
    def parse(p: _Parser, tag: str, uid: bool) -> Command:
        return cls(tag)

    return parse


def _authenticate(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    mechanism = p.keyword()
    initial: bytes | None = None
    if p.accept(b" "):
        # SASL-IR (RFC 4959 §7): base64, or "=" for an empty initial response.
        token = p.match(_BASE64, "base64 initial response").group()
        if not token:
            raise p.error("base64 initial response")
        decoded = decode_sasl(token)
        if decoded is None:
            raise _ParseError("malformed base64 in initial response")
        initial = decoded
    return Authenticate(tag, mechanism, initial)


def _login(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    username = p.astring_text()
    p.sp()
    return Login(tag, username, p.astring_text())


def _select(readonly: bool) -> _Body:
    def parse(p: _Parser, tag: str, uid: bool) -> Command:
        p.sp()
        mailbox = p.mailbox()
        condstore = False
        if p.accept(b" "):
            # RFC 4466 §2.1 select-params; we know CONDSTORE only (RFC 7162 §3.1.8).
            condstore = "CONDSTORE" in p.paren_keywords(
                frozenset({"CONDSTORE"}), "SELECT parameter"
            )
        return Select(tag, mailbox, readonly, condstore)

    return parse


def _create(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    mailbox = p.mailbox()
    special_use: list[str] = []
    if p.accept(b" "):
        # RFC 4466 create-params; RFC 6154 §3: "USE" SP "(" [use-attr *(SP use-attr)] ")"
        p.expect(b"(")
        while True:
            if p.keyword() != "USE":
                raise p.error("USE")
            p.sp()
            p.expect(b"(")
            first = True
            while not p.accept(b")"):
                if not first:
                    p.sp()
                first = False
                p.expect(b"\\", "special-use attribute")
                attr = "\\" + p.match(_ATOM, "special-use attribute").group().decode("ascii")
                special_use.append(_SPECIAL_USE.get(attr.lower(), attr))
            if p.accept(b")"):
                break
            p.sp()
    return Create(tag, mailbox, tuple(special_use))


def _one_mailbox(cls: Callable[[str, str], Command]) -> _Body:
    def parse(p: _Parser, tag: str, uid: bool) -> Command:
        p.sp()
        return cls(tag, p.mailbox())

    return parse


def _rename(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    old = p.mailbox()
    p.sp()
    return Rename(tag, old, p.mailbox())


def _list(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    selection: tuple[str, ...] = ()
    if p.at(b"("):
        # RFC 5258 §6 list-select-opts = "(" [list-select-option *(SP list-select-option)] ")"
        selection = () if p.accept(b"()") else p.paren_keywords(_LIST_SELECT, "LIST option")
        if "RECURSIVEMATCH" in selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"}:
            # RFC 5258 §3: REMOTE is not a selection criterion RECURSIVEMATCH can go with.
            raise _ParseError("RECURSIVEMATCH needs another selection option (RFC 5258 §3)")
        p.sp()
    reference = p.list_mailbox()
    p.sp()
    if p.accept(b"("):
        patterns = [p.list_mailbox()]
        while not p.accept(b")"):
            p.sp()
            patterns.append(p.list_mailbox())
    else:
        patterns = [p.list_mailbox()]
    return_options: list[str] = []
    status_items: tuple[str, ...] = ()
    if p.accept(b" "):
        if p.keyword() != "RETURN":
            raise p.error("RETURN")
        p.sp()
        p.expect(b"(")
        while not p.accept(b")"):
            if return_options and not p.accept(b" "):
                raise p.error("SP")
            option = p.keyword()
            if option not in _LIST_RETURN:
                raise _ParseError(f"unknown LIST return option {option}")
            if option == "STATUS":  # RFC 5819 §3
                p.sp()
                status_items = p.paren_keywords(_STATUS_ITEMS, "STATUS item")
            return_options.append(option)
    # A reference or pattern that is not valid modified UTF-7 matches nothing.
    valid = () if reference is None else tuple(x for x in patterns if x is not None)
    return List(tag, reference or "", valid, selection, tuple(return_options), status_items)


def _lsub(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    reference = p.list_mailbox()
    p.sp()
    pattern = p.list_mailbox()
    return Lsub(tag, reference or "", None if reference is None else pattern)


def _status(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    mailbox = p.mailbox()
    p.sp()
    return Status(tag, mailbox, p.paren_keywords(_STATUS_ITEMS, "STATUS item"))


def _append(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    mailbox = p.mailbox()
    p.sp()
    flags: tuple[str, ...] = ()
    date: datetime.datetime | None = None
    if p.at(b"("):
        flags = p.flag_list()
        p.sp()
    if p.at(b'"'):
        date = p.date_time()
        p.sp()
    return Append(tag, mailbox, flags, date, p.literal())


def _expunge(p: _Parser, tag: str, uid: bool) -> Command:
    if not uid:
        return Expunge(tag)
    p.sp()
    return Expunge(tag, p.sequence_set())


def _search(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    return_options = p.return_options() if p.at_keyword(b"RETURN") else ()
    charset: str | None = None
    if p.at_keyword(b"CHARSET"):
        p.pos += 8
        charset = p.charset()
        p.supported(charset)
        p.sp()
    return Search(tag, uid, charset, p.search_program(), return_options)


def _fetch(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    sequence_set = p.sequence_set()
    p.sp()
    attributes: list[FetchAttribute]
    if p.accept(b"("):
        attributes = [p.fetch_att()]
        while not p.accept(b")"):
            p.sp()
            attributes.append(p.fetch_att())
    else:
        start = p.pos
        macro = _FETCH_MACROS.get(p.name())
        if macro is not None:
            attributes = list(macro)
        else:
            p.pos = start
            attributes = [p.fetch_att()]
    changed_since: int | None = None
    if p.accept(b" "):
        # RFC 7162 §3.1.4: fetch-modifier = "CHANGEDSINCE" SP mod-sequence-valzer
        p.expect(b"(")
        if p.keyword() != "CHANGEDSINCE":
            raise p.error("CHANGEDSINCE")
        p.sp()
        changed_since = p.number(_MAX_MODSEQ)
        p.expect(b")")
    if uid and FetchItem("UID") not in attributes:
        attributes.insert(0, FetchItem("UID"))  # RFC 3501 §6.4.8
    if changed_since is not None and FetchItem("MODSEQ") not in attributes:
        attributes.append(FetchItem("MODSEQ"))  # RFC 7162 §3.1.4.1
    return Fetch(tag, uid, sequence_set, tuple(attributes), changed_since)


def _store(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    sequence_set = p.sequence_set()
    p.sp()
    unchanged_since: int | None = None
    if p.accept(b"("):
        # RFC 7162 §3.1.3: store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer
        if p.keyword() != "UNCHANGEDSINCE":
            raise p.error("UNCHANGEDSINCE")
        p.sp()
        unchanged_since = p.number(_MAX_MODSEQ)
        p.expect(b")")
        p.sp()
    start = p.pos
    item = p.name()
    mode: Literal["+", "-", ""] = ""
    if item.startswith("+"):
        mode = "+"
    elif item.startswith("-"):
        mode = "-"
    rest = item[len(mode) :]
    if rest not in ("FLAGS", "FLAGS.SILENT"):
        p.pos = start
        raise p.error("[+|-]FLAGS[.SILENT]")
    p.sp()
    if p.at(b"("):
        flags = p.flag_list()
    else:
        flag_items = [p.flag()]
        while p.accept(b" "):
            flag_items.append(p.flag())
        flags = tuple(flag_items)
    return Store(tag, uid, sequence_set, mode, rest.endswith(".SILENT"), flags, unchanged_since)


def _copy_move(cls: Callable[[str, bool, SequenceSet, str], Command]) -> _Body:
    def parse(p: _Parser, tag: str, uid: bool) -> Command:
        p.sp()
        sequence_set = p.sequence_set()
        p.sp()
        return cls(tag, uid, sequence_set, p.mailbox())

    return parse


def _id(p: _Parser, tag: str, uid: bool) -> Command:
    p.sp()
    if p.data[p.pos :].upper() == b"NIL":
        p.pos = len(p.data)
        return Id(tag, None)
    # RFC 2971 §4: "(" string SP nstring *(SP string SP nstring) ")" / nil
    p.expect(b"(")
    params: list[tuple[str, str | None]] = []
    while True:
        field = _text(p.string())
        p.sp()
        value = p.nstring()
        params.append((field, None if value is None else _text(value)))
        if p.accept(b")"):
            break
        p.sp()
    return Id(tag, tuple(params))


def _enable(p: _Parser, tag: str, uid: bool) -> Command:
    capabilities: list[str] = []
    p.sp()
    capabilities.append(p.keyword())
    while p.accept(b" "):
        capabilities.append(p.keyword())
    return Enable(tag, tuple(capabilities))


_COMMANDS: Final[dict[str, tuple[type[Command], _Body]]] = {
    "CAPABILITY": (Capability, _no_args(Capability)),
    "NOOP": (Noop, _no_args(Noop)),
    "LOGOUT": (Logout, _no_args(Logout)),
    "STARTTLS": (StartTls, _no_args(StartTls)),
    "AUTHENTICATE": (Authenticate, _authenticate),
    "LOGIN": (Login, _login),
    "SELECT": (Select, _select(False)),
    "EXAMINE": (Select, _select(True)),
    "CREATE": (Create, _create),
    "DELETE": (Delete, _one_mailbox(Delete)),
    "RENAME": (Rename, _rename),
    "SUBSCRIBE": (Subscribe, _one_mailbox(Subscribe)),
    "UNSUBSCRIBE": (Unsubscribe, _one_mailbox(Unsubscribe)),
    "LIST": (List, _list),
    "LSUB": (Lsub, _lsub),
    "STATUS": (Status, _status),
    "APPEND": (Append, _append),
    "CHECK": (Check, _no_args(Check)),
    "CLOSE": (Close, _no_args(Close)),
    "UNSELECT": (Unselect, _no_args(Unselect)),
    "EXPUNGE": (Expunge, _expunge),
    "SEARCH": (Search, _search),
    "SORT": (Sort, parse_sort),
    "THREAD": (Thread, parse_thread),
    "FETCH": (Fetch, _fetch),
    "STORE": (Store, _store),
    "COPY": (Copy, _copy_move(Copy)),
    "MOVE": (Move, _copy_move(Move)),
    "IDLE": (Idle, _no_args(Idle)),
    "NAMESPACE": (Namespace, _no_args(Namespace)),
    "ID": (Id, _id),
    "ENABLE": (Enable, _enable),
}
_UID_COMMANDS: Final = frozenset(
    {"COPY", "MOVE", "FETCH", "SEARCH", "SORT", "THREAD", "STORE", "EXPUNGE"}
)


@dataclass(frozen=True, slots=True)
class CommandHead:
    """The tag and command name at the start of a command line.

    ``name`` is upper-cased, ``UID FETCH`` for UID commands; ``end`` is the offset just after
    the name.
    """

    tag: str
    name: str
    command: type[Command]
    uid: bool
    end: int


def parse_head(line: bytes) -> CommandHead | InvalidCommand:
    """Read the tag and command name; an :class:`InvalidCommand` if either is bad.

    ``InvalidCommand.tag`` is ``None`` when no tag could be read (answer ``* BAD``).
    """
    m = _TAG.match(line)
    if m is None or (m.end() < len(line) and line[m.end()] != 0x20):
        return InvalidCommand(None, "command line does not start with a valid tag")
    tag = m.group().decode("ascii")
    p = _Parser(line, m.end())
    try:
        p.sp()
        name = p.keyword()
        uid = name == "UID"
        if uid:
            p.sp()
            sub = p.keyword()
            if sub not in _UID_COMMANDS:
                return InvalidCommand(tag, f"unknown UID command {sub}")
            name = sub
        entry = _COMMANDS.get(name)
        if entry is None:
            return InvalidCommand(tag, f"unknown command {name}")
    except _ParseError:
        return InvalidCommand(tag, "missing or invalid command name")
    return CommandHead(tag, f"UID {name}" if uid else name, entry[0], uid, p.pos)


def check_head(line: bytes, state: ImapState) -> CommandHead | InvalidCommand:
    """:func:`parse_head`, then refuse a command not valid in ``state`` (RFC 3501 §6)."""
    head = parse_head(line)
    if isinstance(head, CommandHead) and not is_valid_in(head.command, state):
        return InvalidCommand(head.tag, f"{head.name} is not valid in the {state.value} state")
    return head


def parse_command(
    raw: bytes, *, utf8: bool = False, state: ImapState | None = None
) -> Command | InvalidCommand:
    """Parse one complete command in wire form (literals inline) into its event.

    With ``state``, a command not valid in that state is an :class:`InvalidCommand` too.
    ``utf8`` (RFC 6855 ``UTF8=ACCEPT`` enabled) makes mailbox names UTF-8 instead of
    modified UTF-7.
    """
    head = parse_head(raw) if state is None else check_head(raw, state)
    if isinstance(head, InvalidCommand):
        return head
    name = head.name.removeprefix("UID ")
    p = _Parser(raw, head.end, utf8=utf8)
    try:
        command = _COMMANDS[name][1](p, head.tag, head.uid)
        p.end()
    except _ParseError as exc:
        return InvalidCommand(head.tag, f"{head.name}: {exc.reason}", exc.status, exc.code)
    return command


def decode_sasl(token: bytes) -> bytes | None:
    """Decode a SASL response line (RFC 3501 §6.2.2, RFC 4959 §3); ``None`` if malformed.

    ``=`` is the empty response (SASL-IR); otherwise strict base64 with padding.
    """
    if token == b"=":
        return b""
    if len(token) % 4:
        return None
    try:
        return base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
