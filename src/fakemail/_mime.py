"""A MIME structure index over the exact raw bytes of a message, with byte offsets.

The stdlib :mod:`email` parser builds a tree but forgets where each part sits in the original
bytes, and IMAP ``BODY[section]`` must return byte-exact slices of the stored message. So this
module finds the header/body split and the multipart delimiters itself (RFC 2046 §5.1.1) and
records offsets, while header fields are parsed by the stdlib (a compat32-based policy), whose
``get_content_type()``, ``get_params()`` and RFC 2231 decoding we reuse. A header block that
is plainly a list of ``name: value`` fields is split into fields here and each field handed to
the policy, as the feedparser would; any other block goes through
:class:`email.parser.BytesHeaderParser` itself (the feedparser costs more than the rest of the
index together).

Conventions:

- Offsets are positions in the *top-level* raw bytes given to :func:`index_message`.
- Media types, subtypes, parameter names, the transfer encoding and the disposition type are
  case-insensitive tokens and are stored **lower-cased** (as the stdlib returns them).
  Everything else (parameter values, Content-ID, ...) is kept as sent.
- Header text is the raw field value (RFC 2047 encoded words are *not* decoded), unfolded, with
  surrounding blanks stripped. Non-ASCII octets are decoded as UTF-8; octets that are not valid
  UTF-8 become lone surrogates, so ``s.encode("utf-8", "surrogateescape")`` restores the bytes.
- Both CRLF and bare LF line endings are understood (also mixed in one message).
- Indexing never raises, whatever the input; malformed structure is indexed best effort.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32
from email.utils import collapse_rfc2231_value
from types import MappingProxyType

__all__ = [
    "ENCAPSULATING_SUBTYPES",
    "MAX_DEPTH",
    "Disposition",
    "MimeParam",
    "MimePart",
    "header_end",
    "index_message",
]

#: Nesting depth (multiparts and encapsulated messages) below which parts are not split any
#: further; deeper content is indexed as an opaque leaf. Keeps hostile input from recursing
#: without bound.
MAX_DEPTH = 64

#: Subtypes of ``message`` whose body is itself a message with its own MIME structure
#: (RFC 2046 §5.2.1, RFC 6532 §3.7).
ENCAPSULATING_SUBTYPES = frozenset({"rfc822", "global"})

_LF = 0x0A
_CR = 0x0D
# The lines of a header block: a field ("name:", also RFC 5322 §4.5's obsolete "name :"), a
# continuation (leading blank), or an mbox "From " line, as the stdlib's feedparser accepts
# them. The header ends at the first other line: a blank line (the separator, skipped) or
# anything else (the body's first line, kept), as in the feedparser.
_HEADER_LINES = re.compile(rb"(?:(?:From |[\x21-\x39\x3b-\x7e]*[ \t]*:|[ \t])[^\n]*(?:\n|\Z))*")
# The feedparser stops at "name :", so the copy it parses has that blank removed.
_OBS_FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# A header field in the common, unambiguous form: "name:" (no blank before the colon) and its
# continuation lines. A header block made only of these and its blank line, with no bare CR
# (which the feedparser takes as a line break), splits into the same fields in the
# feedparser, which is then not needed; anything else (a leading continuation, "From " lines,
# "name :", ":") goes to the feedparser. "." is anything but LF; every line must run to its
# LF (or the end), which keeps the split unique and backtracking linear.
_FIELD = r"[\x21-\x39\x3b-\x7e]+:.*(?:\n|\Z)(?:[ \t].*(?:\n|\Z))*"
_FIELD_TEXT = re.compile(_FIELD)
_FIELDS_BLOCK = re.compile(rf"(?:{_FIELD})*(?:\r?\n)?")


class _RawPolicy(Compat32):
    """compat32, but header values come back as the stored strings, never ``Header`` objects.

    compat32 wraps values holding 8-bit octets in ``Header(charset=unknown-8bit)``; we want the
    raw text (octets as surrogateescape) so we can decide the charset ourselves.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        """Return *value* unchanged."""
        return value


_POLICY = _RawPolicy()
_NO_FIELDS: Mapping[str, str] = MappingProxyType({})
_HEADER_PARSER = BytesHeaderParser(policy=_POLICY)


