"""The POP3 server over raw loopback sockets: exact bytes, pipelining, bad input, idle
timeout, connection limits and shutdown (STLS drops: tests/integration/test_tls_drops.py)."""

from __future__ import annotations

import poplib
import socket
import ssl
import time
from typing import Any

import pytest

from fakemail._server import MailServer
from fakemail._store import INBOX
from tests._helpers import TIMEOUT

Connect = Any
Send = Any
Raw = Any

MESSAGE = b"From: app@example.com\r\nSubject: hi\r\n\r\n.starts with a dot\r\nbye\r\n"


def test_pipelined_commands_are_answered_in_order(
    server: MailServer, send: Send, raw: Raw, addr: str
) -> None:
    send(MESSAGE, addr)
    send(b"Subject: two\r\n\r\n2\r\n", addr)
    uidvalidity = server.mailbox(addr).folder(INBOX).snapshot.uidvalidity
    size = len(MESSAGE)
    client = raw()
    client.send(
        f"CAPA\r\nUSER {addr}\r\nPASS pw\r\nSTAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\n"
        "TOP 2 0\r\nBOGUS\r\nDELE 2\r\nLIST 2\r\nNOOP\r\nQUIT\r\n".encode()
    )
    data = client.read_to_eof()  # the server closes after QUIT
    capa, _, rest = data.partition(b".\r\n")
    assert capa.startswith(b"+OK Capability list follows\r\nTOP\r\n")
    assert rest == (
        f"+OK send the password for {addr}\r\n"
        f"+OK {addr} has 2 messages ({size + 19} octets)\r\n"
        f"+OK 2 {size + 19}\r\n"
        f"+OK 2 messages\r\n1 {size}\r\n2 19\r\n.\r\n"
        f"+OK 1 {uidvalidity}.1\r\n"
        f"+OK {size} octets\r\n".encode()
        + MESSAGE.replace(b"\n.", b"\n..")
        + b".\r\n"
        b"+OK top of message follows\r\nSubject: two\r\n\r\n.\r\n"
        b"-ERR unknown command\r\n"
        b"+OK message 2 deleted\r\n"
        b"-ERR message 2 is deleted\r\n"
        b"+OK\r\n"
        b"+OK fakemail POP3 server signing off (1 messages left, 1 deleted)\r\n"
    )
    assert [m.raw for m in server.mailbox(addr).messages] == [MESSAGE]


@pytest.mark.parametrize(
    "line",
    [
        b"XYZZY",
        b"STAT",  # not before login
        b"RETR 1",
        b"USER",
        b"APOP bob",
        b"AUTH NO-SUCH-MECH",
        b"AUTH PLAIN !!!",
        b"",
        b"\xff\xfe\x00",
        b"U" * 20_000,  # over max_line_length
    ],
)
def test_bad_lines_before_login_get_err(raw: Raw, addr: str, line: bytes) -> None:
    client = raw()
    assert client.command(line).startswith(b"-ERR ")
    assert client.command(f"USER {addr}".encode()).startswith(b"+OK")
    assert client.command(b"PASS pw").startswith(b"+OK")
    assert client.command(b"QUIT").startswith(b"+OK")


def test_bad_lines_in_transaction_get_err(
    server: MailServer, send: Send, raw: Raw, addr: str
) -> None:
    send(MESSAGE, addr)
    send(MESSAGE, addr)
    client = raw()
    client.command(f"USER {addr}".encode())
    assert client.command(b"PASS pw").startswith(b"+OK")
    assert client.command(b"DELE 2") == b"+OK message 2 deleted\r\n"
    for line in (
        b"RETR 2",
        b"DELE 2",
        b"TOP 2 1",
        b"RETR 3",
        b"LIST 0",
        b"RETR x",
        b"TOP 1",
        b"TOP 1 -5",
        b"UIDL 1 2",
        b"USER x",
        b"PASS x",
        b"STLS",
        b"AUTH PLAIN",
        b"NOSUCH",
        b"L" * 20_000,
    ):
        answer = client.command(line)
        assert answer.startswith(b"-ERR "), (line, answer)
    assert client.command(b"STAT") == f"+OK 1 {len(MESSAGE)}\r\n".encode()
    assert client.command(b"QUIT").startswith(b"+OK")
    assert len(server.mailbox(addr).messages) == 1


def test_idle_timeout_closes_the_connection(
    server: MailServer, send: Send, raw: Raw, addr: str
) -> None:
    # Conditions, not a stopwatch: the session is set up in one pipelined write (so a slow
    # machine cannot time it out half-way), then the server must close it on its own, without
    # a reply and without the UPDATE state. That the deadline is the configured one, restarted
    # by each read, is tested on a virtual clock (tests/host: test_idle_timeout).
    server.configure(pop3_timeout=0.5)
    send(MESSAGE, addr)
    client = raw()
    client.send(f"USER {addr}\r\nPASS pw\r\nDELE 1\r\n".encode())
    assert [client.line()[:3] for _ in range(3)] == [b"+OK"] * 3
    assert client.read_to_eof() == b""  # closed without a reply (RFC 1939 §3)
    assert len(server.mailbox(addr).messages) == 1  # no UPDATE on a timeout
    assert any("idle timeout" in t.text for t in server.transcripts)


