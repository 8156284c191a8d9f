"""The IMAP command grammar: every command's good and bad forms, values, and round trips."""

from __future__ import annotations

import base64
import datetime
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakemail._imap._connection import LITERAL_CONTINUATION, ImapConnection
from fakemail._imap._events import (
    Append,
    Authenticate,
    BodySection,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Expunge,
    Fetch,
    FetchAttribute,
    FetchItem,
    Id,
    Idle,
    InvalidCommand,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    SearchAll,
    SearchAnd,
    SearchBody,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSequence,
    SearchSize,
    SearchText,
    SearchUid,
    Select,
    SequenceSet,
    StartTls,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from fakemail._imap._grammar import parse_command, parse_sequence_set
from fakemail._imap._response import Tagged
from fakemail._imap._state import ImapState
from fakemail._imap._utf7 import encode_utf7


def parse(raw: bytes, *, utf8: bool = False) -> Command | InvalidCommand:
    return parse_command(raw, utf8=utf8)


def bad(raw: bytes) -> InvalidCommand:
    """Parse ``raw`` and check it is refused with a tagged BAD."""
    event = parse(raw)
    assert isinstance(event, InvalidCommand), event
    assert event.status == "BAD", event
    assert event.tag is not None
    return event


def seq(text: str) -> SequenceSet:
    return parse_sequence_set(text.encode())


# --------------------------------------------------------------------------- tags, names


def test_tag_and_name_case_insensitive() -> None:
    assert parse(b"A001 noop") == Noop("A001")
    assert parse(b"x.1] CaPaBiLiTy") == Capability("x.1]")


@pytest.mark.parametrize(
    "line",
    [b"", b" a NOOP", b"* NOOP", b"+ NOOP", b"a+b NOOP", b"(a NOOP", b'"a" NOOP', b"\xff NOOP"],
)
def test_untaggable_lines(line: bytes) -> None:
    event = parse(line)
    assert isinstance(event, InvalidCommand)
    assert event.tag is None
    assert event.status == "BAD"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"a", "missing"),
        (b"a ", "missing"),
        (b"a FROB", "unknown command FROB"),
        (b"a UID", "missing"),
        (b"a UID NOOP", "unknown UID command NOOP"),
        (b"a UID SELECT INBOX", "unknown UID command SELECT"),
        (b"a EXAMINE", "expected SP"),
        (b"a  NOOP", "missing"),
    ],
)
def test_bad_command_names(line: bytes, reason: str) -> None:
    assert reason in bad(line).reason


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        (b"CAPABILITY", Capability),
        (b"NOOP", Noop),
        (b"LOGOUT", Logout),
        (b"STARTTLS", StartTls),
        (b"CHECK", Check),
        (b"CLOSE", Close),
        (b"UNSELECT", Unselect),
        (b"EXPUNGE", Expunge),
        (b"IDLE", Idle),
        (b"NAMESPACE", Namespace),
    ],
)
def test_commands_without_arguments(name: bytes, cls: type[Command]) -> None:
    assert parse(b"t " + name) == cls("t")  # type: ignore[call-arg]
    assert parse(b"t " + name.lower()) == cls("t")  # type: ignore[call-arg]
    bad(b"t " + name + b" x")
    bad(b"t " + name + b" ")


def test_state_check_when_asked() -> None:
    event = parse_command(b"a SELECT INBOX", state=ImapState.NOT_AUTHENTICATED)
    assert event == InvalidCommand("a", "SELECT is not valid in the not authenticated state")
    assert parse_command(b"a SELECT INBOX", state=ImapState.AUTHENTICATED) == Select("a", "INBOX")
    event = parse_command(b"a UID FETCH 1 FLAGS", state=ImapState.AUTHENTICATED)
    assert isinstance(event, InvalidCommand)
    assert event.reason == "UID FETCH is not valid in the authenticated state"


# --------------------------------------------------------------------------- strings


def test_login_forms() -> None:
    assert parse(b"a LOGIN bob secret") == Login("a", "bob", "secret")
    assert parse(b'a LOGIN "bob smith" "pa\\"ss\\\\"') == Login("a", "bob smith", 'pa"ss\\')
    assert parse(b"a LOGIN {3}\r\nbob {4+}\r\nx y\n") == Login("a", "bob", "x y\n")
    assert parse(b"a LOGIN bob {0}\r\n") == Login("a", "bob", "")
    assert parse(b'a LOGIN "" ""') == Login("a", "", "")
    assert parse(b"a LOGIN b]b p") == Login("a", "b]b", "p")  # "]" is an ASTRING-CHAR
    assert parse('a LOGIN "jürgen" "pässword"'.encode()) == Login("a", "jürgen", "pässword")


@pytest.mark.parametrize(
    "line",
    [
        b"a LOGIN bob",
        b"a LOGIN bob ",
        b"a LOGIN bob secret extra",
        b'a LOGIN "bob secret',
        b'a LOGIN "b\\ob" x',  # only \" and \\ may be escaped
        b"a LOGIN b%b x",  # list-wildcards are not ASTRING-CHARs
        b"a LOGIN b*b x",
        b"a LOGIN (b) x",
        b"a LOGIN {5}\r\nbob x",  # literal shorter than announced
        b"a LOGIN {3}\nbob x",  # literal marker must be followed by CRLF
        b"a LOGIN ~{3}\r\nbob x",  # literal8
        b"a  LOGIN bob x",
        b"a LOGIN  bob x",
        b"a LOGIN bob x\r",
    ],
)
def test_login_bad(line: bytes) -> None:
    bad(line)


def test_authenticate() -> None:
    assert parse(b"a AUTHENTICATE plain") == Authenticate("a", "PLAIN", None)
    ir = base64.b64encode(b"\0bob\0pw")
    assert parse(b"a AUTHENTICATE PLAIN " + ir) == Authenticate("a", "PLAIN", b"\0bob\0pw")
    assert parse(b"a AUTHENTICATE XOAUTH2 =") == Authenticate("a", "XOAUTH2", b"")
    for line in (
        b"a AUTHENTICATE",
        b"a AUTHENTICATE PLAIN AGJvYgBwdw",  # missing padding
        b"a AUTHENTICATE PLAIN @@@@",
        b"a AUTHENTICATE PLAIN a= b",
        b"a AUTHENTICATE PLAIN ",
        b'a AUTHENTICATE "PLAIN"',
    ):
        bad(line)


# --------------------------------------------------------------------------- mailboxes


