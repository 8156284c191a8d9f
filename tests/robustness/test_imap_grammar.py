"""IMAP inputs that once escaped as server errors or wrote raw lines into the response stream
(issue 11 §3, §4, §6, §8), through the session glue the trio host drives: each gets its
protocol answer, nothing is recorded as fakemail's own error, and nothing else changes."""

from __future__ import annotations

import pytest

from fakemail._imap._grammar import MAX_SEARCH_DEPTH
from fakemail._message import Envelope

from ._sansio import ImapDriver

USER = "user@example.com"
MESSAGE = b"Subject: hi\r\nX: y\r\n\r\nbody\r\n"


@pytest.fixture
def imap() -> ImapDriver:
    """A logged-in session with one message in INBOX, selected."""
    driver = ImapDriver()
    driver.backend.store.ensure_account(USER)
    driver.backend.store.record(MESSAGE, Envelope("a@example.com", (USER,)), [USER])
    driver.login(USER)
    assert b"s OK" in driver.send(b"s SELECT INBOX\r\n")
    return driver


@pytest.fixture(autouse=True)
def no_server_errors(imap: ImapDriver) -> object:
    yield
    assert imap.backend.take_errors() == []


def test_deep_parentheses_in_search(imap: ImapDriver) -> None:
    deep = b"(" * 1000 + b"ALL" + b")" * 1000
    assert imap.send(b"a SEARCH " + deep + b"\r\n").startswith(b"a BAD SEARCH: search keys ")
    allowed = b"(" * (MAX_SEARCH_DEPTH - 1) + b"ALL" + b")" * (MAX_SEARCH_DEPTH - 1)
    assert imap.send(b"b SEARCH " + allowed + b"\r\n") == b"* SEARCH 1\r\nb OK SEARCH completed\r\n"


@pytest.mark.parametrize("chain", [b"NOT " * 490 + b"ALL", b"OR ALL " * 490 + b"ALL"])
def test_long_not_and_or_chains(imap: ImapDriver, chain: bytes) -> None:
    assert imap.send(b"a SEARCH " + chain + b"\r\n").startswith(b"a BAD SEARCH: search keys ")
    assert imap.send(b"b NOOP\r\n") == b"b OK NOOP completed\r\n"


HUGE = b"9" * 4301  # past Python's int-string limit (int() raises ValueError)


@pytest.mark.parametrize(
    "command",
    [
        b"FETCH " + HUGE + b" FLAGS",
        b"FETCH 1:" + HUGE + b" FLAGS",
        b"FETCH 1 BODY[" + HUGE + b"]",
        b"FETCH 1 BODY[]<" + HUGE + b".1>",
        b"FETCH 1 BODY[]<0." + HUGE + b">",
        b"SEARCH LARGER " + HUGE,
        b"SEARCH UID " + HUGE,
        b"SEARCH MODSEQ " + HUGE,
        b"UID FETCH " + HUGE + b" FLAGS",
        b"FETCH 1 FLAGS (CHANGEDSINCE " + HUGE + b")",
        b"STORE 1 (UNCHANGEDSINCE " + HUGE + b") +FLAGS (x)",
        # Beyond the RFC ranges: nz-number 2^32-1, mod-sequence 2^63-1.
        b"FETCH 4294967296 FLAGS",
        b"FETCH 1 BODY[4294967296]",
        b"SEARCH LARGER 4294967296",
        b"SEARCH MODSEQ 9223372036854775808",
    ],
)
def test_numbers_out_of_range(imap: ImapDriver, command: bytes) -> None:
    answer = imap.send(b"a " + command + b"\r\n")
    assert answer.startswith(b"a BAD "), answer[:200]
    assert b"too large" in answer
    assert imap.backend.store.folder(USER, "INBOX").items[0].flags == frozenset()


def test_numbers_at_the_rfc_bounds(imap: ImapDriver) -> None:
    assert imap.send(b"a UID FETCH 4294967295 FLAGS\r\n") == b"a OK FETCH completed\r\n"
    assert imap.send(b"b SEARCH MODSEQ 9223372036854775807\r\n").endswith(
        b"\r\n* SEARCH\r\nb OK SEARCH completed\r\n"  # after CONDSTORE's HIGHESTMODSEQ
    )
    # A number (not an nz-number) may have leading zeros: only its value is bounded.
    assert imap.send(b"c SEARCH LARGER 00000000000000000001\r\n") == (
        b"* SEARCH 1\r\nc OK SEARCH completed\r\n"
    )


