"""Mailpit's search syntax (``fakemail._web._query``): pure, no server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._message import Envelope, Message
from fakemail._store import Transaction
from fakemail._web._query import MAX_QUERY_LENGTH, QueryError, parse, parse_date, tokenize

WHEN = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def tx(
    raw: str,
    *,
    to: tuple[str, ...] = ("bob@example.com",),
    read: bool = False,
    tags: tuple[str, ...] = (),
    when: datetime = WHEN,
) -> Transaction:
    message = Message(raw.encode(), Envelope("app@example.com", to), when, 1)
    return Transaction("1", message, read, tags)


INVOICE = tx(
    "From: Shop Owner <shop@example.com>\r\nTo: Bob Jones <bob@example.com>\r\n"
    "Cc: audit@example.com\r\nReply-To: help@example.com\r\n"
    "Subject: Your Invoice 42\r\nMessage-ID: <inv.42@shop.example>\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/html\r\n\r\n<p>Thank <b>you</b> for shopping</p>\r\n"
    "--b\r\nContent-Type: application/pdf\r\n"
    'Content-Disposition: attachment; filename="receipt.pdf"\r\n\r\nPDF\r\n--b--\r\n',
    to=("bob@example.com", "hidden@example.com"),
    tags=("Billing",),
)
PLAIN = tx(
    "From: friend@example.org\r\nSubject: lunch?\r\n\r\nAre you free for lunch?\r\n", read=True
)


@pytest.mark.parametrize(
    ("query", "invoice", "plain"),
    [
        ("", True, True),
        ("invoice", True, False),
        ("INVOICE", True, False),
        ("thank you", True, False),  # two terms, both somewhere
        ('"thank you"', True, False),  # a phrase, across the markup between its words
        ('"for lunch"', False, True),
        ('"lunch for"', False, False),
        ('"shopping"', True, False),
        ("receipt.pdf", True, False),
        ("lunch", False, True),
        ("!lunch", True, False),
        ("-lunch", True, False),
        ("from:shop", True, False),
        ("FROM:Owner", True, False),
        ("to:jones", True, False),
        ("cc:audit", True, False),
        ("bcc:hidden", True, False),
        ("reply-to:help", True, False),
        ("addressed:audit", True, False),
        ("subject:invoice", True, False),
        ('subject:"invoice 42"', True, False),
        ("message-id:inv.42@shop", True, False),
        ("tag:billing", True, False),
        ("tag:bill", False, False),  # a tag matches by its whole name
        ("is:read", False, True),
        ("is:unread", True, False),
        ("!is:read", True, False),
        ("is:tagged", True, False),
        ("has:attachment", True, False),
        ("has:attachments", True, False),
        ("!has:attachment", False, True),
        ("has:inline", False, False),
        ("larger:100", True, False),
        ("smaller:1K", True, True),
        ("larger:1KB", False, False),
        ("larger:lots", False, False),  # not a size: plain text "larger:lots"
        ("after:2026-03-10", True, True),
        ("after:2026-03-11", False, False),
        ("before:2026/03/11", True, True),
        ("-after:2026-03-11", True, True),
        ("before:someday", True, True),  # a date that does not parse is ignored
        ("unknown:thing", False, False),  # plain text
        ("! -", False, False),  # lone ! and - are text
    ],
)
def test_terms(query: str, invoice: bool, plain: bool) -> None:
    parsed = parse(query)
    assert (parsed(INVOICE), parsed(PLAIN)) == (invoice, plain)


def test_tokenize() -> None:
    assert tokenize('a  "b c" to:"john doe" -"x y"') == ["a", "b c", "to:john doe", "-x y"]
    assert tokenize('"unclosed quote runs on') == ["unclosed quote runs on"]
    assert tokenize('""  ') == []


def test_dates_in_a_zone() -> None:
    zone = timezone(timedelta(hours=13))
    assert parse_date("2026-03-11", zone) == datetime(2026, 3, 11, tzinfo=zone)
    # 2026-03-11 00:00 at +13:00 is 11:00 UTC on the 10th, before the message's noon UTC.
    assert parse("after:2026-03-11", zone)(INVOICE)
    assert not parse("after:2026-03-11", timezone.utc)(INVOICE)
    assert parse("after:2026-03-10T11:59:00Z")(INVOICE)
    assert parse_date("03/31/2026", timezone.utc) == datetime(2026, 3, 31, tzinfo=timezone.utc)
    assert parse_date("Tue, 10 Mar 2026 12:00:00 +0000", None) == WHEN
    assert parse_date("31/31/2026", None) is None


def test_limits() -> None:
    with pytest.raises(QueryError):
        parse("x" * (MAX_QUERY_LENGTH + 1))
    with pytest.raises(QueryError):
        parse(" ".join(["x"] * 100))


words = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(st.text(max_size=200))
def test_any_text_parses_and_evaluates(query: str) -> None:
    parsed = parse(query)
    assert parsed(INVOICE) in (True, False)
    assert parsed(PLAIN) in (True, False)


@given(words.filter(lambda w: w.strip() and '"' not in w and w[0] not in "!-"))
def test_negation_is_the_complement(term: str) -> None:
    quoted = f'"{term}"'
    for transaction in (INVOICE, PLAIN):
        assert parse(f"-{quoted}")(transaction) == (not parse(quoted)(transaction))


@given(st.lists(words.filter(lambda w: '"' not in w), max_size=5))
def test_terms_are_anded(terms: list[str]) -> None:
    query = " ".join(f'"{t}"' for t in terms)
    for transaction in (INVOICE, PLAIN):
        expected = all(parse(f'"{t}"')(transaction) for t in terms)
        assert parse(query)(transaction) == expected


@given(st.lists(st.text(alphabet="ab :\"'-!\t", max_size=8), max_size=6))
def test_tokenize_never_keeps_quotes_or_blank_terms(parts: list[str]) -> None:
    for term in tokenize(" ".join(parts)):
        assert term
        assert '"' not in term
