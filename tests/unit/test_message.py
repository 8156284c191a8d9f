"""Message: envelope facts, decoded headers and bodies, attachments, links, Bcc, caching."""

from __future__ import annotations

import base64
import email
import email.policy
from datetime import datetime, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fakemail._message import Attachment, Envelope, Message, header_block, normalize_address

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def make(raw: bytes | str, *recipients: str, sender: str = "app@example.com") -> Message:
    data = raw.encode() if isinstance(raw, str) else raw
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return Message(data, Envelope(sender, recipients or ("bob@example.com",)), WHEN, 7)


SIMPLE = """\
From: "Example App" <noreply@example.com>
To: Bob <bob@example.com>, carol@example.com
Cc: =?utf-8?q?Dan_D=C3=BCrr?= <dan@example.com>
Reply-To: help@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from =?iso-8859-1?q?caf=E9?=
Date: Tue, 02 Jan 2024 10:00:00 +0100
Message-ID:  <abc@example.com>
X-Tag: one
x-tag: two

Hello Bob
"""


# ------------------------------------------------------------------ envelope


def test_envelope_properties() -> None:
    env = Envelope(
        "app@example.com",
        ("bob@example.com", "hidden@example.com"),
        client_address=("127.0.0.1", 5000),
        helo="client.example",
        auth_user="app",
        is_tls=True,
        mail_options=("BODY=8BITMIME",),
    )
    message = Message(b"Subject: s\r\n\r\nx\r\n", env, WHEN, 3)
    assert message.sender == "app@example.com"
    assert message.recipients == ("bob@example.com", "hidden@example.com")
    assert message.envelope is env
    assert message.size == len(b"Subject: s\r\n\r\nx\r\n")
    assert (message.seq, message.received_at) == (3, WHEN)
    assert repr(message) == (
        "<Message #3 from='app@example.com' "
        "to=['bob@example.com', 'hidden@example.com'] subject='s'>"
    )
    defaults = Envelope("", ("x@y.org",))
    assert (defaults.client_address, defaults.helo, defaults.auth_user) == (None, None, None)
    assert (defaults.is_tls, defaults.protocol, defaults.mail_options) == (False, "smtp", ())


def test_envelope_is_frozen() -> None:
    env = Envelope("a@x.org", ())
    with pytest.raises(AttributeError):
        env.sender = "b@x.org"  # type: ignore[misc]


# ------------------------------------------------------------------ headers


def test_header_properties_decoded() -> None:
    message = make(SIMPLE)
    assert message.subject == "Grüße from café"
    assert message.from_ == "noreply@example.com"
    assert message.to == ("bob@example.com", "carol@example.com")
    assert message.cc == ("dan@example.com",)
    assert message.reply_to == ("help@example.com",)
    assert message.date == datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc)
    assert message.message_id == "<abc@example.com>"