def test_mailbox_commands() -> None:
    assert parse(b"a SELECT inbox") == Select("a", "INBOX")
    assert parse(b'a SELECT "InBox"') == Select("a", "INBOX")
    assert parse(b"a SELECT {5}\r\niNbOx") == Select("a", "INBOX")
    assert parse(b"a EXAMINE &ZeVnLIqe-") == Select("a", "日本語", readonly=True)
    assert parse(b"a SELECT INBOX (condstore)") == Select("a", "INBOX", condstore=True)
    assert parse(b"a EXAMINE x (CONDSTORE)") == Select("a", "x", True, True)
    assert parse(b"a CREATE Tom&-Jerry") == Create("a", "Tom&Jerry")
    assert parse(b"a CREATE Sent (USE (\\sent))") == Create("a", "Sent", ("\\Sent",))
    assert parse(b"a CREATE x (USE (\\Junk \\Trash \\Important))") == Create(
        "a", "x", ("\\Junk", "\\Trash", "\\Important")
    )
    assert parse(b"a CREATE x (USE ())") == Create("a", "x", ())
    assert parse(b"a DELETE inbox.sub") == Delete("a", "inbox.sub")
    assert parse(b'a RENAME "a b" &ZeVnLIqe-') == Rename("a", "a b", "日本語")
    assert parse(b"a SUBSCRIBE news") == Subscribe("a", "news")
    assert parse(b"a UNSUBSCRIBE news") == Unsubscribe("a", "news")
    assert parse(b"a STATUS INBOX (MESSAGES uidnext UIDVALIDITY UNSEEN RECENT)") == Status(
        "a", "INBOX", ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT")
    )
    assert parse(b"a STATUS x (HIGHESTMODSEQ SIZE DELETED)") == Status(
        "a", "x", ("HIGHESTMODSEQ", "SIZE", "DELETED")
    )


def test_mailbox_names_utf8_mode() -> None:
    assert parse('a SELECT "日本語"'.encode(), utf8=True) == Select("a", "日本語")
    assert parse(b"a SELECT &ZeVnLIqe-", utf8=True) == Select("a", "&ZeVnLIqe-")
    assert parse(b"a SELECT &ZeVnLIqe-") == Select("a", "日本語")


@pytest.mark.parametrize(
    "line",
    [
        b"a SELECT",
        b"a SELECT a b",
        b"a SELECT x ()",
        b"a SELECT x (QRESYNC)",
        b"a SELECT x (CONDSTORE",
        b"a CREATE",
        b"a CREATE x (USE (Sent))",
        b"a CREATE x (FOO (\\Sent))",
        b"a CREATE x USE (\\Sent)",
        b"a DELETE",
        b"a DELETE a b",
        b"a RENAME a",
        b"a RENAME a b c",
        b"a SUBSCRIBE",
        b"a UNSUBSCRIBE",
        b"a STATUS INBOX",
        b"a STATUS INBOX ()",
        b"a STATUS INBOX (MESSAGES FOO)",
        b"a STATUS INBOX MESSAGES",
        b"a STATUS INBOX (MESSAGES  UNSEEN)",
    ],
)
def test_mailbox_commands_bad(line: bytes) -> None:
    bad(line)


@pytest.mark.parametrize(
    "line",
    [
        b"a SELECT &Jjo",
        b"a SELECT a&b",
        b'a SELECT "\xff"',
        b"a CREATE &Jjo",
        b"a STATUS &Jjo (MESSAGES)",
        b"a RENAME x &Jjo",
    ],
)
def test_invalid_mailbox_name_is_no(line: bytes) -> None:
    # A valid command naming a mailbox that cannot exist: NO, as Dovecot (imaptest "atoms").
    event = parse(line)
    assert isinstance(event, InvalidCommand), event
    assert (event.status, event.code) == ("NO", "NONEXISTENT"), event
    assert "invalid mailbox name" in event.reason


def test_invalid_list_pattern_matches_nothing() -> None:
    assert parse(b'a LIST "" (&Jjo INBOX)') == List("a", "", ("INBOX",))
    assert parse(b'a LIST "" &Jjo%') == List("a", "", ())
    assert parse(b"a LIST &Jjo *") == List("a", "", ())
    assert parse(b'a LSUB "" &Jjo') == Lsub("a", "", None)


def test_list_basic_and_extended() -> None:
    assert parse(b'a LIST "" *') == List("a", "", ("*",))
    assert parse(b"a LIST ~/Mail/ %") == List("a", "~/Mail/", ("%",))
    assert parse(b'a list "" inbox') == List("a", "", ("INBOX",))
    assert parse(b'a LIST "" foo]*%') == List("a", "", ("foo]*%",))
    assert parse(b'a LIST "" ""') == List("a", "", ("",))
    assert parse(b"a LIST &ZeVnLIqe-/ &ZeVnLIqe-/%") == List("a", "日本語/", ("日本語/%",))
    assert parse(
        b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" %) '
        b"RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))"
    ) == List(
        "a",
        "",
        ("INBOX", "%"),
        ("SUBSCRIBED", "RECURSIVEMATCH"),
        ("CHILDREN", "SPECIAL-USE", "STATUS"),
        ("MESSAGES", "UNSEEN"),
    )
    assert parse(b'a LIST () "" % RETURN ()') == List("a", "", ("%",))
    assert parse(b'a LIST (SPECIAL-USE) "" *') == List("a", "", ("*",), ("SPECIAL-USE",))
    assert parse(b'a LSUB "" news.*') == Lsub("a", "", "news.*")


@pytest.mark.parametrize(
    "line",
    [
        b"a LIST",
        b'a LIST ""',
        b'a LIST "" * x',
        b'a LIST "" * RETURN',
        b'a LIST "" * RETURN (FOO)',
        b'a LIST "" * RETURN (STATUS)',
        b'a LIST "" * RETURN (STATUS ())',
        b'a LIST (RECURSIVEMATCH) "" *',  # RFC 5258 §3
        b'a LIST (RECURSIVEMATCH REMOTE) "" *',  # REMOTE is no selection criterion
        b'a LIST (FOO) "" *',
        b'a LIST "" ()',
        b'a LIST "" (a b',
        b'a LIST "" a(b',
        b"a LSUB x",
        b"a LSUB x y z",
    ],
)
def test_list_bad(line: bytes) -> None:
    bad(line)


# --------------------------------------------------------------------------- append


def test_append_forms() -> None:
    msg = b"Subject: {5}\r\n\r\nbody with {3} and\r\n.\r\n"
    wire = b"{%d}\r\n" % len(msg) + msg
    assert parse(b"a APPEND INBOX " + wire) == Append("a", "INBOX", (), None, msg)
    event = parse(b'a APPEND saved (\\Seen \\flagged $Junk) "05-Mar-2024 13:04:05 -0130" ' + wire)
    assert isinstance(event, Append)
    assert event.flags == ("\\Seen", "\\Flagged", "$Junk")
    tz = datetime.timezone(-datetime.timedelta(hours=1, minutes=30))
    assert event.date == datetime.datetime(2024, 3, 5, 13, 4, 5, tzinfo=tz)
    assert event.date is not None
    assert event.date.utcoffset() == tz.utcoffset(None)
    event = parse(b'a APPEND x " 5-Mar-2024 00:00:00 +0000" {1+}\r\nx')
    assert isinstance(event, Append)
    assert event.date == datetime.datetime(2024, 3, 5, tzinfo=datetime.timezone.utc)
    assert parse(b"a APPEND x () {0}\r\n") == Append("a", "x", (), None, b"")
    # Leniency: a one-digit day without the space of date-day-fixed.
    event = parse(b'a APPEND x "5-Mar-2024 00:00:00 +0000" {1}\r\nx')
    assert isinstance(event, Append)
    assert event.date == datetime.datetime(2024, 3, 5, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    "line",
    [
        b"a APPEND INBOX",
        b"a APPEND INBOX {3}\r\nabcd",
        b'a APPEND INBOX "message"',  # the message must be a literal
        b"a APPEND INBOX message",
        b"a APPEND INBOX (\\Recent) {1}\r\nx",  # not settable
        b"a APPEND INBOX (\\Bogus) {1}\r\nx",
        b"a APPEND INBOX (\\Seen {1}\r\nx",
        b'a APPEND INBOX "05-Mar-2024 24:00:00 +0000" {1}\r\nx',
        b'a APPEND INBOX "31-Feb-2024 10:00:00 +0000" {1}\r\nx',
        b'a APPEND INBOX "05-Foo-2024 10:00:00 +0000" {1}\r\nx',
        b'a APPEND INBOX "05-Mar-2024 10:00:00 0000" {1}\r\nx',
        b'a APPEND INBOX "05-Mar-2024 10:00:00 +0000"{1}\r\nx',
        b"a APPEND INBOX ~{1}\r\nx",
        b"a APPEND INBOX (\\Seen) (\\Seen) {1}\r\nx",
    ],
)
def test_append_bad(line: bytes) -> None:
    bad(line)


