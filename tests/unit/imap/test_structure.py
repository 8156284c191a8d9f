"""Tests for ENVELOPE, BODYSTRUCTURE and BODY[section] data (fakemail._imap._structure).

Every expected tree below was written by hand from RFC 3501 §6.4.5 / §7.4.2 (sizes and line
counts counted by hand, see the comments), not produced by the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakemail._imap._structure import (
    ImapValue,
    _parse_full,
    body_structure,
    envelope,
    find_part,
    parse_address_list,
    partial,
    section,
)
from fakemail._mime import MimePart, index_message

US_ASCII = ("CHARSET", "US-ASCII")

# ---------------------------------------------------------------------------- messages

# The sample message of RFC 3501 §8 (FETCH 12 ... ENVELOPE ...), with a short body.
RFC3501_SAMPLE = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US,\r\n"
    b"    John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"  # 53 + 2 octets, 1 line
)

# The structure of RFC 3501 §6.4.5's "complex message" example.
COMPLEX_HEADER = (
    b"From: a@example.com\r\n"
    b"Subject: complex\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: MULTIPART/MIXED; boundary="b1"\r\n'
    b"\r\n"
)
PART3_MESSAGE = (  # 171 octets, 12 lines
    b"Subject: part 3\r\n"  # 17
    b"Content-Type: multipart/mixed; boundary=b3\r\n"  # 44
    b"\r\n"  # 2
    b"--b3\r\n"  # 6
    b"Content-Type: text/plain\r\n"  # 26
    b"\r\n"  # 2
    b"part 3.1\r\n"  # 10
    b"--b3\r\n"  # 6
    b"Content-Type: application/octet-stream\r\n"  # 40
    b"\r\n"  # 2
    b"part 3.2\r\n"  # 10
    b"--b3--"  # 6 (the CRLF after it belongs to the next --b1 delimiter)
)
PART42_MESSAGE = (  # 294 octets, 20 lines
    b"Subject: part 4.2\r\n"  # 19
    b"Content-Type: multipart/mixed; boundary=b42\r\n"  # 45
    b"\r\n"  # 2
    b"--b42\r\n"  # 7
    b"Content-Type: text/plain\r\n"  # 26
    b"\r\n"  # 2
    b"part 4.2.1\r\n"  # 12
    b"--b42\r\n"  # 7
    b"Content-Type: multipart/alternative; boundary=b422\r\n"  # 52
    b"\r\n"  # 2
    b"--b422\r\n"  # 8
    b"Content-Type: text/plain\r\n"  # 26
    b"\r\n"  # 2
    b"part 4.2.2.1\r\n"  # 14
    b"--b422\r\n"  # 8
    b"Content-Type: text/richtext\r\n"  # 29
    b"\r\n"  # 2
    b"part 4.2.2.2\r\n"  # 14
    b"--b422--\r\n"  # 10
    b"--b42--"  # 7
)
PART4_BODY = (
    b"--b4\r\n"
    b"Content-Type: image/gif\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"R0lGODlh\r\n"
    b"--b4\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n" + PART42_MESSAGE + b"\r\n"
    b"--b4--"
)
COMPLEX_TEXT = (
    b"--b1\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"part 1\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAEC\r\n"
    b"--b1\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n" + PART3_MESSAGE + b"\r\n"
    b"--b1\r\n"
    b"Content-Type: multipart/mixed; boundary=b4\r\n"
    b"\r\n" + PART4_BODY + b"\r\n"
    b"--b1--\r\n"
)
COMPLEX = COMPLEX_HEADER + COMPLEX_TEXT

ATTACHMENT = (
    b"From: =?utf-8?B?SsO2cmc=?= <jorg@example.com>\r\n"
    b"Subject: =?iso-8859-1?q?caf=E9?=\r\n"
    b'Content-Type: multipart/mixed; boundary="=_b"\r\n'
    b"\r\n"
    b"--=_b\r\n"
    b'Content-Type: text/plain; charset="iso-8859-1"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=E9\r\n"  # 6 octets, 1 line
    b"--=_b\r\n"
    b"Content-Type: application/pdf;\r\n"
    b' name*0="quarterly-";\r\n'
    b' name*1="report.pdf"\r\n'
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20report.pdf; size=4\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <pdf1@example.com>\r\n"
    b"Content-Description: =?utf-8?q?Quarterly_=E2=82=AC?=\r\n"
    b"Content-Language: en\r\n"
    b"Content-MD5: 4lYlT9Dk0dRX6GNDJ5EkFQ==\r\n"
    b"\r\n"
    b"AAAA\r\n"  # 4 octets
    b"--=_b--\r\n"
)


def _index(raw: bytes) -> MimePart:
    return index_message(raw)


# ---------------------------------------------------------------------------- ENVELOPE


def test_envelope_rfc3501_sample() -> None:
    # Exactly the ENVELOPE shown in RFC 3501 §8.
    assert envelope(_index(RFC3501_SAMPLE)) == (
        "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        "IMAP4rev1 WG mtg summary and minutes",
        (("Terry Gray", None, "gray", "cac.washington.edu"),),
        (("Terry Gray", None, "gray", "cac.washington.edu"),),
        (("Terry Gray", None, "gray", "cac.washington.edu"),),
        ((None, None, "imap", "cac.washington.edu"),),
        (
            (None, None, "minutes", "CNRI.Reston.VA.US"),
            ("John Klensin", None, "KLENSIN", "MIT.EDU"),
        ),
        None,
        None,
        "<B27397-0100000@cac.washington.edu>",
    )


def test_envelope_leaves_encoded_words_encoded() -> None:
    env = envelope(_index(ATTACHMENT))
    assert env[1] == "=?iso-8859-1?q?caf=E9?="
    assert env[2] == (("=?utf-8?B?SsO2cmc=?=", None, "jorg", "example.com"),)


def test_envelope_missing_headers() -> None:
    assert envelope(_index(b"X-Other: 1\r\n\r\nbody\r\n")) == (None,) * 10
    assert envelope(_index(b"")) == (None,) * 10


def test_envelope_empty_headers() -> None:
    raw = (
        b"Date: \r\nSubject:\r\nFrom: a@b.example\r\nSender:\r\nReply-To: \r\nTo:\r\n"
        b"In-Reply-To:\r\nMessage-ID:\r\n\r\n"
    )
    a = ((None, None, "a", "b.example"),)
    # Present-but-empty date/subject/ids are ""; empty address fields NIL; Sender and
    # Reply-To fall back to From (RFC 3501 §7.4.2).
    assert envelope(_index(raw)) == ("", "", a, a, a, None, None, None, "", "")


def test_envelope_sender_and_reply_to_when_given() -> None:
    raw = (
        b"From: a@x.example\r\nSender: s@x.example\r\nReply-To: r@x.example\r\n"
        b"Bcc: hidden@x.example\r\nIn-Reply-To: <p@x>\r\n\r\n"
    )
    env = envelope(_index(raw))
    assert env[2:8] == (
        ((None, None, "a", "x.example"),),
        ((None, None, "s", "x.example"),),
        ((None, None, "r", "x.example"),),
        None,
        None,
        ((None, None, "hidden", "x.example"),),
    )
    assert env[8] == "<p@x>"


def test_envelope_groups() -> None:
    raw = (
        b"From: a@x.example\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b'Cc: "The Team": b@x.example, Carol <c@y.example>;, d@z.example\r\n'
        b"\r\n"
    )
    env = envelope(_index(raw))
    assert env[5] == ((None, None, "undisclosed-recipients", None), (None, None, None, None))
    assert env[6] == (
        (None, None, "The Team", None),
        (None, None, "b", "x.example"),
        ("Carol", None, "c", "y.example"),
        (None, None, None, None),
        (None, None, "d", "z.example"),
    )


def test_envelope_8bit_headers() -> None:
    raw = "From: Jörg <j@x.example>\r\n".encode() + b"Subject: caf\xe9\r\n\r\n"
    env = envelope(_index(raw))
    assert env[2] == (("Jörg", None, "j", "x.example"),)
    # Not UTF-8: handed over as the original octets.
    assert env[1] == b"caf\xe9"


def test_invalid_utf8_in_tokens_becomes_bytes() -> None:
    raw = (
        b"From: J\xf6rg <j\xf6@x\xf6.example>\r\n"
        b"Content-Type: text/pl\xffain; ch\xe9=v\xe9; n*=x\xe9'l\xe9'a\r\n"
        b"Content-Disposition: att\xe9\r\n\r\n"
    )
    root = _index(raw)
    assert envelope(root)[2] == ((b"J\xf6rg", None, b"j\xf6", b"x\xf6.example"),)
    structure = body_structure(root)
    assert structure[:3] == (
        "TEXT",
        b"PL\xffAIN",
        ("CHARSET", "US-ASCII", b"CH\xe9", b"v\xe9", "N*", b"x\xe9'l\xe9'a"),
    )
    assert structure[9] == (b"ATT\xe9", None)
    _check_strings(structure)


def test_envelope_of_folded_subject_is_unfolded() -> None:
    raw = b"Subject: a long\r\n subject\r\n\tline\r\n\r\n"
    assert envelope(_index(raw))[1] == "a long subject\tline"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("joe@example.com", ((None, None, "joe", "example.com"),)),
        (
            "Joe Q. Public <john.q.public@example.com>",
            (("Joe Q. Public", None, "john.q.public", "example.com"),),
        ),
        ('"Doe, \\"JD\\" John" <jd@x.example>', (('Doe, "JD" John', None, "jd", "x.example"),)),
        ("joe@example.com (Joe Bloggs)", (("Joe Bloggs", None, "joe", "example.com"),)),
        ("Joe (the man) Bloggs <joe@example.com>", (("Joe Bloggs", None, "joe", "example.com"),)),
        (
            "<@relay1.example,@relay2.example:joe@example.com>",
            ((None, "@relay1.example,@relay2.example", "joe", "example.com"),),
        ),
        ('"joe smith"@example.com', ((None, None, '"joe smith"', "example.com"),)),
        ("joe@[192.0.2.1]", ((None, None, "joe", "[192.0.2.1]"),)),
        # No domain: a placeholder host, as Dovecot sends (a NIL host marks a group).
        ("root", ((None, None, "root", "MISSING_DOMAIN"),)),
        ("Postmaster <postmaster>", (("Postmaster", None, "postmaster", "MISSING_DOMAIN"),)),
        ("root@", ((None, None, "root", "MISSING_DOMAIN"),)),
        ("a@x, , b@y,", ((None, None, "a", "x"), (None, None, "b", "y"))),
        ("  Lots   of   space  <s@x>", (("Lots of space", None, "s", "x"),)),
        ("=?utf-8?q?a?= =?utf-8?q?b?= <ab@x>", (("=?utf-8?q?a?= =?utf-8?q?b?=", None, "ab", "x"),)),
        ("Empty Group:;", ((None, None, "Empty Group", None), (None, None, None, None))),
        (
            "Unclosed: a@x",
            ((None, None, "Unclosed", None), (None, None, "a", "x"), (None, None, None, None)),
        ),
        ("<>", ()),
        ("", ()),
        ("@@@,,,<<<>>>;;;", ()),
    ],
)
def test_parse_address_list(field: str, expected: tuple[object, ...]) -> None:
    assert parse_address_list(field) == expected
    assert _parse_full(field) == expected


_atoms = st.text(alphabet="abcXYZ019.-_=?+é", min_size=1, max_size=6)
_address_piece = st.one_of(
    _atoms,
    st.sampled_from([" ", "  ", "\t", ",", "<", ">", "@", ";", ":", '"', "(", ")", "\\", "[", "]"]),
)


@settings(max_examples=300)
@given(st.lists(_address_piece, max_size=14).map("".join))
def test_fast_path_agrees_with_full_parser(field: str) -> None:
    assert parse_address_list(field) == _parse_full(field)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        # The quick parser's cases: "name <addr>" and bare addresses, blank runs collapsed.
        ("Sender 3 <s3@example.com>", (("Sender 3", None, "s3", "example.com"),)),
        (" \tA  \t B\t<a@b>\t ", (("A B", None, "a", "b"),)),
        ("<a@b>", ((None, None, "a", "b"),)),
        ("  a@b  ,\tc@d\t", ((None, None, "a", "b"), (None, None, "c", "d"))),
        ("Zoë <zoë@exämple.org>", (("Zoë", None, "zoë", "exämple.org"),)),
        # Octets that were not UTF-8 (surrogate-escaped by the index) come back as bytes.
        ("N\udcff <a\udcfe@b>", ((b"N\xff", None, b"a\xfe", "b"),)),
        # Not for the quick parser: no domain, a second "@", other blanks, "<" without ">".
        ("Postmaster <postmaster>", (("Postmaster", None, "postmaster", "MISSING_DOMAIN"),)),
        ("a@b@c", ((None, None, "a", "bc"),)),  # the stray "@" is dropped
        ("A\xa0B <a@b>", (("A\xa0B", None, "a", "b"),)),
        ("A <a@b", (("A", None, "a", "b"),)),
    ],
)
def test_quick_address_forms(field: str, expected: tuple[object, ...]) -> None:
    assert parse_address_list(field) == expected
    assert _parse_full(field) == expected


_wide_atoms = st.text(alphabet="abZ09.-é\xa0\u2003\udcff\x0b", min_size=1, max_size=5)
_wide_piece = st.one_of(
    _wide_atoms,
    st.sampled_from([" ", "  ", "\t", " \t ", ",", "<", ">", "@", "@", "<a@b>", "x@y", ";"]),
)


@settings(max_examples=400)
@given(st.lists(_wide_piece, max_size=14).map("".join))
def test_fast_path_agrees_with_full_parser_on_odd_blanks(field: str) -> None:
    assert parse_address_list(field) == _parse_full(field)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=100), st.lists(_address_piece, max_size=14).map("".join)))
def test_nil_host_only_marks_groups(field: str) -> None:
    # RFC 3501 §7.4.2: a NIL host is group syntax, so it appears only as a start of group
    # (mailbox = group name) and its end (mailbox NIL), never nested, never left open.
    in_group = False
    for name, adl, mailbox, host in parse_address_list(field):  # never raises
        if host is not None:
            assert mailbox is not None
            continue
        assert (name, adl) == (None, None)
        assert in_group is (mailbox is None), field
        in_group = not in_group
    assert not in_group, field


# ---------------------------------------------------------------------------- BODYSTRUCTURE


def test_bodystructure_simple_text() -> None:
    root = _index(RFC3501_SAMPLE)
    assert body_structure(root) == (
        "TEXT", "PLAIN", ("CHARSET", "US-ASCII"), None, None, "7BIT", 55, 1,
        None, None, None, None,
    )  # fmt: skip
    assert body_structure(root, extensible=False) == (
        "TEXT", "PLAIN", ("CHARSET", "US-ASCII"), None, None, "7BIT", 55, 1,
    )  # fmt: skip


def test_bodystructure_defaults_without_content_type() -> None:
    raw = b"Subject: x\n\nline one\nline two\n"
    assert body_structure(_index(raw)) == (
        "TEXT", "PLAIN", US_ASCII, None, None, "7BIT", 18, 2, None, None, None, None,
    )  # fmt: skip


def test_bodystructure_text_without_charset_gets_us_ascii() -> None:
    raw = b"Content-Type: text/html; format=flowed\r\n\r\n<p>\r\n"
    assert body_structure(_index(raw), extensible=False) == (
        "TEXT", "HTML", ("CHARSET", "US-ASCII", "FORMAT", "flowed"), None, None, "7BIT", 5, 1,
    )  # fmt: skip


def test_bodystructure_odd_charsets_kept_as_given() -> None:
    raw = (
        b"Content-Type: text/plain; charset=KOI8-r\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n\xd0\xd2\r\n"
    )
    assert body_structure(_index(raw), extensible=False) == (
        "TEXT", "PLAIN", ("CHARSET", "KOI8-r"), None, None, "8BIT", 4, 1,
    )  # fmt: skip


def test_bodystructure_mixed_with_attachment() -> None:
    text = (
        "TEXT", "PLAIN", ("CHARSET", "iso-8859-1"), None, None, "QUOTED-PRINTABLE", 6, 1,
        None, None, None, None,
    )  # fmt: skip
    pdf = (
        "APPLICATION", "PDF", ("NAME", "quarterly-report.pdf"),
        "<pdf1@example.com>", "=?utf-8?q?Quarterly_=E2=82=AC?=", "BASE64", 4,
        "4lYlT9Dk0dRX6GNDJ5EkFQ==",
        ("ATTACHMENT", ("FILENAME*", "utf-8''%E2%82%AC%20report.pdf", "SIZE", "4")),
        "en",
        None,
    )  # fmt: skip
    root = _index(ATTACHMENT)
    assert body_structure(root) == (text, pdf, "MIXED", ("BOUNDARY", "=_b"), None, None, None)
    assert body_structure(root, extensible=False) == (
        ("TEXT", "PLAIN", ("CHARSET", "iso-8859-1"), None, None, "QUOTED-PRINTABLE", 6, 1),
        ("APPLICATION", "PDF", ("NAME", "quarterly-report.pdf"),
         "<pdf1@example.com>", "=?utf-8?q?Quarterly_=E2=82=AC?=", "BASE64", 4),
        "MIXED",
    )  # fmt: skip


def test_bodystructure_extended_param_in_other_charset_is_converted_to_utf8() -> None:
    raw = b"Content-Type: application/octet-stream; name*=iso-8859-1'fr'caf%E9.txt\r\n\r\n"
    # RFC 9051 §7.5.2: decode per RFC 2231, convert to UTF-8, return as "name*".
    assert body_structure(_index(raw), extensible=False)[2] == ("NAME*", "utf-8'fr'caf%C3%A9.txt")


def test_bodystructure_extended_param_with_unknown_charset_is_kept() -> None:
    raw = b"Content-Type: application/octet-stream; name*=x-unknown''%E9%01\r\n\r\n"
    assert body_structure(_index(raw), extensible=False)[2] == ("NAME*", "x-unknown''%E9%01")


def test_bodystructure_alternative_and_related_inside_mixed() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\n"
        b'Content-Type: multipart/related; boundary=r; type="multipart/alternative"\r\n\r\n'
        b"--r\r\n"
        b"Content-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"  # 2 octets, 1 line
        b"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>hi</b>\r\n"  # 9, 1
        b"--a--\r\n"
        b"--r\r\n"
        b"Content-Type: image/png\r\nContent-ID: <logo>\r\n"
        b"Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw==\r\n"  # 8
        b"--r--\r\n"
        b"--m\r\n"
        b"Content-Type: text/csv\r\nContent-Disposition: attachment; filename=data.csv\r\n"
        b"Content-Language: en-GB, fr\r\nContent-Location: data.csv\r\n\r\n"
        b"a,b\r\n1,2\r\n"  # 10 octets, 2 lines (the final CRLF is kept: no delimiter follows)
    )
    alternative = (
        ("TEXT", "PLAIN", ("CHARSET", "utf-8"), None, None, "7BIT", 2, 1, None, None, None, None),
        ("TEXT", "HTML", ("CHARSET", "utf-8"), None, None, "7BIT", 9, 1, None, None, None, None),
        "ALTERNATIVE", ("BOUNDARY", "a"), None, None, None,
    )  # fmt: skip
    png = (
        "IMAGE", "PNG", None, "<logo>", None, "BASE64", 8,
        None, ("INLINE", None), None, None,
    )  # fmt: skip
    related = (
        alternative, png,
        "RELATED", ("BOUNDARY", "r", "TYPE", "multipart/alternative"), None, None, None,
    )  # fmt: skip
    csv = (
        "TEXT", "CSV", US_ASCII, None, None, "7BIT", 10, 2,
        None, ("ATTACHMENT", ("FILENAME", "data.csv")), ("en-GB", "fr"), "data.csv",
    )  # fmt: skip
    assert body_structure(_index(raw)) == (
        related,
        csv,
        "MIXED",
        ("BOUNDARY", "m"),
        None,
        None,
        None,
    )


def test_bodystructure_complex_non_extensible() -> None:
    text = ("TEXT", "PLAIN", US_ASCII, None, None, "7BIT")
    octets = ("APPLICATION", "OCTET-STREAM", None, None, None)
    part3 = (
        "MESSAGE", "RFC822", None, None, None, "7BIT", 171,
        (None, "part 3", None, None, None, None, None, None, None, None),
        ((*text, 8, 1), (*octets, "7BIT", 8), "MIXED"),
        12,
    )  # fmt: skip
    part42 = (
        "MESSAGE", "RFC822", None, None, None, "7BIT", 294,
        (None, "part 4.2", None, None, None, None, None, None, None, None),
        (
            (*text, 10, 1),
            (
                (*text, 12, 1),
                ("TEXT", "RICHTEXT", US_ASCII, None, None, "7BIT", 12, 1),
                "ALTERNATIVE",
            ),
            "MIXED",
        ),
        20,
    )  # fmt: skip
    part4 = (("IMAGE", "GIF", None, None, None, "BASE64", 8), part42, "MIXED")
    expected = ((*text, 6, 1), (*octets, "BASE64", 4), part3, part4, "MIXED")
    assert body_structure(_index(COMPLEX), extensible=False) == expected


def test_bodystructure_message_rfc822_attachment_extensible() -> None:
    inner = b"Subject: fwd\r\nFrom: x@y.example\r\n\r\nhi\r\n"  # 14+19+2+4 octets, 4 lines
    raw = (
        b"Content-Type: multipart/mixed; boundary=z\r\n\r\n"
        b"--z\r\n"
        b"Content-Type: message/rfc822; name=fwd.eml\r\n"
        b"Content-Disposition: attachment; filename=fwd.eml\r\n\r\n" + inner + b"\r\n"
        b"--z--\r\n"
    )
    x = ((None, None, "x", "y.example"),)
    part = (
        "MESSAGE", "RFC822", ("NAME", "fwd.eml"), None, None, "7BIT", 39,
        (None, "fwd", x, x, x, None, None, None, None, None),
        ("TEXT", "PLAIN", US_ASCII, None, None, "7BIT", 4, 1, None, None, None, None),
        4,
        None, ("ATTACHMENT", ("FILENAME", "fwd.eml")), None, None,
    )  # fmt: skip
    assert body_structure(_index(raw)) == (part, "MIXED", ("BOUNDARY", "z"), None, None, None)


def test_bodystructure_multipart_without_parts_gets_an_empty_text_part() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=q\r\n\r\njust a preamble\r\n"
    # `body-type-mpart = 1*body`: zero bodies is not expressible (Dovecot does the same).
    assert body_structure(_index(raw), extensible=False) == (
        ("TEXT", "PLAIN", US_ASCII, None, None, "7BIT", 0, 0),
        "MIXED",
    )


def test_bodystructure_bare_lf_sizes_are_stored_octets() -> None:
    raw = ATTACHMENT.replace(b"\r\n", b"\n")
    root = _index(raw)
    assert body_structure(root, extensible=False) == (
        ("TEXT", "PLAIN", ("CHARSET", "iso-8859-1"), None, None, "QUOTED-PRINTABLE", 6, 1),
        ("APPLICATION", "PDF", ("NAME", "quarterly-report.pdf"),
         "<pdf1@example.com>", "=?utf-8?q?Quarterly_=E2=82=AC?=", "BASE64", 4),
        "MIXED",
    )  # fmt: skip


# ---------------------------------------------------------------------------- BODY[section]

_COMPLEX_SECTIONS = [
    ((), "", COMPLEX),
    ((), "HEADER", COMPLEX_HEADER),
    ((), "TEXT", COMPLEX_TEXT),
    ((1,), "", b"part 1"),
    ((1,), "MIME", b"Content-Type: text/plain\r\n\r\n"),
    ((2,), "", b"AAEC"),
    (
        (2,),
        "MIME",
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    ),
    ((3,), "", PART3_MESSAGE),
    ((3,), "MIME", b"Content-Type: message/rfc822\r\n\r\n"),
    ((3,), "HEADER", b"Subject: part 3\r\nContent-Type: multipart/mixed; boundary=b3\r\n\r\n"),
    (
        (3,),
        "TEXT",
        b"--b3\r\nContent-Type: text/plain\r\n\r\npart 3.1\r\n--b3\r\n"
        b"Content-Type: application/octet-stream\r\n\r\npart 3.2\r\n--b3--",
    ),
    ((3, 1), "", b"part 3.1"),
    ((3, 1), "MIME", b"Content-Type: text/plain\r\n\r\n"),
    ((3, 2), "", b"part 3.2"),
    ((4,), "", PART4_BODY),
    ((4,), "MIME", b"Content-Type: multipart/mixed; boundary=b4\r\n\r\n"),
    ((4, 1), "", b"R0lGODlh"),
    ((4, 1), "MIME", b"Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
    ((4, 2), "", PART42_MESSAGE),
    ((4, 2), "HEADER", b"Subject: part 4.2\r\nContent-Type: multipart/mixed; boundary=b42\r\n\r\n"),
    ((4, 2), "TEXT", PART42_MESSAGE[PART42_MESSAGE.index(b"--b42\r\n") :]),
    ((4, 2, 1), "", b"part 4.2.1"),
    (
        (4, 2, 2),
        "",
        b"--b422\r\nContent-Type: text/plain\r\n\r\npart 4.2.2.1\r\n--b422\r\n"
        b"Content-Type: text/richtext\r\n\r\npart 4.2.2.2\r\n--b422--",
    ),
    ((4, 2, 2), "MIME", b"Content-Type: multipart/alternative; boundary=b422\r\n\r\n"),
    ((4, 2, 2, 1), "", b"part 4.2.2.1"),
    ((4, 2, 2, 2), "", b"part 4.2.2.2"),
    ((4, 2, 2, 2), "mime", b"Content-Type: text/richtext\r\n\r\n"),
]


@pytest.mark.parametrize(("path", "spec", "expected"), _COMPLEX_SECTIONS)
def test_sections_of_complex_message(path: tuple[int, ...], spec: str, expected: bytes) -> None:
    assert section(COMPLEX, _index(COMPLEX), path, spec) == expected


@pytest.mark.parametrize(("path", "spec", "expected"), _COMPLEX_SECTIONS)
def test_sections_of_bare_lf_message(path: tuple[int, ...], spec: str, expected: bytes) -> None:
    raw = COMPLEX.replace(b"\r\n", b"\n")
    assert section(raw, _index(raw), path, spec) == expected.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ((5,), ""),
        ((0,), ""),
        ((1, 1), ""),  # a text part has no sub-parts
        ((3, 3), ""),
        ((4, 3), ""),
        ((4, 2, 3), ""),
        ((4, 2, 2, 3), ""),
        ((4, 2, 2, 1, 1), ""),
        ((2,), "HEADER"),  # HEADER/TEXT need a MESSAGE/RFC822 part
        ((1,), "TEXT"),
        ((4,), "HEADER.FIELDS"),
        ((), "MIME"),  # MIME needs part numbers
        ((), "BOGUS"),
        ((9,), "MIME"),
    ],
)
def test_sections_that_do_not_exist_are_empty(path: tuple[int, ...], spec: str) -> None:
    assert section(COMPLEX, _index(COMPLEX), path, spec, ("subject",)) == b""


def test_header_fields_of_encapsulated_message() -> None:
    root = _index(COMPLEX)
    assert section(COMPLEX, root, (4, 2), "HEADER.FIELDS", ("SUBJECT",)) == (
        b"Subject: part 4.2\r\n\r\n"
    )
    assert section(COMPLEX, root, (4, 2), "HEADER.FIELDS.NOT", ("subject",)) == (
        b"Content-Type: multipart/mixed; boundary=b42\r\n\r\n"
    )


HEADERS = (
    b"Received: from a by b;\r\n"
    b"\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"Subject: folded\r\n"
    b"  subject\r\n"
    b"Received: from c by d\r\n"
    b"X-Spaced-Name : yes\r\n"
    b"To: someone@example.com\r\n"
    b"\r\n"
    b"Body\r\n"
)


def test_header_fields_keeps_folding_order_and_duplicates() -> None:
    root = _index(HEADERS)
    assert section(HEADERS, root, (), "HEADER.FIELDS", ("received", "SUBJECT")) == (
        b"Received: from a by b;\r\n"
        b"\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
        b"Subject: folded\r\n"
        b"  subject\r\n"
        b"Received: from c by d\r\n"
        b"\r\n"
    )
    assert section(HEADERS, root, (), "header.fields.not", ("Received", "subject")) == (
        b"X-Spaced-Name : yes\r\nTo: someone@example.com\r\n\r\n"
    )
    assert section(HEADERS, root, (), "HEADER.FIELDS", ("x-spaced-name",)) == (
        b"X-Spaced-Name : yes\r\n\r\n"
    )
    # No match still returns the blank line (RFC 3501 §6.4.5).
    assert section(HEADERS, root, (), "HEADER.FIELDS", ("cc",)) == b"\r\n"
    assert section(HEADERS, root, (), "HEADER.FIELDS", ()) == b"\r\n"


def test_header_fields_without_blank_line_or_body() -> None:
    raw = b"Subject: s\r\nTo: t@x"
    root = _index(raw)
    assert section(raw, root, (), "HEADER", ()) == raw
    assert section(raw, root, (), "HEADER.FIELDS", ("to",)) == b"To: t@x"
    assert section(raw, root, (), "HEADER.FIELDS.NOT", ("to",)) == b"Subject: s\r\n"
    assert section(raw, root, (), "TEXT", ()) == b""


def test_header_fields_of_message_without_header() -> None:
    raw = b"\r\nbody"
    root = _index(raw)
    assert section(raw, root, (), "HEADER.FIELDS.NOT", ("x",)) == b"\r\n"
    assert section(raw, root, (), "HEADER", ()) == b"\r\n"


def test_lines_that_are_not_fields_are_never_returned() -> None:
    raw = b" leading continuation\r\nA: 1\r\n cont\r\n: no name\r\n\r\nbody"
    root = _index(raw)
    assert section(raw, root, (), "HEADER.FIELDS.NOT", ("b",)) == b"A: 1\r\n cont\r\n\r\n"


def test_header_ends_at_first_line_that_is_not_a_field() -> None:
    # As in the stdlib's parser: a missing separator line starts the body at that line.
    raw = b"Subject: x\r\nhello world\r\n\r\nmore"
    root = _index(raw)
    assert section(raw, root, (), "HEADER") == b"Subject: x\r\n"
    assert section(raw, root, (), "TEXT") == b"hello world\r\n\r\nmore"
    assert section(raw, root, (), "HEADER.FIELDS", ("subject",)) == b"Subject: x\r\n"
    assert envelope(root)[1] == "x"
    raw = b"hello\n"
    root = _index(raw)
    assert section(raw, root, (), "HEADER") == b""
    assert section(raw, root, (), "TEXT") == b"hello\n"
    assert body_structure(root, extensible=False) == (
        "TEXT", "PLAIN", US_ASCII, None, None, "7BIT", 6, 1,
    )  # fmt: skip


def test_obsolete_blank_before_colon() -> None:
    # RFC 5322 §4.5 obs-field: "name *WSP :"; later fields must not be lost either.
    raw = b"From : a@x.example\r\nSubject\t: s\r\nTo: t@x.example\r\n\r\nbody"
    root = _index(raw)
    env = envelope(root)
    assert env[1] == "s"
    assert env[2] == ((None, None, "a", "x.example"),)
    assert env[5] == ((None, None, "t", "x.example"),)
    assert section(raw, root, (), "TEXT") == b"body"
    assert section(raw, root, (), "HEADER.FIELDS", ("subject",)) == b"Subject\t: s\r\n\r\n"


def test_single_part_message_numbering() -> None:
    root = _index(RFC3501_SAMPLE)
    body = b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
    header = RFC3501_SAMPLE[: -len(body)]
    assert find_part(root, (1,)) is root
    assert section(RFC3501_SAMPLE, root, (1,), "") == body
    assert section(RFC3501_SAMPLE, root, (1,), "MIME") == header
    assert section(RFC3501_SAMPLE, root, (), "TEXT") == body
    assert section(RFC3501_SAMPLE, root, (2,), "") == b""
    assert section(RFC3501_SAMPLE, root, (1, 1), "") == b""
    assert section(RFC3501_SAMPLE, root, (1,), "HEADER") == b""


def test_top_level_message_rfc822_numbering() -> None:
    inner = b"Subject: inner\r\n\r\ninner body\r\n"
    raw = b"Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    root = _index(raw)
    assert section(raw, root, (1,), "") == inner
    assert section(raw, root, (1,), "HEADER") == b"Subject: inner\r\n\r\n"
    assert section(raw, root, (1,), "TEXT") == b"inner body\r\n"
    assert section(raw, root, (1, 1), "") == b"inner body\r\n"


def test_find_part() -> None:
    root = _index(COMPLEX)
    assert find_part(root, ()) is root
    part42 = find_part(root, (4, 2))
    assert part42 is not None
    assert part42.content_type == "message/rfc822"
    leaf = find_part(root, (4, 2, 2, 2))
    assert leaf is not None
    assert leaf.content_type == "text/richtext"
    assert find_part(root, (4, 2, 2, 3)) is None


def test_partial() -> None:
    data = b"0123456789"
    assert partial(data, 0, 4) == b"0123"
    assert partial(data, 8, 100) == b"89"
    assert partial(data, 10, 1) == b""
    assert partial(data, 99, 1) == b""
    assert partial(data, 3, 0) == b""


# ---------------------------------------------------------------------------- robustness


def _check_body(value: ImapValue, extensible: bool) -> None:
    """Check *value* has the shape of RFC 3501's `body`."""
    assert isinstance(value, tuple)
    if isinstance(value[0], tuple):
        n = next(i for i, v in enumerate(value) if not isinstance(v, tuple))
        assert n >= 1
        for child in value[:n]:
            _check_body(child, extensible)
        assert isinstance(value[n], (str, bytes))
        assert len(value) == n + (5 if extensible else 1)
        return
    assert all(isinstance(v, (str, bytes)) for v in value[:2])
    assert isinstance(value[6], int)
    fixed = 7
    if value[0] == "TEXT":
        fixed = 8
    elif value[:2] in (("MESSAGE", "RFC822"), ("MESSAGE", "GLOBAL")):
        assert isinstance(value[7], tuple)
        assert len(value[7]) == 10
        _check_body(value[8], extensible)
        fixed = 10
    assert isinstance(value[fixed - 1], int)
    assert len(value) == fixed + (4 if extensible else 0)