def test_headers_mapping() -> None:
    headers = make(SIMPLE).headers
    assert headers["subject"] == "Grüße from café"
    assert headers["CC"] == "Dan Dürr <dan@example.com>"
    assert headers["From"] == "Example App <noreply@example.com>"
    assert headers["X-TAG"] == "one"
    assert headers.get_all("x-tag") == ["one", "two"]
    assert headers.get_all("Missing") == []
    assert "x-Tag" in headers
    assert "Missing" not in headers
    assert 42 not in headers
    assert headers.get("Missing") is None
    with pytest.raises(KeyError):
        headers["Missing"]
    names = list(headers)
    assert names == ["From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "X-Tag"]
    assert len(headers) == 8
    assert repr(headers).startswith("Headers({'From': ")


def test_encoded_display_name_with_comma_keeps_addresses_apart() -> None:
    message = make("To: =?utf-8?q?Doe=2C_John?= <john@example.com>, b@example.com\n\nx\n")
    assert message.to == ("john@example.com", "b@example.com")
    assert message.headers["To"] == '"Doe, John" <john@example.com>, b@example.com'


def test_missing_and_bad_headers() -> None:
    message = make("X-Only: 1\n\nbody\n")
    assert message.subject is None
    assert message.from_ is None
    assert message.to == ()
    assert message.cc == ()
    assert message.date is None
    assert message.message_id is None
    assert make("Date: not a date\n\nx\n").date is None


@pytest.mark.parametrize("value", ["<", "=@", ".:", "<@"])
def test_address_field_the_stdlib_cannot_parse_is_given_as_sent(value: str) -> None:
    # policy.default's address parser raises IndexError/AttributeError on these.
    message = make(f"To: {value}\nCc: carol@example.com\nSubject: Hi\n\nx\n")
    assert message.headers["To"] == value
    assert message.headers.get_all("to") == [value]
    assert message.cc == ("carol@example.com",)
    assert message.subject == "Hi"
    assert "@" not in "".join(message.to)
    assert message.bcc == ("bob@example.com",)


def test_unparseable_field_is_unfolded_and_decoded() -> None:
    folded = Message(b"To: .:\r y\r\n\r\nx", Envelope("a@example.com", ("b@example.com",)), WHEN)
    assert folded.headers["To"] == ".: y"
    eight_bit = Message(
        "To: Zoë <\r\n\r\nx".encode(), Envelope("a@example.com", ("b@example.com",)), WHEN
    )
    assert eight_bit.headers["To"] == "Zoë <"


# ------------------------------------------------------------------ bodies


def test_plain_text_body() -> None:
    message = make(SIMPLE)
    assert message.text == "Hello Bob\n"
    assert message.html is None


def test_quoted_printable_latin1() -> None:
    message = make(
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"Caf=E9 cr=E8me, soft=\nbreak\n"
    )
    assert message.text == "Café crème, softbreak\n"


def test_base64_utf8_html() -> None:
    html = "<p>Grüße, <b>Bob</b></p>"
    encoded = base64.encodebytes(html.encode("utf-8")).decode()
    message = make(
        "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + encoded
    )
    assert message.html == html
    assert message.text is None


def test_eight_bit_utf8_body() -> None:
    message = make(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nÅngström ✓\n"
    )
    assert message.text == "Ångström ✓\n"


def test_multipart_alternative() -> None:
    message = make(
        """\
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain =E2=9C=93
--b
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<p>Caf=E9</p>
--b--
"""
    )
    # The line break before a boundary belongs to the boundary (RFC 2046 §5.1.1).
    assert message.text == "Plain ✓"
    assert message.html == "<p>Café</p>"
    assert message.attachments == ()


def test_unknown_charset_does_not_break_the_body() -> None:
    message = make("Content-Type: text/plain; charset=x-no-such-charset\n\nhello\n")
    assert message.text == "hello\n"


def test_text_attachment_is_not_the_body() -> None:
    message = make(
        """\
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain
Content-Disposition: attachment; filename="notes.txt"

attached text
--b--
"""
    )
    assert message.text is None
    assert message.attachments == (Attachment("notes.txt", "text/plain", b"attached text"),)


# ------------------------------------------------------------------ attachments

ATTACHMENTS = """\
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="inner"

--inner
Content-Type: text/html

<img src="cid:logo">
--inner
Content-Type: image/png
Content-Disposition: inline; filename="logo.png"
Content-ID: <logo>

PNG
--inner--
--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQ=
--outer
Content-Type: application/octet-stream; name="=?utf-8?b?w6kuYmlu?="
Content-Disposition: attachment

raw
--outer
Content-Type: text/csv; name="data.csv"

a,b
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment

nameless
--outer--
"""


def test_attachments() -> None:
    found = make(ATTACHMENTS).attachments
    assert found == (
        Attachment("résumé.pdf", "application/pdf", b"%PDF-1.4"),
        Attachment("é.bin", "application/octet-stream", b"raw"),
        Attachment("data.csv", "text/csv", b"a,b"),
        Attachment(None, "application/octet-stream", b"nameless"),
    )
    assert found[0].size == 8
    assert found[2].text == "a,b"  # text/csv, no charset: US-ASCII
    assert found[0].text is None


def test_inline_parts() -> None:
    message = make(ATTACHMENTS)
    assert message.inline == (Attachment("logo.png", "image/png", b"PNG", content_id="logo"),)
    assert message.html == '<img src="cid:logo">'  # the body is not an inline part


INLINE_MARKED_VARIOUSLY = """\
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="inner"

--inner
Content-Type: text/html

<img src="cid:a"><img src="cid:b">
--inner
Content-Type: image/gif
Content-ID: <a>

A
--inner
Content-Type: image/gif
Content-Disposition: attachment; filename="b.gif"
Content-ID: <b>

B
--inner--
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: inline; filename="note.txt"
Content-Transfer-Encoding: quoted-printable

caf=E9
--outer
Content-Type: application/pdf
Content-Disposition: inline; filename="d.pdf"

D
--outer
Content-Type: image/gif
Content-Disposition: attachment; filename="c.gif"
Content-ID: <c>

C
--outer--
"""


def test_what_counts_as_inline() -> None:
    message = make(INLINE_MARKED_VARIOUSLY)
    # A Content-ID without a disposition, or inside multipart/related however marked (the
    # stdlib's add_related() marks named parts "attachment"), or an inline part with a name.
    assert [(a.content_id, a.filename) for a in message.inline] == [
        ("a", None),
        ("b", "b.gif"),
        (None, "d.pdf"),
    ]
    assert message.text == "café"  # an inline text part is the body, not an inline part
    # Marked as an attachment outside multipart/related: an attachment, Content-ID kept.
    assert message.attachments == (Attachment("c.gif", "image/gif", b"C", content_id="c"),)


def test_text_of_an_unknown_charset_is_read_as_utf8() -> None:
    part = Attachment("x.txt", "text/plain", "Zoë".encode(), charset="x-unknown")
    assert part.text == "Zoë"


def test_rfc2231_continuations() -> None:
    message = make(
        """\
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/octet-stream
Content-Disposition: attachment;
 filename*0*=utf-8''%C3%BCber%20lange;
 filename*1*=%20Namen.txt

x
--b--
"""
    )
    assert [a.filename for a in message.attachments] == ["über lange Namen.txt"]


# ------------------------------------------------------------------ links


def test_links_from_text() -> None:
    message = make(
        "Subject: s\n\n"
        "Verify: https://example.com/verify?t=abc123.\n"
        "Or (https://example.com/paren), 'https://example.com/q'; and https://example.com/x!\n"
        "Again https://example.com/verify?t=abc123 and HTTP://EXAMPLE.COM/UP?\n"
        "not ftp://example.com or mailto:a@b\n"
    )
    assert message.links == (
        "https://example.com/verify?t=abc123",
        "https://example.com/paren",
        "https://example.com/q",
        "https://example.com/x",
        "HTTP://EXAMPLE.COM/UP",
    )


def test_links_from_html() -> None:
    message = make(
        "Content-Type: text/html\n\n"
        '<p>Click <a href="https://example.com/a?x=1&amp;y=2">here</a>, '
        "<a href='mailto:a@b.org'>mail</a> <img src=\"http://img.example.com/p.png\"> "
        "or visit https://example.com/b?c=1&amp;d=2.</p>\n"
    )
    assert message.links == (
        "https://example.com/a?x=1&y=2",
        "http://img.example.com/p.png",
        "https://example.com/b?c=1&d=2",
    )


def test_links_text_then_html_without_duplicates() -> None:
    message = make(
        """\
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain

Open https://example.com/one
--b
Content-Type: text/html

<a href="https://example.com/one">Open</a> <a href="https://example.com/two">Two</a>
--b--
"""
    )
    assert message.links == ("https://example.com/one", "https://example.com/two")


def test_no_links() -> None:
    assert make("Subject: s\n\nnothing here\n").links == ()
    assert make("Content-Type: image/png\n\nPNG\n").links == ()


# ------------------------------------------------------------------ Bcc


def test_bcc_is_envelope_recipients_not_in_to_or_cc() -> None:
    message = make(
        "To: Bob <BOB@Example.com>\nCc: carol@example.com\n\nx\n",
        "bob@example.com",
        "carol@EXAMPLE.com",
        "hidden@example.com",
        "<other@example.com>",
    )
    assert message.bcc == ("hidden@example.com", "<other@example.com>")
    assert make("Subject: s\n\nx\n", "a@x.org").bcc == ("a@x.org",)


# ------------------------------------------------------------------ caching


def test_derived_computes_once_per_key() -> None:
    message = make(SIMPLE)
    calls: list[str] = []

    def subject_length(m: Message) -> int:
        calls.append("len")
        return len(m.subject or "")

    assert message.derived("len", subject_length) == 15
    assert message.derived("len", subject_length) == 15
    assert message.derived("other", lambda m: m.seq) == 7
    assert calls == ["len"]
    assert make(SIMPLE).derived("len", subject_length) == 15
    assert calls == ["len", "len"]  # the cache belongs to the message


def test_parsed_view_is_built_once() -> None:
    message = make(SIMPLE)
    assert message.email is message.email


def test_header_properties_do_not_parse_the_bodies() -> None:
    attachment = base64.encodebytes(b"%PDF" * 50_000).decode()
    raw = (
        "Subject: Invoice\nTo: bob@example.com\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nSee attached.\n"
        "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
        f"{attachment}--b--\n"
    )
    message = make(raw)
    assert (message.subject, message.to) == ("Invoice", ("bob@example.com",))
    assert message._email is None  # only the header block was parsed
    assert message.text == "See attached."
    assert message.headers["Subject"] == "Invoice"


_LINE_ENDS = st.sampled_from(["\r\n", "\n", "\r"])
_HEADER_LINE = st.one_of(
    st.builds(
        "{}: {}".format,
        st.sampled_from(["Subject", "To", "From", "X-A", "Cc", "Date", "From ", "bad name"]),
        st.text(st.sampled_from("ab <>@.,=?:\t\u00e9"), max_size=12),
    ),
    st.text(st.sampled_from(" \tabc"), min_size=1, max_size=6),  # continuations, blanks
    st.sampled_from(["", "From mbox line", "not a header", "=?utf-8?q?x?="]),
)


@given(st.lists(st.tuples(_HEADER_LINE, _LINE_ENDS), max_size=10), st.text(max_size=20))
@example([("Subject: a", "\r\n"), ("", "\r\n")], "Subject: not a header\r\n")
@example([("Subject: a", "\r"), ("", "\r")], "To: body@example.com")
@example([("", "\n")], "Subject: body")
def test_header_block_parses_to_the_same_fields(lines: list[tuple[str, str]], rest: str) -> None:
    raw = ("".join(text + end for text, end in lines) + rest).encode("utf-8", "surrogateescape")
    whole = email.message_from_bytes(raw, policy=email.policy.default)
    head = email.message_from_bytes(header_block(raw), policy=email.policy.default)
    assert list(head.raw_items()) == list(whole.raw_items())


# ------------------------------------------------------------------ addresses


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("bob@example.com", "bob@example.com"),
        ("Bob@EXAMPLE.Com", "Bob@example.com"),
        ("  <Bob@Example.COM>  ", "Bob@example.com"),
        ('"odd@local"@Example.com', '"odd@local"@example.com'),
        ("postmaster", "postmaster"),
        ("", ""),
    ],
)
def test_normalize_address(given: str, key: str) -> None:
    assert normalize_address(given) == key