# --------------------------------------------------------------------------- sequence sets


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("1", ((1, 1),)),
        ("*", ((None, None),)),
        ("1:3,7,*,10:*,5:2", ((1, 3), (7, 7), (None, None), (10, None), (5, 2))),
        ("*:4", ((None, 4),)),
        ("4294967295", ((4294967295, 4294967295),)),
    ],
)
def test_sequence_set_parse(text: str, ranges: tuple[tuple[int | None, int | None], ...]) -> None:
    assert seq(text).ranges == ranges
    assert str(seq(text)) == text


@pytest.mark.parametrize(
    "line",
    [
        b"a FETCH 0 FLAGS",
        b"a FETCH 1:0 FLAGS",
        b"a FETCH 01 FLAGS",
        b"a FETCH 1, FLAGS",
        b"a FETCH ,1 FLAGS",
        b"a FETCH 1::2 FLAGS",
        b"a FETCH 1:2:3 FLAGS",
        b"a FETCH ** FLAGS",
        b"a FETCH 4294967296 FLAGS",
        b"a FETCH $ FLAGS",
        b"a FETCH 1,$ FLAGS",
        b"a FETCH -1 FLAGS",
    ],
)
def test_sequence_set_bad(line: bytes) -> None:
    bad(line)


def test_sequence_set_resolve_examples() -> None:
    assert seq("1:3,7,*,10:*,5:2").resolve(12) == [1, 2, 3, 4, 5, 7, 10, 11, 12]
    assert seq("*").resolve(0) == []
    assert seq("1:*").resolve(0) == []
    assert seq("5:*").resolve(3) == [3]  # 5:* means 3:5 when 3 is the largest
    assert seq("2,2,2").resolve(5) == [2]
    assert seq("7:9").resolve(5) == []
    assert seq("1:4294967295").resolve(3) == [1, 2, 3]
    assert seq("3:*").contains(5, 5)
    assert not seq("3:*").contains(6, 5)
    assert not seq("1").contains(1, 0)
    assert seq("1:3,8").max_explicit == 8
    assert seq("*").max_explicit == 0


def test_sequence_set_from_numbers() -> None:
    assert str(SequenceSet.from_numbers([7, 1, 2, 3, 3, 9, 10])) == "1:3,7,9:10"
    assert str(SequenceSet.from_numbers([])) == ""


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(1, 60)), st.one_of(st.none(), st.integers(1, 60))
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 50),
)
def test_sequence_set_resolve_matches_model(
    ranges: list[tuple[int | None, int | None]], largest: int
) -> None:
    sset = SequenceSet(tuple(ranges))

    def covered(n: int) -> bool:
        for first, last in ranges:
            a = largest if first is None else first
            b = largest if last is None else last
            if min(a, b) <= n <= max(a, b):
                return True
        return False

    model = [n for n in range(1, largest + 1) if covered(n)]
    assert sset.resolve(largest) == model
    for n in range(largest + 3):
        assert sset.contains(n, largest) == (n in model)
    assert parse_sequence_set(str(sset).encode()) == sset


@given(st.lists(st.integers(1, 200), max_size=30))
def test_from_numbers_round_trip(numbers: list[int]) -> None:
    sset = SequenceSet.from_numbers(numbers)
    assert sset.resolve(200) == sorted(set(numbers))


# --------------------------------------------------------------------------- search


def search_criteria(text: bytes) -> SearchKey:
    event = parse(b"a SEARCH " + text)
    assert isinstance(event, Search), event
    return event.criteria


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (b"ALL", SearchAll()),
        (b"answered", SearchFlag("\\Answered")),
        (b"DELETED", SearchFlag("\\Deleted")),
        (b"DRAFT", SearchFlag("\\Draft")),
        (b"FLAGGED", SearchFlag("\\Flagged")),
        (b"SEEN", SearchFlag("\\Seen")),
        (b"RECENT", SearchFlag("\\Recent")),
        (b"UNANSWERED", SearchFlag("\\Answered", False)),
        (b"UNDELETED", SearchFlag("\\Deleted", False)),
        (b"UNDRAFT", SearchFlag("\\Draft", False)),
        (b"UNFLAGGED", SearchFlag("\\Flagged", False)),
        (b"UNSEEN", SearchFlag("\\Seen", False)),
        (b"OLD", SearchFlag("\\Recent", False)),
        (b"NEW", SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))),
        (b"KEYWORD $Forwarded", SearchFlag("$Forwarded")),
        (b"UNKEYWORD work", SearchFlag("work", False)),
        (b"BCC bob", SearchHeader("BCC", "bob")),
        (b'CC "a b"', SearchHeader("CC", "a b")),
        (b"FROM {3}\r\nx y", SearchHeader("FROM", "x y")),
        (b"SUBJECT hello", SearchHeader("SUBJECT", "hello")),
        (b'TO ""', SearchHeader("TO", "")),
        (b"HEADER x-spam yes", SearchHeader("X-SPAM", "yes")),
        (b'HEADER "Message-ID" ""', SearchHeader("MESSAGE-ID", "")),
        (b"BODY needle", SearchBody("needle")),
        (b"TEXT needle", SearchText("needle")),
        (b"BEFORE 1-Feb-1994", SearchDate("BEFORE", datetime.date(1994, 2, 1))),
        (b'ON "01-feb-1994"', SearchDate("ON", datetime.date(1994, 2, 1))),
        (b"SINCE 29-Feb-2024", SearchDate("SINCE", datetime.date(2024, 2, 29))),
        (b"SENTBEFORE 1-Jan-2000", SearchDate("BEFORE", datetime.date(2000, 1, 1), True)),
        (b"SENTON 1-Jan-2000", SearchDate("ON", datetime.date(2000, 1, 1), True)),
        (b"SENTSINCE 1-Jan-2000", SearchDate("SINCE", datetime.date(2000, 1, 1), True)),
        (b"LARGER 1024", SearchSize("LARGER", 1024)),
        (b"SMALLER 0", SearchSize("SMALLER", 0)),
        (b"NOT SEEN", SearchNot(SearchFlag("\\Seen"))),
        (b"OR SEEN FLAGGED", SearchOr(SearchFlag("\\Seen"), SearchFlag("\\Flagged"))),
        (b"UID 1:*", SearchUid(seq("1:*"))),
        (b"2,4:*", SearchSequence(seq("2,4:*"))),
        (b"*", SearchSequence(seq("*"))),
        (b"(SEEN)", SearchFlag("\\Seen")),
        (b"MODSEQ 620162338", SearchModSeq(620162338)),
        (b'MODSEQ "/flags/\\\\draft" all 620162338', SearchModSeq(620162338)),
        (
            b"SEEN FROM x",
            SearchAnd((SearchFlag("\\Seen"), SearchHeader("FROM", "x"))),
        ),
        (
            b"OR (SEEN FROM x) NOT (1:3 UID 5)",
            SearchOr(
                SearchAnd((SearchFlag("\\Seen"), SearchHeader("FROM", "x"))),
                SearchNot(SearchAnd((SearchSequence(seq("1:3")), SearchUid(seq("5"))))),
            ),
        ),
    ],
)
def test_search_keys(text: bytes, key: SearchKey) -> None:
    assert search_criteria(text) == key


