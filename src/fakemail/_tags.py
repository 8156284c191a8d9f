"""Message tags (Mailpit's model): clean names, the tags a message arrives with, IMAP keywords.

A tag is a short label on an SMTP transaction. Mailpit allows letters, digits, ``-``, ``_``,
``.`` and single spaces; anything else becomes a space. A message arrives tagged by its
``X-Tags`` header (comma-separated) and by plus-addressing (``bob+invoice@example.com`` tags it
``invoice``), as Mailpit does. Tags that are valid IMAP keywords (RFC 3501 §9 ``flag-keyword``:
an atom, so no spaces) are mirrored to the mailbox copies as keywords by the store.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Iterable
from typing import Final

from fakemail._message import Envelope, field_values, header_block

_HEADERS: Final = email.parser.BytesHeaderParser(policy=email.policy.default)

__all__ = ["clean_tag", "clean_tags", "initial_tags", "is_keyword", "sorted_tags"]

_INVALID: Final = re.compile(r"[^a-zA-Z0-9\-_. ]")
_SPACES: Final = re.compile(r" {2,}")
#: Longest tag kept; longer names are cut (a tag is a label, not a place for data).
MAX_TAG_LENGTH: Final = 100
_PLUS: Final = re.compile(r"^[^@+]+\+([^@]+)@")
_X_TAGS: Final = re.compile(rb"(?im)^x-tags[ \t]*:")
# RFC 3501 §9: atom-specials are "(" ")" "{" SP CTL list-wildcards quoted-specials
# resp-specials; a keyword must not start with "\" (those are system flags).
_ATOM: Final = re.compile(r"^[^(){ %*\"\\\]\x00-\x1f\x7f]+$")


def clean_tag(name: str) -> str:
    """``name`` as a tag: invalid characters become spaces, runs of spaces one, trimmed."""
    return _SPACES.sub(" ", _INVALID.sub(" ", name)).strip()[:MAX_TAG_LENGTH].strip()


def sorted_tags(names: Iterable[str]) -> tuple[str, ...]:
    """Tags without empty ones and duplicates (compared case-insensitively, the first spelling
    kept), sorted case-insensitively."""
    seen: dict[str, str] = {}
    for tag in names:
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return tuple(sorted(seen.values(), key=str.lower))


def clean_tags(names: Iterable[str]) -> tuple[str, ...]:
    """Tags given over HTTP or in ``X-Tags``: each cleaned (:func:`clean_tag`), then as
    :func:`sorted_tags`."""
    return sorted_tags(clean_tag(name) for name in names)


def is_keyword(tag: str) -> bool:
    """Whether ``tag`` can be an IMAP keyword (an atom that is not a system flag)."""
    return bool(_ATOM.match(tag))


def initial_tags(raw: bytes, envelope: Envelope) -> tuple[str, ...]:
    """The tags a message arrives with: its ``X-Tags`` header and plus-addressed recipients.

    Cheap when there are none (the common case): the headers are parsed only if the raw header
    block names ``X-Tags``.
    """
    names: list[str] = []
    for address in envelope.recipients:
        match = _PLUS.match(address)
        if match:
            names.append(match.group(1))
    head = header_block(raw)
    if _X_TAGS.search(head):
        parsed = _HEADERS.parsebytes(head)
        for value in field_values(parsed, "X-Tags"):
            names.extend(value.split(","))
    return clean_tags(names) if names else ()
