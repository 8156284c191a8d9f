"""IDLE over real sockets: an idling client hears flag changes and expunges made elsewhere.

RFC 2177 §3: while idling, the server may send any untagged response at any time; the docs
promise that IDLE reports new mail, flag changes and expunges as they happen, whoever made them
(another IMAP session or the test API). These tests fail if the store stops notifying its
listeners on :meth:`~fakemail._store.MailStore.set_flags` or
:meth:`~fakemail._store.MailStore.expunge`: nothing else wakes an idling session.
"""

from __future__ import annotations

from imapclient import IMAPClient  # type: ignore[import-untyped]

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

from .conftest import RawClient, RawConnect


def idling(raw: RawConnect, server: MailServer, addr: str, count: int) -> RawClient:
    """A raw session with ``count`` delivered messages in its selected INBOX, now idling
    (its \\Recent claim made at SELECT)."""
    for n in range(count):
        server.deliver(f"Subject: m{n}\r\n\r\nbody {n}\r\n", to=addr)
    client = raw()
    assert client.command(f"a LOGIN {addr} pw".encode()).startswith(b"a OK ")
    assert client.command(b"s SELECT INBOX").endswith(b"s OK [READ-WRITE] SELECT completed\r\n")
    client.send(b"i IDLE\r\n")
    assert client.line() == b"+ idling\r\n"
    return client


def done(client: RawClient) -> None:
    client.send(b"DONE\r\n")
    assert client.line() == b"i OK IDLE terminated\r\n"


def test_idle_hears_flags_set_through_the_test_api(
    raw: RawConnect, server: MailServer, addr: str
) -> None:
    client = idling(raw, server, addr, 2)
    server.mailbox(addr).inbox.set_flags(2, ["\\Flagged"], "add")
    assert client.line() == b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))\r\n"
    server.mailbox(addr).inbox.set_flags([1, 2], [])
    # RFC 3501 §2.3.2: \Recent belongs to the session and is not the test API's to remove.
    assert client.line() == b"* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n"
    done(client)


def test_idle_hears_expunges_through_the_test_api(
    raw: RawConnect, server: MailServer, addr: str
) -> None:
    client = idling(raw, server, addr, 3)
    assert server.mailbox(addr).inbox.expunge([2, 3]) == (2, 3)
    # RFC 3501 §7.4.1: each EXPUNGE renumbers the messages after it; highest first keeps the
    # numbers of those still to come unchanged.
    assert [client.line(), client.line()] == [b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    done(client)
    assert client.command(b"f FETCH 1:* (UID)") == b"* 1 FETCH (UID 1)\r\nf OK FETCH completed\r\n"


def test_idle_hears_another_sessions_store_and_expunge(server: MailServer, addr: str) -> None:
    for n in range(3):
        server.deliver(f"Subject: m{n}\r\n\r\nbody {n}\r\n", to=addr)
    host, port = server.imap
    with (
        IMAPClient(host, port=port, ssl=False, timeout=TIMEOUT) as watcher,
        IMAPClient(host, port=port, ssl=False, timeout=TIMEOUT) as writer,
    ):
        watcher.login(addr, "pw")
        writer.login(addr, "pw")
        watcher.select_folder("INBOX")
        writer.select_folder("INBOX")
        watcher.idle()

        writer.add_flags([1], ["\\Seen"])
        assert watcher.idle_check(timeout=TIMEOUT) == [
            (1, b"FETCH", (b"UID", 1, b"FLAGS", (b"\\Seen", b"\\Recent")))
        ]

        writer.add_flags([2], ["\\Deleted"])
        assert watcher.idle_check(timeout=TIMEOUT) == [
            (2, b"FETCH", (b"UID", 2, b"FLAGS", (b"\\Deleted", b"\\Recent")))
        ]
        writer.expunge()
        assert watcher.idle_check(timeout=TIMEOUT) == [(2, b"EXPUNGE")]

        watcher.idle_done()
        assert watcher.search(["ALL"]) == [1, 3]  # UIDs (IMAPClient's default)
        assert watcher.get_flags([1, 3]) == {1: (b"\\Seen", b"\\Recent"), 3: (b"\\Recent",)}