def test_search_options() -> None:
    assert parse(b'a SEARCH CHARSET utf-8 TEXT "caf\xc3\xa9"') == Search(
        "a", False, "UTF-8", SearchText("café")
    )
    assert parse(b"a SEARCH CHARSET US-ASCII ALL") == Search("a", False, "US-ASCII", SearchAll())
    assert parse(b"a UID SEARCH RETURN (MIN MAX COUNT ALL) ALL") == Search(
        "a", True, None, SearchAll(), ("MIN", "MAX", "COUNT", "ALL")
    )
    # RFC 4731 §3: RETURN () is RETURN (ALL).
    assert parse(b"a SEARCH RETURN () CHARSET UTF-8 SEEN") == Search(
        "a", False, "UTF-8", SearchFlag("\\Seen"), ("ALL",)
    )
    assert parse(b"a SEARCH TEXT {4}\r\nca\xc3\xa9") == Search("a", False, None, SearchText("caé"))
    # 8-bit is never part of an atom (RFC 3501 §9 ATOM-CHAR is 7-bit).
    bad(b"a SEARCH CHARSET UTF-8 TEXT caf\xc3\xa9")


def test_search_unknown_charset_is_no_badcharset() -> None:
    assert parse(b"a SEARCH CHARSET KOI8-R ALL") == InvalidCommand(
        "a", "SEARCH: charset KOI8-R is not supported", "NO", "BADCHARSET (UTF-8 US-ASCII)"
    )


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"FOO",
        b"SEEN  FLAGGED",
        b"FROM",
        b"HEADER subject",
        b"BEFORE 1994-02-01",
        b"BEFORE 1-Foo-1994",
        b"BEFORE 31-Feb-1994",
        b"BEFORE 1-Feb-94",
        b"LARGER x",
        b"LARGER -1",
        b"NOT",
        b"OR SEEN",
        b"(SEEN",
        b"()",
        b"SEEN)",
        b"UID",
        b"UID x",
        b"$",
        b"KEYWORD \\Seen",
        b"RETURN (SAVE) ALL",
        b"RETURN (FOO) ALL",
        b"CHARSET",
        b"CHARSET UTF-8",
        b"YOUNGER 5",
        b"MODSEQ x",
        b'MODSEQ "/flags/x" foo 5',
    ],
)
def test_search_bad(text: bytes) -> None:
    bad(b"a SEARCH " + text)


# --------------------------------------------------------------------------- fetch


def fetch_attributes(text: bytes) -> tuple[FetchAttribute, ...]:
    event = parse(b"a FETCH 1 " + text)
    assert isinstance(event, Fetch), event
    return event.attributes


FLAGS, UID, INTERNALDATE, SIZE = (
    FetchItem("FLAGS"),
    FetchItem("UID"),
    FetchItem("INTERNALDATE"),
    FetchItem("RFC822.SIZE"),
)


@pytest.mark.parametrize(
    ("text", "attributes"),
    [
        (b"ALL", (FLAGS, INTERNALDATE, SIZE, FetchItem("ENVELOPE"))),
        (b"fast", (FLAGS, INTERNALDATE, SIZE)),
        (b"FULL", (FLAGS, INTERNALDATE, SIZE, FetchItem("ENVELOPE"), FetchItem("BODY"))),
        (b"flags", (FLAGS,)),
        (b"(UID rfc822.size)", (UID, SIZE)),
        (
            b"(ENVELOPE BODYSTRUCTURE BODY RFC822 RFC822.HEADER RFC822.TEXT MODSEQ)",
            tuple(
                FetchItem(n)
                for n in (
                    "ENVELOPE",
                    "BODYSTRUCTURE",
                    "BODY",
                    "RFC822",
                    "RFC822.HEADER",
                    "RFC822.TEXT",
                    "MODSEQ",
                )
            ),
        ),
        (b"BODY[]", (BodySection(),)),
        (b"body.peek[]", (BodySection(peek=True),)),
        (b"BODY[]<0.1024>", (BodySection(partial=(0, 1024)),)),
        (b"BODY[HEADER]", (BodySection(specifier="HEADER"),)),
        (b"BODY[text]", (BodySection(specifier="TEXT"),)),
        (b"BODY[1]", (BodySection(part=(1,)),)),
        (b"BODY[1.2.3]", (BodySection(part=(1, 2, 3)),)),
        (b"BODY[1.2.MIME]", (BodySection(part=(1, 2), specifier="MIME"),)),
        (b"BODY[3.HEADER]", (BodySection(part=(3,), specifier="HEADER"),)),
        (b"BODY[3.TEXT]<5.10>", (BodySection(part=(3,), specifier="TEXT", partial=(5, 10)),)),
        (
            b"BODY.PEEK[HEADER.FIELDS (Subject From)]",
            (BodySection(True, (), "HEADER.FIELDS", ("SUBJECT", "FROM")),),
        ),
        (
            b'BODY[2.HEADER.FIELDS.NOT ("X-Spam" {4}\r\ndate)]',
            (BodySection(False, (2,), "HEADER.FIELDS.NOT", ("X-SPAM", "DATE")),),
        ),
    ],
)
def test_fetch_attributes(text: bytes, attributes: tuple[FetchAttribute, ...]) -> None:
    assert fetch_attributes(text) == attributes


