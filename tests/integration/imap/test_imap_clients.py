"""Realistic read flows with the PyPI clients ``imapclient`` and ``imap_tools``."""

from __future__ import annotations

import smtplib
from datetime import datetime, timezone

from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.response_types import Envelope  # type: ignore[import-untyped]

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

INVOICE = (
    b"From: Billing <billing@shop.example>\r\n"
    b"To: Customer <customer@example.com>\r\n"
    b"Subject: Your invoice\r\n"
    b"Date: Wed, 10 Apr 2024 08:00:00 +0000\r\n"
    b"Message-ID: <inv-1@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Total: 42 EUR\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Total: <b>42 EUR</b></p>\r\n"
    b"--b1--\r\n"
)
NEWSLETTER = (
    b"From: news@example.org\r\n"
    b"To: customer@example.com\r\n"
    b"Subject: Weekly news\r\n"
    b"\r\n"
    b"Nothing happened.\r\n"
)


def test_imapclient_read_flow(server: MailServer, addr: str) -> None:
    server.deliver(INVOICE, to=addr)
    server.deliver(NEWSLETTER, to=addr, flags=["\\Seen"])
    with IMAPClient(server.imap.host, port=server.imap.port, ssl=False, timeout=TIMEOUT) as client:
        assert b"IDLE" in client.capabilities()
        client.login(addr, "pw")
        info = client.select_folder("INBOX")
        assert info[b"EXISTS"] == 2
        assert info[b"UIDVALIDITY"] == server.store.folder(addr, "INBOX").uidvalidity
        assert info[b"READ-WRITE"] is True
        assert client.find_special_folder(b"\\Archive") == "Archive"
        folders = {name: flags for flags, _, name in client.list_folders()}
        assert b"\\Trash" in folders["Trash"]

        unseen = client.search(["UNSEEN"])
        assert unseen == [1]
        assert client.search(["FROM", "news@example.org"]) == [2]

        data = client.fetch(unseen, ["ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE", "FLAGS"])
        envelope = data[1][b"ENVELOPE"]
        assert isinstance(envelope, Envelope)
        assert envelope.subject == b"Your invoice"
        assert envelope.from_[0].mailbox == b"billing"
        assert envelope.from_[0].host == b"shop.example"
        assert envelope.message_id == b"<inv-1@shop.example>"
        assert envelope.date == datetime(2024, 4, 10, 8, 0)
        structure = data[1][b"BODYSTRUCTURE"]
        assert structure.is_multipart
        assert structure[1] == b"ALTERNATIVE"
        assert data[1][b"RFC822.SIZE"] == len(INVOICE)
        assert b"\\Seen" not in data[1][b"FLAGS"]

        body = client.fetch([1], ["BODY[1]", "BODY.PEEK[2]"])[1]
        assert body[b"BODY[1]"] == b"Total: 42 EUR"
        assert body[b"BODY[2]"] == b"<p>Total: <b>42 EUR</b></p>"
        assert b"\\Seen" in client.get_flags([1])[1]

        client.add_flags([1], [b"\\Flagged", b"$Paid"])
        assert set(client.get_flags([1])[1]) >= {b"\\Flagged", b"$Paid", b"\\Seen"}
        assert server.mailbox(addr).inbox.flags(1) == {"\\Flagged", "$Paid", "\\Seen"}
        client.remove_flags([1], [b"$Paid"])

        client.move([2], "Archive")
        assert client.search() == [1]
        assert len(server.mailbox(addr).folder("Archive")) == 1

        client.delete_messages([1])
        client.expunge()
        assert client.search() == []
        assert len(server.mailbox(addr).inbox) == 0
        client.logout()


def test_imapclient_reads_local_addresses_and_groups(server: MailServer, addr: str) -> None:
    # An address without a domain must not look like group syntax (NIL host, RFC 3501
    # §7.4.2): IMAPClient would take "root" for a group that never ends.
    server.deliver(
        b"From: root\r\nTo: Team: a@x.example, Postmaster <postmaster>;\r\n\r\nx\r\n", to=addr
    )
    with IMAPClient(server.imap.host, port=server.imap.port, ssl=False, timeout=TIMEOUT) as client:
        client.login(addr, "pw")
        client.select_folder("INBOX", readonly=True)
        envelope = client.fetch([1], ["ENVELOPE"])[1][b"ENVELOPE"]
        client.logout()
    assert [str(a) for a in envelope.from_] == ["root@MISSING_DOMAIN"]
    assert [(a.name, a.mailbox, a.host) for a in envelope.to] == [
        (None, b"Team", None),  # start of group
        (None, b"a", b"x.example"),
        (b"Postmaster", b"postmaster", b"MISSING_DOMAIN"),
        (None, None, None),  # end of group
    ]


def test_imapclient_idle_sees_smtp_delivery(server: MailServer, addr: str) -> None:
    with IMAPClient(server.imap.host, port=server.imap.port, ssl=False, timeout=TIMEOUT) as client:
        client.login(addr, "pw")
        client.select_folder("INBOX")
        client.idle()
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as smtp:
            smtp.sendmail("news@example.org", [addr], NEWSLETTER)
        responses = client.idle_check(timeout=TIMEOUT)
        assert (1, b"EXISTS") in responses
        client.idle_done()
        assert client.search(["SUBJECT", "Weekly"]) == [1]


