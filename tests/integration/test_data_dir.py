"""``data_dir``: mail, folders, flags and UIDs survive a restart; the directory stays whole
through crashes (partial writes are ignored, unnamed files taken in) and has one owner."""

from __future__ import annotations

import imaplib
import json
import smtplib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakemail import ConfigError, MailServer
from tests._helpers import TIMEOUT

NO_TLS = {"smtps_port": None, "imaps_port": None, "pop3_port": None, "pop3s_port": None}
RAW = b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: one\r\n\r\nFrom here\r\n\xff\r\n"
RAW2 = b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: two\r\n\r\nsecond\r\n"


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[..., MailServer]]:
    """``run(**options)``: a started server over ``tmp_path/data``; all stopped at the end."""
    servers: list[MailServer] = []

    def start(**options: Any) -> MailServer:
        server = MailServer(data_dir=tmp_path / "data", **NO_TLS, **options)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        server.check()


def _state(server: MailServer) -> object:
    """Everything a restart must keep, comparable."""
    store = server.store
    transactions = [(m.seq, m.raw, m.envelope, m.received_at) for m in store.messages]
    accounts = {
        address: (
            [
                (
                    f.name,
                    f.uidvalidity,
                    f.uidnext,
                    f.modseq,
                    f.special_use,
                    [
                        (i.uid, i.message.seq, i.message.raw, i.flags, i.internal_date, i.modseq)
                        for i in f.items
                    ],
                )
                for f in store.folders(address)
            ],
            store.subscriptions(address),
        )
        for address in store.accounts
    }
    return transactions, accounts


def _imap(server: MailServer, user: str = "bob@example.com") -> imaplib.IMAP4:
    imap = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
    imap.login(user, "x")
    return imap


def test_a_restart_keeps_everything(run: Callable[..., MailServer]) -> None:
    first = run()
    with smtplib.SMTP(*first.smtp, timeout=TIMEOUT) as client:
        client.sendmail("app@example.com", ["bob@example.com", "carol@example.com"], RAW)
        client.sendmail("app@example.com", ["bob@example.com"], RAW2)
    imap = _imap(first)
    imap.create("Projects/v1.2")
    imap.subscribe("Projects/v1.2")
    imap.unsubscribe("Junk")
    imap.select("INBOX")
    imap.store("1", "+FLAGS", r"(\Seen $Important)")
    imap.copy("1", "Projects/v1.2")
    imap.store("2", "+FLAGS", r"(\Deleted)")
    imap.expunge()
    imap.logout()
    first.deliver(RAW2, to="dave@example.com", folder="Archive", flags=["\\Flagged"])
    before = _state(first)
    status_before = _status(first)
    first.stop()

    second = run()
    assert _state(second) == before
    # An IMAP client's cache stays valid: same UIDVALIDITY and UIDNEXT (RFC 3501 §2.3.1.1).
    assert _status(second) == status_before
    # New mail continues the numbering: the next UID, the next arrival number.
    with smtplib.SMTP(*second.smtp, timeout=TIMEOUT) as client:
        client.sendmail("app@example.com", ["bob@example.com"], RAW2)
    assert second.messages[-1].seq > max(m.seq for m in first.messages)
    assert second.mailbox("bob@example.com").inbox.items[-1].uid == 3
    imap = _imap(second)
    imap.select("Projects/v1.2")
    _, data = imap.fetch("1", "(FLAGS BODY.PEEK[])")
    assert data[0][1] == RAW  # type: ignore[index]
    assert b"$Important" in data[0][0]  # type: ignore[index]
    imap.logout()


def _status(server: MailServer) -> list[bytes]:
    imap = _imap(server)
    _, data = imap.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")
    _, more = imap.status('"Projects/v1.2"', "(UIDVALIDITY UIDNEXT MESSAGES)")
    imap.logout()
    return [*data, *more]  # type: ignore[list-item]


