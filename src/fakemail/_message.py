"""Captured messages: the exact bytes received, their envelope, and a parsed view of them.

Parsing is the stdlib ``email`` package's (``policy.default``), done lazily on first use, so
storing a message costs nothing beyond its bytes.
"""

from __future__ import annotations

import email
import email.message
import email.parser
import email.policy
import email.utils
import html as html_lib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any, TypeVar, final

from fakemail._address import normalize_address
from fakemail._mime import header_end

__all__ = ["Attachment", "Envelope", "Headers", "Message", "find_links", "normalize_address"]

T = TypeVar("T")


@final
@dataclass(frozen=True, slots=True)
class Envelope:
    """How a message arrived: the SMTP envelope and facts about the session that sent it."""

    #: The MAIL FROM address (``""`` for the null sender ``<>``).
    sender: str
    #: The RCPT TO addresses, in the order given (Bcc recipients appear only here).
    recipients: tuple[str, ...]
    #: ``(host, port)`` of the client, or ``None`` when not delivered over a network.
    client_address: tuple[str, int] | None = None
    #: The name the client gave in HELO/EHLO.
    helo: str | None = None
    #: The user name the client authenticated as, if it did.
    auth_user: str | None = None
    #: Whether the session was encrypted (STARTTLS or implicit TLS).
    is_tls: bool = False
    #: How the message entered the store: ``"smtp"``, ``"imap"`` (APPEND), ``"api"`` or
    #: ``"import"`` (:meth:`MailServer.import_mail <fakemail.MailServer.import_mail>`).
    protocol: str = "smtp"
    #: ESMTP MAIL FROM parameters (e.g. ``("BODY=8BITMIME", "SMTPUTF8")``).
    mail_options: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment or inline part of a message, decoded from its transfer encoding."""

    #: The file name (``Content-Disposition`` ``filename``, or ``Content-Type`` ``name``).
    filename: str | None
    #: The media type, lower-cased (``"image/png"``).
    content_type: str
    #: The decoded bytes.
    content: bytes
    #: The ``Content-ID`` without its angle brackets (what ``cid:`` URLs name), if any.
    content_id: str | None = None
    #: The ``charset`` parameter of a text part, if given.
    charset: str | None = None

    @property
    def size(self) -> int:
        """Decoded size in bytes."""
        return len(self.content)

    @property
    def text(self) -> str | None:
        """A ``text/*`` part's content as text, decoded by its charset (US-ASCII if none is
        given; UTF-8 for one Python does not know), line ends as they are in
        :attr:`content`; ``None`` for other types."""
        if not self.content_type.startswith("text/"):
            return None
        try:
            return self.content.decode(self.charset or "us-ascii")
        except (LookupError, UnicodeDecodeError):
            return self.content.decode("utf-8", "replace")


# Line breaks as the stdlib's parser splits lines: CRLF, CR or LF.
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def field_values(msg: email.message.Message, name: str) -> list[str]:
    """Every value of the header field ``name``, in order, decoded by ``msg``'s policy.

    The stdlib's structured-header parser raises on some malformed fields (e.g. ``To: <``);
    such a value is given as sent, unfolded (8-bit octets read as UTF-8), so that one bad
    header cannot break a query.
    """
    wanted = name.lower()
    values: list[str] = []
    for field, raw in msg.raw_items():
        if field.lower() == wanted:
            try:
                values.append(str(msg.policy.header_fetch_parse(field, raw)))
            except Exception:
                # The parser keeps 8-bit octets as surrogate escapes: back to bytes, then text.
                text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                values.append(_LINE_BREAK.sub("", text))
    return values


@final
class Headers(Mapping[str, str]):
    """A message's header fields, RFC 2047 encoded words decoded; names are case-insensitive.

    ``headers["Subject"]`` gives the first field of that name; :meth:`get_all` gives every one.
    Iteration yields each distinct name once, as first written.
    """

    __slots__ = ("_msg",)

    def __init__(self, msg: email.message.EmailMessage) -> None:
        self._msg = msg

    def __getitem__(self, name: str) -> str:
        values = field_values(self._msg, name)
        if not values:
            raise KeyError(name)
        return values[0]

    def get_all(self, name: str) -> list[str]:
        """Every value of the field ``name``, in order (empty if absent)."""
        return field_values(self._msg, name)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name in self._msg:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len({k.lower() for k in self._msg})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._msg

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.default)


def header_block(raw: bytes) -> bytes:
    """The header block of ``raw`` (with the empty line ending it), as the stdlib's parser
    delimits it; all of ``raw`` if it has no body."""
    return raw[: header_end(raw, 0, len(raw))]


_URL_RE = re.compile(r"""\bhttps?://[^\s<>"'()\[\]]+""", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?"


class _LinkCollector(HTMLParser):
    """Collects href/src URLs from HTML, entities already unescaped by HTMLParser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and re.match(r"https?://", value, re.I):
                self.links.append(value.strip())


def find_links(text: str | None, html: str | None) -> tuple[str, ...]:
    """http(s) URLs in a text and an HTML body, in order, without duplicates (what
    :attr:`Message.links` gives; for callers that decoded the bodies another way)."""
    urls: list[str] = []
    if text:
        urls.extend(m.group(0).rstrip(_TRAILING_PUNCT) for m in _URL_RE.finditer(text))
    if html:
        collector = _LinkCollector()
        collector.feed(html)
        collector.close()
        urls.extend(collector.links)
        text_only = html_lib.unescape(re.sub(r"<[^>]*>", " ", html))
        urls.extend(m.group(0).rstrip(_TRAILING_PUNCT) for m in _URL_RE.finditer(text_only))
    return tuple(dict.fromkeys(urls))


@final
class Message:
    """One captured message: raw bytes as received plus its envelope, with a parsed view.

    Immutable: mutable state (flags, UIDs, folders) lives in the store. The parsed view is an
    :class:`email.message.EmailMessage` (``policy.default``), built on first use.
    """

    __slots__ = (
        "__weakref__",
        "_derived",
        "_email",
        "_head",
        "envelope",
        "raw",
        "received_at",
        "seq",
    )

    def __init__(self, raw: bytes, envelope: Envelope, received_at: datetime, seq: int = 0) -> None:
        #: The message exactly as received (for SMTP: after dot-unstuffing, CRLF line ends).
        self.raw = raw
        #: How it arrived.
        self.envelope = envelope
        #: When it arrived (timezone-aware, UTC).
        self.received_at = received_at
        #: The message's number, shown as ``#N`` in reports and logs: 1 for the first message
        #: the store took in since it was last cleared (the fixture clears it for each test),
        #: counting SMTP transactions, ``deliver()`` and IMAP ``APPEND`` alike (0 if never
        #: stored). For mail sent only over SMTP it is the position in ``messages``, plus one.
        self.seq = seq
        self._email: email.message.EmailMessage | None = None
        self._head: email.message.EmailMessage | None = None
        self._derived: dict[str, Any] | None = None

    def derived(self, key: str, compute: Callable[[Message], T]) -> T:
        """A value computed from this immutable message once, then kept (e.g. the MIME index
        IMAP serves ENVELOPE, BODYSTRUCTURE and sections from). Racing threads may both
        compute; either result is kept, and both are equal."""
        cache = self._derived
        if cache is None:
            cache = self._derived = {}
        try:
            value: T = cache[key]
        except KeyError:
            value = cache[key] = compute(self)
        return value

    def __repr__(self) -> str:
        return (
            f"<Message #{self.seq} from={self.envelope.sender!r} "
            f"to={list(self.envelope.recipients)!r} subject={self.subject!r}>"
        )

    # --- envelope -------------------------------------------------------------------------

    @property
    def sender(self) -> str:
        """The envelope sender (SMTP MAIL FROM)."""
        return self.envelope.sender

    @property
    def recipients(self) -> tuple[str, ...]:
        """The envelope recipients (SMTP RCPT TO), Bcc included."""
        return self.envelope.recipients

    @property
    def bcc(self) -> tuple[str, ...]:
        """Envelope recipients that appear in neither the To nor the Cc header."""
        visible = {normalize_address(a).lower() for a in (*self.to, *self.cc)}
        return tuple(r for r in self.recipients if normalize_address(r).lower() not in visible)

    @property
    def size(self) -> int:
        """Size of the raw message in bytes."""
        return len(self.raw)

    # --- parsed view ----------------------------------------------------------------------

    @property
    def email(self) -> email.message.EmailMessage:
        """The stdlib parse of :attr:`raw` (``email.policy.default``)."""
        parsed = self._email
        if parsed is None:
            parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            self._email = parsed  # racing threads build equal values; either may win
        return parsed

    def _header_fields(self) -> EmailMessage:
        # Header properties need only the header block: parsed alone (same parser, same
        # policy, same fields) they cost microseconds where a message with attachments takes
        # milliseconds to parse whole.
        parsed = self._email if self._email is not None else self._head
        if parsed is None:
            parsed = _HEADER_PARSER.parsebytes(header_block(self.raw))
            assert isinstance(parsed, EmailMessage)
            self._head = parsed
        return parsed

    @property
    def headers(self) -> Headers:
        """Header fields, decoded, case-insensitive."""
        return Headers(self._header_fields())

    def _header(self, name: str) -> str | None:
        values = field_values(self._header_fields(), name)
        return values[0] if values else None

    def _addresses(self, name: str) -> tuple[str, ...]:
        values = field_values(self._header_fields(), name)
        return tuple(addr for _, addr in email.utils.getaddresses(values) if addr)

    @property
    def subject(self) -> str | None:
        """The Subject header, encoded words decoded (``None`` if absent)."""
        return self._header("Subject")

    @property
    def from_(self) -> str | None:
        """The first address of the From header (address only; display names are in
        ``headers["From"]``)."""
        addresses = self._addresses("From")
        return addresses[0] if addresses else None

    @property
    def to(self) -> tuple[str, ...]:
        """Addresses in the To header(s)."""
        return self._addresses("To")

    @property
    def cc(self) -> tuple[str, ...]:
        """Addresses in the Cc header(s)."""
        return self._addresses("Cc")

    @property
    def reply_to(self) -> tuple[str, ...]:
        """Addresses in the Reply-To header(s)."""
        return self._addresses("Reply-To")

    @property
    def date(self) -> datetime | None:
        """The Date header as a datetime (``None`` if absent or unparseable)."""
        value = self._header("Date")
        if not value:
            return None
        try:
            return email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    @property
    def message_id(self) -> str | None:
        """The Message-ID header, angle brackets included."""
        value = self._header("Message-ID")
        return value.strip() if value else None

    def _body(self, subtype: str) -> str | None:
        part = self.email.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        try:
            content = part.get_content()
        except LookupError:
            # An unknown charset: show the text anyway rather than fail every body filter.
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
        # Mail travels with CRLF line ends (RFC 5322 §2.3); Python text uses LF, as the
        # EmailMessage the app built does: message.text == built.get_content().
        return _LINE_BREAK.sub("\n", content) if isinstance(content, str) else None

    @property
    def text(self) -> str | None:
        """The text/plain body, decoded from its transfer encoding and charset, with LF line
        ends (as :meth:`email.message.EmailMessage.get_content` gives them; :attr:`raw` keeps
        the bytes as received)."""
        return self._body("plain")

    @property
    def html(self) -> str | None:
        """The text/html body, decoded like :attr:`text` (LF line ends)."""
        return self._body("html")

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """Parts marked as attachments (``Content-Disposition: attachment``), or carrying a
        file name and not marked inline, decoded."""
        return tuple(part for part, inline in self._parts() if not inline)

    @property
    def inline(self) -> tuple[Attachment, ...]:
        """Inline parts beside the bodies: parts with a ``Content-ID`` (the images an HTML
        body shows with ``cid:`` URLs) or marked ``Content-Disposition: inline`` with a file
        name, other than the :attr:`text` and :attr:`html` bodies themselves."""
        return tuple(part for part, inline in self._parts() if inline)

    def _parts(self) -> list[tuple[Attachment, bool]]:
        """Every attachment and inline part, with whether it is inline, in order."""
        bodies = [self.email.get_body(preferencelist=(subtype,)) for subtype in ("plain", "html")]
        found: list[tuple[Attachment, bool]] = []

        def visit(part: email.message.Message, in_related: bool) -> None:
            if part.is_multipart():  # also message/rfc822: its parts are listed too
                related = part.get_content_type() == "multipart/related"
                for sub in part.get_payload():
                    if isinstance(sub, email.message.Message):
                        visit(sub, related)
                return
            if any(part is body for body in bodies):
                return
            disposition = part.get_content_disposition()
            filename = part.get_filename()
            content_id = str(part.get("Content-ID", "")).strip().strip("<>") or None
            if content_id and (in_related or disposition != "attachment"):
                # RFC 2387: the parts of a multipart/related are there for its root to show,
                # however marked (the stdlib's add_related() marks named ones "attachment").
                inline = True
            elif disposition == "attachment" or (filename and disposition != "inline"):
                inline = False
            elif filename:  # inline, named
                inline = True
            else:
                return
            payload = part.get_payload(decode=True)
            attachment = Attachment(
                filename,
                part.get_content_type(),
                payload if isinstance(payload, bytes) else b"",
                content_id=content_id,
                charset=part.get_content_charset(),
            )
            found.append((attachment, inline))

        visit(self.email, False)
        return found

    @property
    def links(self) -> tuple[str, ...]:
        """http(s) URLs in the text and HTML bodies, in order, without duplicates."""
        return find_links(self.text, self.html)
