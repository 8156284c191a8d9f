"""Byte transcripts for the defects Dovecot's imaptest found (issue 10), one test each."""

from __future__ import annotations

from fakemail._backend import Backend
from fakemail._imap._events import InvalidCommand, Search, SearchAnd, SearchFlag
from fakemail._imap._grammar import parse_command
from tests.unit.imap._client import Client, deliver

FOLDED_BOUNDARY = (
    b"From: user@domain.org\r\n"
    b"Mime-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="foo\r\n'
    b' bar"\r\n'
    b"\r\n"
    b"prologue\r\n"
    b"--foo bar\r\n"
    b"Content-Type: text/x-myown; charset=us-ascii\r\n"
    b"\r\n"
    b"hello\r\n"
    b"--foo bar--\r\n"
)


def test_folded_content_type_is_unfolded_before_its_parameters(
    logged_in: Client, backend: Backend
) -> None:
    # RFC 5322 §2.2.3: the boundary is "foo bar", so the multipart has its part.
    deliver(backend, FOLDED_BOUNDARY)
    logged_in.select()
    assert logged_in.ok("a FETCH 1 (BODY BODY.PEEK[1])") == (
        b'* 1 FETCH (BODY (("TEXT" "X-MYOWN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1)'
        b' "MIXED") BODY[1] {5}\r\nhello)\r\n'
        b"a OK FETCH completed\r\n"
    )


def test_esearch_modseq_with_only_min_or_max_is_that_messages(
    logged_in: Client, backend: Backend
) -> None:
    for _ in range(3):
        deliver(backend)
    logged_in.ok("e ENABLE CONDSTORE")
    logged_in.select()
    logged_in.ok("s1 STORE 1 +FLAGS (\\Seen)")
    logged_in.ok("s2 STORE 3 +FLAGS (\\Seen)")
    logged_in.ok("s3 STORE 2 +FLAGS (\\Seen)")
    items = {i.uid: i.modseq for i in backend.store.folder("user@example.org", "INBOX").items}
    reply = logged_in.ok("a SEARCH RETURN (MIN) MODSEQ 1")
    assert reply.startswith(b'* ESEARCH (TAG "a") MIN 1 MODSEQ %d\r\n' % items[1])
    reply = logged_in.ok("b SEARCH RETURN (MAX) MODSEQ 1")
    assert reply.startswith(b'* ESEARCH (TAG "b") MAX 3 MODSEQ %d\r\n' % items[3])
    # Both, or with ALL/COUNT: the highest of all matches (RFC 4731 §3.2).
    reply = logged_in.ok("c SEARCH RETURN (MIN MAX) MODSEQ 1")
    assert reply.startswith(b'* ESEARCH (TAG "c") MIN 1 MAX 3 MODSEQ %d\r\n' % items[2])


def test_recursivematch_with_only_remote_is_bad(logged_in: Client) -> None:
    reply = logged_in.cmd('a LIST (RECURSIVEMATCH REMOTE) "" *')
    assert reply.startswith(b"a BAD LIST: RECURSIVEMATCH needs another selection option")


def test_childinfo_only_for_children_not_listed_themselves(
    logged_in: Client, backend: Backend
) -> None:
    logged_in.ok("c1 CREATE top/child")
    logged_in.ok("c2 SUBSCRIBE top/child")
    # RFC 5258 §3.5: the child matches the pattern and is listed, so no CHILDINFO for "top".
    reply = logged_in.ok('a LIST (SUBSCRIBED RECURSIVEMATCH) "" (top top/child)')
    assert reply == (
        b'* LIST (\\Subscribed \\HasNoChildren) "/" "top/child"\r\na OK LIST completed\r\n'
    )
    reply = logged_in.ok('b LIST (SUBSCRIBED RECURSIVEMATCH) "" top')
    assert reply == (
        b'* LIST (\\HasChildren) "/" "top" ("CHILDINFO" ("SUBSCRIBED"))\r\nb OK LIST completed\r\n'
    )


