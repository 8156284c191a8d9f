"""The bad-input catalogue over real sockets, for SMTP, IMAP and POP3: each case asserts the
session's answer (or that it was closed), that a second session on the same server is served
at once, that the store is exactly as before, and (at teardown) that nothing was recorded as
fakemail's own error."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

USER = "user@example.com"
SEED = b"Subject: seed\r\n\r\nkept\r\n"


@pytest.fixture(scope="module")
def shared() -> Iterator[MailServer]:
    """One server for the catalogue (reset and checked around each case)."""
    with MailServer() as server:
        yield server


@pytest.fixture
def server(shared: MailServer) -> Iterator[MailServer]:
    shared.reset()
    shared.deliver(SEED, to=USER)
    yield shared
    shared.check()


def store_state(server: MailServer) -> object:
    """Everything a client could have changed, as comparable values."""
    store = server.store
    return (
        server.messages,
        tuple(
            (account, tuple((f.name, tuple((i.uid, i.flags) for i in f.items)) for f in folders))
            for account in store.accounts
            for folders in [store.folders(account)]
        ),
        tuple(sorted(store.subscriptions(USER))),
    )


@dataclass(frozen=True)
class Case:
    """Bytes sent after the greeting (``None``: close at once, abruptly if ``reset``), and the
    start of each line expected back, in order; ``closed``: the server then hangs up."""

    id: str
    send: bytes
    expect: tuple[bytes, ...] = ()
    closed: bool = False
    hang_up: bool = False  # the client leaves after sending
    then: bytes = b""  # sent once the expected lines are read; the server must hang up

    def __str__(self) -> str:
        return self.id


def run(server: MailServer, listener: str, case: Case) -> None:
    before = store_state(server)
    sock = socket.create_connection(server.endpoints[listener], timeout=TIMEOUT)
    reader = sock.makefile("rb")
    try:
        assert reader.readline()  # greeting
        sock.sendall(case.send)
        if case.hang_up:
            sock.close()
        else:
            for expected in case.expect:
                line = reader.readline()
                assert line.startswith(expected), (expected, line)
            if case.then:
                sock.sendall(case.then)
            if case.closed or case.then:
                assert reader.read() is not None
                assert reader.readline() == b""
    finally:
        reader.close()
        sock.close()
    assert_still_served(server, listener)
    assert store_state(server) == before


def assert_still_served(server: MailServer, listener: str) -> None:
    """A fresh session on the same listener is greeted and answers a NOOP."""
    sock = socket.create_connection(server.endpoints[listener], timeout=TIMEOUT)
    reader = sock.makefile("rb")
    try:
        greeting = reader.readline()
        assert greeting.startswith((b"220", b"* OK", b"+OK")), greeting
        sock.sendall(b"n NOOP\r\n" if listener == "imap" else b"NOOP\r\n")
        answer = reader.readline()
        assert answer.startswith((b"250", b"n OK", b"-ERR", b"+OK")), answer
    finally:
        reader.close()
        sock.close()


def flood(line: bytes, count: int) -> bytes:
    return line * count


SMTP = [
    Case("over-long command", b"NOOP " + b"x" * 5000 + b"\r\n", (b"500 Command line too long",)),
    Case("NUL", b"NO\x00OP\r\n", (b"500",)),
    Case("bare LF", b"NOOP\n", (b"250",)),
    Case("bare CR inside", b"NO\rOP\r\n", (b"500",)),
    Case(
        "invalid UTF-8", b"EHLO x\r\nMAIL FROM:<\xff\xfe@example.com>\r\n", (b"250",) * 8 + (b"5",)
    ),
    Case("out of state", b"DATA\r\nRCPT TO:<a@example.com>\r\n", (b"503", b"503")),
    Case("flood", flood(b"NOOP\r\n", 2000), (b"250",) * 2000),
    # aiosmtpd hangs up after a few unknown commands in a row.
    Case("unknown command flood", flood(b"FROB\r\n", 200), (b"500",) * 4 + (b"502",), closed=True),
    Case(
        "drop mid-DATA",
        b"HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
        b"Subject: cut\r\n",
        hang_up=True,
    ),
    Case("drop mid-AUTH", b"EHLO x\r\nAUTH LOGIN\r\n", hang_up=True),
    Case("TLS garbage after STARTTLS", b"STARTTLS\r\n", (b"220",), then=b"this is not TLS\r\n" * 9),
    Case(
        "over-long AUTH line",
        b"EHLO x\r\nAUTH PLAIN\r\n" + b"A" * 3000 + b"\r\n",
        (b"250",) * 8 + (b"334", b"500 5.5.6"),
    ),
]


@pytest.mark.parametrize("case", SMTP, ids=str)
def test_smtp(server: MailServer, case: Case) -> None:
    run(server, "smtp", case)


def test_smtp_pipelining_across_starttls(server: MailServer) -> None:
    # RFC 3207 §4.2: commands sent with STARTTLS, before the handshake, are thrown away: the
    # MAIL sent in clear text is not the session's once TLS is up.
    sock = socket.create_connection(server.smtp, timeout=TIMEOUT)
    try:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        assert reader.readline().startswith(b"220")
        reader.close()
        tls = server.client_ssl_context().wrap_socket(sock, server_hostname="localhost")
        reader = tls.makefile("rb")
        tls.sendall(b"EHLO x\r\nRCPT TO:<b@example.com>\r\n")
        while reader.readline().startswith(b"250-"):
            pass
        assert reader.readline().startswith(b"503")  # no MAIL command in this session
        reader.close()
        tls.close()
    finally:
        sock.close()
    assert server.messages == ()
    assert_still_served(server, "smtp")


def test_smtp_end_of_data_smuggling(server: MailServer) -> None:
    # Only CRLF . CRLF ends the data (RFC 5321 §4.1.1.4): LF . LF, CR . CR, LF . CRLF and
    # CRLF . LF stay in the message, and the command after them is never run.
    sock = socket.create_connection(server.smtp, timeout=TIMEOUT)
    reader = sock.makefile("rb")
    try:
        reader.readline()
        smuggled = b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
        body = b"".join(end + smuggled for end in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n"))
        sock.sendall(
            b"HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
            b"Subject: s\r\n\r\nbody" + body + b"\r\n.\r\nQUIT\r\n"
        )
        replies = [reader.readline()[:3] for _ in range(6)]
        assert replies == [b"250", b"250", b"250", b"354", b"250", b"221"]
    finally:
        reader.close()
        sock.close()
    [message] = server.messages
    assert message.recipients == ("b@example.com",)
    assert message.raw.count(b"MAIL FROM:<evil@example.com>") == 4
    assert not server.store.has_account("victim@example.com")


LOGIN = f"l LOGIN {USER} x\r\n".encode()
SELECT = LOGIN + b"s SELECT INBOX\r\n"

IMAP = [
    Case("over-long line", b"a NOOP " + b"x" * 10_000 + b"\r\n", (b"a BAD",)),
    Case(
        "oversize literal", LOGIN + b"a APPEND INBOX {999999999}\r\n", (b"l OK", b"a NO [TOOBIG]")
    ),
    Case(
        "absurd non-synchronizing literal",
        LOGIN + b"a APPEND INBOX {999999999999+}\r\n",
        (b"l OK", b"* BYE"),
        closed=True,
    ),
    Case("NUL", b"a NO\x00OP\r\n", (b"a BAD",)),
    Case("bare LF", b"a NOOP\n", (b"a OK",)),
    Case("invalid UTF-8 name", LOGIN + b'b SELECT "\xff\xfe"\r\n', (b"l OK", b"b ")),
    Case("out of state", b"a SELECT INBOX\r\nb FETCH 1 FLAGS\r\n", (b"a BAD", b"b BAD")),
    Case("untagged garbage", b"\r\n\x01\x02\r\n", (b"* BAD", b"* BAD")),
    Case("flood", b"".join(b"f%d NOOP\r\n" % n for n in range(2000)), (b"f",) * 2000),
    Case("drop mid-literal", LOGIN + b"b APPEND INBOX {100}\r\nSubject: x", hang_up=True),
    Case("drop mid-AUTH", b"a AUTHENTICATE PLAIN\r\n", hang_up=True),
    Case("drop in IDLE", SELECT + b"c IDLE\r\n", hang_up=True),
    Case("IDLE then garbage", LOGIN + b"c IDLE\r\nnot done\r\n", (b"l OK", b"+", b"c BAD")),
    Case("pipelining across STARTTLS", b"a STARTTLS\r\n" + LOGIN, (b"a OK",), closed=True),
    Case("TLS garbage after STARTTLS", b"a STARTTLS\r\n", (b"a OK",), then=b"not TLS\r\n" * 9),
    Case(
        "deep search",
        SELECT + b"c SEARCH " + b"(" * 2000 + b"ALL" + b")" * 2000 + b"\r\n",
        (b"l OK",) + (b"*",) * 7 + (b"s OK", b"c BAD"),
    ),
]


@pytest.mark.parametrize("case", IMAP, ids=str)
def test_imap(server: MailServer, case: Case) -> None:
    run(server, "imap", case)


POP3 = [
    Case("over-long line", b"NOOP " + b"x" * 10_000 + b"\r\n", (b"-ERR",)),
    Case("NUL", b"NO\x00OP\r\n", (b"-ERR",)),
    Case("bare LF", b"CAPA\n", (b"+OK",)),
    Case("invalid UTF-8", b"USER \xff\xfe\r\n", (b"-ERR",)),
    Case("out of state", b"RETR 1\r\nPASS x\r\n", (b"-ERR", b"-ERR")),
    Case(
        "huge message number",
        f"USER {USER}\r\nPASS x\r\nRETR {'9' * 5000}\r\n".encode(),
        (b"+OK", b"+OK", b"-ERR"),
    ),
    Case("flood", flood(b"NOOP\r\n", 2000), (b"-ERR",) * 2000),
    Case("drop mid-AUTH", b"AUTH PLAIN\r\n", hang_up=True),
    Case(
        "drop with RETRs pending",
        f"USER {USER}\r\nPASS x\r\n".encode() + flood(b"RETR 1\r\n", 500),
        hang_up=True,
    ),
    Case("pipelining across STLS", b"STLS\r\nUSER x\r\n", (b"+OK",), closed=True),
]


@pytest.mark.parametrize("case", POP3, ids=str)
def test_pop3(server: MailServer, case: Case) -> None:
    run(server, "pop3", case)


@pytest.mark.parametrize("listener", ["smtps", "imaps", "pop3s"])
def test_tls_garbage_on_the_tls_ports(server: MailServer, listener: str) -> None:
    before = store_state(server)
    sock = socket.create_connection(server.endpoints[listener], timeout=TIMEOUT)
    try:
        sock.sendall(b"EHLO not tls\r\n" * 20)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        assert b"220" not in data
        assert b"OK" not in data
    finally:
        sock.close()
    assert_still_served(server, listener.rstrip("s"))
    assert store_state(server) == before