@dataclass(frozen=True, slots=True)
class MimeParam:
    """One Content-Type or Content-Disposition parameter.

    RFC 2231 continuations (``name*0``, ``name*1``...) are joined and RFC 2231 charset encoding
    (``name*=utf-8''%E2%82%AC``) is decoded into :attr:`value`; :attr:`charset` tells whether
    the parameter was sent in that extended form.
    """

    name: str
    """Lower-cased attribute name, without any RFC 2231 ``*`` / section suffix."""
    value: str
    """The value, unquoted and fully decoded."""
    charset: str | None = None
    """The RFC 2231 charset if the value was sent in extended (``name*=``) form, else None."""
    language: str | None = None
    """The RFC 2231 language tag of an extended value ('' when absent), else None."""


@dataclass(frozen=True, slots=True)
class Disposition:
    """A parsed Content-Disposition field (RFC 2183)."""

    type: str
    """Lower-cased disposition type, e.g. ``"attachment"``."""
    params: tuple[MimeParam, ...]
    """Its parameters, in the order they were sent."""


@dataclass(frozen=True, slots=True, eq=False)
class MimePart:
    """One node of the MIME tree: a whole message, a body part, or an encapsulated message.

    The header block is ``raw[start:body_start]`` (including the blank line that ends it, when
    there is one); the body is ``raw[body_start:end]``. Like the stdlib's parser, the header
    also ends at the first line that is not a header field or continuation (which then starts
    the body), so ``b"hello"`` is a message with an empty header and a 5-octet body. For a
    part of a multipart, the line break before the next delimiter belongs to the delimiter
    (RFC 2046 §5.1.1), so it is not part of ``end``.

    Parameters are in the order they were sent (an RFC 2231 parameter split into sections
    is placed where its first section was).
    """

    start: int
    """Offset of the first octet of the header block."""
    body_start: int
    """Offset of the first octet of the body (just after the blank line)."""
    end: int
    """Offset just past the last octet of the body."""
    fields: Mapping[str, str]
    """First occurrence of each header field: lower-cased name -> unfolded, stripped value."""
    maintype: str
    """Lower-cased media type, e.g. ``"text"``; defaulted per RFC 2045 §5.2 / RFC 2046 §5.1.5."""
    subtype: str
    """Lower-cased media subtype, e.g. ``"plain"``."""
    params: tuple[MimeParam, ...]
    """Content-Type parameters (empty when defaulted or none were given)."""
    content_id: str | None
    """Content-ID, as sent."""
    description: str | None
    """Content-Description, as sent (encoded words left encoded)."""
    encoding: str
    """Lower-cased Content-Transfer-Encoding; ``"7bit"`` when absent (RFC 2045 §6.1)."""
    lines: int
    """Number of text lines in the body (a last line without a line break counts)."""
    md5: str | None
    """Content-MD5, as sent."""
    disposition: Disposition | None
    """Content-Disposition, or None when absent or empty."""
    language: tuple[str, ...]
    """Content-Language tags, as sent (empty when absent)."""
    location: str | None
    """Content-Location, as sent."""
    children: tuple[MimePart, ...]
    """The body parts of a multipart, in order (empty for anything else, and for a multipart
    in which no delimiter was found)."""
    message: MimePart | None
    """For message/rfc822 and message/global: the encapsulated message's own index (its
    ``start`` is this part's ``body_start``); None for every other type. An encapsulated
    message that is base64 or quoted-printable encoded (so cannot be indexed in place), or
    nested deeper than :data:`MAX_DEPTH`, is given as an opaque header-less text/plain part."""
    _raw: bytes = field(default=b"", repr=False)
    """The top-level message the offsets are in (to parse `headers` when first asked for)."""
    _default_type: str = field(default="text/plain", repr=False)
    """The type the part has when it has no Content-Type (see `headers`)."""
    _headers: Message | None = field(default=None, repr=False)
    """`headers`, once parsed."""

    @property
    def headers(self) -> Message:
        """The header block as parsed by the stdlib (compat32 semantics, raw string values).
        Shared, so do not modify it. Built when first asked for: ENVELOPE and BODYSTRUCTURE
        only need `fields` and the attributes above."""
        msg = self._headers
        if msg is None:
            msg = _header_message(self._raw, self.start, self.body_start, self._default_type)
            object.__setattr__(self, "_headers", msg)  # a cache: racing threads build equals
        return msg

    @property
    def size(self) -> int:
        """Size of the body in octets, in its transfer encoding."""
        return self.end - self.body_start

    @property
    def content_type(self) -> str:
        """``maintype/subtype``, lower-cased."""
        return f"{self.maintype}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        """True for a multipart in which at least one body part was found."""
        return bool(self.children)

    def param(self, name: str) -> str | None:
        """The decoded value of Content-Type parameter *name* (case-insensitive), or None."""
        name = name.lower()
        for p in self.params:
            if p.name == name:
                return p.value
        return None

    def walk(self) -> list[MimePart]:
        """This part and every part below it (children and encapsulated messages), depth-first."""
        out: list[MimePart] = []
        stack: list[MimePart] = [self]
        while stack:
            part = stack.pop()
            out.append(part)
            below = list(part.children)
            if part.message is not None:
                below.append(part.message)
            stack.extend(reversed(below))
        return out


def index_message(raw: bytes) -> MimePart:
    """Index the MIME structure of the message *raw* (never raises).

    The result is the root :class:`MimePart`, spanning ``raw[0:len(raw)]``.
    """
    return _index(raw, 0, len(raw), "text/plain", 0)


def _index(raw: bytes, start: int, end: int, default_type: str, depth: int) -> MimePart:
    body_start = header_end(raw, start, end)
    field_map, first, msg = _scan_header(raw, start, body_start)
    if msg is not None and default_type != "text/plain":
        msg.set_default_type(default_type)
    fields = MappingProxyType(field_map)

    ctype = first.get("content-type")
    content_type: str
    params: tuple[MimeParam, ...]
    if ctype is None:
        content_type, params = default_type, ()
    else:
        # RFC 5322 §2.2.3: unfold before the parameters are read (a quoted boundary may be
        # folded; the stdlib would keep the line break inside the value).
        content_type, params = _header_params("content-type", _unfold(ctype))
    maintype, _, subtype = content_type.partition("/")
    encoding = fields.get("content-transfer-encoding", "").lower() or "7bit"

    disposition: Disposition | None = None
    cdisp = first.get("content-disposition")
    if cdisp is not None:
        dtype, dparams = _header_params("content-disposition", _unfold(cdisp))
        dtype = dtype.strip()
        if dtype:
            disposition = Disposition(_text(dtype), dparams)

    language: tuple[str, ...] = ()
    if "content-language" in fields:
        language = tuple(t for t in (s.strip() for s in fields["content-language"].split(",")) if t)

    children: tuple[MimePart, ...] = ()
    message: MimePart | None = None
    if depth < MAX_DEPTH and maintype == "multipart":
        boundary = next((p.value for p in params if p.name == "boundary"), "")
        if boundary:
            # Multipart/digest changes the default type of its parts (RFC 2046 §5.1.5).
            child_default = "message/rfc822" if subtype == "digest" else "text/plain"
            children = tuple(
                _index(raw, a, b, child_default, depth + 1)
                for a, b in _split_multipart(raw, body_start, end, _octets(boundary))
            )
    if maintype == "message" and subtype in ENCAPSULATING_SUBTYPES:
        # An encapsulated message in base64/QP (allowed for message/global, RFC 6532 §3.7) is
        # not a message at these offsets, and past MAX_DEPTH we stop parsing: either way it
        # becomes an opaque body with no header fields, so callers always get a `message`.
        if depth < MAX_DEPTH and encoding not in ("base64", "quoted-printable"):
            message = _index(raw, body_start, end, "text/plain", depth + 1)
        else:
            message = _opaque(raw, body_start, end)

    return MimePart(
        start=start,
        body_start=body_start,
        end=end,
        fields=fields,
        maintype=_text(maintype),
        subtype=_text(subtype),
        params=params,
        content_id=fields.get("content-id"),
        description=fields.get("content-description"),
        encoding=encoding,
        lines=_count_lines(raw, body_start, end),
        md5=fields.get("content-md5"),
        disposition=disposition,
        language=language,
        location=fields.get("content-location"),
        children=children,
        message=message,
        _raw=raw,
        _default_type=default_type,
        _headers=msg,
    )


def _scan_header(
    raw: bytes, start: int, stop: int
) -> tuple[dict[str, str], dict[str, str], Message | None]:
    """`MimePart.fields` of the header block ``raw[start:stop]``, the raw value of the first
    occurrence of each field (by lower-cased name), and the parsed block when the feedparser
    had to be used (else None: `_header_message` builds it when asked)."""
    block = raw[start:stop]
    found = _split_fields(block.decode("ascii", "surrogateescape"))
    msg: Message | None
    pairs: Sequence[tuple[str, str]]
    if found is None:
        msg = _feedparse(block)
        pairs = msg.items()
    else:
        msg = None
        # Splitting and unfolding each field stays the stdlib's job. One multi-line string
        # parses like the list of its lines (they are concatenated).
        source_parse = _POLICY.header_source_parse
        pairs = [source_parse([f]) for f in found]
    fields: dict[str, str] = {}
    first: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        if key not in fields:
            first[key] = value
            value = _unfold(value).strip(" \t\r\n")
            fields[key] = value if value.isascii() else _text(value)
    return fields, first, msg


def _unfold(value: str) -> str:
    """A raw field value with its folding line breaks removed (RFC 5322 §2.2.3)."""
    return _FOLD.sub("", value) if "\n" in value else value


def _header_message(raw: bytes, start: int, stop: int, default_type: str) -> Message:
    """The header block ``raw[start:stop]`` as the stdlib's headers-only parser gives it."""
    block = raw[start:stop]
    found = _split_fields(block.decode("ascii", "surrogateescape"))
    if found is None:
        msg = _feedparse(block)
    else:
        # The fields are those the feedparser would find in this block; set_raw is how it
        # stores each one, and the (empty) rest of the block is its payload.
        msg = Message(policy=_POLICY)
        msg.set_payload("")
        source_parse = _POLICY.header_source_parse
        for f in found:
            msg.set_raw(*source_parse([f]))
    if default_type != "text/plain":
        msg.set_default_type(default_type)
    return msg


