"""Fixtures for the POP3 integration tests: a real ``MailServer`` on loopback, stdlib clients.

One server per test session (per xdist worker), reset before each test; each test gets a
fresh account address, so a maildrop lock still held by a previous test's connection (the
server notices a client's EOF asynchronously) can never get in its way.
"""

from __future__ import annotations

import itertools
import poplib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer

#: Bound on every network operation; generous for slow CI machines.
TIMEOUT = 10.0

_accounts = itertools.count(1)

Connect = Callable[..., poplib.POP3]
Send = Callable[..., None]
RawConnect = Callable[..., "RawClient"]


def new_server(**options: Any) -> MailServer:
    """A started server with SMTP and POP3 only (plus ``options``)."""
    return MailServer(imap_port=None, imaps_port=None, **options).start()


@pytest.fixture(scope="session")
def shared_pop3_server() -> Iterator[MailServer]:
    server = new_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(shared_pop3_server: MailServer) -> Iterator[MailServer]:
    """The shared server, reset; errors recorded on server threads fail the test."""
    shared_pop3_server.reset()
    # Connections closed at the previous test's teardown end on the server a moment later:
    # an error from one of them surfaces here rather than nowhere.
    shared_pop3_server.check()
    yield shared_pop3_server
    shared_pop3_server.check()


@pytest.fixture
def addr() -> str:
    """An address no other test uses."""
    return f"user{next(_accounts)}@example.com"


@pytest.fixture
def wait_unlocked(server: MailServer) -> Callable[[str], None]:
    """``wait_unlocked(address)``: wait until no POP3 session holds that maildrop, i.e. the
    server has processed the end of the connection that held it. (The lock is not a store
    change, so there is nothing to be woken by: poll, briefly, with a deadline.)"""

    def wait_unlocked(address: str) -> None:
        store = server.store
        deadline = time.monotonic() + TIMEOUT
        while not store.lock_maildrop(address):
            assert time.monotonic() < deadline, f"the maildrop of {address} stayed locked"
            threading.Event().wait(0.005)
        store.unlock_maildrop(address)

    return wait_unlocked


@pytest.fixture
def send(server: MailServer) -> Send:
    """``send(raw, to)``: one SMTP transaction through ``smtplib``."""

    def send(raw: bytes, to: str, sender: str = "app@example.com") -> None:
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
            client.sendmail(sender, [to], raw, mail_options=["BODY=8BITMIME"])

    return send


@pytest.fixture
def connect(server: MailServer) -> Iterator[Connect]:
    """``connect(tls=False)``: a ``poplib`` client (``POP3_SSL`` with ``tls=True``), closed
    at the end of the test if still open."""
    clients: list[poplib.POP3] = []

    def connect(*, tls: bool = False, target: MailServer | None = None) -> poplib.POP3:
        where = target or server
        client: poplib.POP3
        if tls:
            context = where.client_ssl_context()
            client = poplib.POP3_SSL(*where.pop3s, timeout=TIMEOUT, context=context)
        else:
            client = poplib.POP3(*where.pop3, timeout=TIMEOUT)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


class RawClient:
    """A raw POP3 socket: send bytes, read replies exactly as the server wrote them."""

    def __init__(self, address: tuple[str, int], *, context: ssl.SSLContext | None = None):
        sock = socket.create_connection(address, timeout=TIMEOUT)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=address[0])
        self.sock = sock
        self.file = sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline()

    def reply(self, multiline: bool = False) -> bytes:
        """One reply; with ``multiline``, up to the terminator after a ``+OK`` status."""
        data = self.line()
        if multiline and data.startswith(b"+OK"):
            while (line := self.line()) != b".\r\n":
                assert line, f"EOF inside a multi-line reply: {data!r}"
                data += line
            data += line
        return data

    def command(self, line: bytes, multiline: bool = False) -> bytes:
        self.send(line + b"\r\n")
        return self.reply(multiline)

    def read_to_eof(self) -> bytes:
        """Everything until the server closes (bounded by the socket timeout)."""
        data = b""
        while chunk := self.file.read1(65536):
            data += chunk
        return data

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def raw(server: MailServer) -> Iterator[RawConnect]:
    """``raw()``: a :class:`RawClient` to the POP3 listener (``tls=True``: POP3S)."""
    clients: list[RawClient] = []

    def connect(*, tls: bool = False) -> RawClient:
        if tls:
            client = RawClient(server.pop3s, context=server.client_ssl_context())
        else:
            client = RawClient(server.pop3)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
