"""The tutorial's second part: apps that read mail over POP3 and IMAP."""

import imaplib
import poplib
import smtplib

# --- the apps under test ----------------------------------------------------------------


def pop3_fetch_all(host: str, port: int, user: str, password: str) -> list[bytes]:
    """Download every message and delete it from the server, as a POP3 mail fetcher does."""
    client = poplib.POP3(host, port, timeout=10)
    try:
        client.user(user)
        client.pass_(password)
        count, _ = client.stat()
        messages = []
        for number in range(1, count + 1):
            _, lines, _ = client.retr(number)
            messages.append(b"\r\n".join(lines) + b"\r\n")
            client.dele(number)
    except BaseException:
        client.close()  # drop the connection: nothing marked for deletion is deleted
        raise
    client.quit()  # deletions happen now (RFC 1939 UPDATE state)
    return messages


def imap_unread_subjects(host: str, port: int, user: str, password: str) -> list[str]:
    """Subjects of unread INBOX messages; fetching them marks them read (\\Seen)."""
    with imaplib.IMAP4(host, port, timeout=10) as client:
        client.login(user, password)
        client.select("INBOX")
        _, data = client.uid("SEARCH", "UNSEEN")
        subjects = []
        for uid in data[0].split():
            _, parts = client.uid("FETCH", uid, "(BODY[HEADER.FIELDS (SUBJECT)])")
            header = parts[0][1].decode().strip()
            subjects.append(header.removeprefix("Subject: "))
        return subjects


# --- the tests --------------------------------------------------------------------------

INVOICE = b"""\
From: billing@example.com
To: bob@example.com
Subject: Invoice 42

Please pay.
"""


def test_pop3_fetcher_downloads_and_deletes(fakemail):
    fakemail.deliver(INVOICE, to="bob@example.com")

    messages = pop3_fetch_all(*fakemail.pop3, "bob@example.com", "any password")

    assert len(messages) == 1
    assert b"Subject: Invoice 42\r\n" in messages[0]
    assert len(fakemail.mailbox("bob@example.com").inbox) == 0  # QUIT deleted it


def test_imap_reader_marks_mail_read(fakemail):
    fakemail.deliver(INVOICE, to="bob@example.com")
    fakemail.deliver(
        b"Subject: Old news\r\n\r\nAlready read.\r\n", to="bob@example.com", flags=["\\Seen"]
    )

    subjects = imap_unread_subjects(*fakemail.imap, "bob@example.com", "any password")

    assert subjects == ["Invoice 42"]
    inbox = fakemail.mailbox("bob@example.com").inbox
    assert all("\\Seen" in item.flags for item in inbox.items)


def test_sent_by_smtp_read_by_imap(fakemail):
    # One store: what SMTP accepts is in the recipient's INBOX at once.
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.sendmail("app@example.com", ["bob@example.com"], INVOICE)

    subjects = imap_unread_subjects(*fakemail.imap, "bob@example.com", "x")
    assert subjects == ["Invoice 42"]


def test_imaps(fakemail):
    fakemail.deliver(INVOICE, to="bob@example.com")

    context = fakemail.client_ssl_context()
    with imaplib.IMAP4_SSL(*fakemail.imaps, ssl_context=context, timeout=10) as client:
        client.login("bob@example.com", "any password")
        _, [count] = client.select("INBOX", readonly=True)
        assert count == b"1"


def test_imap_starttls(fakemail):
    fakemail.deliver(INVOICE, to="bob@example.com")

    with imaplib.IMAP4(*fakemail.imap, timeout=10) as client:
        client.starttls(ssl_context=fakemail.client_ssl_context())
        client.login("bob@example.com", "any password")
        _, [count] = client.select("INBOX", readonly=True)
        assert count == b"1"
    assert any("TLS started" in t.text for t in fakemail.transcripts if t.protocol == "imap")
