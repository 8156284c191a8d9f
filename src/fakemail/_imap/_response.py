"""IMAP response values and response events, and their rendering to bytes.

The value model (:data:`ImapValue`) is what sessions put into responses:

* ``None`` -> ``NIL``
* ``int`` -> a number (``bool`` is refused: it is almost always a bug)
* :class:`Atom` (a ``str``) -> sent verbatim (``EXISTS``, ``\\Seen``, ``BODY[]``, ``1:4``)
* :class:`Mailbox` (a ``str``) -> a mailbox name: modified UTF-7 encoded (raw UTF-8 once
  ``UTF8=ACCEPT`` is enabled), then sent as a string
* ``str`` -> a quoted string when safe, otherwise a literal of its UTF-8 bytes
* ``bytes`` -> the same rule on the bytes
* :class:`LiteralData` (``bytes``) -> always a literal: message content (``BODY[...]``,
  ``RFC822``), as Dovecot and Gmail send it, since many apps read imaplib's ``data[0][1]``
  and break on the short quoted form
* any other sequence (``tuple``/``list``) -> parenthesised, space separated
* :class:`Memo` -> exactly as its value, rendered once per mode and then kept

A string is *safe to quote* when it is at most :data:`MAX_QUOTED` long and holds no NUL, CR,
LF or (unless ``utf8``) 8-bit character; ``"`` and ``\\`` are escaped (RFC 3501 §4.3, §9
``quoted``). RFC 6855 §3 lets a server send UTF-8 in quoted strings once the client enabled
``UTF8=ACCEPT``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, Union, cast

from fakemail._exceptions import LocalProtocolError
from fakemail._imap._utf7 import encode_mailbox

__all__ = [
    "MAX_QUOTED",
    "Atom",
    "Continuation",
    "FetchData",
    "ImapValue",
    "LiteralData",
    "Mailbox",
    "Memo",
    "Response",
    "Tagged",
    "Untagged",
    "UntaggedStatus",
    "astring",
    "render_response",
    "render_value",
    "shown",
]

MAX_QUOTED = 1024
"""Longest string (in characters or bytes) sent quoted; longer ones are sent as literals."""


class Atom(str):
    """A response token sent verbatim: a keyword, flag, number set or section name."""

    __slots__ = ()


class LiteralData(bytes):
    """Bytes always sent as a literal, however short (message content)."""

    __slots__ = ()


class Mailbox(str):
    """A mailbox name: encoded in modified UTF-7 (RFC 3501 §5.1.3) unless UTF-8 is enabled."""

    __slots__ = ()


ImapValue: TypeAlias = Union[int, str, bytes, "Sequence[ImapValue]", "Memo", None]
"""A value in a response; see the module docstring for how each kind is rendered."""


@dataclass(frozen=True, slots=True, eq=False)
class Memo:
    """A value that keeps its rendering: for data sent again and again, such as a stored
    message's ENVELOPE or BODYSTRUCTURE. Sent exactly as :attr:`value` would be (also inside
    a list, where it is spaced as its value), but rendered only once per mode (plain, and
    ``utf8``). The value must not change."""

    value: ImapValue
    _ascii: bytes | None = field(default=None, init=False, repr=False)
    _utf8: bytes | None = field(default=None, init=False, repr=False)

    def render(self, *, utf8: bool = False) -> bytes:
        """The rendering of :attr:`value` (see :func:`render_value`), made on first use."""
        rendered = self._utf8 if utf8 else self._ascii
        if rendered is None:
            out: list[bytes] = []
            _render_into(out, self.value, utf8)
            rendered = b"".join(out)
            # A cache in a frozen object: threads racing here store equal bytes.
            object.__setattr__(self, "_utf8" if utf8 else "_ascii", rendered)
        return rendered

    @property
    def is_list(self) -> bool:
        """Whether the value is a parenthesised list (which matters for spacing in a list)."""
        kind = type(self.value)
        return kind is tuple or kind is list


@dataclass(frozen=True, slots=True)
class Tagged:
    """The tagged completion of a command: ``tag OK [code] text``."""

    tag: str
    status: Literal["OK", "NO", "BAD"]
    text: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Untagged:
    """An untagged data response: ``*`` then the values, space separated.

    ``Untagged((5, Atom("EXISTS")))`` renders ``* 5 EXISTS``;
    ``Untagged((Atom("FLAGS"), (Atom("\\\\Seen"),)))`` renders ``* FLAGS (\\Seen)``.
    """

    data: tuple[ImapValue, ...]


@dataclass(frozen=True, slots=True)
class UntaggedStatus:
    """An untagged status response: ``* OK [UIDVALIDITY 3] text``, ``* BYE ...``, greeting."""

    status: Literal["OK", "NO", "BAD", "BYE", "PREAUTH"]
    text: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Continuation:
    """A command continuation request: ``+ text`` (a literal, SASL challenge or IDLE)."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class FetchData:
    """One ``* seq FETCH (name value ...)`` response.

    ``items`` pairs a response name (sent verbatim, e.g. ``"BODY[HEADER]<0>"``) with its value.
    """

    seq: int
    items: tuple[tuple[str, ImapValue], ...]