def _split_fields(text: str) -> list[str] | None:
    """The fields of the decoded header block *text*, each with its continuation lines and
    line breaks; None when the block holds anything but such fields and the blank line that
    ends it (see `_FIELD`)."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    if _FIELDS_BLOCK.fullmatch(text) is None:
        return None
    # A field cannot start with a blank, so the block splits into fields in only one way.
    return _FIELD_TEXT.findall(text)


def _feedparse(block: bytes) -> Message:
    """The header block parsed by the stdlib's feedparser (any input)."""
    try:
        if _OBS_FIELD_NAME.search(block):
            block = _OBS_FIELD_NAME.sub(rb"\1:", block)
        return _HEADER_PARSER.parsebytes(block)
    except Exception:  # pragma: no cover - the feedparser is lenient; this is a safety net
        return Message(policy=_POLICY)


def _opaque(raw: bytes, start: int, end: int) -> MimePart:
    """A header-less text/plain part spanning ``raw[start:end]``, without parsing anything."""
    return MimePart(
        start=start,
        body_start=start,
        end=end,
        fields=_NO_FIELDS,
        maintype="text",
        subtype="plain",
        params=(),
        content_id=None,
        description=None,
        encoding="7bit",
        lines=_count_lines(raw, start, end),
        md5=None,
        disposition=None,
        language=(),
        location=None,
        children=(),
        message=None,
        _headers=Message(policy=_POLICY),
    )


