"""UIDVALIDITY and POP3 UIDL ids are never reused: across servers in one process (a server per
test, a server made again on the same port) and across resets, read over real sockets.

RFC 3501 §2.3.1.1: a client that cached UIDs under a UIDVALIDITY must be able to trust that
the same value means the same mailbox; RFC 1939 §7: a unique-id is never reused for another
message in the maildrop. POP3 UIDL ids are ``<UIDVALIDITY>.<UID>`` (docs: protocol reference),
so they inherit the guarantee.
"""

from __future__ import annotations

import imaplib
import poplib
import re
from collections.abc import Callable

from fakemail._server import MailServer
from fakemail._store import DEFAULT_FOLDERS
from tests._helpers import TIMEOUT

ADDR = "same@example.com"
MakeServer = Callable[..., MailServer]


def imap_uidvalidities(server: MailServer) -> dict[str, int]:
    """UIDVALIDITY of each default folder of :data:`ADDR`, as an IMAP client reads it."""
    client = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
    try:
        assert client.login(ADDR, "pw")[0] == "OK"
        found: dict[str, int] = {}
        for name, _ in DEFAULT_FOLDERS:
            status, data = client.status(name, "(UIDVALIDITY)")
            assert status == "OK", data
            match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert match, data
            found[name] = int(match[1])
        return found
    finally:
        client.logout()


def pop3_uidl(server: MailServer) -> list[bytes]:
    """The unique-ids of :data:`ADDR`'s maildrop, as a POP3 client reads them."""
    client = poplib.POP3(*server.pop3, timeout=TIMEOUT)
    try:
        client.user(ADDR)
        client.pass_("pw")
        _, listing, _ = client.uidl()
        return [line.split()[1] for line in listing]
    finally:
        client.quit()


def fill(server: MailServer) -> MailServer:
    """The same account with the same two messages, through SMTP-less delivery."""
    for n in (1, 2):
        server.deliver(f"Subject: {n}\r\n\r\n{n}\r\n", to=ADDR)
    return server


def test_the_same_account_on_two_servers_never_shares_a_uidvalidity(
    make_server: MakeServer,
) -> None:
    first, second = fill(make_server()), fill(make_server())
    ours, theirs = imap_uidvalidities(first), imap_uidvalidities(second)
    assert len(ours) == len(theirs) == len(DEFAULT_FOLDERS)
    assert len(set(ours.values())) == len(DEFAULT_FOLDERS)  # distinct within one account too
    assert not set(ours.values()) & set(theirs.values())
    # The same messages at the same UIDs, yet POP3 clients can tell them apart.
    ids, other_ids = pop3_uidl(first), pop3_uidl(second)
    assert len(ids) == len(other_ids) == 2
    assert ids == [f"{ours['INBOX']}.{uid}".encode() for uid in (1, 2)]
    assert not set(ids) & set(other_ids)


def test_a_server_made_again_on_the_same_ports_reuses_nothing(make_server: MakeServer) -> None:
    old = fill(make_server())
    seen, seen_ids = set(imap_uidvalidities(old).values()), set(pop3_uidl(old))
    ports = {"smtp_port": 0, "imap_port": old.imap.port, "pop3_port": old.pop3.port}
    old.stop()
    again = fill(make_server(**ports, smtps_port=None, imaps_port=None, pop3s_port=None))
    assert (again.imap, again.pop3) == (old.imap, old.pop3)
    now = imap_uidvalidities(again)
    assert len(now) == len(DEFAULT_FOLDERS)
    assert not seen & set(now.values())
    assert not seen_ids & set(pop3_uidl(again))


def test_a_reset_reuses_nothing(make_server: MakeServer) -> None:
    server = fill(make_server())
    before, before_ids = imap_uidvalidities(server), pop3_uidl(server)
    server.reset()
    fill(server)
    after = imap_uidvalidities(server)
    assert not set(before.values()) & set(after.values())
    assert all(after[name] > before[name] for name in before)  # RFC 3501 §2.3.1.1: greater
    assert not set(before_ids) & set(pop3_uidl(server))