Response: TypeAlias = Tagged | Untagged | UntaggedStatus | Continuation | FetchData
"""Anything a session sends through :meth:`ImapConnection.send`."""


_UNSAFE_BYTES = re.compile(rb"[\x00\r\n]")
_UNSAFE_BYTES_ASCII = re.compile(rb"[\x00\r\n\x80-\xff]")
_BAD_TEXT = re.compile(r"[\x00\r\n]")


def _quoted_bytes(data: bytes) -> bytes:
    if b"\\" in data or b'"' in data:
        data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + data + b'"'


def _mailbox(name: str, utf8: bool) -> str:
    try:
        return encode_mailbox(name, utf8=utf8)
    except ValueError as exc:
        raise LocalProtocolError(str(exc)) from None


def _render_into(out: list[bytes], value: ImapValue, utf8: bool) -> None:
    # Exact-type checks first: they are much cheaper than isinstance() against the
    # Sequence ABC, and FETCH ENVELOPE/BODYSTRUCTURE responses are thousands of small values.
    kind = type(value)
    if kind is tuple or kind is list:
        _render_list(out, cast("Sequence[ImapValue]", value), utf8)
    elif kind is Memo:
        out.append(cast(Memo, value).render(utf8=utf8))
    elif value is None:
        out.append(b"NIL")
    elif isinstance(value, str):
        if isinstance(value, Atom):
            out.append(value.encode())
            return
        text: str = _mailbox(value, utf8) if isinstance(value, Mailbox) else value
        _render_str(out, text, utf8)
    elif isinstance(value, bytes):
        unsafe_b = _UNSAFE_BYTES if utf8 else _UNSAFE_BYTES_ASCII
        if kind is not LiteralData and len(value) <= MAX_QUOTED and unsafe_b.search(value) is None:
            out.append(_quoted_bytes(value))
        else:
            out.append(b"{%d}\r\n%b" % (len(value), value))
    elif isinstance(value, int):
        if isinstance(value, bool):
            raise LocalProtocolError(f"bool {value!r} is not an IMAP value")
        out.append(b"%d" % value)
    elif isinstance(value, Sequence):
        _render_list(out, tuple(value), utf8)
    else:
        raise LocalProtocolError(f"{type(value).__name__} is not an IMAP value")


def _render_str(out: list[bytes], text: str, utf8: bool) -> None:
    """A (non-atom) string: quoted when safe, else a literal of its UTF-8 bytes."""
    # `_render_list` has a copy of this test for its items (a call per string costs).
    if (
        len(text) <= MAX_QUOTED
        and (utf8 or text.isascii())
        and "\r" not in text
        and "\n" not in text
        and "\x00" not in text
    ):
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        out.append(b'"' + text.encode() + b'"')
    else:
        data = text.encode("utf-8")
        out.append(b"{%d}\r\n%b" % (len(data), data))