def header_end(raw: bytes, start: int, end: int) -> int:
    """Where the body of the part at ``raw[start:end]`` begins (see `_HEADER_LINES`)."""
    m = _HEADER_LINES.match(raw, start, end)
    pos = m.end() if m else start
    if raw.startswith(b"\n", pos, end):
        return pos + 1
    if raw.startswith(b"\r\n", pos, end):
        return pos + 2
    return pos


def _split_multipart(raw: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """(start, end) of each body part of the multipart body ``raw[start:end]``.

    RFC 2046 §5.1.1: a delimiter is ``--boundary`` at the start of a line, optionally followed
    by ``--`` (close delimiter) and transport padding (blanks), then the line break. The line
    break *before* it belongs to the delimiter. The preamble and epilogue are not parts. With
    no close delimiter, the last part runs to *end*.
    """
    dash = b"--" + boundary
    parts: list[tuple[int, int]] = []
    part_start = -1  # -1: still in the preamble
    pos = start
    while True:
        i = raw.find(dash, pos, end)
        if i < 0:
            break
        pos = i + 1
        if i != start and raw[i - 1] != _LF:
            continue
        j = i + len(dash)
        close = raw.startswith(b"--", j, end)
        k = j + 2 if close else j
        while k < end and raw[k] in b" \t":
            k += 1
        if k == end:
            line_end = end
        elif raw[k] == _LF:
            line_end = k + 1
        elif raw[k] == _CR and k + 1 < end and raw[k + 1] == _LF:
            line_end = k + 2
        else:
            continue  # "--boundaryX...": a longer boundary or text, not our delimiter
        if part_start >= 0:
            part_end = i
            if part_end > part_start and raw[part_end - 1] == _LF:
                part_end -= 1
                if part_end > part_start and raw[part_end - 1] == _CR:
                    part_end -= 1
            parts.append((part_start, part_end))
        if close:
            return parts
        part_start = pos = line_end
    if part_start >= 0:
        parts.append((part_start, end))
    return parts


def _count_lines(raw: bytes, start: int, end: int) -> int:
    n = raw.count(b"\n", start, end)
    if end > start and raw[end - 1] != _LF:
        n += 1
    return n


def _text(s: str) -> str:
    """Turn a compat32 string (octets as ASCII surrogateescape) into UTF-8-decoded text."""
    if s.isascii():
        return s
    try:
        octets = s.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already real text (e.g. a decoded RFC 2231 value)
        return s
    return octets.decode("utf-8", "surrogateescape")


def _octets(s: str) -> bytes:
    """The octets a compat32 string came from (best effort for other strings)."""
    try:
        return s.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def _header_params(name: str, value: str) -> tuple[str, tuple[MimeParam, ...]]:
    """For a Content-Type (*name* ``"content-type"``) or Content-Disposition field whose raw
    value is *value*: the stdlib's lower-cased type (``get_content_type()``,
    ``get_content_disposition()``) and the parameters."""
    # Both depend on the value alone, and a few values (text/plain; charset=utf-8) are most of
    # all mail: parsing them costs more than the rest of a part's index, so results are kept
    # (immutable, so shareable) in a bounded cache.
    key = (name, value)
    hit = _PARAMS_CACHE.get(key)
    if hit is None:
        msg = Message(policy=_POLICY)
        msg.set_raw(name, value)
        if name == "content-type":
            token = msg.get_content_type()
        else:
            token = msg.get_content_disposition() or ""
        hit = (token, _parse_params(msg, name))
        if len(value) <= _PARAMS_CACHE_VALUE:
            if len(_PARAMS_CACHE) >= _PARAMS_CACHE_SIZE:
                _PARAMS_CACHE.clear()
            _PARAMS_CACHE[key] = hit
    return hit


_PARAMS_CACHE: dict[tuple[str, str], tuple[str, tuple[MimeParam, ...]]] = {}
_PARAMS_CACHE_SIZE = 512
_PARAMS_CACHE_VALUE = 1000  # longest value kept: the cache stays small whatever the input


def _parse_params(msg: Message, header: str) -> tuple[MimeParam, ...]:
    """The parameters of the Content-Type-like field *header* of *msg*."""
    try:
        raw_params: Sequence[tuple[str, object]] | None = msg.get_params(header=header)
    except Exception:
        # compat32's RFC 2231 decoder raises on some malformed input (e.g. both "name*" and
        # "name*0"); the header registry's parser records defects instead.
        return _params_fallback(msg, header)
    if not raw_params:
        return ()
    out: list[MimeParam] = []
    # The first item is the type itself.
    for name, value in raw_params[1:]:
        name = _text(name.strip().lower())
        if not name:
            continue
        if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
            charset, language, _ = value
            out.append(
                MimeParam(
                    name,
                    _text(_collapse(value)),
                    _text(str(charset)),
                    _text(str(language or "")),
                )
            )
        else:
            if isinstance(value, tuple):  # RFC 2231 form without charset: plain text
                value = _collapse(value)
            out.append(MimeParam(name, _text(str(value))))
    if len(out) > 1 and "*" in (sent := str(msg.get(header, ""))):
        # The stdlib moves RFC 2231 parameters after the plain ones; put them back where
        # they were sent (by where each name first appears; a stable sort keeps ties).
        lowered = _text(sent).lower()

        def position(p: MimeParam) -> int:
            m = re.search(r";\s*" + re.escape(p.name) + r"\s*[*=]", lowered)
            return m.start() if m else len(lowered)

        out.sort(key=position)
    return tuple(out)


def _collapse(value: tuple[object, object, object]) -> str:
    try:
        return collapse_rfc2231_value(value)  # type: ignore[arg-type]
    except Exception:  # e.g. a charset name that is not ASCII makes the codec lookup raise
        return str(value[2])


def _params_fallback(msg: Message, header: str) -> tuple[MimeParam, ...]:
    try:
        parsed = email.policy.default.header_factory(header, _text(msg.get(header, "")))
        items = parsed.params.items()
        return tuple(MimeParam(str(k), str(v)) for k, v in items)
    except Exception:
        return ()
