"""Modified UTF-7, the mailbox-name encoding of RFC 3501 §5.1.3.

Printable US-ASCII other than ``&`` stands for itself, ``&`` is ``&-``, and any other run of
characters is ``&`` + base64 of its UTF-16BE form (``,`` for ``/``, no padding) + ``-``.
Decoding is strict: only the canonical encoding of a name is accepted, so that one name has
one spelling on the wire (the RFC forbids encoding printable ASCII and non-zero pad bits).
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode_mailbox", "decode_utf7", "encode_mailbox", "encode_utf7"]

# Runs of characters that must be base64-encoded: anything outside 0x20-0x7e.
_NEEDS_SHIFT = re.compile(r"[^\x20-\x7e]+")
_SHIFTED = re.compile(r"&([^-]*)-")
_B64_CHARS = re.compile(r"[A-Za-z0-9+,]*")


def _encode_run(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-16-be")
    return "&" + base64.b64encode(raw).rstrip(b"=").decode("ascii").replace("/", ",") + "-"


def encode_utf7(name: str) -> str:
    """Encode ``name`` in modified UTF-7; :exc:`ValueError` for a lone surrogate."""
    try:
        return _NEEDS_SHIFT.sub(_encode_run, name.replace("&", "&-"))
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot encode {name!r}: {exc}") from None


def _decode_run(match: re.Match[str]) -> str:
    b64 = match.group(1)
    if not b64:
        return "&"
    if _B64_CHARS.fullmatch(b64) is None:
        raise ValueError(f"bad modified base64 {b64!r}")
    padded = b64.replace(",", "/") + "=" * (-len(b64) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
        return raw.decode("utf-16-be")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"bad modified base64 {b64!r}: {exc}") from None


def decode_utf7(text: str) -> str:
    """Decode modified UTF-7; :exc:`ValueError` unless ``text`` is its canonical encoding."""
    if _NEEDS_SHIFT.search(text) is not None:
        raise ValueError(f"modified UTF-7 is printable US-ASCII only: {text!r}")
    decoded = _SHIFTED.sub(_decode_run, text)
    # Canonical form only: rejects a bare "&", encoded printable ASCII, non-zero pad bits
    # and split runs (RFC 3501 §5.1.3 "MUST NOT ... represented in modified BASE64").
    if encode_utf7(decoded) != text:
        raise ValueError(f"not canonical modified UTF-7: {text!r}")
    return decoded


def encode_mailbox(name: str, *, utf8: bool = False) -> str:
    """The wire form of a mailbox name: modified UTF-7, or unchanged when UTF-8 is enabled."""
    return name if utf8 else encode_utf7(name)


def decode_mailbox(raw: bytes, *, utf8: bool = False) -> str:
    """The mailbox name a client sent as ``raw`` bytes (after astring decoding).

    With ``utf8`` (RFC 6855 ``UTF8=ACCEPT``) the bytes are UTF-8. Otherwise they are modified
    UTF-7; 8-bit bytes are taken as UTF-8 too, as IMAP4rev2 (RFC 9051 §5.1) clients send.
    ``INBOX`` in any case is ``"INBOX"`` (RFC 3501 §5.1). :exc:`ValueError` if undecodable.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"mailbox name is not UTF-8: {raw!r}") from None
    if not utf8 and raw.isascii():
        text = decode_utf7(text)
    if text.upper() == "INBOX":
        return "INBOX"
    return text