def test_deletions_and_reset_reach_the_disk(run: Callable[..., MailServer], tmp_path: Path) -> None:
    first = run()
    first.deliver(RAW, to="bob@example.com")
    first.deliver(RAW2, to="bob@example.com", folder="Old")
    first.store.delete_folder("bob@example.com", "Old")
    first.stop()
    second = run()
    assert [f.name for f in second.store.folders("bob@example.com")].count("Old") == 0
    assert [i.message.raw for i in second.mailbox("bob@example.com").inbox.items] == [RAW]
    second.reset()
    second.stop()
    third = run()
    assert third.messages == ()
    assert third.store.accounts == ()
    leftovers = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert sorted(p.name for p in leftovers) == [".lock", "fakemail.json"]


def test_one_server_per_directory(run: Callable[..., MailServer], tmp_path: Path) -> None:
    run()
    with pytest.raises(ConfigError, match="in use by another fakemail server"):
        MailServer(data_dir=tmp_path / "data", **NO_TLS).start()

    with MailServer(**NO_TLS) as server, pytest.raises(ConfigError, match="data_dir cannot"):
        server.configure(data_dir=tmp_path / "other")


def test_a_crash_leaves_a_readable_directory(
    run: Callable[..., MailServer], tmp_path: Path
) -> None:
    first = run()
    first.deliver(RAW, to="bob@example.com")
    first.deliver(RAW2, to="bob@example.com")
    first.stop()
    inbox = tmp_path / "data" / "accounts" / "bob@example.com"
    # A crash in the middle of writing a message leaves it in tmp/: never read.
    (inbox / "tmp" / "1700000000.M1P1.host").write_bytes(b"Subject: half")
    # A crash after a message file was renamed in but before the JSON named it: taken in.
    (inbox / "new" / "1700000001.M2P2.host").write_bytes(RAW2)
    # A crash after a file was removed but before the JSON stopped naming it: dropped.
    folder = json.loads((inbox / "fakemail-folder.json").read_bytes())
    first_key = folder["messages"][0][3]
    (next((inbox / "cur").glob(f"{first_key}*"), None) or inbox / "new" / first_key).unlink()
    # A JSON file's temporary twin, left by a crash before its rename: ignored.
    (inbox / ".fakemail-folder.json.tmp").write_bytes(b'{"uidval')

    second = run()
    items = second.mailbox("bob@example.com").inbox.items
    assert [(i.uid, i.message.raw) for i in items] == [(2, RAW2), (3, RAW2)]
    assert second.store.folder("bob@example.com", "INBOX").uidnext == 4


def test_a_directory_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fakemail.json").write_text('{"format": 99}')
    with pytest.raises(ConfigError, match="not a fakemail data directory"):
        MailServer(data_dir=tmp_path, **NO_TLS).start()


def test_changes_are_written_while_running(run: Callable[..., MailServer], tmp_path: Path) -> None:
    server = run()
    server.deliver(RAW, to="bob@example.com")
    data = server._data
    assert data is not None
    assert data.wait_written(TIMEOUT)
    main = json.loads((tmp_path / "data" / "fakemail.json").read_bytes())
    assert len(main["messages"]) == 1


def test_a_reset_between_two_writes_keeps_the_new_mail(run: Callable[..., MailServer]) -> None:
    first = run()
    with smtplib.SMTP(*first.smtp, timeout=TIMEOUT) as client:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    data = first._data
    assert data is not None
    assert data.wait_written(TIMEOUT)
    with data.saving:  # no writing pass until both changes are made
        first.reset()  # message numbers start again: number 1 is another message now
        with smtplib.SMTP(*first.smtp, timeout=TIMEOUT) as client:
            client.sendmail("app@example.com", ["bob@example.com"], RAW2)
    first.stop()
    second = run()
    assert [m.raw for m in second.messages] == [RAW2]
    assert [i.message.raw for i in second.mailbox("bob@example.com").inbox.items] == [RAW2]
