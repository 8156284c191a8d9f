"""Fixtures of the robustness suite: a server with every listener, and raw clients of the three
protocols that speak byte by byte (closed at teardown).

Every test here gives a hostile or broken client's input and asserts the protocol answer, that
the server recorded no error of its own (``make_server`` checks at teardown) and that nothing
changed that should not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fakemail._server import MailServer
from tests._helpers import LineClient
from tests.integration.imap.conftest import RawClient as ImapClient
from tests.integration.pop3.conftest import RawClient as Pop3Client
from tests.integration.smtp.conftest import RawClient as SmtpClient

__all__ = ["Clients", "ImapClient", "Pop3Client", "SmtpClient"]


class Clients:
    """Opens raw clients to a server's listeners; :meth:`close_all` closes them."""

    def __init__(self) -> None:
        self._open: list[LineClient] = []

    def smtp(self, server: MailServer, *, tls: bool = False) -> SmtpClient:
        """A raw SMTP (``tls``: SMTPS) client, greeting read and checked."""
        if tls:
            client = SmtpClient(server.smtps, context=server.client_ssl_context())
        else:
            client = SmtpClient(server.smtp)
        self._open.append(client)
        assert client.code() == 220
        return client

    def imap(self, server: MailServer) -> ImapClient:
        """A raw IMAP client, its greeting read."""
        client = ImapClient(server.imap)
        self._open.append(client)
        assert client.greeting.startswith(b"* OK")
        return client

    def pop3(self, server: MailServer) -> Pop3Client:
        """A raw POP3 client, its greeting read."""
        client = Pop3Client(server.pop3)
        self._open.append(client)
        assert client.greeting.startswith(b"+OK")
        return client

    def close_all(self) -> None:
        """Close every client opened."""
        for client in self._open:
            client.close()


@pytest.fixture
def clients() -> Iterator[Clients]:
    """Raw clients of the three protocols, closed at the end of the test."""
    opened = Clients()
    yield opened
    opened.close_all()


@pytest.fixture
def server(make_server: Callable[..., MailServer]) -> MailServer:
    """A fresh server with every listener; its errors fail the test at teardown."""
    return make_server()
