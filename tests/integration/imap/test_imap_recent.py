"""\\Recent over real sockets: new mail is \\Recent in exactly one session, and an EXAMINE
session, which is read-only, takes it from no one (RFC 3501 §2.3.2, §6.3.2) — also when the
mail arrives while it has the mailbox open, and even when it hears of the mail first."""

from __future__ import annotations

import smtplib

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

from .conftest import RawClient, RawConnect


def opened(raw: RawConnect, addr: str, verb: bytes) -> RawClient:
    client = raw()
    assert client.command(f"a LOGIN {addr} pw".encode()).startswith(b"a OK ")
    reply = client.command(b"s " + verb + b" INBOX")
    assert b"* 0 EXISTS\r\n* 0 RECENT\r\n" in reply
    assert reply.endswith(b" %s completed\r\n" % verb)
    return client


def smtp_send(server: MailServer, addr: str, subject: str) -> None:
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as smtp:
        smtp.sendmail("app@example.com", [addr], f"Subject: {subject}\r\n\r\nhi\r\n")


def test_mail_arriving_during_examine_stays_recent_for_a_select_session(
    raw: RawConnect, server: MailServer, addr: str
) -> None:
    examiner = opened(raw, addr, b"EXAMINE")
    selector = opened(raw, addr, b"SELECT")
    smtp_send(server, addr, "one")
    # The EXAMINE session learns of the message first: it may call it recent, but not claim it.
    assert examiner.command(b"n NOOP") == b"* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n"
    assert selector.command(b"n NOOP") == b"* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n"
    assert selector.command(b"f FETCH 1 FLAGS") == (
        b"* 1 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n"
    )
    # Claimed now: a session opened later gets it as old mail, EXAMINE or SELECT.
    late = raw()
    assert late.command(f"a LOGIN {addr} pw".encode()).startswith(b"a OK ")
    assert b"* 1 EXISTS\r\n* 0 RECENT\r\n" in late.command(b"s SELECT INBOX")


def test_an_idling_examine_session_hears_new_mail_and_claims_none(
    raw: RawConnect, server: MailServer, addr: str
) -> None:
    examiner = opened(raw, addr, b"EXAMINE")
    selector = opened(raw, addr, b"SELECT")
    examiner.send(b"i IDLE\r\n")
    assert examiner.line() == b"+ idling\r\n"
    for n in (1, 2):
        smtp_send(server, addr, f"m{n}")
        # Heard at once, before the SELECT session asks: still \Recent for nobody else.
        assert examiner.line() == b"* %d EXISTS\r\n" % n
        assert examiner.line() == b"* %d RECENT\r\n" % n
    examiner.send(b"DONE\r\n")
    assert examiner.line() == b"i OK IDLE terminated\r\n"
    assert selector.command(b"n NOOP") == b"* 2 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed\r\n"
    assert selector.command(b"r SEARCH RECENT") == b"* SEARCH 1 2\r\nr OK SEARCH completed\r\n"
    assert len(server.mailbox(addr).inbox) == 2