def test_uid_fetch_includes_uid_and_changedsince_includes_modseq() -> None:
    assert parse(b"a UID FETCH 1:* FLAGS") == Fetch("a", True, seq("1:*"), (UID, FLAGS))
    assert parse(b"a UID FETCH 1 (FLAGS UID)") == Fetch("a", True, seq("1"), (FLAGS, UID))
    assert parse(b"a FETCH 1 (FLAGS) (CHANGEDSINCE 12345)") == Fetch(
        "a", False, seq("1"), (FLAGS, FetchItem("MODSEQ")), 12345
    )
    assert parse(b"a UID FETCH 1 (MODSEQ FLAGS) (changedsince 0)") == Fetch(
        "a", True, seq("1"), (UID, FetchItem("MODSEQ"), FLAGS), 0
    )


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"()",
        b"(FLAGS",
        b"(FLAGS ALL)",  # macros only alone
        b"FOO",
        b"BODY.PEEK",
        b"BODY[",
        b"BODY[0]",
        b"BODY[MIME]",  # MIME needs a part
        b"BODY[1.]",
        b"BODY[HEADER.FIELDS]",
        b"BODY[HEADER.FIELDS ()]",
        b"BODY[HEADER.FIELDS (a]",
        b"BODY[FOO]",
        b"BODY[]<0>",
        b"BODY[]<0.0>",
        b"BODY[]<.5>",
        b"BODY[] <0.5>",
        b"BINARY[]",
        b"BINARY.SIZE[1]",
        b"FLAGS (CHANGEDSINCE)",
        b"FLAGS (VANISHED)",
        b"FLAGS (CHANGEDSINCE x)",
        b"FLAGS  ",
    ],
)
def test_fetch_bad(text: bytes) -> None:
    bad(b"a FETCH 1 " + text)


@pytest.mark.parametrize(
    ("attribute", "name"),
    [
        (FLAGS, "FLAGS"),
        (FetchItem("RFC822.SIZE"), "RFC822.SIZE"),
        (BodySection(), "BODY[]"),
        (BodySection(peek=True), "BODY[]"),
        (BodySection(peek=True, partial=(0, 100)), "BODY[]<0>"),
        (BodySection(specifier="HEADER", partial=(50, 7)), "BODY[HEADER]<50>"),
        (
            BodySection(True, (), "HEADER.FIELDS", ("SUBJECT", "FROM")),
            "BODY[HEADER.FIELDS (SUBJECT FROM)]",
        ),
        (BodySection(False, (1, 2), "MIME"), "BODY[1.2.MIME]"),
        (BodySection(False, (4,)), "BODY[4]"),
        (BodySection(False, (4,), "HEADER.FIELDS.NOT", ("X",)), "BODY[4.HEADER.FIELDS.NOT (X)]"),
    ],
)
def test_response_names(attribute: FetchAttribute, name: str) -> None:
    assert attribute.response_name() == name


# --------------------------------------------------------------------------- store, copy


def test_store_forms() -> None:
    assert parse(b"a STORE 1 FLAGS (\\Seen)") == Store("a", False, seq("1"), "", False, ("\\Seen",))
    assert parse(b"a STORE 1:* +flags.silent \\deleted") == Store(
        "a", False, seq("1:*"), "+", True, ("\\Deleted",)
    )
    assert parse(b"a UID STORE 2 -FLAGS $Junk \\Seen") == Store(
        "a", True, seq("2"), "-", False, ("$Junk", "\\Seen")
    )
    assert parse(b"a STORE 1 FLAGS ()") == Store("a", False, seq("1"), "", False, ())
    assert parse(b"a STORE 1 (UNCHANGEDSINCE 7) +FLAGS (x)") == Store(
        "a", False, seq("1"), "+", False, ("x",), 7
    )


@pytest.mark.parametrize(
    "line",
    [
        b"a STORE 1 FLAGS",
        b"a STORE 1 FLAGS ",
        b"a STORE 1 FLAG (\\Seen)",
        b"a STORE 1 *FLAGS (\\Seen)",
        b"a STORE 1 FLAGS.LOUD (\\Seen)",
        b"a STORE 1 +FLAGS (\\Recent)",
        b"a STORE 1 +FLAGS (\\Bogus)",
        b"a STORE 1 +FLAGS (\\Seen",
        b"a STORE 1 +FLAGS \\Seen  x",
        b"a STORE 1 (UNCHANGEDSINCE) FLAGS x",
        b"a STORE 1 (FOO 1) FLAGS x",
        b"a STORE FLAGS x",
        b"a STORE 1 +FLAGS (a(b)",
    ],
)
def test_store_bad(line: bytes) -> None:
    bad(line)


def test_copy_move_expunge() -> None:
    assert parse(b"a COPY 1:3 Trash") == Copy("a", False, seq("1:3"), "Trash")
    assert parse(b'a UID COPY 5 "a b"') == Copy("a", True, seq("5"), "a b")
    assert parse(b"a MOVE * inbox") == Move("a", False, seq("*"), "INBOX")
    assert parse(b"a uid move 1,2 &ZeVnLIqe-") == Move("a", True, seq("1,2"), "日本語")
    assert parse(b"a EXPUNGE") == Expunge("a")
    assert parse(b"a UID EXPUNGE 3:5,9") == Expunge("a", seq("3:5,9"))
    for line in (
        b"a COPY 1",
        b"a COPY Trash",
        b"a MOVE 1 a b",
        b"a UID EXPUNGE",
        b"a EXPUNGE 1",
        b"a UID EXPUNGE x",
    ):
        bad(line)


# --------------------------------------------------------------------------- id, enable


def test_id_enable() -> None:
    assert parse(b"a ID NIL") == Id("a", None)
    assert parse(b"a ID nil") == Id("a", None)
    assert parse(b'a ID ("name" "sodr" "version" NIL)') == Id(
        "a", (("name", "sodr"), ("version", None))
    )
    assert parse(b'a ID ({4}\r\nname "x")') == Id("a", (("name", "x"),))
    assert parse(b"a ENABLE UTF8=ACCEPT condstore") == Enable("a", ("UTF8=ACCEPT", "CONDSTORE"))
    for line in (
        b"a ID",
        b"a ID ()",
        b'a ID ("name")',
        b"a ID (name x)",
        b'a ID ("a" "b" "c")',
        b'a ID ("a" "b"',
        b"a ID NILL",
        b"a ENABLE",
        b"a ENABLE ",
        b"a ENABLE (UTF8=ACCEPT)",
    ):
        bad(line)


# --------------------------------------------------------------------------- round trip

# A small client-side renderer: turns an event back into client bytes, choosing at random
# among the equivalent wire forms (atom, quoted, literal, non-sync literal; keyword case).

_ASTRING_CHARS = frozenset(
    c for c in map(chr, range(0x21, 0x7F)) if c not in '(){%*"\\'
)  # ATOM-CHAR plus "]"
_ATOM_CHARS = _ASTRING_CHARS - {"]"}