def test_header_field_names_cannot_inject_responses(imap: ImapDriver) -> None:
    field = b"X\r\n* 99 EXISTS\r\n* BYE"
    command = b"a FETCH 1 BODY.PEEK[HEADER.FIELDS ({%d+}\r\n%b)]\r\n" % (len(field), field)
    answer = imap.send(command)
    lines = answer.split(b"\r\n")
    # The name comes back as a literal inside the response, never as lines of their own.
    assert lines[0] == b"* 1 FETCH (BODY[HEADER.FIELDS ({21}"
    assert answer.endswith(b"a OK FETCH completed\r\n")
    assert b"\r\n* 99 EXISTS\r\n* BYE)]" in answer  # the literal's bytes, counted by {21}
    assert imap.send(b'b FETCH 1 BODY.PEEK[HEADER.FIELDS (X "a b")]\r\n').startswith(
        b'* 1 FETCH (BODY[HEADER.FIELDS (X "A B")] {8}\r\nX: y\r\n\r\n)'
    )


def test_names_echoed_in_response_text(imap: ImapDriver) -> None:
    name = b"no&AA0ACg-such"  # modified UTF-7 (RFC 3501 §5.1.3) for "no<CR><LF>such"
    assert imap.send(b"a SELECT " + name + b"\r\n") == (
        b"a NO [NONEXISTENT] no mailbox no\\r\\nsuch\r\n"
    )
    assert imap.send(b"b STATUS " + name + b" (MESSAGES)\r\n") == (
        b"b NO [NONEXISTENT] no mailbox no\\r\\nsuch\r\n"
    )


def test_search_charset_literal_with_lf(imap: ImapDriver) -> None:
    # Was BAD [SERVERBUG]: the charset was echoed raw into the response text.
    assert imap.send(b"a SEARCH CHARSET {6+}\r\nUTF\n-8 ALL\r\n") == (
        b"a NO [BADCHARSET (UTF-8 US-ASCII)] SEARCH: charset UTF\\n-8 is not supported\r\n"
    )


def test_create_limits(imap: ImapDriver) -> None:
    store = imap.backend.store
    before = store.folder_count(USER)
    deep = b"/".join([b"a"] * 20_000)  # ~40 KB; made 20,000 folders in ~3 s and 480 MiB
    answer = imap.send(b"a CREATE {%d+}\r\n%b\r\n" % (len(deep), deep))
    assert answer == b"a NO [LIMIT] mailbox names are limited to 1024 characters\r\n"
    assert imap.send(b"b CREATE " + b"/".join([b"a"] * 65) + b"\r\n") == (
        b"b NO [LIMIT] mailbox names are limited to 64 levels\r\n"
    )
    assert (
        imap.send(b"c CREATE " + b"/".join([b"a"] * 64) + b"\r\n") == b"c OK CREATE completed\r\n"
    )
    assert store.folder_count(USER) == before + 64
    assert imap.send(b"d CREATE a&AAo-b\r\n") == (  # "a<LF>b" in modified UTF-7
        b"d NO [CANNOT] control characters are not allowed in mailbox names\r\n"
    )
    assert imap.send(b"e SUBSCRIBE " + b"/".join([b"s"] * 65) + b"\r\n").startswith(b"e NO [LIMIT]")
    assert store.folder_count(USER) == before + 64


def test_folder_count_limit() -> None:
    imap = ImapDriver(max_folders=10)
    imap.login(USER)
    count = imap.backend.store.folder_count(USER)  # INBOX and the special-use folders
    for index in range(10 - count):
        assert imap.send(b"c CREATE f%d\r\n" % index) == b"c OK CREATE completed\r\n"
    assert imap.send(b"d CREATE one/more\r\n") == (
        b"d NO [LIMIT] an account has at most 10 mailboxes\r\n"
    )
    assert (
        imap.send(b"e RENAME f0 x/y\r\n") == b"e NO [LIMIT] an account has at most 10 mailboxes\r\n"
    )
    assert imap.send(b"f RENAME f0 y\r\n") == b"f OK RENAME completed\r\n"
    assert imap.backend.store.folder_count(USER) == 10
    assert imap.backend.take_errors() == []


def test_rename_limits_the_moved_subtree() -> None:
    imap = ImapDriver(max_folder_depth=3)
    imap.login(USER)
    assert imap.send(b"a CREATE top/mid/leaf\r\n") == b"a OK CREATE completed\r\n"
    # top/mid itself would fit as x/y/z, but top/mid/leaf would become x/y/z/leaf.
    assert imap.send(b"b RENAME top/mid x/y/z\r\n") == (
        b"b NO [LIMIT] mailbox names are limited to 3 levels\r\n"
    )
    assert imap.send(b"c RENAME top/mid x/y\r\n") == b"c OK RENAME completed\r\n"
    assert imap.backend.take_errors() == []
