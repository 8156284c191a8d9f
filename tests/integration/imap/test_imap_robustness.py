"""Bad input over real sockets: the session answers and survives; other sessions don't care."""

from __future__ import annotations

import socket
from collections.abc import Callable

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

from .conftest import RawClient, RawConnect


def logged_in(raw: RawConnect, addr: str) -> RawClient:
    client = raw()
    assert client.command(f"a LOGIN {addr} pw".encode()).startswith(b"a OK ")
    return client


def test_garbage_is_answered_bad(raw: RawConnect, addr: str) -> None:
    client = logged_in(raw, addr)
    client.send(b"\x00\xff\xfe garbage\r\n")
    assert client.line().startswith(b"* BAD ")
    assert client.command(b"b FROB").startswith(b"b BAD unknown command FROB")
    assert client.command(b"c SELECT").startswith(b"c BAD ")
    assert client.command(b"d FETCH 1 BODY[").startswith(b"d BAD ")
    assert client.command(b"e NOOP") == b"e OK NOOP completed\r\n"


def test_over_long_line(raw: RawConnect, addr: str, server: MailServer) -> None:
    client = logged_in(raw, addr)
    limit = server.options.max_line_length
    client.send(b"b NOOP " + b"x" * (limit * 3) + b"\r\n")
    # The tag is read from the start of the line, so the client gets its tagged answer.
    assert client.line() == b"b BAD line longer than %d octets\r\n" % limit
    assert client.command(b"c NOOP") == b"c OK NOOP completed\r\n"


def test_huge_literals_are_refused(raw: RawConnect, addr: str, server: MailServer) -> None:
    bystander = logged_in(raw, addr)
    assert bystander.command(b"s SELECT INBOX").endswith(b"s OK [READ-WRITE] SELECT completed\r\n")
    client = logged_in(raw, addr)
    limit = 1000
    server.configure(max_message_size=limit)  # until the next test's reset
    refusal = b"NO [TOOBIG] literal of 1001 octets is larger than the limit of 1000\r\n"
    # Synchronizing literal: refused before the client sends it (RFC 3501 §7.5).
    assert client.command(b"b APPEND INBOX {1001}") == b"b " + refusal
    # A non-synchronizing literal one octet too big is already on its way: it is read and
    # thrown away, and the command refused (RFC 7888 §4); the session goes on.
    client.send(b"c APPEND INBOX {1001+}\r\n" + b"z" * 1001 + b"\r\n")
    assert client.line() == b"c " + refusal
    # Exactly at the limit is fine.
    message = b"Subject: fits\r\n\r\n" + b"y" * (limit - 19) + b"\r\n"
    assert len(message) == limit
    client.send(b"e APPEND INBOX {%d+}\r\n" % limit + message + b"\r\n")
    assert client.line().startswith(b"e OK [APPENDUID ")
    # An absurd one ends the connection with a reason.
    client.send(b"d APPEND INBOX {99999999999+}\r\n")
    assert client.read_to_eof() == b"* BYE [ALERT] literal too large\r\n"
    # The other session is unaffected and sees the one message that made it.
    assert bystander.command(b"n NOOP") == b"* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n"
    assert [m.raw for m in server.mailbox(addr).inbox.messages] == [message]


def test_client_vanishing_mid_command_is_not_a_server_error(
    raw: RawConnect, addr: str, server: MailServer
) -> None:
    client = logged_in(raw, addr)
    client.send(b"b APPEND INBOX {100}\r\n")
    assert client.line() == b"+ Ready for literal data\r\n"
    client.send(b"only part of it")
    client.close()
    other = logged_in(raw, addr)
    assert other.command(b"c STATUS INBOX (MESSAGES)").startswith(
        b'* STATUS "INBOX" (MESSAGES 0)\r\n'
    )


def test_idle_client_is_woken_by_delivery(raw: RawConnect, addr: str, server: MailServer) -> None:
    client = logged_in(raw, addr)
    client.command(b"s SELECT INBOX")
    client.send(b"i IDLE\r\n")
    assert client.line() == b"+ idling\r\n"
    server.deliver(b"Subject: ping\r\n\r\nping\r\n", to=addr)
    assert client.line() == b"* 1 EXISTS\r\n"
    assert client.line() == b"* 1 RECENT\r\n"
    client.send(b"DONE\r\n")
    assert client.line() == b"i OK IDLE terminated\r\n"
    assert client.command(b"f FETCH 1 BODY.PEEK[TEXT]") == (
        b"* 1 FETCH (BODY[TEXT] {6}\r\nping\r\n)\r\nf OK FETCH completed\r\n"
    )


def test_logout_right_after_idle_gets_its_answer(
    raw: RawConnect, addr: str, server: MailServer
) -> None:
    for n in range(10):
        client = logged_in(raw, addr)
        client.command(b"s SELECT INBOX")
        client.send(b"i IDLE\r\n")
        assert client.line() == b"+ idling\r\n"
        server.deliver(b"Subject: ping\r\n\r\nping\r\n", to=addr)
        assert client.line() == b"* %d EXISTS\r\n" % (n + 1)
        client.line()  # RECENT
        client.send(b"DONE\r\n")
        assert client.line() == b"i OK IDLE terminated\r\n"
        client.send(b"z LOGOUT\r\n")
        assert client.read_to_eof() == (
            b"* BYE fakemail IMAP4rev1 server logging out\r\nz OK LOGOUT completed\r\n"
        )


def test_autologout(own_server: Callable[..., MailServer]) -> None:
    target = own_server(imap_timeout=0.2)
    with socket.create_connection(target.imap, timeout=TIMEOUT) as sock:
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.endswith(b"\r\n* BYE Autologout; idle for too long\r\n")