class Renderer:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.sync_literals = 0

    def kw(self, word: str) -> bytes:
        return "".join(c.lower() if self.rnd.random() < 0.5 else c.upper() for c in word).encode()

    def literal(self, data: bytes) -> bytes:
        if self.rnd.random() < 0.5:
            self.sync_literals += 1
            return b"{%d}\r\n" % len(data) + data
        return b"{%d+}\r\n" % len(data) + data

    def string(self, data: bytes) -> bytes:
        if not any(c in data for c in b"\r\n\x00") and self.rnd.random() < 0.7:
            return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        return self.literal(data)

    def astring(self, text: str | bytes) -> bytes:
        data = text.encode() if isinstance(text, str) else text
        as_text = data.decode("latin-1")
        if data and all(c in _ASTRING_CHARS for c in as_text) and self.rnd.random() < 0.5:
            return data
        return self.string(data)

    def mailbox(self, name: str) -> bytes:
        if name == "INBOX":
            return self.astring(self.kw("INBOX"))
        return self.astring(encode_utf7(name))

    def pattern(self, name: str) -> bytes:
        wire = encode_utf7(name)
        list_chars = _ASTRING_CHARS | {"%", "*"}
        if wire and all(c in list_chars for c in wire) and self.rnd.random() < 0.5:
            return wire.encode()
        return self.string(wire.encode())

    def flag(self, flag: str) -> bytes:
        return self.kw(flag) if flag.startswith("\\") else flag.encode()

    def flags(self, flags: tuple[str, ...]) -> bytes:
        return b"(" + b" ".join(self.flag(f) for f in flags) + b")"

    def date(self, date: datetime.date) -> bytes:
        month = date.strftime("%b")
        day = str(date.day) if self.rnd.random() < 0.5 else f"{date.day:02d}"
        text = f"{day}-{month}-{date.year:04d}".encode()
        text = self.kw(text.decode())
        return b'"' + text + b'"' if self.rnd.random() < 0.3 else text

    def date_time(self, value: datetime.datetime) -> bytes:
        offset = value.utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        day = f"{value.day:2d}" if self.rnd.random() < 0.5 else f"{value.day:02d}"
        return (
            f'"{day}-{value.strftime("%b")}-{value.year:04d} {value:%H:%M:%S} '
            f'{sign}{minutes // 60:02d}{minutes % 60:02d}"'
        ).encode()

    def search(self, key: SearchKey, top: bool = False) -> bytes:
        if isinstance(key, SearchAll):
            return self.kw("ALL")
        if isinstance(key, SearchFlag):
            names = {
                "\\Answered": "ANSWERED",
                "\\Deleted": "DELETED",
                "\\Draft": "DRAFT",
                "\\Flagged": "FLAGGED",
                "\\Seen": "SEEN",
            }
            if key.flag == "\\Recent":
                return self.kw("RECENT" if key.present else "OLD")
            if key.flag in names:
                return self.kw(("" if key.present else "UN") + names[key.flag])
            return self.kw("KEYWORD" if key.present else "UNKEYWORD") + b" " + key.flag.encode()
        if isinstance(key, SearchHeader):
            if key.field in ("BCC", "CC", "FROM", "SUBJECT", "TO") and self.rnd.random() < 0.5:
                return self.kw(key.field) + b" " + self.astring(key.value)
            return b"%s %s %s" % (
                self.kw("HEADER"),
                self.astring(self.kw(key.field)),
                self.astring(key.value),
            )
        if isinstance(key, SearchBody):
            return self.kw("BODY") + b" " + self.astring(key.value)
        if isinstance(key, SearchText):
            return self.kw("TEXT") + b" " + self.astring(key.value)
        if isinstance(key, SearchDate):
            name = ("SENT" if key.sent else "") + key.relation
            return self.kw(name) + b" " + self.date(key.date)
        if isinstance(key, SearchSize):
            return self.kw(key.relation) + b" %d" % key.octets
        if isinstance(key, SearchSequence):
            return str(key.sequence_set).encode()
        if isinstance(key, SearchUid):
            return self.kw("UID") + b" " + str(key.sequence_set).encode()
        if isinstance(key, SearchModSeq):
            if self.rnd.random() < 0.5:
                return self.kw("MODSEQ") + b' "/flags/\\\\seen" %s %d' % (
                    self.kw("shared"),
                    key.modseq,
                )
            return self.kw("MODSEQ") + b" %d" % key.modseq
        if isinstance(key, SearchNot):
            return self.kw("NOT") + b" " + self.search(key.key)
        if isinstance(key, SearchOr):
            return b"%s %s %s" % (self.kw("OR"), self.search(key.left), self.search(key.right))
        assert isinstance(key, SearchAnd)
        inner = b" ".join(self.search(k) for k in key.keys)
        return inner if top and self.rnd.random() < 0.5 else b"(" + inner + b")"

    def fetch_att(self, att: FetchAttribute) -> bytes:
        if isinstance(att, FetchItem):
            return self.kw(att.name)
        text = b"BODY.PEEK" if att.peek else b"BODY"
        section = ".".join(str(p) for p in att.part)
        if att.specifier:
            section = f"{section}.{att.specifier}" if section else att.specifier
        out = self.kw(text.decode()) + b"[" + self.kw(section)
        if att.fields:
            out += b" (" + b" ".join(self.astring(self.kw(f)) for f in att.fields) + b")"
        out += b"]"
        if att.partial is not None:
            out += b"<%d.%d>" % att.partial
        return out

    def command(self, ev: Command) -> bytes:
        sp = b" "
        tag = ev.tag.encode()
        uid = self.kw("UID") + sp if getattr(ev, "uid", False) else b""
        if isinstance(ev, (Capability, Noop, Logout, StartTls, Check, Close, Unselect)):
            return tag + sp + self.kw(type(ev).__name__.upper())
        if isinstance(ev, (Idle, Namespace)):
            return tag + sp + self.kw(type(ev).__name__.upper())
        if isinstance(ev, Authenticate):
            out = tag + sp + self.kw("AUTHENTICATE") + sp + self.kw(ev.mechanism)
            if ev.initial_response is not None:
                out += sp + (base64.b64encode(ev.initial_response) or b"=")
            return out
        if isinstance(ev, Login):
            return b"%s %s %s %s" % (
                tag,
                self.kw("LOGIN"),
                self.astring(ev.username),
                self.astring(ev.password),
            )
        if isinstance(ev, Select):
            out = tag + sp + self.kw("EXAMINE" if ev.readonly else "SELECT")
            out += sp + self.mailbox(ev.mailbox)
            if ev.condstore:
                out += b" (" + self.kw("CONDSTORE") + b")"
            return out
        if isinstance(ev, Create):
            out = tag + sp + self.kw("CREATE") + sp + self.mailbox(ev.mailbox)
            if ev.special_use or self.rnd.random() < 0.2:
                out += b" (" + self.kw("USE") + b" " + self.flags(ev.special_use) + b")"
            return out
        if isinstance(ev, (Delete, Subscribe, Unsubscribe)):
            return tag + sp + self.kw(type(ev).__name__.upper()) + sp + self.mailbox(ev.mailbox)
        if isinstance(ev, Rename):
            return b" ".join((tag, self.kw("RENAME"), self.mailbox(ev.old), self.mailbox(ev.new)))
        if isinstance(ev, List):
            out = tag + sp + self.kw("LIST") + sp
            if ev.selection_options or self.rnd.random() < 0.2:
                out += b"(" + b" ".join(map(self.kw, ev.selection_options)) + b") "
            out += self.mailbox(ev.reference) + sp
            if len(ev.patterns) > 1 or self.rnd.random() < 0.2:
                out += b"(" + b" ".join(map(self.pattern, ev.patterns)) + b")"
            else:
                out += self.pattern(ev.patterns[0])
            if ev.return_options or self.rnd.random() < 0.2:
                ret_opts = []
                for option in ev.return_options:
                    if option == "STATUS":
                        items = b" ".join(map(self.kw, ev.status_items))
                        ret_opts.append(self.kw("STATUS") + b" (" + items + b")")
                    else:
                        ret_opts.append(self.kw(option))
                out += sp + self.kw("RETURN") + b" (" + b" ".join(ret_opts) + b")"
            return out
        if isinstance(ev, Lsub):
            assert ev.pattern is not None  # the strategy draws valid patterns
            return b" ".join(
                (tag, self.kw("LSUB"), self.mailbox(ev.reference), self.pattern(ev.pattern))
            )
        if isinstance(ev, Status):
            items = b" ".join(map(self.kw, ev.items))
            return b"%s %s %s (%s)" % (tag, self.kw("STATUS"), self.mailbox(ev.mailbox), items)
        if isinstance(ev, Append):
            out = tag + sp + self.kw("APPEND") + sp + self.mailbox(ev.mailbox) + sp
            if ev.flags or self.rnd.random() < 0.3:
                out += self.flags(ev.flags) + sp
            if ev.date is not None:
                out += self.date_time(ev.date) + sp
            return out + self.literal(ev.message)
        if isinstance(ev, Expunge):
            if ev.uid_set is None:
                return tag + sp + self.kw("EXPUNGE")
            return tag + sp + self.kw("UID EXPUNGE") + sp + str(ev.uid_set).encode()
        if isinstance(ev, Search):
            out = tag + sp + uid + self.kw("SEARCH")
            if ev.return_options:
                if ev.return_options == ("ALL",) and self.rnd.random() < 0.5:
                    out += sp + self.kw("RETURN") + b" ()"
                else:
                    opts = b" ".join(map(self.kw, ev.return_options))
                    out += sp + self.kw("RETURN") + b" (" + opts + b")"
            if ev.charset is not None:
                out += sp + self.kw("CHARSET") + sp + self.astring(self.kw(ev.charset))
            return out + sp + self.search(ev.criteria, top=True)
        if isinstance(ev, Fetch):
            out = tag + sp + uid + self.kw("FETCH") + sp + str(ev.sequence_set).encode() + sp
            attributes = list(ev.attributes)
            # The engine adds UID to UID FETCH and MODSEQ with CHANGEDSINCE: sometimes
            # leave them out for it to add back (only where it adds them back).
            if (
                ev.uid
                and len(attributes) > 1
                and attributes[0] == FetchItem("UID")
                and FetchItem("UID") not in attributes[1:]
                and self.rnd.random() < 0.5
            ):
                attributes.pop(0)
            if (
                ev.changed_since is not None
                and len(attributes) > 1
                and attributes[-1] == FetchItem("MODSEQ")
                and FetchItem("MODSEQ") not in attributes[:-1]
                and self.rnd.random() < 0.5
            ):
                attributes.pop()
            if len(attributes) == 1 and self.rnd.random() < 0.5:
                out += self.fetch_att(attributes[0])
            else:
                out += b"(" + b" ".join(map(self.fetch_att, attributes)) + b")"
            if ev.changed_since is not None:
                out += b" (" + self.kw("CHANGEDSINCE") + b" %d)" % ev.changed_since
            return out
        if isinstance(ev, Store):
            out = tag + sp + uid + self.kw("STORE") + sp + str(ev.sequence_set).encode() + sp
            if ev.unchanged_since is not None:
                out += b"(" + self.kw("UNCHANGEDSINCE") + b" %d) " % ev.unchanged_since
            out += ev.mode.encode() + self.kw("FLAGS.SILENT" if ev.silent else "FLAGS") + sp
            if ev.flags and self.rnd.random() < 0.5:
                return out + b" ".join(map(self.flag, ev.flags))
            return out + self.flags(ev.flags)
        if isinstance(ev, (Copy, Move)):
            name = self.kw(type(ev).__name__.upper())
            sset = str(ev.sequence_set).encode()
            return tag + sp + uid + name + sp + sset + sp + self.mailbox(ev.mailbox)
        if isinstance(ev, Id):
            if ev.parameters is None:
                return tag + sp + self.kw("ID") + sp + self.kw("NIL")
            pairs = [
                self.string(k.encode())
                + sp
                + (self.kw("NIL") if v is None else self.string(v.encode()))
                for k, v in ev.parameters
            ]
            return tag + sp + self.kw("ID") + b" (" + b" ".join(pairs) + b")"
        if isinstance(ev, Enable):
            return tag + sp + self.kw("ENABLE") + sp + b" ".join(map(self.kw, ev.capabilities))
        raise AssertionError(ev)


