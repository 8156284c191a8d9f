"""A message's parts as Mailpit lists them: the text and HTML bodies, attachments, inline parts.

Built on fakemail's MIME index (:mod:`fakemail._mime`, the one IMAP serves sections from):
byte offsets into the raw message, never raising, bounded in depth, and fast on hostile input
(10,000 parts) where the stdlib's ``policy.default`` parse takes many seconds.

Part IDs are IMAP section numbers (RFC 3501 §6.4.5: ``1``, ``1.2``...; the body of a message
that is not multipart is ``1``), which is also how Mailpit numbers them, so an IMAP client and
the HTTP API name a part alike. An encapsulated message (``message/rfc822``) is one attachment:
its own parts are not listed.
"""

from __future__ import annotations

import binascii
import codecs
import email.header
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, final

from fakemail._message import Message
from fakemail._mime import MimePart, index_message

__all__ = ["Bodies", "Part", "bodies", "content", "filename_of", "find_part", "parts"]

_KEY: Final = "web.parts"


@final
@dataclass(frozen=True, slots=True)
class Part:
    """One attachment or inline part."""

    part_id: str
    filename: str
    content_type: str
    content_id: str
    #: ``True``: shown inline (Content-ID or ``inline`` disposition); else an attachment.
    inline: bool
    #: Decoded size in bytes.
    size: int
    md5: str
    sha1: str
    sha256: str


@final
@dataclass(frozen=True, slots=True)
class Bodies:
    """The text and HTML bodies (``""`` when there is none) and the listed parts."""

    text: str
    html: str
    parts: tuple[Part, ...]


def _leaves(part: MimePart, prefix: str) -> Iterator[tuple[str, MimePart]]:
    if not part.children:
        yield prefix or "1", part
        return
    for number, child in enumerate(part.children, 1):
        yield from _leaves(child, f"{prefix}.{number}" if prefix else str(number))


def _decode_transfer(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        # Lenient, as mail readers are: characters outside the alphabet are skipped.
        cleaned = bytes(c for c in data if c in _BASE64)
        try:
            return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))
        except binascii.Error:
            return b""
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


_BASE64: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def content(raw: bytes, part: MimePart) -> bytes:
    """The decoded content of ``part`` (transfer encoding undone)."""
    return _decode_transfer(raw[part.body_start : part.end], part.encoding)


def _text(raw: bytes, part: MimePart) -> str:
    charset = part.param("charset") or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"  # an unknown charset: show the text anyway
    try:
        return content(raw, part).decode(charset, "replace")
    except Exception:  # a codec that fails in ways other than bad bytes
        return content(raw, part).decode("utf-8", "replace")


def filename_of(part: MimePart) -> str:
    """The file name of a part (Content-Disposition ``filename`` or Content-Type ``name``,
    RFC 2231 and RFC 2047 decoded), or ``""``."""
    name = None
    if part.disposition is not None:
        name = next((p.value for p in part.disposition.params if p.name == "filename"), None)
    name = name or part.param("name")
    if not name:
        return ""
    try:  # RFC 2047 encoded words, which many senders use in file names despite RFC 2231
        return str(email.header.make_header(email.header.decode_header(name)))
    except Exception:
        return name


def _walk(message: Message) -> Bodies:
    raw = message.raw
    root = index_message(raw)
    text: str | None = None
    html: str | None = None
    found: list[Part] = []
    for part_id, part in _leaves(root, ""):
        disposition = part.disposition.type if part.disposition is not None else None
        filename = filename_of(part)
        if part.maintype == "text" and disposition != "attachment" and not filename:
            if part.subtype == "plain" and text is None:
                text = _text(raw, part)
                continue
            if part.subtype == "html" and html is None:
                html = _text(raw, part)
                continue
            if disposition != "inline":
                continue  # a further body (another alternative), not a file
        content_id = (part.content_id or "").strip().strip("<>")
        inline = disposition == "inline" or (disposition is None and bool(content_id))
        data = content(raw, part)
        found.append(
            Part(
                part_id,
                filename,
                part.content_type,
                content_id,
                inline,
                len(data),
                hashlib.md5(data).hexdigest(),
                hashlib.sha1(data).hexdigest(),
                hashlib.sha256(data).hexdigest(),
            )
        )
    return Bodies(text or "", html or "", tuple(found))


def bodies(message: Message) -> Bodies:
    """The text and HTML bodies and the listed parts (computed once per message)."""
    return message.derived(_KEY, _walk)


def parts(message: Message) -> tuple[Part, ...]:
    """The attachments and inline parts, in order."""
    return bodies(message).parts


def find_part(message: Message, part_id: str) -> tuple[MimePart, bytes] | None:
    """Any leaf part by ID (listed or a body) and its decoded content, or ``None``."""
    for leaf_id, part in _leaves(index_message(message.raw), ""):
        if leaf_id == part_id:
            return part, content(message.raw, part)
    return None