def test_imapclient_append_and_uidplus(server: MailServer, addr: str) -> None:
    with IMAPClient(server.imap.host, port=server.imap.port, ssl=False, timeout=TIMEOUT) as client:
        client.login(addr, "pw")
        when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        result = client.append("Drafts", NEWSLETTER, flags=[b"\\Draft"], msg_time=when)
        uidvalidity = server.store.folder(addr, "Drafts").uidvalidity
        assert result == b"[APPENDUID %d 1] APPEND completed" % uidvalidity
        client.select_folder("Drafts")
        data = client.fetch([1], ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])[1]
        assert data[b"BODY[]"] == NEWSLETTER
        assert data[b"INTERNALDATE"].replace(tzinfo=None) == datetime(2024, 1, 2, 3, 4, 5)
        assert b"\\Draft" in data[b"FLAGS"]
        client.copy([1], "Sent")
        assert len(server.mailbox(addr).folder("Sent")) == 1
        client.create_folder("Clients/Acme")
        assert client.folder_exists("Clients/Acme")
        status = client.folder_status("Drafts", ["MESSAGES", "UIDNEXT"])
        assert status == {b"MESSAGES": 1, b"UIDNEXT": 2}
        client.logout()


def test_imap_tools_read_flow(server: MailServer, addr: str) -> None:
    server.deliver(INVOICE, to=addr)
    server.deliver(NEWSLETTER, to=addr)
    context = server.client_ssl_context()
    with MailBox(server.imaps.host, server.imaps.port, timeout=TIMEOUT, ssl_context=context).login(
        addr, "pw", initial_folder="INBOX"
    ) as mailbox:
        messages = list(mailbox.fetch(AND(seen=False), mark_seen=False))
        assert [m.subject for m in messages] == ["Your invoice", "Weekly news"]
        invoice = messages[0]
        assert invoice.from_ == "billing@shop.example"
        assert invoice.to == ("customer@example.com",)
        assert invoice.text.strip() == "Total: 42 EUR"
        assert "<b>42 EUR</b>" in invoice.html
        assert invoice.uid == "1"
        assert server.mailbox(addr).inbox.flags(1) == frozenset()

        headers = list(mailbox.fetch(AND(subject="Weekly"), headers_only=True, mark_seen=True))
        assert [m.subject for m in headers] == ["Weekly news"]

        mailbox.flag(["1"], MailMessageFlags.SEEN, True)
        assert server.mailbox(addr).inbox.flags(1) == frozenset({"\\Seen"})
        mailbox.move(["1"], "Archive")
        assert [m.subject for m in server.mailbox(addr).folder("Archive").messages] == [
            "Your invoice"
        ]
        mailbox.delete(["2"])
        assert len(server.mailbox(addr).inbox) == 0
        names = [f.name for f in mailbox.folder.list()]
        assert names[0] == "INBOX"
        assert "Archive" in names


def test_imap_tools_plain_starttls_and_idle(server: MailServer, addr: str) -> None:
    with MailBoxUnencrypted(server.imap.host, server.imap.port, timeout=TIMEOUT).login(
        addr, "pw"
    ) as mailbox:
        mailbox.append(NEWSLETTER, "INBOX", flag_set=[MailMessageFlags.FLAGGED])
        assert [m.subject for m in mailbox.fetch(AND(flagged=True))] == ["Weekly news"]
    context = server.client_ssl_context()
    with MailBoxStartTls(
        server.imap.host, server.imap.port, timeout=TIMEOUT, ssl_context=context
    ).login(addr, "pw") as mailbox:
        with mailbox.idle as idle:
            server.deliver(INVOICE, to=addr)
            responses = idle.poll(timeout=TIMEOUT)
        assert b"* 2 EXISTS" in responses
        assert [m.subject for m in mailbox.fetch()] == ["Weekly news", "Your invoice"]


def _thread_messages(server: MailServer, addr: str) -> None:
    day = "Mon, 1 Jan 2024 {:02d}:00:00 +0000".format
    for n, (subject, refs) in enumerate(
        [("Plans", None), ("Re: Plans", "<m0@x>"), ("Lunch", None), ("Re: Plans", "<m0@x> <m1@x>")]
    ):
        raw = f"From: p{n}@x.org\r\nSubject: {subject}\r\nDate: {day(n + 1)}\r\n"
        raw += f"Message-ID: <m{n}@x>\r\n"
        if refs:
            raw += f"References: {refs}\r\n"
        server.deliver((raw + "\r\nhi\r\n").encode(), to=addr)


def test_imapclient_sort_and_thread(server: MailServer, addr: str) -> None:
    _thread_messages(server, addr)
    with IMAPClient(server.imap.host, port=server.imap.port, ssl=False, timeout=TIMEOUT) as client:
        client.login(addr, "pw")
        client.select_folder("INBOX")
        assert client.has_capability("SORT")
        assert client.has_capability("THREAD=REFERENCES")
        assert client.sort(["SUBJECT", "REVERSE", "DATE"]) == [3, 4, 2, 1]
        assert client.sort("DISPLAYFROM", ["NOT", "SUBJECT", "lunch"]) == [1, 2, 4]
        assert client.thread() == ((1, 2, 4), (3,))
        # ORDEREDSUBJECT: later messages of a thread are siblings under its first.
        assert client.thread("ORDEREDSUBJECT") == ((1, (2,), (4,)), (3,))
        uids = client.search()
        assert client.sort("ARRIVAL") == uids  # imapclient uses UID SORT
