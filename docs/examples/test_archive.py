"""Docs example: load fixture mail from files, and keep what a test received."""

from __future__ import annotations

import smtplib
from pathlib import Path

from fakemail import MailServer


def test_fixture_mail_from_a_directory(tmp_path: Path) -> None:
    # A directory of .eml files, as a mail client saves them.
    (tmp_path / "1.eml").write_bytes(
        b"From: shop@example.com\r\nTo: alice@example.com\r\nSubject: Your order\r\n\r\nThanks!\r\n"
    )
    with MailServer() as server:
        server.import_mail(tmp_path)  # stored as if just received over SMTP
        assert server.assert_sent(to="alice@example.com").subject == "Your order"
        # ... and Alice's INBOX has it, for an app reading mail over IMAP or POP3.
        assert len(server.mailbox("alice@example.com").inbox) == 1


def test_keep_what_was_sent(tmp_path: Path) -> None:
    with MailServer() as server:
        with smtplib.SMTP(*server.smtp) as client:
            client.sendmail("app@example.com", ["bob@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
        server.export_mail(tmp_path / "sent.mbox", "mbox")  # open it in any mail client
    assert (tmp_path / "sent.mbox").read_bytes().startswith(b"From app@example.com ")
