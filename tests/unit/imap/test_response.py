"""Rendering of IMAP response values and responses to bytes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakemail._exceptions import LocalProtocolError
from fakemail._imap._response import (
    MAX_QUOTED,
    Atom,
    Continuation,
    FetchData,
    ImapValue,
    Mailbox,
    Memo,
    Tagged,
    Untagged,
    UntaggedStatus,
    render_response,
    render_value,
)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, b"NIL"),
        (0, b"0"),
        (4294967295, b"4294967295"),
        ("", b'""'),
        ("hello world", b'"hello world"'),
        ("NIL", b'"NIL"'),  # a str is never an atom
        (Atom("NIL"), b"NIL"),
        (Atom("\\Seen"), b"\\Seen"),
        (Atom("BODY[HEADER.FIELDS (SUBJECT)]"), b"BODY[HEADER.FIELDS (SUBJECT)]"),
        ('say "hi"', b'"say \\"hi\\""'),
        ("back\\slash", b'"back\\\\slash"'),
        ("tab\tok", b'"tab\tok"'),
        (b"bytes", b'"bytes"'),
        (b'q"b\\', b'"q\\"b\\\\"'),
        ((), b"()"),
        ([], b"()"),
        ((1, "a", None), b'(1 "a" NIL)'),
        ((Atom("\\Seen"), (Atom("x"), ((),))), b"(\\Seen (x (())))"),
    ],
)
def test_values(value: ImapValue, wire: bytes) -> None:
    assert render_value(value) == wire


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("line\r\nbreak", b"{11}\r\nline\r\nbreak"),
        ("lf\nonly", b"{7}\r\nlf\nonly"),
        ("nul\x00", b"{4}\r\nnul\x00"),
        ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),  # UTF-8 bytes are counted, not characters
        (b"\xff", b"{1}\r\n\xff"),
        (b"a\r\n", b"{3}\r\na\r\n"),
        (b"{5}\r\n", b"{5}\r\n{5}\r\n"),
    ],
)
def test_unsafe_strings_become_literals(value: ImapValue, wire: bytes) -> None:
    assert render_value(value) == wire


def test_long_strings_become_literals() -> None:
    assert render_value("x" * MAX_QUOTED) == b'"' + b"x" * MAX_QUOTED + b'"'
    long = "x" * (MAX_QUOTED + 1)
    assert render_value(long) == b"{%d}\r\n%s" % (MAX_QUOTED + 1, long.encode())
    assert render_value(long.encode()).startswith(b"{1025}\r\nxxx")


def test_utf8_mode_quotes_8bit_but_not_crlf() -> None:
    assert render_value("caf\u00e9", utf8=True) == b'"caf\xc3\xa9"'
    assert render_value("caf\u00e9".encode(), utf8=True) == b'"caf\xc3\xa9"'
    assert render_value("a\r\nb", utf8=True) == b"{4}\r\na\r\nb"


def test_mailbox_names_are_encoded() -> None:
    assert render_value(Mailbox("\u65e5\u672c\u8a9e")) == b'"&ZeVnLIqe-"'
    assert render_value(Mailbox("Tom & Jerry")) == b'"Tom &- Jerry"'
    assert render_value(Mailbox("\u65e5\u672c\u8a9e"), utf8=True) == '"日本語"'.encode()
    assert render_value(Mailbox('a"b')) == b'"a\\"b"'


@pytest.mark.parametrize("bad", [True, False, 1.5, object(), {"a": 1}, Mailbox("\ud800")])
def test_non_values_are_refused(bad: object) -> None:
    with pytest.raises(LocalProtocolError):
        render_value(bad)  # type: ignore[arg-type]


def test_tagged() -> None:
    assert render_response(Tagged("a1", "OK", "LOGIN completed")) == b"a1 OK LOGIN completed\r\n"
    assert (
        render_response(Tagged("a2", "OK", "SELECT completed", "READ-WRITE"))
        == b"a2 OK [READ-WRITE] SELECT completed\r\n"
    )
    assert (
        render_response(Tagged("x", "NO", "unsupported", "BADCHARSET (UTF-8 US-ASCII)"))
        == b"x NO [BADCHARSET (UTF-8 US-ASCII)] unsupported\r\n"
    )
    assert render_response(Tagged("t", "BAD", "")) == b"t BAD\r\n"


def test_untagged_status() -> None:
    assert (
        render_response(UntaggedStatus("OK", "UIDs valid", "UIDVALIDITY 3857529045"))
        == b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
    )
    assert render_response(UntaggedStatus("BYE", "logging out")) == b"* BYE logging out\r\n"
    assert (
        render_response(UntaggedStatus("OK", "Limited", "PERMANENTFLAGS (\\Deleted \\Seen \\*)"))
        == b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
    )
    assert render_response(UntaggedStatus("PREAUTH", "hi")) == b"* PREAUTH hi\r\n"


def test_untagged_data() -> None:
    assert render_response(Untagged((5, Atom("EXISTS")))) == b"* 5 EXISTS\r\n"
    assert (
        render_response(Untagged((Atom("FLAGS"), (Atom("\\Answered"), Atom("\\Seen")))))
        == b"* FLAGS (\\Answered \\Seen)\r\n"
    )
    assert (
        render_response(Untagged((Atom("LIST"), (Atom("\\HasNoChildren"),), "/", Mailbox("a"))))
        == b'* LIST (\\HasNoChildren) "/" "a"\r\n'
    )
    assert render_response(Untagged((Atom("SEARCH"),))) == b"* SEARCH\r\n"
    assert render_response(Untagged((Atom("SEARCH"), 2, 5))) == b"* SEARCH 2 5\r\n"


def test_continuation() -> None:
    assert render_response(Continuation()) == b"+ \r\n"
    assert render_response(Continuation("idling")) == b"+ idling\r\n"
    assert render_response(Continuation("dGVzdA==")) == b"+ dGVzdA==\r\n"


def test_fetch_line_shape() -> None:
    response = FetchData(
        5,
        (
            ("UID", 7),
            ("FLAGS", (Atom("\\Seen"),)),
            ("BODY[]", b"Subject: x\r\n\r\nhi\r\n"),
            ("BODY[HEADER.FIELDS (SUBJECT)]<0>", b"Subject: x\r\n"),
            ("INTERNALDATE", "17-Jul-1996 02:44:25 -0700"),
        ),
    )
    assert render_response(response) == (
        b"* 5 FETCH (UID 7 FLAGS (\\Seen) BODY[] {18}\r\nSubject: x\r\n\r\nhi\r\n"
        b" BODY[HEADER.FIELDS (SUBJECT)]<0> {12}\r\nSubject: x\r\n"
        b' INTERNALDATE "17-Jul-1996 02:44:25 -0700")\r\n'
    )
    assert render_response(FetchData(1, ())) == b"* 1 FETCH ()\r\n"


def test_envelope_shaped_value() -> None:
    envelope: ImapValue = (
        "Wed, 17 Jul 1996 02:23:25 -0700",
        "IMAP4rev1 WG mtg summary",
        (("Terry Gray", None, "gray", "cac.washington.edu"),),
        None,
        (),
        None,
        None,
        "<B27397-0100000@cac.washington.edu>",
    )
    assert render_value(envelope) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700" "IMAP4rev1 WG mtg summary" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) NIL () NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>")'
    )


@pytest.mark.parametrize(
    "response",
    [
        Tagged("a", "OK", "two\r\nlines"),
        Tagged("a\r\n", "OK", "x"),
        Tagged("a", "OK", "x", "CODE]"),
        UntaggedStatus("OK", "x\n"),
        Continuation("a\rb"),
    ],
)
def test_crlf_injection_refused(response: Tagged | UntaggedStatus | Continuation) -> None:
    with pytest.raises(LocalProtocolError):
        render_response(response)


def test_fetch_with_envelope_renders_exactly() -> None:
    # The speed of rendering many of these is a benchmark's job (benchmarks/bench_imap.py).
    address = (("Alice Example", None, "alice", "example.com"),)
    response = FetchData(
        7,
        (
            ("UID", 7),
            ("FLAGS", (Atom("\\Seen"), Atom("$Label1"))),
            ("RFC822.SIZE", 1234),
            (
                "ENVELOPE",
                (
                    "Mon, 1 Jan 2024 10:00:00 +0000",
                    'Message number 7 about "things"',
                    address,
                    address,
                    address,
                    (("Bob", None, "bob", "example.org"), (None, None, "c", "d.e")),
                    None,
                    None,
                    None,
                    "<7@example.com>",
                ),
            ),
        ),
    )
    alice = b'(("Alice Example" NIL "alice" "example.com"))'
    assert render_response(response) == (
        b"* 7 FETCH (UID 7 FLAGS (\\Seen $Label1) RFC822.SIZE 1234 ENVELOPE "
        b'("Mon, 1 Jan 2024 10:00:00 +0000" "Message number 7 about \\"things\\"" '
        + alice
        + b" "
        + alice
        + b" "
        + alice
        + b' (("Bob" NIL "bob" "example.org")'
        b'(NIL NIL "c" "d.e")) NIL NIL NIL "<7@example.com>"))\r\n'
    )


def test_adjacent_lists_at_the_start_of_a_list_are_not_separated() -> None:
    # RFC 3501 §9: "(" 1*address ")" and body-type-mpart = 1*body SP media-subtype.
    addresses = (("A", None, "a", "x.org"), ("B", None, "b", "x.org"))
    assert render_value(addresses) == b'(("A" NIL "a" "x.org")("B" NIL "b" "x.org"))'
    multipart = (("TEXT",), ("IMAGE",), "MIXED", ("BOUNDARY", "b"))
    assert render_value(multipart) == b'(("TEXT")("IMAGE") "MIXED" ("BOUNDARY" "b"))'
    assert render_value(("d", ("x",), ("y",))) == b'("d" ("x") ("y"))'


# ---------------------------------------------------------------------------- the rules, again

# A plain restatement of the module docstring's rules, to check the (optimised) renderer against.


def _oracle(value: ImapValue, utf8: bool) -> bytes:
    if isinstance(value, Memo):
        return _oracle(value.value, utf8)
    if value is None:
        return b"NIL"
    if isinstance(value, Atom):
        return value.encode()
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, (str, bytes)):
        data = value.encode() if isinstance(value, str) else value
        unsafe = {0, 10, 13} | (set() if utf8 else set(range(128, 256)))
        if len(value) <= MAX_QUOTED and not unsafe & set(data):
            return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        return b"{%d}\r\n" % len(data) + data
    assert isinstance(value, Sequence)
    out = b"("
    leading = True  # still in the run of lists the list starts with: no SP between them
    for i, item in enumerate(value):
        inner = item.value if isinstance(item, Memo) else item
        is_list = isinstance(inner, (tuple, list))
        if i and not (leading and is_list):
            out += b" "
        leading = leading and is_list
        out += _oracle(item, utf8)
    return out + b")"


_scalars = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=2**63),
    st.text(alphabet='ab "\\\t\r\n\x00é€', max_size=8),
    st.binary(max_size=6),
    st.sampled_from([Atom("\\Seen"), Atom("NIL"), "x" * MAX_QUOTED, "y" * (MAX_QUOTED + 1)]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(tuple),
        st.lists(inner, max_size=3),
        inner.map(Memo),
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(_values, st.booleans())
def test_rendering_follows_the_rules(value: ImapValue, utf8: bool) -> None:
    assert render_value(value, utf8=utf8) == _oracle(value, utf8)


# ---------------------------------------------------------------------------- Memo


def test_memo_renders_as_its_value_once_per_mode() -> None:
    envelope: ImapValue = ("d", "caf\u00e9", (("A", None, "a", "x.org"),), None, 'q"\\')
    memo = Memo(envelope)
    plain = memo.render()
    assert plain == render_value(envelope)
    assert plain == b'("d" {5}\r\ncaf\xc3\xa9 (("A" NIL "a" "x.org")) NIL "q\\"\\\\")'
    assert memo.render() is plain  # kept, not rendered again
    wide = memo.render(utf8=True)
    assert wide == render_value(envelope, utf8=True)
    assert wide == b'("d" "caf\xc3\xa9" (("A" NIL "a" "x.org")) NIL "q\\"\\\\")'
    assert memo.render(utf8=True) is wide
    assert memo.render() is plain
    assert render_value(memo) == plain
    assert render_value(memo, utf8=True) == wide
    response = FetchData(3, (("UID", 9), ("ENVELOPE", memo)))
    assert render_response(response) == b"* 3 FETCH (UID 9 ENVELOPE " + plain + b")\r\n"


def test_memo_in_a_list_is_spaced_as_its_value() -> None:
    first, second = Memo(("A", None, "a", "x")), Memo(("B", None, "b", "x"))
    assert render_value((first, second)) == b'(("A" NIL "a" "x")("B" NIL "b" "x"))'
    assert render_value((first, "MIXED", second)) == (
        b'(("A" NIL "a" "x") "MIXED" ("B" NIL "b" "x"))'
    )
    assert render_value(("s", Memo("t"), Memo(None), Memo(7))) == b'("s" "t" NIL 7)'
    assert render_value(Memo(Memo(("x",)))) == b'("x")'


def test_memo_of_a_bad_value_is_refused_every_time() -> None:
    memo = Memo(("ok", True))  # a bool is an int to the type checker, not to IMAP
    for _ in range(2):
        with pytest.raises(LocalProtocolError):
            render_value(memo)
