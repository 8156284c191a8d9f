"""What IMAP computes once per stored message and shares between sessions.

Messages are immutable, so each value is kept in ``message.derived()`` under a key of its own:
the MIME index, the ENVELOPE and BODY[STRUCTURE] renderings, and the decoded text SEARCH
matches against.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.header
import quopri
import re
from typing import Final

from fakemail._imap._response import ImapValue, Memo
from fakemail._imap._structure import body_structure, envelope, parse_address_list
from fakemail._message import Message
from fakemail._mime import MimePart, index_message

__all__ = [
    "address_texts",
    "body_text",
    "cached_body_structure",
    "cached_envelope",
    "header_text",
    "header_values",
    "mime_index",
]

# Keys of message.derived(): computed once per stored message, shared by every session.
_KEY_INDEX: Final = "fakemail.imap.index"


_KEY_ENVELOPE: Final = "fakemail.imap.envelope"


_KEY_BODYSTRUCTURE: Final = "fakemail.imap.bodystructure"


_KEY_BODY: Final = "fakemail.imap.body"


_KEY_BODY_TEXT: Final = "fakemail.imap.search.body"


_KEY_HEADER_TEXT: Final = "fakemail.imap.search.header"


_KEY_ADDRESSES: Final = "fakemail.imap.search.addresses."


def mime_index(message: Message) -> MimePart:
    """The MIME structure index of the message (byte offsets, for BODY[section])."""
    return message.derived(_KEY_INDEX, lambda m: index_message(m.raw))


def cached_envelope(message: Message) -> ImapValue:
    """The message's ENVELOPE (RFC 3501 §7.4.2)."""
    # A Memo: every later FETCH of the message sends the bytes rendered the first time.
    return message.derived(_KEY_ENVELOPE, lambda m: Memo(envelope(mime_index(m))))


def cached_body_structure(message: Message, extensible: bool) -> ImapValue:
    """BODYSTRUCTURE (``extensible``) or BODY (RFC 3501 §7.4.2)."""
    key = _KEY_BODYSTRUCTURE if extensible else _KEY_BODY
    return message.derived(key, lambda m: Memo(body_structure(mime_index(m), extensible)))


def _octets_text(value: str) -> str:
    """Index header text may carry undecodable octets as surrogates: make it plain text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


_FOLD = re.compile(r"\r?\n")


def _decode_header(value: str) -> str:
    """A raw field body, unfolded, RFC 2047 encoded words decoded (best effort)."""
    value = _octets_text(_FOLD.sub("", value)).strip()
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:  # unknown charset, malformed word: search the raw text instead
        return value


def _decode_body(raw: bytes, part: MimePart) -> str:
    data = raw[part.body_start : part.end]
    try:
        if part.encoding == "base64":
            data = base64.b64decode(data, validate=False)
        elif part.encoding == "quoted-printable":
            data = quopri.decodestring(data)
    except (binascii.Error, ValueError):
        pass  # search the encoded text: better than nothing
    charset = part.param("charset") or "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"
    return data.decode(charset, "replace")


def body_text(message: Message) -> str:
    """Decoded text of every text part (RFC 3501 §6.4.4 BODY), case-folded."""

    def compute(m: Message) -> str:
        texts = []
        for part in mime_index(m).walk():
            if not part.children and part.message is None and part.maintype == "text":
                texts.append(_decode_body(m.raw, part))
        return "\n".join(texts).casefold()

    return message.derived(_KEY_BODY_TEXT, compute)


def header_text(message: Message) -> str:
    """Every header field of the message, decoded, one per line, case-folded."""

    def compute(m: Message) -> str:
        headers = mime_index(m).headers
        return "\n".join(f"{k}: {_decode_header(v)}" for k, v in headers.items()).casefold()

    return message.derived(_KEY_HEADER_TEXT, compute)


_ADDRESS_FIELDS: Final = frozenset({"FROM", "TO", "CC", "BCC", "SENDER", "REPLY-TO"})


def address_texts(message: Message, name: str) -> list[str] | None:
    """What SEARCH FROM/TO/CC/BCC match for the address field ``name`` (upper-cased): one
    string per parsed address, ``Name <mailbox@host>`` with the display name decoded, and
    group names; ``None`` for a field that is not an address field.

    The parsed addresses, not the raw text: ``<a (comment) @ b>`` is ``a@b``, and a comment
    or group syntax is not part of an address (as Dovecot searches them).
    """
    if name not in _ADDRESS_FIELDS:
        return None

    def compute(m: Message) -> list[str]:
        texts: list[str] = []
        for raw in mime_index(m).headers.get_all(name) or []:
            unfolded = _octets_text(_FOLD.sub("", str(raw)))
            for display, _adl, local, host in parse_address_list(unfolded):
                if host is None:  # a group: its name starts it, (NIL NIL NIL NIL) ends it
                    if local is not None:
                        texts.append(_decode_header(_str(local)))
                    continue
                address = f"{_str(local)}@{_str(host)}"
                if display is None:
                    texts.append(address)
                else:
                    texts.append(f"{_decode_header(_str(display))} <{address}>")
        return [t.casefold() for t in texts]

    return message.derived(_KEY_ADDRESSES + name, compute)


def _str(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def header_values(message: Message, name: str) -> list[str]:
    """The decoded values of every ``name`` field of the message's top-level header."""
    values = mime_index(message).headers.get_all(name) or []
    return [_decode_header(str(v)) for v in values]
