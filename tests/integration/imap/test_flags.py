"""Flags set through the test API and through IMAP STORE/APPEND follow one rule."""

from __future__ import annotations

import imaplib
import re

import pytest

from fakemail._exceptions import ConfigError
from fakemail._server import MailServer

from .conftest import Connect

RAW = b"Subject: flags\r\n\r\nbody\r\n"


def test_api_flags_are_normalised_as_imap_store_does(
    server: MailServer, connect: Connect, addr: str
) -> None:
    server.deliver(RAW, to=addr, flags=["\\seen", "$Work"])
    server.deliver(RAW, to=addr)
    client = connect()
    client.login(addr, "x")
    client.select("INBOX")
    assert client.search(None, "UNSEEN") == ("OK", [b"2"])  # \seen counted as \Seen
    assert client.store("2", "+FLAGS", "(\\sEEn \\fLAGGED)")[0] == "OK"
    inbox = server.mailbox(addr).inbox
    assert [item.flags for item in inbox.items] == [
        {"\\Seen", "$Work"},
        {"\\Seen", "\\Flagged"},
    ]
    inbox.set_flags(1, ["\\DELETED"], "add")
    assert inbox.flags(1) == {"\\Seen", "\\Deleted", "$Work"}
    _, [data] = client.fetch("1", "(FLAGS)")
    assert b"\\Deleted" in data


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("\\Bogus", "unknown system flag"),
        ("\\Recent", "cannot be set"),
        ("Seen", "would be a keyword"),
        ("two words", "not a valid keyword"),
    ],
)
def test_bad_api_flags_raise_and_change_nothing(
    server: MailServer, addr: str, flag: str, error: str
) -> None:
    server.deliver(RAW, to=addr)
    mailbox = server.mailbox(addr)
    before = server.store.version
    with pytest.raises(ConfigError, match=error):
        server.deliver(RAW, to=addr, flags=[flag])
    with pytest.raises(ConfigError, match=error):
        mailbox.inbox.set_flags(1, ["\\Seen", flag])
    with pytest.raises(ConfigError, match=error):
        mailbox.append(mailbox.messages[0], flags=[flag])
    assert server.store.version == before
    assert mailbox.inbox.flags(1) == frozenset()


@pytest.mark.parametrize(
    ("flags", "error"),
    [("(\\Bogus)", "unknown system flag"), ("(\\Recent)", "Recent cannot be set: only")],
)
def test_imap_refuses_the_same_flags(
    server: MailServer, connect: Connect, addr: str, flags: str, error: str
) -> None:
    server.deliver(RAW, to=addr)
    client = connect()
    client.login(addr, "x")
    client.select("INBOX")
    with pytest.raises(imaplib.IMAP4.error, match=re.escape("BAD [b'STORE: ") + ".*" + error):
        client.store("1", "+FLAGS", flags)
    assert server.mailbox(addr).inbox.flags(1) == frozenset()
