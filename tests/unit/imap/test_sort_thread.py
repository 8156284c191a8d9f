"""SORT, ESORT and THREAD (RFC 5256, 5957, 5267 §3): values, algorithms and byte transcripts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._backend import Backend
from fakemail._imap._events import InvalidCommand, SearchAll, SearchFlag, Sort, SortCriterion
from fakemail._imap._events import Thread as ThreadEvent
from fakemail._imap._grammar import parse_command
from fakemail._imap._search import ordered_set
from fakemail._imap._sortvalues import base_subject
from tests.unit.imap._client import Client, deliver

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def msg(
    subject: str = "s",
    *,
    date: str | None = None,
    frm: str = "a@x.org",
    to: str = "b@x.org",
    cc: str | None = None,
    message_id: str | None = None,
    references: str | None = None,
    in_reply_to: str | None = None,
    body: bytes = b"body\r\n",
) -> bytes:
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}"]
    for name, value in (
        ("Cc", cc),
        ("Date", date),
        ("Message-ID", message_id),
        ("References", references),
        ("In-Reply-To", in_reply_to),
    ):
        if value is not None:
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fill(backend: Backend, *messages: bytes) -> None:
    for n, raw in enumerate(messages):
        deliver(backend, raw, when=BASE + timedelta(hours=n))


def answer(client: Client, command: str) -> bytes:
    """The one untagged line of a SORT/THREAD/ESEARCH reply."""
    reply = client.ok(command)
    first, rest = reply.split(b"\r\n", 1)
    assert rest.startswith(command.split(" ", 1)[0].encode() + b" OK"), reply
    return first


# --------------------------------------------------------------------------- base subject


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("hello", "hello", False),
        ("Re: hello", "hello", True),
        ("RE: Re: re:hello", "hello", True),
        ("Fwd: hello", "hello", True),
        ("Fw: hello (fwd)", "hello", True),
        ("[list] Re: hello", "hello", True),
        ("Re [list]: hello", "hello", True),
        ("[list] hello", "hello", False),
        ("[list]", "[list]", False),  # a blob that would leave nothing stays
        ("[fwd: hello]", "hello", True),
        ("[Fwd: Re: [x] hello (fwd)]", "hello", True),
        ("  hello   world\t ", "hello world", False),
        ("=?utf-8?q?Re=3A_caf=C3=A9?=", "café", True),
        ("", "", False),
    ],
)
def test_base_subject(subject: str, base: str, reply: bool) -> None:
    assert base_subject(subject) == (base, reply)


@given(st.text(alphabet="reRfwdFWD:[]() \tabcx-=?", max_size=40))
def test_base_subject_is_a_fixed_point(subject: str) -> None:
    # RFC 5256 §2.1: extraction removes every artifact, so applying it again changes nothing.
    base, _ = base_subject(subject)
    assert base_subject(base)[0] == base
    assert base == base.strip(" ")


@given(st.lists(st.integers(1, 60), max_size=30))
def test_ordered_set_keeps_the_order(numbers: list[int]) -> None:
    text = ordered_set(numbers)
    expanded: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition(":")
        expanded += range(int(first), int(last or first) + 1)
    assert expanded == numbers
    assert all(int(a) < int(b) for a, _, b in (p.partition(":") for p in text.split(",")) if b)


# --------------------------------------------------------------------------- grammar


def test_sort_and_thread_grammar() -> None:
    assert parse_command(b"a SORT (REVERSE DATE subject) UTF-8 SEEN") == Sort(
        "a",
        False,
        (SortCriterion("DATE", True), SortCriterion("SUBJECT")),
        "UTF-8",
        SearchFlag("\\Seen"),
    )
    assert parse_command(b"a UID SORT RETURN (MIN COUNT) (DISPLAYFROM) us-ascii ALL") == Sort(
        "a", True, (SortCriterion("DISPLAYFROM"),), "US-ASCII", SearchAll(), ("MIN", "COUNT")
    )
    assert parse_command(b'a UID THREAD references "UTF-8" ALL') == ThreadEvent(
        "a", True, "REFERENCES", "UTF-8", SearchAll()
    )


@pytest.mark.parametrize(
    "line",
    [
        b"a SORT (DATE) ALL",  # the charset is mandatory
        b"a SORT () UTF-8 ALL",
        b"a SORT (REVERSE) UTF-8 ALL",
        b"a SORT (NAME) UTF-8 ALL",
        b"a SORT DATE UTF-8 ALL",
        b"a SORT (DATE) UTF-8",
        b"a THREAD UTF-8 ALL",
        b"a THREAD X-FOO UTF-8 ALL",
        b"a THREAD REFERENCES ALL",
    ],
)
def test_bad_sort_and_thread(line: bytes) -> None:
    event = parse_command(line)
    assert isinstance(event, InvalidCommand), event
    assert event.status == "BAD", event


def test_sort_charset_unknown_is_badcharset() -> None:
    event = parse_command(b"a SORT (DATE) KOI8-R ALL")
    assert isinstance(event, InvalidCommand)
    assert (event.status, event.code) == ("NO", "BADCHARSET (UTF-8 US-ASCII)")


_KEY = st.sampled_from(
    ["ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"]
)


@given(
    st.lists(st.tuples(st.booleans(), _KEY), min_size=1, max_size=5),
    st.booleans(),
    st.sampled_from(["UTF-8", "US-ASCII"]),
)
def test_sort_round_trip(criteria: list[tuple[bool, str]], uid: bool, charset: str) -> None:
    text = " ".join(("REVERSE " if rev else "") + key.lower() for rev, key in criteria)
    line = f"t {'UID ' if uid else ''}SORT ({text}) {charset.lower()} ALL".encode()
    event = parse_command(line)
    assert isinstance(event, Sort)
    assert [(c.reverse, c.key) for c in event.sort_criteria] == criteria
    assert (event.uid, event.charset) == (uid, charset)


# --------------------------------------------------------------------------- SORT


def test_sort_by_each_key(logged_in: Client, backend: Backend) -> None:
    fill(
        backend,
        msg("Re: beta", date="Mon, 1 Jan 2024 12:00:00 +0000", frm="Zed <c@x.org>", to="y@x"),
        msg("alpha", date="Mon, 1 Jan 2024 11:00:00 -0200", frm="b@x.org", body=b"x" * 100),
        msg("[list] Beta", date="bogus", frm="Amy <z@x.org>", to="a@x", cc="m@x"),
    )
    logged_in.select()
    assert answer(logged_in, "a SORT (ARRIVAL) UTF-8 ALL") == b"* SORT 1 2 3"
    # 11:00 -0200 is 13:00 UTC; an unparsable Date sorts by the internal date (§2.2).
    assert answer(logged_in, "b SORT (DATE) UTF-8 ALL") == b"* SORT 3 1 2"
    assert answer(logged_in, "c SORT (REVERSE SIZE) UTF-8 ALL") == b"* SORT 2 1 3"
    assert answer(logged_in, "d SORT (SUBJECT) UTF-8 ALL") == b"* SORT 2 1 3"
    assert answer(logged_in, "e SORT (FROM) UTF-8 ALL") == b"* SORT 2 1 3"
    assert answer(logged_in, "f SORT (DISPLAYFROM) UTF-8 ALL") == b"* SORT 3 2 1"
    assert answer(logged_in, "g SORT (TO) UTF-8 ALL") == b"* SORT 3 2 1"
    # A missing field is the empty string, which sorts first.
    assert answer(logged_in, "h SORT (CC) UTF-8 ALL") == b"* SORT 1 2 3"
    # REVERSE reverses its criterion only: ties stay in mailbox order.
    assert answer(logged_in, "i SORT (REVERSE SUBJECT) UTF-8 ALL") == b"* SORT 1 3 2"
    assert answer(logged_in, "j SORT (SUBJECT REVERSE ARRIVAL) UTF-8 ALL") == b"* SORT 2 3 1"
    assert answer(logged_in, "k SORT (SUBJECT) UTF-8 NOT SUBJECT alpha") == b"* SORT 1 3"
    uids = [i.uid for i in backend.store.folder("user@example.org", "INBOX").items]
    assert answer(logged_in, "l UID SORT (SUBJECT) UTF-8 ALL") == b"* SORT %d %d %d" % (
        uids[1],
        uids[0],
        uids[2],
    )


def test_sort_display_uses_the_decoded_name_or_the_address(
    logged_in: Client, backend: Backend
) -> None:
    fill(
        backend,
        msg(to="=?utf-8?q?Zo=C3=AB?= <a@x.org>"),
        msg(to="b@x.org"),
        msg(to="team: c@x.org;"),
        msg(to="alpha@x.org (Zz)"),
    )
    logged_in.select()
    # RFC 5957 §3: "ZOË", "B@X.ORG", the group name "TEAM", the comment name "ZZ".
    assert answer(logged_in, "a SORT (DISPLAYTO) UTF-8 ALL") == b"* SORT 2 3 1 4"


def test_esort_return_options(logged_in: Client, backend: Backend) -> None:
    fill(backend, msg("c"), msg("a"), msg("b"), msg("d"), msg("a"))
    logged_in.select()
    reply = answer(logged_in, "a SORT RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 ALL")
    # RFC 5267 §3: ALL in sort order (ranges only where ascending), MIN/MAX first and last.
    assert reply == b'* ESEARCH (TAG "a") MIN 2 MAX 4 ALL 2,5,3,1,4 COUNT 5'
    assert answer(logged_in, "b SORT RETURN () (SUBJECT) UTF-8 ALL") == (
        b'* ESEARCH (TAG "b") ALL 2,5,3,1,4'
    )
    assert answer(logged_in, "c SORT RETURN (MIN COUNT) (SUBJECT) UTF-8 SUBJECT zzz") == (
        b'* ESEARCH (TAG "c") COUNT 0'
    )


def test_sort_and_thread_need_a_selected_mailbox(logged_in: Client) -> None:
    assert logged_in.cmd("a SORT (DATE) UTF-8 ALL").startswith(b"a BAD SORT is not valid")
    assert logged_in.cmd("b THREAD REFERENCES UTF-8 ALL").startswith(b"b BAD THREAD is not")


def test_capabilities_advertise_sort_and_thread(logged_in: Client) -> None:
    caps = logged_in.ok("c CAPABILITY").split(b"\r\n")[0].split()
    for cap in (b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=ORDEREDSUBJECT"):
        assert cap in caps
    assert b"THREAD=REFERENCES" in caps


# --------------------------------------------------------------------------- THREAD


def test_thread_orderedsubject(logged_in: Client, backend: Backend) -> None:
    fill(
        backend,
        msg("b", date="Mon, 1 Jan 2024 10:00:00 +0000"),
        msg("a", date="Mon, 1 Jan 2024 11:00:00 +0000"),
        msg("Re: b", date="Mon, 1 Jan 2024 12:00:00 +0000"),
        msg("Re: a", date="Mon, 1 Jan 2024 09:00:00 +0000"),
        msg("b", date="Mon, 1 Jan 2024 13:00:00 +0000"),
    )
    logged_in.select()
    # By subject, then date; threads ordered by their first message's date; only children.
    assert answer(logged_in, "a THREAD ORDEREDSUBJECT UTF-8 ALL") == (b"* THREAD (4 2)(1 (3)(5))")
    assert answer(logged_in, "b THREAD ORDEREDSUBJECT UTF-8 SUBJECT zzz") == b"* THREAD"


def test_thread_references(logged_in: Client, backend: Backend) -> None:
    day = "Mon, 1 Jan 2024 {:02d}:00:00 +0000".format
    fill(
        backend,
        msg("topic", date=day(1), message_id="<1@x>"),
        msg("Re: topic", date=day(2), message_id="<2@x>", references="<1@x>"),
        msg("Re: topic", date=day(3), message_id="<3@x>", references="<1@x> <2@x>"),
        msg("Re: topic", date=day(4), message_id="<4@x>", in_reply_to='<"1"@x>'),
        msg("other", date=day(5), message_id="<5@x>", references="<gone@x>"),
        msg("Re: other", date=day(6), message_id="<6@x>", references="<gone@x>"),
        msg("lonely", date=day(7)),
        msg("Re: topic", date=day(8), message_id="<8@x>"),  # joined by subject
    )
    logged_in.select()
    # 5 and 6 share a missing parent: a dummy at the root keeps them together.
    assert answer(logged_in, "a THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD (1 (2 3)(4)(8))((5)(6))(7)"
    )
    uids = [i.uid for i in backend.store.folder("user@example.org", "INBOX").items]
    reply = answer(logged_in, "b UID THREAD REFERENCES UTF-8 NOT SUBJECT other")
    assert reply == b"* THREAD (%d (%d %d)(%d)(%d))(%d)" % tuple(
        uids[i] for i in (0, 1, 2, 3, 7, 6)
    )


def test_thread_references_survive_loops_and_duplicates(
    logged_in: Client, backend: Backend
) -> None:
    day = "Mon, 1 Jan 2024 {:02d}:00:00 +0000".format
    fill(
        backend,
        msg("a", date=day(1), message_id="<a@x>", references="<b@x>"),
        msg("b", date=day(2), message_id="<b@x>", references="<a@x>"),
        msg("c", date=day(3), message_id="<a@x>"),  # a duplicate ID: a message of its own
        msg("d", date=day(4), message_id="<d@x>", references="<d@x>"),  # itself
    )
    logged_in.select()
    assert answer(logged_in, "a THREAD REFERENCES UTF-8 ALL") == b"* THREAD (2 1)(3)(4)"