def _paths(root: MimePart, prefix: tuple[int, ...] = (), depth: int = 0) -> list[tuple[int, ...]]:
    out = [prefix]
    if depth > 6:
        return out
    n = 1
    while n < 6 and find_part(root, (*prefix, n)) is not None:
        out += _paths(root, (*prefix, n), depth + 1)
        n += 1
    return out


def _check_strings(value: ImapValue) -> None:
    """Every string in *value* can be sent: str must encode to UTF-8 (no lone surrogates)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, tuple):
        for item in value:
            _check_strings(item)
    else:
        assert value is None or isinstance(value, (int, bytes))
        assert not isinstance(value, bool)


_SPECS: Sequence[str] = ("", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")


@settings(max_examples=150)
@given(
    st.lists(
        st.sampled_from(
            [COMPLEX[i : i + 40] for i in range(0, len(COMPLEX), 40)]
            + [b"\r\n", b"\n", b"--b1", b"--b4--", b"To: a:b;c\r\n", b"From: <@x:y\r\n", b"\xff"]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_structure_of_garbled_messages(raw: bytes) -> None:
    root = _index(raw)
    _check_body(body_structure(root), extensible=True)
    _check_body(body_structure(root, extensible=False), extensible=False)
    assert len(envelope(root)) == 10
    _check_strings(body_structure(root))
    _check_strings(envelope(root))
    for path in _paths(root):
        for spec in _SPECS:
            data = section(raw, root, path, spec, ("subject", "to"))
            assert isinstance(data, bytes)
            if spec not in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
                assert data in raw


@given(st.binary(max_size=500))
def test_structure_of_random_bytes(raw: bytes) -> None:
    root = _index(raw)
    _check_body(body_structure(root), extensible=True)
    assert len(envelope(root)) == 10
    _check_strings(body_structure(root))
    _check_strings(envelope(root))
    assert section(raw, root, (1,), "") in raw


_HEADER_NAMES = [
    b"Content-Type",
    b"Content-Disposition",
    b"Content-Transfer-Encoding",
    b"Content-Language",
    b"From",
    b"To",
    b"Subject",
]
_VALUE_PIECES = [
    b"multipart/mixed",
    b"message/rfc822",
    b"message/global",
    b"multipart/digest",
    b"text/plain",
    b"attachment",
    b"base64",
    b";",
    b"=",
    b"*",
    b"*0",
    b"*1*",
    b"'",
    b"''",
    b"%E9",
    b"%",
    b'"',
    b"\\",
    b"\xe9",
    b"\xff",
    b"utf-8",
    b"x-unknown",
    b"boundary",
    b"name",
    b"filename",
    b"charset",
    b"b",
    b" ",
    b"\r\n ",
    b"(",
    b")",
    b"<",
    b">",
    b"@",
    b",",
    b":",
]


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_HEADER_NAMES),
            st.lists(st.sampled_from(_VALUE_PIECES), max_size=12).map(b"".join),
        ),
        max_size=6,
    ),
    st.lists(st.sampled_from([b"--b", b"--b--", b"\r\n", b"x", b"Content-Type: text/plain"])).map(
        b"".join
    ),
)
def test_structure_of_fuzzed_mime_headers(headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    raw = b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    root = _index(raw)
    for part in root.walk():
        assert 0 <= part.start <= part.body_start <= part.end <= len(raw)
    structure = body_structure(root)
    _check_body(structure, extensible=True)
    _check_strings(structure)
    _check_strings(envelope(root))
