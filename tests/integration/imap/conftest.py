"""Fixtures for the IMAP integration tests: a real ``MailServer`` on loopback, real clients.

One server per test session (per xdist worker), reset before each test; each test gets a
fresh account address, so nothing a previous test's connections still do can get in its way.
Every network operation is bounded by :data:`TIMEOUT`.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer

#: Bound on every network operation; generous for slow CI machines.
TIMEOUT = 10.0

_accounts = itertools.count(1)

Connect = Callable[..., imaplib.IMAP4]
Send = Callable[..., None]
RawConnect = Callable[..., "RawClient"]


def new_server(**options: Any) -> MailServer:
    """A started server with SMTP, IMAP and IMAPS only (plus ``options``)."""
    settings: dict[str, Any] = {
        "imap_port": 0,
        "imaps_port": 0,
        "pop3_port": None,
        "pop3s_port": None,
        **options,
    }
    return MailServer(**settings).start()


@pytest.fixture(scope="session")
def shared_imap_server() -> Iterator[MailServer]:
    server = new_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(shared_imap_server: MailServer) -> Iterator[MailServer]:
    """The shared server, reset; errors recorded on server threads fail the test."""
    shared_imap_server.reset()
    shared_imap_server.check()  # a previous test's leftovers are not this test's fault
    yield shared_imap_server
    shared_imap_server.check()


@pytest.fixture
def own_server() -> Iterator[Callable[..., MailServer]]:
    """``own_server(**options)``: a server of this test's own (users, require_tls...)."""
    servers: list[MailServer] = []

    def make(**options: Any) -> MailServer:
        server = new_server(**options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    for server in servers:
        server.check()


@pytest.fixture
def addr() -> str:
    """An address no other test uses."""
    return f"user{next(_accounts)}@example.com"


@pytest.fixture
def send(server: MailServer) -> Send:
    """``send(raw, to)``: one SMTP transaction through ``smtplib``."""

    def send(raw: bytes, to: str, sender: str = "app@example.com") -> None:
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
            client.sendmail(sender, [to], raw)

    return send


@pytest.fixture
def connect(server: MailServer) -> Iterator[Connect]:
    """``connect(tls=False, target=None)``: an ``imaplib`` client (``IMAP4_SSL`` with
    ``tls=True``), closed at the end of the test."""
    clients: list[imaplib.IMAP4] = []

    def connect(*, tls: bool = False, target: MailServer | None = None) -> imaplib.IMAP4:
        where = target or server
        client: imaplib.IMAP4
        if tls:
            context = where.client_ssl_context()
            client = imaplib.IMAP4_SSL(*where.imaps, ssl_context=context, timeout=TIMEOUT)
        else:
            client = imaplib.IMAP4(*where.imap, timeout=TIMEOUT)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        with contextlib.suppress(OSError):  # already closed by LOGOUT or the server
            client.shutdown()


class RawClient:
    """A raw IMAP socket: send bytes, read replies exactly as the server wrote them."""

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

    def until_tagged(self, tag: bytes) -> bytes:
        """Everything up to and including the tagged response ``tag``."""
        data = b""
        while True:
            line = self.line()
            assert line, f"EOF before the {tag!r} response: {data!r}"
            data += line
            if line.startswith(tag + b" "):
                return data

    def command(self, line: bytes) -> bytes:
        self.send(line + b"\r\n")
        return self.until_tagged(line.split(b" ", 1)[0])

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
    """``raw()``: a :class:`RawClient` to the IMAP listener (``tls=True``: IMAPS)."""
    clients: list[RawClient] = []

    def connect(*, tls: bool = False) -> RawClient:
        if tls:
            client = RawClient(server.imaps, context=server.client_ssl_context())
        else:
            client = RawClient(server.imap)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
