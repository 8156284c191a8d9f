"""What SORT and THREAD order messages by (RFC 5256 §2, RFC 5957), computed once per message.

Messages are immutable, so each value is kept in ``message.derived()``: the base subject
(§2.1, with whether it was a reply or forward), the sent date (§2.2), the first address of a
field (``addr-mailbox`` for FROM/TO/CC, the RFC 5957 display value for DISPLAYFROM/DISPLAYTO)
and the message IDs THREAD=REFERENCES links by.

Strings are compared by the ``i;ascii-casemap`` collation RFC 5256 §5 makes the default
(upper-cased, then by octet, which Python's ``str`` order is for UTF-8 text); the empty
string sorts first.
"""

from __future__ import annotations

import email.header
import re
from datetime import datetime, timezone
from typing import Final

from fakemail._imap._cache import mime_index
from fakemail._imap._structure import parse_address_list
from fakemail._message import Message

__all__ = [
    "base_subject",
    "display_address",
    "first_mailbox",
    "is_reply",
    "message_ids",
    "sent_date",
    "subject_key",
]

_KEY: Final = "fakemail.imap.sort."

_BLANKS = re.compile(r"[ \t\r\n]+")
# RFC 5256 §5: subj-leader = (*subj-blob subj-refwd) / WSP, and subj-refwd, subj-blob.
_BLOB = r"\[[^\[\]]*\] *"
_LEADER = re.compile(rf"(?:{_BLOB})*(?:re|fwd?) *(?:{_BLOB})?:| ", re.IGNORECASE)
_BLOB_PREFIX = re.compile(_BLOB)
_FWD_HDR: Final = "[fwd:"
_FWD_TRAILER: Final = "(fwd)"


def _decode_words(value: str) -> str:
    """RFC 5256 §2.1 (1): encoded words decoded (best effort: raw text when they are bad)."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:  # unknown charset, malformed word: sort the raw text
        return value


def base_subject(subject: str) -> tuple[str, bool]:
    """The base subject of RFC 5256 §2.1 (not yet case-mapped), and whether extracting it
    removed a reply or forward marker (``re:``, ``fwd:``, ``(fwd)``, ``[fwd: ...]``)."""
    text = _BLANKS.sub(" ", _decode_words(subject))
    marked = False
    while True:
        # (2) trailers: "(fwd)" and blanks at the end.
        while True:
            if text.endswith(" "):
                text = text[:-1]
            elif text[-5:].lower() == _FWD_TRAILER:
                text = text[:-5]
                marked = True
            else:
                break
        # (3)-(5) leaders, and a leading blob that leaves a non-empty base.
        while True:
            changed = False
            while (m := _LEADER.match(text)) is not None and m.end():
                marked = marked or m.group() != " "
                text = text[m.end() :]
                changed = True
            m = _BLOB_PREFIX.match(text)
            if m is not None and text[m.end() :].strip(" "):
                text = text[m.end() :]
                changed = True
            if not changed:
                break
        # (6) "[fwd: subject]": unwrap and start again.
        if text[:5].lower() == _FWD_HDR and text.endswith("]"):
            text = text[5:-1]
            marked = True
            continue
        return text, marked


def _subject(message: Message) -> tuple[str, bool]:
    def compute(m: Message) -> tuple[str, bool]:
        raw = mime_index(m).fields.get("subject", "")
        text, marked = base_subject(raw)
        return text.upper(), marked

    return message.derived(_KEY + "subject", compute)


def subject_key(message: Message) -> str:
    """The base subject, case-mapped: SORT SUBJECT's value and THREAD's subject."""
    return _subject(message)[0]


def is_reply(message: Message) -> bool:
    """Whether the subject marks a reply or forward (RFC 5256 THREAD=REFERENCES step 5)."""
    return _subject(message)[1]


def sent_date(message: Message, internal_date: datetime) -> datetime:
    """RFC 5256 §2.2: the Date field in UTC, else the internal date."""

    def compute(m: Message) -> datetime | None:
        sent = m.date
        if sent is None:
            return None
        if sent.tzinfo is None:  # "-0000" (RFC 5322 §3.3): UTC without a known zone
            sent = sent.replace(tzinfo=timezone.utc)
        return sent

    sent = message.derived(_KEY + "date", compute)
    if sent is not None:
        return sent
    if internal_date.tzinfo is None:
        return internal_date.replace(tzinfo=timezone.utc)
    return internal_date


def _addresses(message: Message, field: str) -> list[tuple[str | None, str, str | None]]:
    """``(display name, mailbox, host)`` of each address structure of the field: a group's
    start counts (its mailbox is the group name, its host ``None``, as in the ENVELOPE), as
    Dovecot sorts them; group ends do not."""

    def compute(m: Message) -> list[tuple[str | None, str, str | None]]:
        value = mime_index(m).fields.get(field)
        if not value:
            return []
        out: list[tuple[str | None, str, str | None]] = []
        for name, _adl, local, host in parse_address_list(value):
            if local is None:  # the end of a group (RFC 3501 §7.4.2)
                continue
            out.append((_text(name), _text(local) or "", _text(host)))
        return out

    return message.derived(_KEY + "addresses." + field, compute)


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def first_mailbox(message: Message, field: str) -> str:
    """SORT FROM/TO/CC: the ``addr-mailbox`` of the field's first address (RFC 5256 §3)."""
    found = _addresses(message, field)
    return found[0][1].upper() if found else ""


def display_address(message: Message, field: str) -> str:
    """SORT DISPLAYFROM/DISPLAYTO: RFC 5957 §3's value of the field's first address: its
    decoded display name, else ``mailbox@host``."""
    found = _addresses(message, field)
    if not found:
        return ""
    name, mailbox, host = found[0]
    if name:
        decoded = _decode_words(name)
        if decoded:
            return decoded.upper()
    if host and host != "MISSING_DOMAIN":
        return f"{mailbox}@{host}".upper()
    return mailbox.upper()


_MSG_ID = re.compile(r"<([^<>]*)>")
_CFWS_QUOTES = re.compile(r'[\s"]+')


def _ids(value: str) -> list[str]:
    """The valid message IDs in a field, normalized: ``<"a"@b>`` is ``a@b`` (RFC 5256 §3)."""
    out: list[str] = []
    for inner in _MSG_ID.findall(value):
        text = _CFWS_QUOTES.sub("", inner)
        local, at, domain = text.rpartition("@")
        if at and local and domain:
            out.append(text)
    return out


def message_ids(message: Message) -> tuple[str | None, tuple[str, ...]]:
    """THREAD=REFERENCES: the message's own ID and its references, oldest first (References,
    else the first ID of In-Reply-To)."""

    def compute(m: Message) -> tuple[str | None, tuple[str, ...]]:
        fields = mime_index(m).fields
        own = _ids(fields.get("message-id", ""))
        references = _ids(fields.get("references", ""))
        if not references:
            references = _ids(fields.get("in-reply-to", ""))[:1]
        return (own[0] if own else None), tuple(references)

    return message.derived(_KEY + "ids", compute)
