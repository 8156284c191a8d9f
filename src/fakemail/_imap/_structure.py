"""IMAP ENVELOPE, BODYSTRUCTURE / BODY and ``BODY[section]`` data from a MIME index.

Pure functions over :class:`fakemail._mime.MimePart` trees (RFC 3501 §6.4.5 and §7.4.2,
RFC 9051 §6.4.5 and §7.5.2). Values are returned in the engine's value model
(:data:`ImapValue`): None is NIL, int a number, str/bytes a string, a sequence a
parenthesised list. The renderer chooses quoted string or literal.

Case conventions (RFC 3501's examples, as Cyrus and Gmail do): the case-insensitive tokens --
media type and subtype, parameter attribute names, transfer encoding, disposition type --
are sent in upper case (``"TEXT" "PLAIN" ("CHARSET" "utf-8")``); values are sent as given.

Note for the renderer: RFC 3501's grammar puts no SP between the leading bodies of a
multipart (``body-type-mpart = 1*body SP media-subtype``) nor between the addresses of an
address list (``"(" 1*address ")"``). Both are represented here as ordinary sequences whose
*leading* items are sequences; writing that leading run without separators gives the exact
grammar, while sequences later in a list (``body-fld-param SP body-fld-dsp``) keep their SP.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from typing import Final, TypeAlias
from urllib.parse import quote

from fakemail._mime import MimeParam, MimePart

__all__ = [
    "Address",
    "ImapValue",
    "NString",
    "body_structure",
    "envelope",
    "find_part",
    "parse_address_list",
    "partial",
    "section",
]

ImapValue: TypeAlias = "int | str | bytes | Sequence[ImapValue] | None"
"""None -> NIL, int -> number, str/bytes -> string, sequence -> parenthesised list."""

NString: TypeAlias = "str | bytes | None"
"""An IMAP nstring: None is NIL."""
Address: TypeAlias = "tuple[NString, NString, NString, NString]"
"""An address structure: ``(name, adl, mailbox, host)``."""

# What Dovecot sends for a multipart with no body part at all: `1*body` forbids zero bodies.
_EMPTY_BODY: tuple[ImapValue, ...] = (
    "TEXT",
    "PLAIN",
    ("CHARSET", "US-ASCII"),
    None,
    None,
    "7BIT",
    0,
    0,
)
_GROUP_END: Address = (None, None, None, None)
# RFC 3501 §7.4.2: a NIL host marks group syntax (start of group with a mailbox name, end
# without), so an address written without a domain ("root", "Postmaster <postmaster>") must
# have some host, or a client reads it as the start of a group that never ends. Dovecot's
# placeholder, which clients already know.
_MISSING_HOST: Final = "MISSING_DOMAIN"


# --------------------------------------------------------------------------- strings


def _ns(s: str | None) -> NString:
    """An nstring from index text: str, or the original octets when they were not UTF-8."""
    if s is None or s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates stand for octets that were not UTF-8
        return (
            s.encode("utf-8", "surrogateescape") if _escapable(s) else s.encode("utf-8", "replace")
        )
    return s


def _escapable(s: str) -> bool:
    try:
        s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


# --------------------------------------------------------------------------- ENVELOPE


def envelope(msg: MimePart) -> tuple[ImapValue, ...]:
    """The ENVELOPE of the message *msg* (a root or encapsulated message), RFC 3501 §7.4.2.

    ``(date subject from sender reply-to to cc bcc in-reply-to message-id)``. Header values
    are the raw, unfolded field bodies: RFC 2047 encoded words are left encoded. Absent Date,
    Subject, In-Reply-To, Message-ID are NIL, present-but-empty ones "". Absent or empty
    address fields are NIL, except Sender and Reply-To which then repeat From.
    """
    f = msg.fields
    from_ = _address_field(f.get("from"))
    return (
        _ns(f.get("date")),
        _ns(f.get("subject")),
        from_,
        _address_field(f.get("sender")) or from_,
        _address_field(f.get("reply-to")) or from_,
        _address_field(f.get("to")),
        _address_field(f.get("cc")),
        _address_field(f.get("bcc")),
        _ns(f.get("in-reply-to")),
        _ns(f.get("message-id")),
    )


def _address_field(value: str | None) -> tuple[Address, ...] | None:
    if not value:
        return None
    return parse_address_list(value) or None


# A token: (kind, value, raw, space_before). Kinds: "atom", "quoted" (value unescaped, raw
# with quotes), "comment" (value = inner text), "literal" (domain literal), or a special
# character itself ("<", ">", "@", ",", ";", ":", ".").
_Token: TypeAlias = "tuple[str, str, str, bool]"


_TOKEN = re.compile(
    r"""
      (?P<ws>[ \t\r\n]+)
    | "(?P<quoted>(?:[^"\\]|\\.)*)"?        # an unterminated quote runs to the end
    | (?P<literal>\[[^\]]*\]?)
    | (?P<special>[<>@,;:.])
    | (?P<atom>[^ \t\r\n"()\[\]<>@,;:.\\]+)
    | (?P<comment>\()
    | (?P<junk>.)                             # stray ")", "]" or "\\": dropped
    """,
    re.VERBOSE | re.DOTALL,
)
_WORDS = frozenset({"atom", "quoted", "literal", "."})
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _tokenize(s: str) -> list[_Token]:
    """Split an RFC 5322 address-list field body into tokens; never fails."""
    tokens: list[_Token] = []
    pos, n = 0, len(s)
    space = False
    match = _TOKEN.match
    while pos < n:
        m = match(s, pos)
        assert m is not None  # the last alternative matches any character
        kind = m.lastgroup
        pos = m.end()
        if kind == "ws" or kind == "junk":
            space = space or kind == "ws"
        elif kind == "atom":
            tokens.append(("atom", m.group(), m.group(), space))
            space = False
        elif kind == "special":
            c = m.group()
            tokens.append((c, c, c, space))
            space = False
        elif kind == "quoted":
            raw = m.group()
            value = m.group("quoted")
            if "\\" in value:
                value = _QUOTED_PAIR.sub(r"\1", value)
            tokens.append(
                ("quoted", value, raw if raw.endswith('"') and len(raw) > 1 else raw + '"', space)
            )
            space = False
        elif kind == "literal":
            tokens.append(("literal", m.group(), m.group(), space))
            space = False
        else:  # comment: may nest and contain quoted-pairs (RFC 5322 §3.2.2)
            depth, j = 1, pos
            buf: list[str] = []
            while j < n:
                ch = s[j]
                if ch == "\\" and j + 1 < n:
                    j += 1
                    ch = s[j]
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                buf.append(ch)
                j += 1
            text = "".join(buf)
            tokens.append(("comment", text, text, space))
            space = True  # a comment separates words like whitespace (CFWS)
            pos = j + 1
    return tokens


def parse_address_list(value: str) -> tuple[Address, ...]:
    """Parse an address-list field body into IMAP address structures (RFC 3501 §7.4.2).

    Each address is ``(name, adl, mailbox, host)``. A group ``name: a, b;`` becomes
    ``(None, None, "name", None)``, its members, then ``(None, None, None, None)``. Display
    names are unquoted but otherwise raw (encoded words stay encoded); when there is none, a
    comment after a bare address (``a@b (Name)``) is used, as Dovecot does (never one inside
    ``<...>``). The local part is kept as written (quotes
    included) so that ``mailbox@host`` is the address. An address without a domain gets the
    host ``MISSING_DOMAIN`` (a NIL host would mark a group). Nothing that cannot be made into
    an address is returned; this never raises.

    The stdlib cannot do this: ``email.utils.getaddresses`` drops group names, and
    ``email.headerregistry`` decodes encoded words and is slow.
    """
    if _HARD.search(value) is None:
        fast = _parse_simple(value)
        if fast is not None:
            return fast
    return _parse_full(value)


# Simple lists (no quotes, comments, groups, routes or literals) are the common case and are
# parsed by one regex per address; the result is the same as the full parser's. The two forms
# are told apart by "<", so that a bare address is not first tried as "name <addr>".
_HARD = re.compile(r'["():;\\\[\]\r\n]')
_SIMPLE_ANGLE = re.compile(
    r"[ \t]*(?:([^\s<>@,]+(?:[ \t]+[^\s<>@,]+)*)[ \t]*)?<([^\s<>@,]+)@([^\s<>@,]+)>[ \t]*"
)
_SIMPLE_BARE = re.compile(r"[ \t]*([^\s<>@,]+)@([^\s<>@,]+)[ \t]*")
_BLANKS = re.compile(r"[ \t]+")


def _parse_simple(value: str) -> tuple[Address, ...] | None:
    out: list[Address] = []
    for item in value.split(","):
        if "<" in item:
            m = _SIMPLE_ANGLE.fullmatch(item)
            if m is None:
                return None
            name, local, host = m.groups()
            if name is not None:
                if "  " in name or "\t" in name:  # else there is no run of blanks to collapse
                    name = _BLANKS.sub(" ", name)
                if not name.isascii():
                    name = _ns(name)
            out.append(
                (
                    name,
                    None,
                    local if local.isascii() else _ns(local),
                    host if host.isascii() else _ns(host),
                )
            )
        else:
            m = _SIMPLE_BARE.fullmatch(item)
            if m is None:
                if item.strip(" \t"):
                    return None
                continue
            local, host = m.groups()
            out.append(
                (
                    None,
                    None,
                    local if local.isascii() else _ns(local),
                    host if host.isascii() else _ns(host),
                )
            )
    return tuple(out)


def _parse_full(value: str) -> tuple[Address, ...]:
    out: list[Address] = []
    segment: list[_Token] = []
    in_group = False
    in_angle = False
    for tok in _tokenize(value):
        kind = tok[0]
        if kind == "<":
            in_angle = True
        elif kind == ">":
            in_angle = False
        elif not in_angle and kind in ",;:":
            if kind == ":" and not in_group:
                out.append((None, None, _ns(_phrase(segment)), None))
                in_group = True
                segment = []
                continue
            if kind in ",;":
                addr = _mailbox(segment)
                if addr is not None:
                    out.append(addr)
                segment = []
                if kind == ";" and in_group:
                    out.append(_GROUP_END)
                    in_group = False
                continue
        segment.append(tok)
    addr = _mailbox(segment)
    if addr is not None:
        out.append(addr)
    if in_group:  # a group without its closing ";"
        out.append(_GROUP_END)
    return tuple(out)


def _phrase(tokens: Sequence[_Token]) -> str:
    """A display name or group name: words joined with single spaces where CFWS separated them."""
    words: list[str] = []
    for kind, value, _raw, space in tokens:
        if kind == "comment":
            continue
        if space and words:
            words.append(" ")
        words.append(value)
    return "".join(words).strip()


def _mailbox(segment: list[_Token]) -> Address | None:
    # Only a comment after a bare addr-spec names it ("a@b (Name)", as Dovecot reads it); a
    # comment inside "<...>" or between words is CFWS, not a display name.
    trailing = 0
    while trailing < len(segment) and segment[-1 - trailing][0] == "comment":
        trailing += 1
    comments = [t[1].strip() for t in segment[len(segment) - trailing :]]
    tokens = [t for t in segment if t[0] != "comment"]
    if not tokens:
        return None
    adl: str | None = None
    name: str | None
    kinds = [t[0] for t in tokens]
    if "<" in kinds:
        lt = kinds.index("<")
        gt = kinds.index(">", lt) if ">" in kinds[lt:] else len(tokens)
        name = _phrase(tokens[:lt]) or None
        inner = tokens[lt + 1 : gt]
        colons = [i for i, t in enumerate(inner) if t[0] == ":"]
        if colons:  # obs-route "<@a,@b:user@host>" (RFC 5322 §4.4)
            adl = "".join(t[2] for t in inner[: colons[-1]]) or None
            inner = inner[colons[-1] + 1 :]
    else:
        name = None
        inner = tokens
        if comments and comments[-1]:
            name = comments[-1]
    # Stray specials ("<", ":", a second "@"...) are not part of an addr-spec: drop them.
    kinds = [t[0] for t in inner]
    at = kinds.index("@") if "@" in kinds else len(inner)
    local = _join_raw([t for t in inner[:at] if t[0] in _WORDS]) or None
    host = _join_raw([t for t in inner[at + 1 :] if t[0] in _WORDS]) or _MISSING_HOST
    if local is None:
        return None  # e.g. "<>" or a lone "@host": nothing to address
    return (_ns(name), _ns(adl), _ns(local), _ns(host))


def _join_raw(tokens: Sequence[_Token]) -> str:
    """Local part or domain as written, minus CFWS (a space kept only between two words)."""
    parts: list[str] = []
    prev = ""
    for kind, _value, raw, space in tokens:
        if space and parts and kind != "." and prev != ".":
            parts.append(" ")
        parts.append(raw)
        prev = kind
    return "".join(parts)


# --------------------------------------------------------------------------- BODYSTRUCTURE


def body_structure(part: MimePart, extensible: bool = True) -> tuple[ImapValue, ...]:
    """BODYSTRUCTURE (``extensible=True``) or BODY (``False``) of *part*, RFC 3501 §7.4.2.

    A multipart is ``(body body ... "SUBTYPE" [params disposition language location])``; any
    other part is ``("TYPE" "SUBTYPE" params id description "ENCODING" size ...)`` followed
    by the line count for TEXT, ``envelope body lines`` for MESSAGE/RFC822 (and GLOBAL), and
    with ``extensible`` by ``md5 disposition language location``. Text parts without a
    charset get ``("CHARSET" "US-ASCII")`` (RFC 2046 §4.1.2). RFC 2231 parameters come with
    continuations joined: a plain one as ``"NAME" "value"``, an extended one re-encoded as
    ``"NAME*" "utf-8'lang'%XX..."`` (RFC 9051 §7.5.2), which keeps the string 7-bit.
    """
    if part.maintype == "multipart":
        bodies: list[ImapValue] = [body_structure(c, extensible) for c in part.children]
        if not bodies:  # `1*body`: a multipart with no parts still needs one
            bodies.append((*_EMPTY_BODY, None, None, None, None) if extensible else _EMPTY_BODY)
        out = [*bodies, _ns(part.subtype.upper())]
        if extensible:
            out += [_param_list(part.params), *_ext_tail(part)]
        return tuple(out)

    out = [
        _ns(part.maintype.upper()),
        _ns(part.subtype.upper()),
        _param_list(part.params, default_charset=part.maintype == "text"),
        _ns(part.content_id),
        _ns(part.description),
        _ns(part.encoding.upper()),
        part.size,
    ]
    if part.message is not None:  # message/rfc822 or message/global
        out += [envelope(part.message), body_structure(part.message, extensible), part.lines]
    elif part.maintype == "text":
        out.append(part.lines)
    if extensible:
        out += [_ns(part.md5), *_ext_tail(part)]
    return tuple(out)


def _ext_tail(part: MimePart) -> list[ImapValue]:
    """body-fld-dsp, body-fld-lang, body-fld-loc."""
    dsp: ImapValue = None
    if part.disposition is not None:
        dsp = (_ns(part.disposition.type.upper()), _param_list(part.disposition.params))
    lang: ImapValue = None
    if len(part.language) == 1:
        lang = _ns(part.language[0])
    elif part.language:
        lang = tuple(_ns(t) for t in part.language)
    return [dsp, lang, _ns(part.location)]


def _param_list(
    params: Sequence[MimeParam], default_charset: bool = False
) -> tuple[ImapValue, ...] | None:
    out: list[ImapValue] = []
    if default_charset and not any(p.name == "charset" for p in params):
        out += ["CHARSET", "US-ASCII"]
    for p in params:
        if p.charset is None:
            out += [_ns(p.name.upper()), _ns(p.value)]
        else:
            out += [_ns(p.name.upper() + "*"), _extended_value(p)]
    return tuple(out) or None


def _extended_value(p: MimeParam) -> NString:
    """``charset'language'%XX`` for an RFC 2231 extended value, converted to UTF-8 when the
    charset is known (RFC 9051 §7.5.2), else kept in its own charset."""
    charset = p.charset or ""
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):  # unknown, or not even ASCII
        # The stdlib hands back undecodable values as one character per octet.
        try:
            octets = p.value.encode("latin-1")
        except UnicodeEncodeError:
            octets = p.value.encode("utf-8", "surrogatepass")
    else:
        charset = "utf-8"
        octets = p.value.encode("utf-8", "surrogatepass")
    return _ns(f"{charset}'{p.language or ''}'{quote(octets, safe='')}")


# --------------------------------------------------------------------------- BODY[section]


def _subparts(node: MimePart, is_message: bool) -> tuple[MimePart, ...]:
    """The parts numbered 1, 2, ... below *node* (RFC 3501 §6.4.5)."""
    if node.children:
        return node.children
    if is_message:
        # A non-multipart message has exactly one part: its body.
        return (node,)
    if node.message is not None:
        # A MESSAGE/RFC822 part's numbers reach into the encapsulated message.
        return _subparts(node.message, True)
    return ()


def find_part(root: MimePart, path: Sequence[int]) -> MimePart | None:
    """The body part that the section part numbers *path* (e.g. ``(4, 2, 1)``) designate.

    ``()`` is *root* itself. Part 1 of a non-multipart message is the message itself (its
    body); numbers below a MESSAGE/RFC822 part address the encapsulated message's parts.
    Returns None when there is no such part.
    """
    node = root
    is_message = True
    for n in path:
        parts = _subparts(node, is_message)
        if not 1 <= n <= len(parts):
            return None
        node = parts[n - 1]
        is_message = False
    return node


def section(
    raw: bytes,
    root: MimePart,
    part: Sequence[int] = (),
    specifier: str = "",
    fields: Sequence[str] = (),
) -> bytes:
    """The exact bytes of ``BODY[section]`` (RFC 3501 §6.4.5), as a slice of *raw*.

    *root* is ``index_message(raw)``; *part* the section's part numbers (``(1, 2)`` for
    ``1.2``); *specifier* one of ``""``, ``"HEADER"``, ``"HEADER.FIELDS"``,
    ``"HEADER.FIELDS.NOT"``, ``"TEXT"``, ``"MIME"`` (any case); *fields* the field names of
    ``HEADER.FIELDS[.NOT]`` (matched ASCII case-insensitively).

    ``""`` is the whole message, or with part numbers that part's body (for a MESSAGE/RFC822
    part, the whole encapsulated message). ``MIME`` is the part's own header block; HEADER,
    HEADER.FIELDS[.NOT] and TEXT apply to the message itself or, after part numbers, to the
    encapsulated message of a MESSAGE/RFC822 part. Header sections include the blank line
    that ends the header, when the message has one; folded fields keep their continuation
    lines.

    A part that does not exist, and a specifier that does not apply (``MIME`` without part
    numbers, ``HEADER``/``TEXT`` after a part that is not MESSAGE/RFC822), give ``b""``: the
    RFC says a non-existent section is returned as an empty string. ``<partial>`` is the
    caller's job (see :func:`partial`), applied to the bytes returned here.
    """
    spec = specifier.upper()
    if part:
        node = find_part(root, part)
        if node is None:
            return b""
        if spec == "":
            return raw[node.body_start : node.end]
        if spec == "MIME":
            return raw[node.start : node.body_start]
        if node.message is None:
            return b""
        msg = node.message
    else:
        if spec == "":
            return raw[root.start : root.end]
        msg = root
    if spec == "HEADER":
        return raw[msg.start : msg.body_start]
    if spec == "TEXT":
        return raw[msg.body_start : msg.end]
    if spec == "HEADER.FIELDS":
        return _header_fields(raw, msg, fields, exclude=False)
    if spec == "HEADER.FIELDS.NOT":
        return _header_fields(raw, msg, fields, exclude=True)
    return b""


def _header_fields(raw: bytes, msg: MimePart, names: Sequence[str], exclude: bool) -> bytes:
    """The fields of *msg*'s header named (or, with *exclude*, not named) in *names*, exactly
    as stored, plus the blank line ending the header when there is one."""
    wanted = {n.encode("utf-8", "surrogateescape").lower() for n in names}
    block = raw[msg.start : msg.body_start]
    # The header block ends with its blank line unless the message has no body and none.
    if block in (b"\n", b"\r\n"):
        return block
    if block.endswith(b"\n\n"):
        fields_end, blank = len(block) - 1, b"\n"
    elif block.endswith(b"\n\r\n"):
        fields_end, blank = len(block) - 2, b"\r\n"
    else:
        fields_end, blank = len(block), b""
    out: list[bytes] = []
    keep = False
    i = 0
    while i < fields_end:
        j = block.find(b"\n", i, fields_end)
        j = fields_end if j < 0 else j + 1
        if block[i] in b" \t":  # continuation line: goes with the field it continues
            if keep:
                out.append(block[i:j])
        else:
            colon = block.find(b":", i, j)
            # A line with no field name is not a header field: never returned.
            if colon > i:
                name = block[i:colon].rstrip(b" \t").lower()
                keep = (name in wanted) != exclude
            else:
                keep = False
            if keep:
                out.append(block[i:j])
        i = j
    out.append(blank)
    return b"".join(out)


def partial(data: bytes, origin: int, length: int) -> bytes:
    """The ``<origin.length>`` substring of section *data* (RFC 3501 §6.4.5): empty when
    *origin* is past the end, truncated when it reaches beyond it."""
    if origin >= len(data) or length <= 0:
        return b""
    return data[origin : origin + length]
