"""Export and import through MailServer over real files: mail sent over SMTP comes back
byte for byte in another server; an account's folders and flags survive as a Maildir."""

from __future__ import annotations

import imaplib
import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest

from fakemail import ArchiveError, ConfigError, MailServer, hookimpl
from tests._helpers import TIMEOUT

MakeServer = Callable[..., MailServer]
ONLY_SMTP_IMAP = {"smtps_port": None, "imaps_port": None, "pop3_port": None, "pop3s_port": None}

TRICKY = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"From the start of a line\r\n"
    b">From a quoted one\r\n"
    b"caf\xc3\xa9 \xff\r\n"
)
PLAIN = b"From: carol@example.com\r\nTo: dave@example.com\r\nSubject: two\r\n\r\nhi\r\n"


def _send(server: MailServer) -> None:
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        client.sendmail("bounce@example.com", ["bob@example.com", "hidden@example.com"], TRICKY)
        client.sendmail("carol@example.com", ["dave@example.com"], PLAIN)


@pytest.mark.parametrize("format", ["eml", "mbox", "maildir"])
def test_transactions_round_trip_between_servers(
    make_server: MakeServer, tmp_path: Path, format: str
) -> None:
    source = make_server(**ONLY_SMTP_IMAP)
    _send(source)
    path = tmp_path / "export"
    assert source.export_mail(path, format) == 2  # type: ignore[arg-type]

    target = make_server(**ONLY_SMTP_IMAP)
    imported = target.import_mail(path)
    assert [m.raw for m in target.messages] == [m.raw for m in source.messages] == [TRICKY, PLAIN]
    assert imported == list(target.messages)
    first = target.messages[0]
    # Recipients come from the headers: the Bcc-only "hidden@" of the SMTP envelope is gone.
    assert first.recipients == ("bob@example.com",)
    assert first.envelope.protocol == "import"
    assert first.sender == ("bounce@example.com" if format == "mbox" else "alice@example.com")
    assert abs((first.received_at - source.messages[0].received_at).total_seconds()) < 1
    # Stored as if received: the recipient reads it over IMAP.
    imap = imaplib.IMAP4(*target.imap, timeout=TIMEOUT)
    imap.login("bob@example.com", "x")
    imap.select("INBOX")
    _, data = imap.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == TRICKY  # type: ignore[index]
    imap.logout()


def test_import_runs_the_delivery_hooks(make_server: MakeServer, tmp_path: Path) -> None:
    class Route:
        @hookimpl
        def fakemail_route(self, recipient: str) -> list[str]:
            return ["catchall@example.com"]

    (tmp_path / "a.eml").write_bytes(PLAIN)
    server = make_server(**ONLY_SMTP_IMAP)
    server.add_plugin(Route())
    server.import_mail(tmp_path / "a.eml")
    assert [item.message.raw for item in server.mailbox("catchall@example.com").inbox.items] == [
        PLAIN
    ]


def test_an_account_round_trips_as_maildir_with_folders_and_flags(
    make_server: MakeServer, tmp_path: Path
) -> None:
    source = make_server(**ONLY_SMTP_IMAP)
    _send(source)
    imap = imaplib.IMAP4(*source.imap, timeout=TIMEOUT)
    imap.login("bob@example.com", "x")
    imap.create("Projects/v1.2")
    imap.select("INBOX")
    imap.store("1", "+FLAGS", r"(\Flagged $Important)")
    imap.append("Projects/v1.2", r"(\Seen \Answered)", None, PLAIN)  # type: ignore[arg-type]
    imap.logout()
    source.export_mail(tmp_path / "bob", "maildir", account="bob@example.com")

    target = make_server(**ONLY_SMTP_IMAP)
    target.import_mail(tmp_path / "bob", account="robert@example.com")
    assert target.messages == ()  # into the mailbox, not the SMTP transactions
    imap = imaplib.IMAP4(*target.imap, timeout=TIMEOUT)
    imap.login("robert@example.com", "x")
    assert _first(imap, "INBOX") == (TRICKY, {b"\\Flagged", b"$Important"})
    assert _first(imap, '"Projects/v1.2"') == (PLAIN, {b"\\Seen", b"\\Answered"})
    imap.logout()


def _first(imap: imaplib.IMAP4, folder: str) -> tuple[bytes, set[bytes]]:
    """The first message of a folder and its flags (but \\Recent, which is per session)."""
    imap.select(folder)
    _, data = imap.fetch("1", "(FLAGS BODY.PEEK[])")
    item = data[0]
    assert isinstance(item, tuple)
    head, body = item
    return body, set(imaplib.ParseFlags(head)) - {b"\\Recent"}


def test_one_folder_as_mbox(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server(**ONLY_SMTP_IMAP)
    server.deliver(PLAIN, to="eve@example.com", folder="Archive")
    server.deliver(TRICKY, to="eve@example.com")
    assert (
        server.export_mail(tmp_path / "a.mbox", "mbox", account="eve@example.com", folder="Archive")
        == 1
    )
    server.clear()
    server.import_mail(tmp_path / "a.mbox", account="eve@example.com")
    assert [i.message.raw for i in server.mailbox("eve@example.com").inbox.items] == [PLAIN]


def test_a_too_large_message_imports_nothing(make_server: MakeServer, tmp_path: Path) -> None:
    (tmp_path / "1.eml").write_bytes(PLAIN)
    (tmp_path / "2.eml").write_bytes(TRICKY)
    server = make_server(max_message_size=len(PLAIN), **ONLY_SMTP_IMAP)
    with pytest.raises(ArchiveError, match=r"2\.eml: message larger than max_message_size"):
        server.import_mail(tmp_path)
    assert server.messages == ()
    assert server.store.accounts == ()


def test_mistakes_are_reported(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server(**ONLY_SMTP_IMAP)
    with pytest.raises(ConfigError, match="format must be one of eml, mbox, maildir"):
        server.export_mail(tmp_path / "x", "zip")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match=r"no account 'nobody@example\.com'"):
        server.export_mail(tmp_path / "x", "eml", account="nobody@example.com")
    with pytest.raises(ArchiveError, match="no such file or directory"):
        server.import_mail(tmp_path / "missing")