# Strategies ------------------------------------------------------------------------------

tags = st.text(alphabet=sorted(_ASTRING_CHARS - {"+"}), min_size=1, max_size=8)
atoms = st.text(alphabet=sorted(_ATOM_CHARS - {"\\"}), min_size=1, max_size=10)
upper_atoms = atoms.map(str.upper).filter(lambda s: s != "NIL")
texts = st.text(max_size=20)
mailboxes = st.one_of(st.just("INBOX"), texts.filter(lambda s: s.upper() != "INBOX"))
seq_numbers = st.one_of(st.none(), st.integers(1, 2**32 - 1))
sequence_sets = st.lists(st.tuples(seq_numbers, seq_numbers), min_size=1, max_size=4).map(
    lambda r: SequenceSet(tuple(r))
)
system_flags = st.sampled_from(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"])
flag_lists = st.lists(st.one_of(system_flags, atoms), max_size=4).map(tuple)
dates = st.dates(datetime.date(1000, 1, 1), datetime.date(9999, 12, 31))
modseqs = st.integers(0, 2**63 - 1)
numbers = st.integers(0, 2**32 - 1)


def subsets(options: list[str], min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(options), min_size=min_size, max_size=4, unique=True).map(tuple)


leaf_keys: st.SearchStrategy[SearchKey] = st.one_of(
    st.just(SearchAll()),
    st.builds(SearchFlag, st.one_of(system_flags, st.just("\\Recent"), atoms), st.booleans()),
    st.builds(
        SearchHeader,
        st.one_of(st.sampled_from(["BCC", "CC", "FROM", "SUBJECT", "TO"]), upper_atoms),
        texts,
    ),
    st.builds(SearchBody, texts),
    st.builds(SearchText, texts),
    st.builds(SearchDate, st.sampled_from(["BEFORE", "ON", "SINCE"]), dates, st.booleans()),
    st.builds(SearchSize, st.sampled_from(["LARGER", "SMALLER"]), numbers),
    st.builds(SearchSequence, sequence_sets),
    st.builds(SearchUid, sequence_sets),
    st.builds(SearchModSeq, modseqs),
)
search_keys: st.SearchStrategy[SearchKey] = st.recursive(
    leaf_keys,
    lambda children: st.one_of(
        st.builds(SearchNot, children),
        st.builds(SearchOr, children, children),
        st.lists(children, min_size=2, max_size=3).map(lambda k: SearchAnd(tuple(k))),
    ),
    max_leaves=8,
)

fetch_items = st.sampled_from(
    [
        "FLAGS",
        "UID",
        "INTERNALDATE",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODYSTRUCTURE",
        "BODY",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "MODSEQ",
    ]
).map(FetchItem)  # type: ignore[arg-type]


@st.composite
def body_sections(draw: st.DrawFn) -> BodySection:
    part = tuple(draw(st.lists(st.integers(1, 2**32 - 1), max_size=3)))
    choices = ["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT"]
    specifier = draw(st.sampled_from([*choices, "MIME"] if part else choices))
    fields: tuple[str, ...] = ()
    if specifier.startswith("HEADER.FIELDS"):
        fields = tuple(draw(st.lists(upper_atoms, min_size=1, max_size=3)))
    partial = draw(st.none() | st.tuples(numbers, st.integers(1, 2**32 - 1)))
    return BodySection(draw(st.booleans()), part, specifier, fields, partial)  # type: ignore[arg-type]


fetch_attributes_st = st.one_of(fetch_items, body_sections())


@st.composite
def fetches(draw: st.DrawFn, tag: str) -> Fetch:
    uid = draw(st.booleans())
    attributes = draw(st.lists(fetch_attributes_st, min_size=1, max_size=4))
    changed_since = draw(st.none() | modseqs)
    if uid and FetchItem("UID") not in attributes:
        attributes.insert(0, FetchItem("UID"))
    if changed_since is not None and FetchItem("MODSEQ") not in attributes:
        attributes.append(FetchItem("MODSEQ"))
    return Fetch(tag, uid, draw(sequence_sets), tuple(attributes), changed_since)


@st.composite
def lists(draw: st.DrawFn, tag: str) -> List:
    selection = draw(subsets(["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]))
    if "RECURSIVEMATCH" in selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"}:
        selection = (*selection, "SUBSCRIBED")  # RFC 5258 §3: else BAD
    returns = draw(subsets(["SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"]))
    status_items: tuple[str, ...] = ()
    if "STATUS" in returns:
        status_items = draw(subsets(sorted(_STATUS_ITEMS), min_size=1))
    patterns = draw(st.lists(mailboxes | st.sampled_from(["*", "%", "a/%", ""]), min_size=1))
    return List(tag, draw(mailboxes), tuple(patterns), selection, returns, status_items)


_STATUS_ITEMS = [
    "MESSAGES",
    "RECENT",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "HIGHESTMODSEQ",
    "SIZE",
    "DELETED",
]
aware_datetimes = st.builds(
    lambda d, offset: d.replace(
        tzinfo=datetime.timezone(datetime.timedelta(minutes=offset)), microsecond=0
    ),
    st.datetimes(datetime.datetime(1000, 1, 1), datetime.datetime(9999, 12, 30)),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)


def commands_for(tag: str) -> st.SearchStrategy[Command]:
    return st.one_of(
        st.sampled_from(
            [
                Capability(tag),
                Noop(tag),
                Logout(tag),
                StartTls(tag),
                Check(tag),
                Close(tag),
                Unselect(tag),
                Idle(tag),
                Namespace(tag),
            ]
        ),
        st.builds(Authenticate, st.just(tag), upper_atoms, st.none() | st.binary(max_size=30)),
        st.builds(Login, st.just(tag), texts, texts),
        st.builds(Select, st.just(tag), mailboxes, st.booleans(), st.booleans()),
        st.builds(
            Create,
            st.just(tag),
            mailboxes,
            subsets(["\\All", "\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"]),
        ),
        st.builds(Delete, st.just(tag), mailboxes),
        st.builds(Rename, st.just(tag), mailboxes, mailboxes),
        st.builds(Subscribe, st.just(tag), mailboxes),
        st.builds(Unsubscribe, st.just(tag), mailboxes),
        lists(tag),
        st.builds(Lsub, st.just(tag), mailboxes, mailboxes),
        st.builds(Status, st.just(tag), mailboxes, subsets(_STATUS_ITEMS, min_size=1)),
        st.builds(
            Append,
            st.just(tag),
            mailboxes,
            flag_lists,
            st.none() | aware_datetimes,
            st.binary(max_size=50),
        ),
        st.builds(Expunge, st.just(tag), st.none() | sequence_sets),
        st.builds(
            Search,
            st.just(tag),
            st.booleans(),
            st.sampled_from([None, "UTF-8", "US-ASCII"]),
            search_keys,
            subsets(["MIN", "MAX", "ALL", "COUNT"]),
        ),
        fetches(tag),
        st.builds(
            Store,
            st.just(tag),
            st.booleans(),
            sequence_sets,
            st.sampled_from(["+", "-", ""]),
            st.booleans(),
            flag_lists,
            st.none() | modseqs,
        ),
        st.builds(Copy, st.just(tag), st.booleans(), sequence_sets, mailboxes),
        st.builds(Move, st.just(tag), st.booleans(), sequence_sets, mailboxes),
        st.builds(
            Id,
            st.just(tag),
            st.none()
            | st.lists(st.tuples(texts, st.none() | texts), min_size=1, max_size=3).map(tuple),
        ),
        st.builds(Enable, st.just(tag), st.lists(upper_atoms, min_size=1, max_size=3).map(tuple)),
    )


commands = tags.flatmap(commands_for)


def same(parsed: object, event: Command) -> None:
    assert parsed == event
    if isinstance(event, Append) and event.date is not None:
        # datetime equality ignores the zone; the offset must survive too.
        assert isinstance(parsed, Append)
        assert parsed.date is not None
        assert parsed.date.utcoffset() == event.date.utcoffset()


# Generating whole commands is slow on a loaded machine: that is not a failure.
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(commands, st.randoms(use_true_random=False))
def test_round_trip_through_grammar(event: Command, rnd: random.Random) -> None:
    wire = Renderer(rnd).command(event)
    same(parse(wire), event)


def _connection_in(state: ImapState) -> ImapConnection:
    conn = ImapConnection()
    if state is ImapState.NOT_AUTHENTICATED:
        return conn
    conn.receive_data(b"s1 LOGIN u p\r\n")
    (_login,) = conn.events()
    conn.send(Tagged("s1", "OK", "ok"))
    if state is ImapState.SELECTED:
        conn.receive_data(b"s2 SELECT INBOX\r\n")
        (_select,) = conn.events()
        conn.send(Tagged("s2", "OK", "ok"))
    conn.data_to_send()
    assert conn.state is state
    return conn


def _state_for(event: Command) -> ImapState:
    if isinstance(event, (StartTls, Authenticate, Login)):
        return ImapState.NOT_AUTHENTICATED
    if isinstance(event, Enable):
        return ImapState.AUTHENTICATED
    return ImapState.SELECTED


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(commands, st.randoms(use_true_random=False), st.data())
def test_round_trip_through_connection(
    event: Command, rnd: random.Random, data: st.DataObject
) -> None:
    renderer = Renderer(rnd)
    wire = renderer.command(event) + b"\r\n"
    conn = _connection_in(_state_for(event))
    # Feed in random chunks; the continuation for each sync literal must come exactly once.
    got: list[object] = []
    pos = 0
    while pos < len(wire):
        size = data.draw(st.integers(1, max(1, len(wire) - pos)))
        conn.receive_data(wire[pos : pos + size])
        pos += size
        got.extend(conn.events())
    assert len(got) == 1
    same(got[0], event)
    assert conn.data_to_send() == LITERAL_CONTINUATION * renderer.sync_literals


def test_string_alphabet_sanity() -> None:
    # The renderer's atom alphabet must agree with the grammar's.
    for c in string.printable:
        if c in _ATOM_CHARS:
            assert parse(f"a LOGIN x{c}y p".encode()) == Login("a", f"x{c}y", "p")