def test_max_connections() -> None:
    with MailServer(imap_port=None, imaps_port=None, max_connections=2) as server:
        first = socket.create_connection(server.pop3, timeout=TIMEOUT)
        second = socket.create_connection(server.pop3, timeout=TIMEOUT)
        files = [sock.makefile("rb") for sock in (first, second)]
        for file in files:
            assert file.readline().startswith(b"+OK ")
        with socket.create_connection(server.pop3, timeout=TIMEOUT) as third:
            refused = third.makefile("rb")
            assert refused.readline() == b"-ERR [SYS/TEMP] too many connections\r\n"
            assert refused.read() == b""  # and closed
            refused.close()
        # The limit is per listener: POP3S still takes connections.
        context = server.client_ssl_context()
        with (
            socket.create_connection(server.pop3s, timeout=TIMEOUT) as plain,
            context.wrap_socket(plain, server_hostname=server.pop3s.host) as tls,
        ):
            tls_file = tls.makefile("rb")
            assert tls_file.readline().startswith(b"+OK ")
            tls.sendall(b"QUIT\r\n")  # the server answers, then closes
            assert tls_file.readline().startswith(b"+OK ")
            assert tls_file.read() == b""
            tls_file.close()
        # A freed slot is available again.
        first.sendall(b"QUIT\r\n")
        assert files[0].readline().startswith(b"+OK")
        assert files[0].read() == b""
        deadline = time.monotonic() + TIMEOUT
        while True:  # the server frees the slot just after closing: retry until it has
            with socket.create_connection(server.pop3, timeout=TIMEOUT) as fourth:
                greeting = fourth.makefile("rb").readline()
            if greeting.startswith(b"+OK ") or time.monotonic() > deadline:
                break
        assert greeting.startswith(b"+OK ")
        for file in files:
            file.close()
        first.close()
        second.close()
        server.check()


def test_stop_closes_open_sessions_promptly() -> None:
    server = MailServer(imap_port=None, imaps_port=None).start()
    try:
        server.deliver(MESSAGE, to="bob@example.com")
        client = poplib.POP3(*server.pop3, timeout=TIMEOUT)
        client.user("bob@example.com")
        client.pass_("pw")
        client.dele(1)
        secure = poplib.POP3_SSL(
            *server.pop3s, timeout=TIMEOUT, context=server.client_ssl_context()
        )
        started = time.monotonic()
    finally:
        server.stop()
    assert time.monotonic() - started < 5
    for pop in (client, secure):
        with pytest.raises((poplib.error_proto, OSError)):
            pop.noop()  # EOF: "-ERR EOF" from poplib, or a reset
        pop.close()
    assert len(server.mailbox("bob@example.com").messages) == 1  # no QUIT, no deletion
    server.check()


def test_stls_handshake_then_commands(server: MailServer, raw: Raw, addr: str) -> None:
    client = raw()
    assert client.command(b"STLS") == b"+OK Begin TLS negotiation\r\n"
    context = server.client_ssl_context()
    tls = context.wrap_socket(client.sock, server_hostname=server.pop3.host)
    file = tls.makefile("rb")
    tls.sendall(f"USER {addr}\r\nPASS pw\r\nSTAT\r\nQUIT\r\n".encode())
    assert file.readline().startswith(b"+OK")
    assert file.readline().startswith(b"+OK")
    assert file.readline() == b"+OK 0 0\r\n"
    assert file.readline().startswith(b"+OK")
    file.close()
    tls.close()


def test_pop3s_raw_bytes(server: MailServer, send: Send, raw: Raw, addr: str) -> None:
    send(MESSAGE, addr)
    client = raw(tls=True)
    assert isinstance(client.sock, ssl.SSLSocket)
    assert client.greeting.startswith(b"+OK ")
    client.command(f"USER {addr}".encode())
    client.command(b"PASS pw")
    assert client.command(b"RETR 1", multiline=True) == (
        f"+OK {len(MESSAGE)} octets\r\n".encode() + MESSAGE.replace(b"\n.", b"\n..") + b".\r\n"
    )
    client.command(b"QUIT")


def test_pop3s_client_closing_without_quit_is_not_a_server_error(
    server: MailServer, connect: Connect, addr: str, wait_unlocked: Any
) -> None:
    client = connect(tls=True)
    client.user(addr)
    client.pass_("pw")
    client.close()  # no QUIT, no TLS close_notify: as many clients do
    wait_unlocked(addr)  # the server has seen the end of the connection
    server.check()
