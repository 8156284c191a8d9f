"""Fixtures shared by the IMAP and POP3 integration tests: a real ``MailServer`` on loopback.

Each of those folders defines a session-scoped ``shared_server`` (one per xdist worker) with
the listeners it needs, and ``raw_class``, the raw client of its protocol. ``server`` resets
the shared server before each test, and each test gets a fresh account address, so nothing a
previous test's connections still do (a POP3 maildrop lock, an IMAP session the server has not
seen end yet) can get in its way.
"""

from __future__ import annotations

import itertools
import smtplib
from collections.abc import Callable, Iterator

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT, GreetedClient

_accounts = itertools.count(1)


@pytest.fixture
def server(shared_server: MailServer) -> Iterator[MailServer]:
    """The folder's shared server, reset; errors recorded on server threads fail the test."""
    shared_server.reset()
    # Connections closed at the previous test's teardown end on the server a moment later:
    # an error from one of them surfaces here rather than nowhere.
    shared_server.check()
    yield shared_server
    shared_server.check()


@pytest.fixture
def addr() -> str:
    """An address no other test uses."""
    return f"user{next(_accounts)}@example.com"


@pytest.fixture
def send(server: MailServer) -> Callable[..., None]:
    """``send(raw, to, sender="app@example.com")``: one SMTP transaction through ``smtplib``
    (``BODY=8BITMIME`` declared: some test messages carry 8-bit text, RFC 6152)."""

    def send(raw: bytes, to: str, sender: str = "app@example.com") -> None:
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
            client.sendmail(sender, [to], raw, mail_options=["BODY=8BITMIME"])

    return send


@pytest.fixture
def raw(
    server: MailServer, raw_class: type[GreetedClient]
) -> Iterator[Callable[..., GreetedClient]]:
    """``raw(tls=False)``: a ``raw_class`` client to its listener on ``server`` (``tls=True``:
    the implicit-TLS twin, trusting the test CA), closed at the end of the test."""
    clients: list[GreetedClient] = []

    def connect(*, tls: bool = False) -> GreetedClient:
        if tls:
            endpoint = server.endpoints[raw_class.listener + "s"]
            client = raw_class(endpoint, context=server.client_ssl_context())
        else:
            client = raw_class(server.endpoints[raw_class.listener])
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
