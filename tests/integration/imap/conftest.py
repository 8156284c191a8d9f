"""Fixtures for the IMAP integration tests: a real ``MailServer`` on loopback, real clients.

``server``, ``addr``, ``send`` and ``raw`` come from ``tests/integration/conftest.py``. Every
network operation is bounded by :data:`~tests._helpers.TIMEOUT`.
"""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT, GreetedClient

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
def shared_server() -> Iterator[MailServer]:
    """The server of every test here (one per xdist worker); ``server`` resets it."""
    with new_server() as server:
        yield server


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


class RawClient(GreetedClient):
    """A raw IMAP connection, its greeting read."""

    listener = "imap"

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
        """Send ``line`` (CRLF added); everything up to its tagged response."""
        self.send(line + b"\r\n")
        return self.until_tagged(line.split(b" ", 1)[0])


@pytest.fixture
def raw_class() -> type[RawClient]:
    """What the ``raw`` fixture connects here."""
    return RawClient
