"""Fixtures for the POP3 integration tests: a real ``MailServer`` on loopback, stdlib clients.

``server``, ``addr``, ``send`` and ``raw`` come from ``tests/integration/conftest.py``: a fresh
address per test means a maildrop lock still held by a previous test's connection (the server
notices a client's EOF asynchronously) can never get in the way.
"""

from __future__ import annotations

import poplib
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT, GreetedClient

Connect = Callable[..., poplib.POP3]
Send = Callable[..., None]
RawConnect = Callable[..., "RawClient"]


@pytest.fixture(scope="session")
def shared_server() -> Iterator[MailServer]:
    """The server of every test here (one per xdist worker), SMTP and POP3 only; ``server``
    resets it."""
    with MailServer(imap_port=None, imaps_port=None) as server:
        yield server


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
def connect(server: MailServer) -> Iterator[Connect]:
    """``connect(tls=False, target=None)``: a ``poplib`` client (``POP3_SSL`` with
    ``tls=True``), closed at the end of the test if still open."""
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


class RawClient(GreetedClient):
    """A raw POP3 connection, its greeting read."""

    listener = "pop3"

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
        """Send ``line`` (CRLF added); its reply."""
        self.send(line + b"\r\n")
        return self.reply(multiline)


@pytest.fixture
def raw_class() -> type[RawClient]:
    """What the ``raw`` fixture connects here."""
    return RawClient
