"""Mailpit's search syntax: one parser for the API, the web UI and long-poll waits.

``parse(query)`` gives a :class:`Query`, a predicate over transactions (the message and its
read state and tags). The syntax is Mailpit's (its search-filters page; docs: HTTP API
reference):

* The query is split on blanks; double quotes group words into one term and are dropped
  (``to:"john doe"`` is the term ``to:john doe``). An unclosed quote runs to the end.
* Every term must match (AND); ``!`` or ``-`` before a term negates it (alone, they are text).
* A plain term is a case-insensitive substring of the message's search text: subject,
  addresses and names, Message-ID, the text body, the HTML body without tags, attachment
  names.
* ``from: to: cc: bcc: reply-to:`` (name or address in that field; Bcc includes the envelope
  recipients in neither To nor Cc), ``addressed:`` (any of them), ``subject:``,
  ``message-id:``: substrings, case-insensitive. ``tag:NAME``: that tag, whole name.
* ``is:read is:unread is:tagged has:attachment(s) has:inline(s)``.
* ``larger:N smaller:N``: size in bytes, with ``K``/``KB``/``M``/``MB`` (1024-based),
  strictly larger or smaller; a number that does not parse makes the term plain text.
* ``after:DATE before:DATE``: arrival time at or after / at or before DATE (``2026-01-31``,
  ``2026/01/31``, ``2026-01-31 13:45``, ISO 8601, RFC 5322 dates, ``01/31/2026`` US-style),
  read in ``tz`` when it has no zone (the server's local zone by default). A date that does
  not parse is ignored, as in Mailpit.

Prefixes are case-insensitive; an unknown prefix (``foo:bar``) is plain text.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final, final

from fakemail._message import Message
from fakemail._store import Transaction
from fakemail._web._parts import bodies

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "Query",
    "QueryError",
    "SearchFields",
    "fields",
    "parse",
    "parse_date",
    "tokenize",
]

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH: Final = 4096
#: Most terms in one query.
MAX_TERMS: Final = 64

_KEY: Final = "web.search"
_ADDRESS_FIELDS: Final = ("from", "to", "cc", "bcc", "reply-to")
_TAGS_RE: Final = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BLANKS: Final = re.compile(r"\s+")
_SIZE_RE: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*(k|kb|m|mb|b)?$", re.IGNORECASE)
_UNITS: Final = {None: 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}

Predicate = Callable[[Transaction], bool]


class QueryError(ValueError):
    """A query that cannot be searched with (too long, too many terms)."""


def tokenize(query: str) -> list[str]:
    """The terms of ``query``: split on blanks, double quotes grouping and then dropped."""
    terms: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for char in query:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                terms.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        terms.append("".join(current))
    return [term for term in terms if term]


@final
@dataclass(frozen=True, slots=True)
class SearchFields:
    """What a search reads of one message, lower-cased (kept on the message once built)."""

    #: Everything a plain term is looked for in.

    text: str
    addresses: dict[str, str]
    subject: str
    message_id: str
    attachments: bool
    inline: bool


def _fields(message: Message) -> SearchFields:
    headers = message.headers
    addresses = {name: " ".join(headers.get_all(name)).lower() for name in _ADDRESS_FIELDS}
    hidden = " ".join(message.bcc).lower()  # envelope recipients in neither To nor Cc
    addresses["bcc"] = f"{addresses['bcc']} {hidden}".strip()
    found = bodies(message)
    subject = " ".join(headers.get_all("Subject")).lower()
    message_id = " ".join(headers.get_all("Message-ID")).lower()
    names = " ".join(p.filename for p in found.parts).lower()
    html = _TAGS_RE.sub(" ", found.html).lower()
    # Blanks collapsed, so that a phrase matches across line breaks and removed markup.
    parts = [subject, *addresses.values(), message_id, found.text.lower(), html, names]
    text = _BLANKS.sub(" ", " ".join(parts))
    return SearchFields(
        text,
        addresses,
        subject,
        message_id,
        any(not p.inline for p in found.parts),
        any(p.inline for p in found.parts),
    )


def fields(message: Message) -> SearchFields:
    """The searchable fields of ``message`` (computed once per message)."""
    return message.derived(_KEY, _fields)


def _size(text: str) -> int | None:
    match = _SIZE_RE.match(text.strip())
    if not match:
        return None
    return int(float(match[1]) * _UNITS[match[2].lower() if match[2] else None])


_DATE_FORMATS: Final = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%b %d %Y",
)


def parse_date(text: str, tz: tzinfo | None) -> datetime | None:
    """A date as ``before:``/``after:`` read it, aware (``tz``, else local time), or ``None``."""
    text = text.strip().replace(",", " ")
    text = " ".join(text.split())
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _DATE_FORMATS:
            try:
                when = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if when is None:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz) if tz is not None else when.astimezone()
    return when


def _contains(get: Callable[[SearchFields], str], needle: str) -> Predicate:
    needle = needle.lower()
    return lambda t: needle in get(fields(t.message))


def _address_field(name: str) -> Callable[[SearchFields], str]:
    return lambda f: f.addresses[name]


def _term(term: str, tz: tzinfo | None) -> Predicate | None:
    """The predicate of one (not negated) term; ``None`` for a term that matches everything
    (a date that does not parse)."""
    prefix, colon, value = term.partition(":")
    key = prefix.lower()
    if colon and value:
        if key in _ADDRESS_FIELDS:
            return _contains(_address_field(key), value)
        if key == "addressed":
            return _contains(lambda f: " ".join(f.addresses.values()), value)
        if key == "subject":
            return _contains(lambda f: f.subject, value)
        if key == "message-id":
            return _contains(lambda f: f.message_id, value)
        if key == "tag":
            wanted = value.lower()
            return lambda t: any(tag.lower() == wanted for tag in t.tags)
        if key == "is":
            state = value.lower()
            if state == "read":
                return lambda t: t.read
            if state == "unread":
                return lambda t: not t.read
            if state == "tagged":
                return lambda t: bool(t.tags)
        if key == "has":
            kind = value.lower()
            if kind in ("attachment", "attachments"):
                return lambda t: fields(t.message).attachments
            if kind in ("inline", "inlines"):
                return lambda t: fields(t.message).inline
        if key in ("larger", "smaller"):
            size = _size(value)
            if size is not None:
                if key == "larger":
                    return lambda t: t.message.size > size
                return lambda t: t.message.size < size
        if key in ("before", "after"):
            when = parse_date(value, tz)
            if when is None:
                return None  # Mailpit ignores a date it cannot read
            if key == "after":
                return lambda t: t.message.received_at >= when
            return lambda t: t.message.received_at <= when
    return _contains(lambda f: f.text, _BLANKS.sub(" ", term))


@final
class Query:
    """A parsed query: ``query(transaction)`` says whether it matches."""

    __slots__ = ("_predicates", "text")

    def __init__(self, text: str, predicates: Sequence[Predicate]) -> None:
        #: The query as given.
        self.text = text
        self._predicates = tuple(predicates)

    def __call__(self, transaction: Transaction) -> bool:
        return all(predicate(transaction) for predicate in self._predicates)

    def select(self, transactions: Iterable[Transaction]) -> list[Transaction]:
        """The matching transactions, in the order given."""
        return [t for t in transactions if self(t)]

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def _negated(predicate: Predicate) -> Predicate:
    return lambda t: not predicate(t)


def parse(query: str, tz: tzinfo | None = None) -> Query:
    """Parse Mailpit's search syntax (see the module docstring) into a :class:`Query`.

    ``tz`` is the zone dates without one are read in (Mailpit's ``tz`` parameter); the
    server's local zone by default. Raises :class:`QueryError` for a query that is too long
    or has too many terms; anything else is a valid query.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    terms = tokenize(query)
    if len(terms) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} terms")
    predicates: list[Predicate] = []
    for term in terms:
        negate = len(term) > 1 and term[0] in "!-"
        predicate = _term(term[1:] if negate else term, tz)
        if predicate is not None:
            predicates.append(_negated(predicate) if negate else predicate)
    return Query(query, predicates)