def _render_list(out: list[bytes], items: Sequence[ImapValue], utf8: bool) -> None:
    """A parenthesised list. The commonest items (NIL, plain strings, numbers, nested lists)
    are rendered inline rather than through `_render_into`: an ENVELOPE is ~45 values."""
    append = out.append
    append(b"(")
    # RFC 3501 §9: adjacent parenthesised lists at the start of a list are not separated
    # ("(" 1*address ")", body-type-mpart = 1*body SP media-subtype); everything else is.
    first = True
    leading_lists = True
    item: Any
    for item in items:
        kind = type(item)
        if kind is tuple or kind is list or (kind is Memo and item.is_list):
            if not (first or leading_lists):
                append(b" ")
            if kind is Memo:
                append(item.render(utf8=utf8))
            else:
                _render_list(out, item, utf8)
        else:
            if not first:
                append(b" ")
            leading_lists = False
            if item is None:
                append(b"NIL")
            elif (
                kind is str
                and len(item) <= MAX_QUOTED
                and (utf8 or item.isascii())
                and "\r" not in item
                and "\n" not in item
                and "\x00" not in item
            ):  # the quoting rule of _render_str
                if "\\" in item or '"' in item:
                    item = item.replace("\\", "\\\\").replace('"', '\\"')
                append(f'"{item}"'.encode())
            elif kind is int:
                append(b"%d" % item)
            else:
                _render_into(out, item, utf8)
        first = False
    append(b")")


_ATOM_SAFE = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+")  # ATOM-CHAR, less "]"


def astring(text: str) -> str:
    """``text`` as an IMAP ``astring`` in wire form: itself if it is an atom, else quoted or
    a literal (for a client's name echoed inside a response token, such as a header field
    of ``BODY[HEADER.FIELDS (...)]``: never spliced in raw, RFC 3501 §9). "]" is left out
    of atoms here, where it would end the section for a lenient client."""
    if _ATOM_SAFE.fullmatch(text) is not None:
        return text
    return render_value(text).decode("utf-8")


def render_value(value: ImapValue, *, utf8: bool = False) -> bytes:
    """Render one value (see the module docstring); ``utf8`` once ``UTF8=ACCEPT`` is enabled."""
    out: list[bytes] = []
    _render_into(out, value, utf8)
    return b"".join(out)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(name: str, limit: int = 100) -> str:
    """A client's name (a mailbox, a charset) as free response text may quote it: response
    text is one line (RFC 3501 §9 ``text``), so controls are escaped (``\\n``), and a long
    name is cut at ``limit`` characters, never spliced in raw."""
    cut = name[:limit]
    if _CONTROL.search(cut) is not None:
        cut = _CONTROL.sub(lambda m: repr(m.group())[1:-1], cut)
    return cut + "..." if len(name) > limit else cut


def _check_text(text: str, what: str) -> None:
    if _BAD_TEXT.search(text) is not None:
        raise LocalProtocolError(f"{what} must not contain NUL, CR or LF: {text!r}")


def _resp_text(status: str, text: str, code: str | None) -> bytes:
    # resp-text = ["[" resp-text-code "]" SP] text (RFC 3501 §9)
    _check_text(text, "response text")
    parts = [status]
    if code is not None:
        _check_text(code, "response code")
        if "]" in code:
            raise LocalProtocolError(f"response code must not contain ']': {code!r}")
        parts.append(f"[{code}]")
    if text:
        parts.append(text)
    return " ".join(parts).encode("utf-8")


def render_response(response: Response, *, utf8: bool = False) -> bytes:
    """Render one response, CRLF included."""
    if isinstance(response, FetchData):
        out: list[bytes] = [b"* %d FETCH (" % response.seq]
        first = True
        for name, value in response.items:
            if first:
                first = False
            else:
                out.append(b" ")
            out.append(name.encode())
            out.append(b" ")
            _render_into(out, value, utf8)
        out.append(b")\r\n")
        return b"".join(out)
    if isinstance(response, Untagged):
        out = [b"*"]
        for value in response.data:
            out.append(b" ")
            _render_into(out, value, utf8)
        out.append(b"\r\n")
        return b"".join(out)
    if isinstance(response, Tagged):
        _check_text(response.tag, "tag")
        return (
            response.tag.encode()
            + b" "
            + _resp_text(response.status, response.text, response.code)
            + b"\r\n"
        )
    if isinstance(response, UntaggedStatus):
        return b"* " + _resp_text(response.status, response.text, response.code) + b"\r\n"
    if isinstance(response, Continuation):
        _check_text(response.text, "continuation text")
        return b"+ " + response.text.encode("utf-8") + b"\r\n"
    raise LocalProtocolError(f"not an IMAP response: {response!r}")