def test_invalid_modified_utf7_name_is_no_and_lists_nothing(logged_in: Client) -> None:
    name = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
    reply = logged_in.cmd(f"a SELECT {name}")
    assert reply.startswith(b"a NO [NONEXISTENT] SELECT: invalid mailbox name")
    assert logged_in.ok(f'b LIST "" {name}%*') == b"b OK LIST completed\r\n"
    assert logged_in.cmd(f"c CREATE {name}").startswith(b"c NO [NONEXISTENT]")


def test_id_at_rfc_2971_maxima_fits_the_command_line(logged_in: Client) -> None:
    # RFC 2971 §3.3: 30 fields, 30-octet names, 1024-octet values: about 32 KB on one line.
    params = " ".join(f'"{f"f{n:02d}".ljust(30, "x")}" "{"v" * 1024}"' for n in range(30))
    line = f"a ID ({params})"
    assert len(line) > 31_000
    reply = logged_in.ok(line)
    assert reply.startswith(b'* ID ("name" "fakemail" "version" ')


def test_search_from_matches_parsed_addresses(logged_in: Client, backend: Backend) -> None:
    bodies = [
        b"From: <user-from (comment)@ (comment) domain.org>\r\n\r\nx\r\n",
        b"From: user-from@domain.org (RealFrom)\r\n\r\nx\r\n",
        b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\r\n\r\nx\r\n",
        b"To: groupname: groupuser1@domain.org, groupuser2@domain.org;\r\n\r\nx\r\n",
    ]
    for raw in bodies:
        deliver(backend, raw)
    logged_in.select()
    assert logged_in.ok("a SEARCH FROM user-from@domain.org").startswith(b"* SEARCH 1 2\r\n")
    assert logged_in.ok("b SEARCH FROM realfrom").startswith(b"* SEARCH 2\r\n")
    # A comment inside <...> is no part of the address.
    assert logged_in.ok("c SEARCH FROM comment").startswith(b"* SEARCH\r\n")
    assert logged_in.ok('d SEARCH CHARSET UTF-8 FROM "jörg <"').startswith(b"* SEARCH 3\r\n")
    assert logged_in.ok("e SEARCH TO groupname").startswith(b"* SEARCH 4\r\n")
    assert logged_in.ok("f SEARCH TO groupuser2").startswith(b"* SEARCH 4\r\n")
    assert logged_in.ok('g SEARCH HEADER TO ""').startswith(b"* SEARCH 4\r\n")


def test_envelope_takes_no_comment_inside_angle_brackets(
    logged_in: Client, backend: Backend
) -> None:
    deliver(backend, b"From: <user (comment)@ (comment) domain.org>\r\n\r\nx\r\n")
    deliver(backend, b"From: user@domain.org (Real Name)\r\n\r\nx\r\n")
    logged_in.select()
    reply = logged_in.ok("a FETCH 1:2 ENVELOPE")
    assert b'* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL "user" "domain.org"))' in reply
    # After a bare address, the comment is its display name (as Dovecot).
    assert b'* 2 FETCH (ENVELOPE (NIL NIL (("Real Name" NIL "user" "domain.org"))' in reply


def test_body_sections_are_always_literals(logged_in: Client, backend: Backend) -> None:
    deliver(backend, b"Subject: s\r\n\r\nhi")
    logged_in.select()
    assert logged_in.ok("a FETCH 1 (BODY.PEEK[TEXT] BODY.PEEK[2] RFC822.HEADER)") == (
        b"* 1 FETCH (BODY[TEXT] {2}\r\nhi BODY[2] {0}\r\n RFC822.HEADER {14}\r\nSubject: s\r\n\r\n)"
        b"\r\na OK FETCH completed\r\n"
    )


def test_search_is_lenient_about_blanks_inside_parentheses() -> None:
    event = parse_command(b"a SEARCH ( SEEN  FLAGGED )")
    assert event == Search(
        "a", False, None, SearchAnd((SearchFlag("\\Seen"), SearchFlag("\\Flagged")))
    )
    # Keys still need a blank between them.
    assert isinstance(parse_command(b"a SEARCH (1:2UID 3)"), InvalidCommand)
