"""The IMAP server through the stdlib ``imaplib`` client, over loopback."""

from __future__ import annotations

import hmac
import imaplib
import poplib
import re
import smtplib
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

from .conftest import Connect, Send

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: someone@example.com\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Tue, 02 Apr 2024 09:00:00 +0000\r\n"
    b"Message-ID: <report-1@example.com>\r\n"
    b"\r\n"
    b"Numbers are up.\r\n"
)


def message(subject: str, body: str = "Hello.") -> bytes:
    return (
        f"From: Bob <bob@example.com>\r\nTo: someone@example.com\r\nSubject: {subject}\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def ok(result: tuple[str, Sequence[Any]]) -> list[Any]:
    """The data of a successful imaplib call."""
    status, data = result
    assert status == "OK", data
    return list(data)


def login(connect: Connect, addr: str, *, tls: bool = False) -> imaplib.IMAP4:
    client = connect(tls=tls)
    ok(client.login(addr, "any password"))
    return client


def fetch_parts(data: Sequence[Any]) -> list[tuple[bytes, bytes]]:
    """The ``(head, literal)`` pairs of a FETCH result."""
    return [item for item in data if isinstance(item, tuple)]


# --------------------------------------------------------------------------- sessions


def test_capabilities_login_and_simple_commands(connect: Connect, addr: str) -> None:
    client = connect()
    for cap in ("IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "IDLE", "UIDPLUS", "MOVE", "SASL-IR"):
        assert cap in client.capabilities
    data = ok(client.login(addr, "secret"))
    assert b"[CAPABILITY IMAP4rev1 " in data[0]
    ok(client.noop())
    assert ok(client.namespace()) == [b'(("" "/")) NIL NIL']
    ok(client.xatom("ID", "NIL"))
    assert client.response("ID")[1] == [b'("name" "fakemail" "version" "' + _version() + b'")']
    ok(client.enable("CONDSTORE"))
    assert client.logout()[0] == "BYE"


def _version() -> bytes:
    from fakemail._version import __version__

    return __version__.encode()


def test_wrong_password_when_users_are_configured(
    own_server: Callable[..., MailServer], connect: Connect
) -> None:
    target = own_server(users={"a@x.org": "pw"})
    client = connect(target=target)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("a@x.org", "wrong")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("b@x.org", "pw")
    ok(client.login("a@x.org", "pw"))
    other = connect(target=target)
    ok(other.login_cram_md5("a@x.org", "pw"))
    third = connect(target=target)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        third.login_cram_md5("a@x.org", "nope")


def test_authenticate_plain(connect: Connect, addr: str) -> None:
    client = connect()
    typ, _ = client.authenticate("PLAIN", lambda _: f"\0{addr}\0pw".encode())
    assert typ == "OK"
    assert client.state == "AUTH"
    ok(client.select())


def test_cram_md5_digest_is_what_the_server_checks(
    own_server: Callable[..., MailServer], connect: Connect
) -> None:
    target = own_server(users={"c@x.org": "s3cret"})
    client = connect(target=target)

    def answer(challenge: bytes) -> bytes:
        assert re.fullmatch(rb"<\d+\.\d+@localhost>", challenge)
        return b"c@x.org " + hmac.new(b"s3cret", challenge, "md5").hexdigest().encode()

    assert client.authenticate("CRAM-MD5", answer)[0] == "OK"


def test_require_tls_logindisabled_then_starttls(
    own_server: Callable[..., MailServer], connect: Connect
) -> None:
    target = own_server(require_tls=True)
    client = connect(target=target)
    assert "LOGINDISABLED" in client.capabilities
    assert not any(cap.startswith("AUTH=") for cap in client.capabilities)
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        client.login("a@x.org", "pw")
    ok(client.starttls(ssl_context=target.client_ssl_context()))
    assert "LOGINDISABLED" not in client.capabilities
    assert "AUTH=PLAIN" in client.capabilities
    assert "STARTTLS" not in client.capabilities
    ok(client.login("a@x.org", "pw"))
    ok(client.select())


def test_starttls_and_imaps(server: MailServer, connect: Connect, addr: str) -> None:
    server.deliver(MESSAGE, to=addr)
    plain = connect()
    ok(plain.starttls(ssl_context=server.client_ssl_context()))
    ok(plain.login(addr, "pw"))
    assert ok(plain.select()) == [b"1"]
    secure = login(connect, addr, tls=True)
    assert "STARTTLS" not in secure.capabilities
    assert ok(secure.select()) == [b"1"]
    data = ok(secure.fetch("1", "(BODY.PEEK[])"))
    assert fetch_parts(data)[0][1] == MESSAGE
    texts = [t.text for t in server.transcripts if t.protocol == "imaps"]
    assert any("TLS started" in text for text in [t.text for t in server.transcripts])
    assert texts


# --------------------------------------------------------------------------- reading


def test_select_fetch_flow(server: MailServer, connect: Connect, send: Send, addr: str) -> None:
    send(MESSAGE, addr)
    send(message("second"), addr)
    client = login(connect, addr)
    assert ok(client.select("inbox")) == [b"2"]
    uidvalidity = int(client.response("UIDVALIDITY")[1][0])
    assert uidvalidity == server.store.folder(addr, "INBOX").uidvalidity
    assert client.response("UIDNEXT")[1] == [b"3"]
    assert client.response("RECENT")[1] == [b"2"]
    assert client.response("UNSEEN")[1] == [b"1"]

    data = ok(client.fetch("1:2", "(UID FLAGS RFC822.SIZE INTERNALDATE)"))
    first = data[0]
    assert isinstance(first, bytes)
    assert first.startswith(b"1 (UID 1 FLAGS (\\Recent) RFC822.SIZE ")
    internal = imaplib.Internaldate2tuple(first)
    assert internal is not None
    assert abs(time.mktime(internal) - time.time()) < 600

    stored = server.mailbox(addr).messages[0].raw
    assert fetch_parts(ok(client.fetch("1", "(BODY.PEEK[])")))[0][1] == stored
    assert ok(client.fetch("1", "(FLAGS)")) == [b"1 (FLAGS (\\Recent))"]
    # Always a literal, however short: imaplib users read data[0][1].
    assert ok(client.fetch("1", "(BODY.PEEK[]<0.16>)")) == [
        (b"1 (BODY[]<0> {16}", b"From: Alice <ali"),
        b")",
    ]
    assert fetch_parts(ok(client.fetch("1", "(BODY.PEEK[]<20.40>)")))[0] == (
        b"1 (BODY[]<20> {40}",
        stored[20:60],
    )
    assert ok(client.fetch("1", "(BODY.PEEK[]<100000.5>)")) == [
        (b"1 (BODY[]<100000> {0}", b""),
        b")",
    ]
    header = fetch_parts(ok(client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))
    assert header[0][1] == b"Subject: Quarterly report\r\n\r\n"
    data = ok(client.fetch("1", "(ENVELOPE)"))
    assert b'"Quarterly report" (("Alice" NIL "alice" "example.com"))' in data[0]
    assert b'"<report-1@example.com>"' in data[0]
    assert server.store.folder(addr, "INBOX").items[0].flags == frozenset()

    # BODY[] (not PEEK) sets \Seen and says so in the same FETCH response.
    data = ok(client.fetch("1", "(BODY[TEXT])"))
    assert fetch_parts(data)[0][1] == b"Numbers are up.\r\n"
    assert b"FLAGS (\\Seen \\Recent)" in data[1]
    assert server.store.folder(addr, "INBOX").items[0].flags == frozenset({"\\Seen"})

    data = ok(client.uid("FETCH", "2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert fetch_parts(data)[0] == (
        b"2 (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {19}",
        b"Subject: second\r\n\r\n",
    )
    assert ok(client.uid("FETCH", "99", "(FLAGS)")) == [None]
    with pytest.raises(imaplib.IMAP4.error, match="out of range"):
        client.fetch("3", "(FLAGS)")


def test_examine_is_read_only(server: MailServer, connect: Connect, addr: str) -> None:
    server.deliver(MESSAGE, to=addr)
    client = login(connect, addr)
    ok(client.select("INBOX", readonly=True))
    assert client.response("READ-ONLY")[1] == [b""]
    ok(client.fetch("1", "(RFC822)"))
    assert server.mailbox(addr).inbox.flags(1) == frozenset()
    typ, data = client._simple_command("STORE", "1", "+FLAGS", "(\\Seen)")
    assert (typ, data) == ("NO", [b"[READ-ONLY] mailbox is read-only"])
    assert client._simple_command("EXPUNGE")[0] == "NO"
    ok(client.close())


def test_append_then_fetch_is_byte_exact(server: MailServer, connect: Connect, addr: str) -> None:
    raw = b"Subject: draft\r\nX-Odd:  spaced \r\n\r\nline\r\n\r\n.dot first\r\ntrailing"
    client = login(connect, addr)
    when = datetime(2024, 2, 29, 23, 59, 58, tzinfo=timezone(timedelta(hours=-3)))
    typ, data = client.append("Drafts", "(\\Draft $Todo)", imaplib.Time2Internaldate(when), raw)
    assert typ == "OK"
    uidvalidity = server.store.folder(addr, "Drafts").uidvalidity
    assert data == [b"[APPENDUID %d 1] APPEND completed" % uidvalidity]
    ok(client.select("Drafts"))
    data = ok(client.uid("FETCH", "1", "(FLAGS INTERNALDATE BODY.PEEK[])"))
    head, body = fetch_parts(data)[0]
    assert body == raw
    assert b"FLAGS (\\Draft $Todo \\Recent)" in head
    assert b'INTERNALDATE "29-Feb-2024 23:59:58 -0300"' in head
    assert server.mailbox(addr).folder("Drafts").messages[0].raw == raw

    typ, data = client.append("Nope", "", None, raw)
    assert typ == "NO"
    assert data[0].startswith(b"[TRYCREATE]")


def test_store_copy_move_expunge(server: MailServer, connect: Connect, addr: str) -> None:
    for n in range(5):
        server.deliver(message(f"m{n}"), to=addr)
    client = login(connect, addr)
    ok(client.select())
    assert ok(client.store("2", "+FLAGS", "(\\Flagged $Label1)")) == [
        b"2 (FLAGS (\\Flagged $Label1 \\Recent))"
    ]
    assert ok(client.store("2", "-FLAGS.SILENT", "($Label1)")) == [None]
    assert ok(client.uid("STORE", "3", "FLAGS", "(\\Answered)")) == [
        b"3 (UID 3 FLAGS (\\Answered \\Recent))"
    ]
    inbox = server.mailbox(addr).inbox
    assert inbox.flags(2) == frozenset({"\\Flagged"})

    trash = server.store.folder(addr, "Trash").uidvalidity
    typ, data = client.copy("1:2", "Trash")
    assert (typ, data) == ("OK", [b"[COPYUID %d 1:2 1:2] COPY completed" % trash])
    typ, data = client.copy("1", "Missing")
    assert typ == "NO"
    assert data[0].startswith(b"[TRYCREATE]")

    archive = server.store.folder(addr, "Archive").uidvalidity
    typ, data = client.uid("MOVE", "4", "Archive")
    assert typ == "OK"
    assert client.response("COPYUID")[1][-1] == b"%d 4 1" % archive
    assert client.response("EXPUNGE")[1] == [b"4"]

    ok(client.store("1,3", "+FLAGS.SILENT", "(\\Deleted)"))
    typ, data = client.expunge()
    assert (typ, data) == ("OK", [b"3", b"1"])
    assert [item.uid for item in inbox.items] == [2, 5]
    assert len(server.mailbox(addr).folder("Trash")) == 2
    assert len(server.mailbox(addr).folder("Archive")) == 1

    ok(client.store("1:2", "+FLAGS", "(\\Deleted)"))
    typ, data = client.uid("EXPUNGE", "5")
    assert typ == "OK"
    assert [item.uid for item in inbox.items] == [2]


def test_search(server: MailServer, connect: Connect, addr: str) -> None:
    utc = timezone.utc
    server.deliver(MESSAGE, to=addr, internal_date=datetime(2024, 4, 2, tzinfo=utc))
    server.deliver(
        message("=?utf-8?q?r=C3=A9sum=C3=A9?=", "base64 below"),
        to=addr,
        flags=["\\Seen"],
        internal_date=datetime(2024, 5, 1, tzinfo=utc),
    )
    server.deliver(
        b"From: carol@example.net\r\nSubject: invoice\r\nContent-Type: text/plain; charset=utf-8"
        b"\r\nContent-Transfer-Encoding: base64\r\n\r\nw6l0w6kgcGF5w6k=\r\n",
        to=addr,
        internal_date=datetime(2024, 6, 1, tzinfo=utc),
    )
    client = login(connect, addr)
    ok(client.select())

    def search(*criteria: str, uid: bool = False) -> bytes:
        data = ok(client.uid("SEARCH", *criteria) if uid else client.search(None, *criteria))
        assert isinstance(data[0], bytes)
        return data[0]

    assert search("ALL") == b"1 2 3"
    assert search("UNSEEN") == b"1 3"
    assert search("FROM", '"alice@example"') == b"1"
    assert search("SUBJECT", "invoice") == b"3"
    assert search("BODY", "pay") == b"3"
    assert search("SINCE", "1-May-2024") == b"2 3"
    assert search("BEFORE", "1-May-2024") == b"1"
    assert search("SENTON", "2-Apr-2024") == b"1"
    assert search("OR", "SEEN", "FROM", "carol") == b"2 3"
    assert search("NOT", "SEEN", "LARGER", "100") == b"1 3"
    ok(client.uid("STORE", "1", "+FLAGS", "(\\Deleted)"))
    ok(client.expunge())
    assert search("ALL") == b"1 2"
    assert search("ALL", uid=True) == b"2 3"
    assert search("UID", "3", uid=True) == b"3"
    typ, data = client.search("UTF-8", "SUBJECT", '"résumé"'.encode())  # type: ignore[arg-type]
    assert (typ, data) == ("OK", [b"1"])


def test_mailbox_management(server: MailServer, connect: Connect, addr: str) -> None:
    client = login(connect, addr)
    typ, data = client.list()
    assert typ == "OK"
    assert data[0] == b'(\\HasNoChildren) "/" "INBOX"'
    assert b'(\\HasNoChildren \\Sent) "/" "Sent"' in data
    assert ok(client.list('""', '""')) == [b'(\\Noselect) "/" ""']
    ok(client.create("Projects/2026"))
    ok(client.create("Projects/2026/Q1"))
    assert ok(client.list("Projects/", "%")) == [b'(\\HasChildren) "/" "Projects/2026"']
    assert ok(client.list('""', "Projects/*")) == [
        b'(\\HasChildren) "/" "Projects/2026"',
        b'(\\HasNoChildren) "/" "Projects/2026/Q1"',
    ]
    typ, data = client.create("Projects")
    assert (typ, data) == ("NO", [b"[ALREADYEXISTS] mailbox Projects already exists"])
    ok(client.rename("Projects", "Work"))
    names = server.mailbox(addr).folder_names
    assert "Work/2026/Q1" in names
    assert "Projects" not in names
    ok(client.subscribe("Work/2026"))
    assert b'() "/" "Work/2026"' in ok(client.lsub())
    ok(client.unsubscribe("Work/2026"))
    assert b'() "/" "Work/2026"' not in ok(client.lsub())
    ok(client.delete("Work/2026/Q1"))
    typ, data = client.delete("INBOX")
    assert typ == "NO"
    server.deliver(MESSAGE, to=addr, folder="Work")
    assert ok(client.status("Work", "(MESSAGES UNSEEN UIDNEXT RECENT)")) == [
        b'"Work" (MESSAGES 1 UNSEEN 1 UIDNEXT 2 RECENT 1)'
    ]
    typ, data = client.status("Nope", "(MESSAGES)")
    assert typ == "NO"
    # Another account's folders stay invisible.
    server.mailbox("stranger@example.com").create_folder("Secret")
    assert b"Secret" not in b"".join(ok(client.list()))
    assert client.select("Secret")[0] == "NO"


def test_rename_inbox(server: MailServer, connect: Connect, addr: str) -> None:
    server.deliver(MESSAGE, to=addr)
    client = login(connect, addr)
    ok(client.rename("INBOX", "Old"))
    assert len(server.mailbox(addr).folder("Old")) == 1
    assert ok(client.select("INBOX")) == [b"0"]


# --------------------------------------------------------------------------- live updates


def test_sessions_see_each_other(server: MailServer, connect: Connect, addr: str) -> None:
    server.deliver(MESSAGE, to=addr)
    reader, writer = login(connect, addr), login(connect, addr)
    ok(reader.select())
    ok(writer.select())
    reader.response("EXISTS")  # imaplib keeps SELECT's EXISTS: drain it
    ok(writer.append("INBOX", "", None, message("from writer")))
    ok(reader.noop())
    assert reader.response("EXISTS")[1] == [b"2"]
    ok(writer.store("1", "+FLAGS", "(\\Answered)"))
    ok(reader.noop())
    assert reader.response("FETCH")[1] == [b"1 (UID 1 FLAGS (\\Answered \\Recent))"]
    ok(writer.store("1", "+FLAGS", "(\\Deleted)"))
    ok(writer.expunge())
    ok(reader.noop())
    assert reader.response("EXPUNGE")[1] == [b"1"]
    server.mailbox(addr).inbox.set_flags(2, ["\\Seen"])
    ok(reader.noop())
    assert reader.response("FETCH")[1] == [b"1 (UID 2 FLAGS (\\Seen))"]


def test_idle_wakes_on_smtp_delivery(
    server: MailServer, connect: Connect, addr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(imaplib.Commands, "IDLE", ("AUTH", "SELECTED"))  # not in 3.11's list
    client = login(connect, addr)
    ok(client.select())
    tag = client._command("IDLE")
    assert client._get_line().startswith(b"+ ")  # the continuation: now idling
    client.sock.settimeout(TIMEOUT)
    sent = time.monotonic()
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as smtp:
        smtp.sendmail("app@example.com", [addr], message("wake up"))
        assert client._get_line() == b"* 1 EXISTS"
        assert client._get_line() == b"* 1 RECENT"
    assert time.monotonic() - sent < TIMEOUT
    client.send(b"DONE\r\n")
    typ, _ = client._command_complete("IDLE", tag)
    assert typ == "OK"
    assert fetch_parts(ok(client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))[0][1] == (
        b"Subject: wake up\r\n\r\n"
    )


def test_smtp_to_imap_cross_protocol(
    server: MailServer, connect: Connect, send: Send, addr: str
) -> None:
    send(MESSAGE, addr)
    send(message("bcc copy"), addr)
    client = login(connect, addr)
    assert ok(client.select()) == [b"2"]
    data = fetch_parts(ok(client.fetch("1:2", "(RFC822)")))
    assert [raw for _, raw in data] == [m.raw for m in server.messages]


def test_pop3_deletion_is_an_expunge_for_imap(
    own_server: Callable[..., MailServer], connect: Connect, addr: str
) -> None:
    target = own_server(pop3_port=0)
    target.deliver(MESSAGE, to=addr)
    target.deliver(message("keep me"), to=addr)
    client = connect(target=target)
    ok(client.login(addr, "pw"))
    ok(client.select())
    pop = poplib.POP3(*target.pop3, timeout=TIMEOUT)
    try:
        pop.user(addr)
        pop.pass_("pw")
        pop.dele(1)
        pop.quit()
    finally:
        pop.close()
    ok(client.noop())
    assert client.response("EXPUNGE")[1] == [b"1"]
    assert fetch_parts(ok(client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))[0][1] == (
        b"Subject: keep me\r\n\r\n"
    )


def test_sort_and_thread_with_imaplib(connect: Connect, server: MailServer, addr: str) -> None:
    for subject in ("b", "a", "Re: b"):
        server.deliver(f"Subject: {subject}\r\n\r\nx\r\n".encode(), to=addr)
    client = connect()
    client.login(addr, "pw")
    client.select("INBOX")
    assert client.sort("(SUBJECT)", "UTF-8", "ALL") == ("OK", [b"2 1 3"])
    assert client.thread("ORDEREDSUBJECT", "UTF-8", "ALL") == ("OK", [b"(1 3)(2)"])
    status, data = client.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")
    assert status == "OK"
    assert len(data[0].split()) == 3
