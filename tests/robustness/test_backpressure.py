"""Output backpressure (issue 11 §2): a client that pipelines commands with big answers and
never reads them holds a bounded amount of the server's memory. 300 pipelined ``RETR 1`` of a
900 KB message grew the process by 257 MiB, 300 ``FETCH 1 BODY.PEEK[]`` by ~500 MiB: every
answer was built before the first was sent.

Memory is measured with :mod:`tracemalloc` (every thread's Python allocations), against
generous bounds: ``max_output_buffer`` (256 KiB) plus a few messages, far below the
hundreds of MiB of unbounded output. Whether the server has taken in all the commands is known
without waiting a fixed time: the IMAP and POP3 sessions share one thread, so once another
session there has answered a NOOP, the pipelined bytes that had arrived have been handled.
"""

from __future__ import annotations

import socket
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

from .conftest import Clients

USER = "user@example.com"
BIG = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 900  # ~900 KB
PIPELINED = 300
MIB = 1024 * 1024


@pytest.fixture
def traced() -> Iterator[None]:
    """tracemalloc on for the test."""
    tracemalloc.start()
    yield
    tracemalloc.stop()


def raw_connect(address: tuple[str, int]) -> socket.socket:
    """A socket with a small receive buffer (so that the server's sends block soon)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(TIMEOUT)
    sock.connect(address)
    return sock


def read_some(sock: socket.socket, count: int) -> bytes:
    """At least ``count`` bytes from ``sock``."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(1024 * 1024)
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def settle(server: MailServer, clients: Clients) -> None:
    """Return once the trio thread has handled what arrived before (see the docstring)."""
    other = clients.pop3(server)
    for _ in range(2):
        assert other.command(b"NOOP").startswith(b"-ERR")  # NOOP before login: an answer
    other.close()


def grown_while_not_reading(
    server: MailServer, clients: Clients, sock: socket.socket, commands: bytes
) -> int:
    """Bytes of traced memory the server holds once it has ``commands`` and cannot send."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    sock.sendall(commands)
    settle(server, clients)
    return tracemalloc.get_traced_memory()[1] - before


@pytest.mark.usefixtures("traced")
def test_pop3_retr_never_read(server: MailServer, clients: Clients) -> None:
    server.deliver(BIG, to=USER)
    sock = raw_connect(server.pop3)
    try:
        read_some(sock, 1)  # greeting
        sock.sendall(f"USER {USER}\r\nPASS x\r\n".encode())
        assert read_some(sock, 2).count(b"+OK") >= 1
        grown = grown_while_not_reading(server, clients, sock, b"RETR 1\r\n" * PIPELINED)
        assert grown < 32 * MIB, f"{grown / MIB:.0f} MiB held for a client that does not read"
        # Reading, the client gets its answers in order: backpressure only delays them.
        start = read_some(sock, 3 * len(BIG))
        assert start.startswith(b"+OK")
        assert start.count(b"Subject: big\r\n") >= 2
    finally:
        sock.close()


@pytest.mark.usefixtures("traced")
def test_imap_fetch_never_read(server: MailServer, clients: Clients) -> None:
    server.deliver(BIG, to=USER)
    sock = raw_connect(server.imap)
    try:
        read_some(sock, 1)
        sock.sendall(f"a LOGIN {USER} x\r\nb SELECT INBOX\r\n".encode())
        data = b""
        while b"b OK" not in data:
            data += read_some(sock, 1)
        commands = b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % n for n in range(PIPELINED))
        grown = grown_while_not_reading(server, clients, sock, commands)
        assert grown < 32 * MIB, f"{grown / MIB:.0f} MiB held for a client that does not read"
        start = read_some(sock, 3 * len(BIG))
        assert start.startswith(b"* 1 FETCH (BODY[] {%d}\r\n" % len(BIG))
    finally:
        sock.close()


def test_imap_one_command_with_many_answers(
    make_server: Callable[..., MailServer], clients: Clients
) -> None:
    # One FETCH whose answers together pass the bound: they are rendered as the client reads.
    server = make_server(max_output_buffer=64 * 1024)
    for _ in range(20):
        server.deliver(b"Subject: m\r\n\r\n" + b"y" * 50_000 + b"\r\n", to=USER)
    imap = clients.imap(server)
    assert b"a OK" in imap.command(f"a LOGIN {USER} x".encode())
    assert b"b OK" in imap.command(b"b SELECT INBOX")
    answer = imap.command(b"c FETCH 1:* BODY.PEEK[]")
    assert answer.count(b" FETCH (BODY[] {50016}\r\n") == 20
    assert answer.endswith(b"c OK FETCH completed\r\n")


@pytest.mark.usefixtures("traced")
def test_smtp_pipelined_ehlo_never_read(server: MailServer, clients: Clients) -> None:
    # aiosmtpd waits for its transport to drain after each reply: a million EHLOs (21 MB,
    # ~200 MB of replies) from a client that never reads leave little waiting on the server,
    # which soon stops reading; and the session, pipelining, lets the others be served.
    burst = b"EHLO client.example\r\n" * 1_000_000
    sock = raw_connect(server.smtp)
    try:
        read_some(sock, 1)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        sock.setblocking(False)
        sent = 0
        try:  # until the server stops reading: its buffers and ours are full
            while sent < len(burst):
                sent += sock.send(burst[sent : sent + 65536])
        except BlockingIOError:
            pass
        sock.setblocking(True)
        other = clients.smtp(server)  # the SMTP thread still answers others
        other.send(b"NOOP\r\n")
        assert other.code() == 250
        grown = tracemalloc.get_traced_memory()[1] - before
        assert grown < 32 * MIB, f"{grown / MIB:.0f} MiB held for a client that does not read"
        assert sent < len(burst)  # the server stopped reading: it did not buffer it all
    finally:
        sock.close()
