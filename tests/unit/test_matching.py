"""Filters, and the exact failure reports of assert_sent / assert_not_sent / assert_count /
wait_for (on a MailServer that is never started: these only read the store)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest

from fakemail._exceptions import ConfigError, MailAssertionError, WaitTimeout
from fakemail._matching import Criteria, describe_message, report
from fakemail._message import Envelope, Message
from fakemail._server import MailServer

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

WELCOME = (
    b"From: App <App@Example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Cc: carol@example.com\r\n"
    b"Subject: Welcome, Bob\r\n"
    b"X-Priority: 3\r\n"
    b"X-Priority: 1\r\n"
    b"\r\n"
    b"Hi Bob,\r\n"
    b"verify at https://example.com/v?t=1\r\n"
)

INVOICE = (
    b"From: billing@example.com\r\n"
    b"To: dan@example.com\r\n"
    b"Subject: Invoice 42\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>Your invoice</p>\r\n"
    b"--b\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
    b"\r\n"
    b"PDF\r\n"
    b"--b--\r\n"
)


@pytest.fixture
def server() -> MailServer:
    server = MailServer()
    store = server.store
    store.record(
        WELCOME,
        Envelope("app@example.com", ("bob@example.com", "hidden@example.com")),
        ["bob@example.com", "hidden@example.com"],
        received_at=WHEN,
    )
    store.record(
        INVOICE,
        Envelope("", ("DAN@Example.com",)),
        ["dan@example.com"],
        received_at=WHEN,
    )
    return server


@pytest.fixture
def empty() -> MailServer:
    return MailServer()


def subjects(messages: list[Message]) -> list[str | None]:
    return [m.subject for m in messages]


# ------------------------------------------------------------------ each filter


def test_no_filters_match_everything(server: MailServer) -> None:
    assert subjects(server.find()) == ["Welcome, Bob", "Invoice 42"]


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("bob@example.com", ["Welcome, Bob"]),
        ("BOB@EXAMPLE.COM", ["Welcome, Bob"]),  # addresses ignore case
        ("hidden@example.com", ["Welcome, Bob"]),  # Bcc: envelope only
        ("carol@example.com", ["Welcome, Bob"]),  # Cc header only
        ("dan@example.com", ["Invoice 42"]),
        ("bob", []),  # a string must equal the whole address
        (re.compile(r"@example\.com$"), ["Welcome, Bob", "Invoice 42"]),
        (re.compile(r"^BOB@"), []),  # regexes are case-sensitive...
        (re.compile(r"^BOB@", re.I), ["Welcome, Bob"]),  # ...unless asked otherwise
        (re.compile(r"^DAN@"), ["Invoice 42"]),  # as given in RCPT TO
        (lambda address: address.startswith("carol"), ["Welcome, Bob"]),
    ],
)
def test_to(server: MailServer, to: Any, expected: list[str]) -> None:
    assert subjects(server.find(to=to)) == expected


def test_sender_and_from(server: MailServer) -> None:
    assert subjects(server.find(sender="APP@example.com")) == ["Welcome, Bob"]
    assert subjects(server.find(sender="")) == ["Invoice 42"]  # the null sender
    assert subjects(server.find(from_="app@example.com")) == ["Welcome, Bob"]
    assert subjects(server.find(from_=re.compile("^billing@"))) == ["Invoice 42"]
    assert server.find(from_="App <App@Example.com>") == []  # the address only


def test_subject(server: MailServer) -> None:
    assert subjects(server.find(subject="Welcome, Bob")) == ["Welcome, Bob"]
    assert server.find(subject="welcome, bob") == []  # case-sensitive
    assert server.find(subject="Welcome") == []  # exact
    assert subjects(server.find(subject=re.compile(r"^Invoice \d+$"))) == ["Invoice 42"]
    assert subjects(server.find(subject=lambda s: "42" in s)) == ["Invoice 42"]


def test_missing_value_never_reaches_a_callable(empty: MailServer) -> None:
    empty.store.record(b"X-No-Subject: 1\r\n\r\nx\r\n", Envelope("a@x.org", ("b@x.org",)), [])
    seen: list[object] = []

    def record_value(value: str) -> bool:
        seen.append(value)
        return True

    assert empty.find(subject=record_value) == []
    assert empty.find(from_=record_value) == []
    assert seen == []


def test_body(server: MailServer) -> None:
    welcome_text = "Hi Bob,\nverify at https://example.com/v?t=1"
    assert subjects(server.find(body=welcome_text)) == ["Welcome, Bob"]
    assert subjects(server.find(body=welcome_text + "\n\n")) == ["Welcome, Bob"]
    assert subjects(server.find(body=welcome_text.replace("\n", "\r\n"))) == ["Welcome, Bob"]
    assert server.find(body="Hi Bob,") == []  # an exact string is the whole body
    assert subjects(server.find(body=re.compile(r"v\?t=\d"))) == ["Welcome, Bob"]
    # The HTML body counts too.
    assert subjects(server.find(body="<p>Your invoice</p>")) == ["Invoice 42"]
    assert subjects(server.find(body=lambda b: "invoice" in b)) == ["Invoice 42"]


def test_has_attachment(server: MailServer) -> None:
    assert subjects(server.find(has_attachment=True)) == ["Invoice 42"]
    assert subjects(server.find(has_attachment=False)) == ["Welcome, Bob"]


def test_header(server: MailServer) -> None:
    assert subjects(server.find(header=("x-priority", "1"))) == ["Welcome, Bob"]  # any value
    assert subjects(server.find(header=("X-Priority", "3"))) == ["Welcome, Bob"]
    assert server.find(header=("X-Priority", "2")) == []
    assert server.find(header=("X-Missing", re.compile(""))) == []
    assert subjects(server.find(header=("Subject", re.compile("^Inv")))) == ["Invoice 42"]


def test_filters_combine(server: MailServer) -> None:
    assert subjects(server.find(to="bob@example.com", has_attachment=False)) == ["Welcome, Bob"]
    assert server.find(to="bob@example.com", has_attachment=True) == []


# ------------------------------------------------------------------ bad filters


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"recipient": "a"}, "unknown filter recipient=; filters are: to, sender, from_, "),
        ({"to": None}, "to= takes a string, a compiled regex or a callable, got None"),
        ({"subject": 42}, "subject= takes a string, a compiled regex or a callable, got 42"),
        ({"body": re.compile(b"x")}, "body= takes a string, a compiled regex or a callable"),
        ({"has_attachment": "yes"}, "has_attachment= takes True or False"),
        ({"has_attachment": 1}, "has_attachment= takes True or False"),
        ({"header": "X-A"}, "header= takes a (name, value) pair"),
        ({"header": ["X-A", "1"]}, "header= takes a (name, value) pair"),
        ({"header": ("X-A", "1", "2")}, "header= takes a (name, value) pair"),
        ({"header": (1, "1")}, "header= takes a (name, value) pair"),
        ({"header": ("X-A", 1)}, "header= takes a string, a compiled regex or a callable"),
    ],
)
def test_bad_filters(server: MailServer, filters: dict[str, Any], message: str) -> None:
    for call in (server.find, server.assert_sent, server.assert_not_sent, server.wait_for):
        with pytest.raises(ConfigError, match=re.escape(message)):
            call(**filters)
    with pytest.raises(ConfigError, match=re.escape(message)):
        server.assert_count(1, **filters)


def test_criteria_str() -> None:
    def long_body(text: str) -> bool:
        return len(text) > 10

    criteria = Criteria.build(
        to="a@x.org",
        subject=re.compile("^Hi"),
        body=long_body,
        has_attachment=False,
        header=("X-A", re.compile("1")),
    )
    assert str(criteria) == (
        "to='a@x.org', subject=re.compile('^Hi'), body=long_body, has_attachment=False, "
        "header=('X-A', re.compile('1'))"
    )
    assert str(Criteria.build()) == ""


# ------------------------------------------------------------------ assertions


def test_assert_sent_returns_the_one_match(server: MailServer) -> None:
    message = server.assert_sent(to="bob@example.com")
    assert isinstance(message, Message)
    assert message.subject == "Welcome, Bob"
    found = server.assert_sent(count=2, sender=re.compile(""))
    assert subjects(found) == ["Welcome, Bob", "Invoice 42"]
    assert subjects(server.assert_count(1, has_attachment=True)) == ["Invoice 42"]
    assert server.assert_count(0, to="nobody@example.com") == []
    server.assert_not_sent(to="nobody@example.com")


def test_assert_sent_failure_text(server: MailServer) -> None:
    def is_billing(address: str) -> bool:
        return address.startswith("billing")

    with pytest.raises(MailAssertionError) as info:
        server.assert_sent(
            to="carol@example.com",
            subject=re.compile("^Inv"),
            from_=is_billing,
            header=("X-Priority", "1"),
        )
    assert str(info.value) == (
        "expected 1 matching message(s), found 0\n"
        "Filters: to='carol@example.com', subject=re.compile('^Inv'), from_=is_billing, "
        "header=('X-Priority', '1')\n"
        "Captured 2 message(s):\n"
        "  miss  #1 03:04:05 from app@example.com to bob@example.com, hidden@example.com "
        "subject 'Welcome, Bob'\n"
        "          - subject: 'Welcome, Bob' does not match re.compile('^Inv')\n"
        "          - from_: From 'App@Example.com' does not match is_billing\n"
        "  miss  #2 03:04:05 from <> to DAN@Example.com subject 'Invoice 42'\n"
        "          - to: 'carol@example.com' not among recipients "
        "['DAN@Example.com', 'dan@example.com']\n"
        "          - header X-Priority: absent does not match '1'"
    )
    assert isinstance(info.value, AssertionError)


def test_assert_sent_too_many(server: MailServer) -> None:
    with pytest.raises(MailAssertionError) as info:
        server.assert_sent(to=re.compile("example"))
    assert str(info.value) == (
        "expected 1 matching message(s), found 2\n"
        "Filters: to=re.compile('example')\n"
        "Captured 2 message(s):\n"
        "  MATCH #1 03:04:05 from app@example.com to bob@example.com, hidden@example.com "
        "subject 'Welcome, Bob'\n"
        "  MATCH #2 03:04:05 from <> to DAN@Example.com subject 'Invoice 42'"
    )


def test_other_misses_are_explained(server: MailServer) -> None:
    with pytest.raises(MailAssertionError) as info:
        server.assert_sent(sender="x@y.org", body="nope", has_attachment=True)
    lines = str(info.value).splitlines()
    assert lines[4:7] == [
        "          - sender: envelope sender 'app@example.com' does not match 'x@y.org'",
        "          - body: 'Hi Bob,\\nverify at https://example.com/v?t=1\\n' does not "
        "match 'nope'",
        "          - has_attachment: wanted True, attachments are []",
    ]
    assert lines[8:10] == [
        "          - sender: envelope sender '' does not match 'x@y.org'",
        "          - body: '<p>Your invoice</p>' does not match 'nope'",
    ]
    with pytest.raises(MailAssertionError) as info:
        server.assert_sent(has_attachment=False, subject="Invoice 42")
    assert str(info.value).splitlines()[-1] == (
        "          - has_attachment: wanted False, attachments are ['invoice.pdf']"
    )


def test_assert_not_sent_failure_text(server: MailServer) -> None:
    with pytest.raises(MailAssertionError) as info:
        server.assert_not_sent(subject="Invoice 42")
    assert str(info.value) == (
        "expected 0 matching message(s), found 1\n"
        "Filters: subject='Invoice 42'\n"
        "Captured 2 message(s):\n"
        "  miss  #1 03:04:05 from app@example.com to bob@example.com, hidden@example.com "
        "subject 'Welcome, Bob'\n"
        "          - subject: 'Welcome, Bob' does not match 'Invoice 42'\n"
        "  MATCH #2 03:04:05 from <> to DAN@Example.com subject 'Invoice 42'"
    )


def test_assert_count_failure_text(server: MailServer) -> None:
    with pytest.raises(MailAssertionError) as info:
        server.assert_count(3)
    assert str(info.value) == (
        "expected 3 matching message(s), found 2\n"
        "Captured 2 message(s):\n"
        "  MATCH #1 03:04:05 from app@example.com to bob@example.com, hidden@example.com "
        "subject 'Welcome, Bob'\n"
        "  MATCH #2 03:04:05 from <> to DAN@Example.com subject 'Invoice 42'"
    )


def test_failure_with_nothing_captured(empty: MailServer) -> None:
    with pytest.raises(MailAssertionError) as info:
        empty.assert_sent(to="bob@example.com")
    assert str(info.value) == (
        "expected 1 matching message(s), found 0\n"
        "Filters: to='bob@example.com'\n"
        "No messages were captured."
    )


def test_wait_for_returns_at_once_when_already_there(server: MailServer) -> None:
    assert subjects(server.wait_for(to="dan@example.com", timeout=0)) == ["Invoice 42"]
    assert len(server.wait_for(2, timeout=0)) == 2


def test_wait_for_timeout_text(server: MailServer) -> None:
    with pytest.raises(WaitTimeout) as info:
        server.wait_for(2, to="bob@example.com", timeout=0.05)
    assert str(info.value) == (
        "waited 0.05s for 2 matching message(s), 1 arrived\n"
        "Filters: to='bob@example.com'\n"
        "Captured 2 message(s):\n"
        "  MATCH #1 03:04:05 from app@example.com to bob@example.com, hidden@example.com "
        "subject 'Welcome, Bob'\n"
        "  miss  #2 03:04:05 from <> to DAN@Example.com subject 'Invoice 42'\n"
        "          - to: 'bob@example.com' not among recipients "
        "['DAN@Example.com', 'dan@example.com']"
    )
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, MailAssertionError)


def test_wait_for_timeout_with_nothing_captured(empty: MailServer) -> None:
    with pytest.raises(WaitTimeout) as info:
        empty.wait_for(timeout=0)
    assert str(info.value) == (
        "waited 0s for 1 matching message(s), 0 arrived\nNo messages were captured."
    )


# ------------------------------------------------------------------ the report itself


def test_report_shows_only_the_last_messages_and_truncates(empty: MailServer) -> None:
    for n in range(1, 26):
        subject = "s" * 80 if n == 25 else f"n{n}"
        raw = f"Subject: {subject}\r\n\r\nx\r\n".encode()
        empty.store.record(raw, Envelope("a@x.org", ()), [], received_at=WHEN)
    messages = empty.messages
    text = report("headline", Criteria.build(subject="n3"), messages, limit=3)
    long_subject = repr("s" * 80)[:56] + "...'"
    assert text.splitlines() == [
        "headline",
        "Filters: subject='n3'",
        "Captured 25 message(s):",
        "  miss  #23 03:04:05 from a@x.org to - subject 'n23'",
        "          - subject: 'n23' does not match 'n3'",
        "  miss  #24 03:04:05 from a@x.org to - subject 'n24'",
        "          - subject: 'n24' does not match 'n3'",
        f"  miss  #25 03:04:05 from a@x.org to - subject {long_subject}",
        f"          - subject: {long_subject} does not match 'n3'",
        "  (and 22 earlier message(s) not shown)",
    ]
    assert len(long_subject) == 60
    assert describe_message(messages[0]) == "#1 03:04:05 from a@x.org to - subject 'n1'"
    default = report("h", Criteria.build(), messages)
    assert "(and 5 earlier message(s) not shown)" in default
    assert "#6 " in default
    assert "#5 " not in default
