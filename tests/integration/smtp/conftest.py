"""Fixtures of the SMTP integration tests: SMTP-only servers and closed-at-teardown clients
(smtplib, and a raw line-oriented one)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer
from tests._helpers import LineClient

#: Bound on every client operation here; generous for slow CI machines.
CLIENT_TIMEOUT = 30.0

#: Options for a server with only the SMTP and SMTPS listeners (quick to start).
SMTP_ONLY: dict[str, Any] = {
    "imap_port": None,
    "imaps_port": None,
    "pop3_port": None,
    "pop3s_port": None,
}


@pytest.fixture
def make_smtp_server(make_server: Callable[..., MailServer]) -> Callable[..., MailServer]:
    """Like ``make_server``, but IMAP and POP3 are disabled unless ``options`` enable them."""

    def make(**options: Any) -> MailServer:
        return make_server(**{**SMTP_ONLY, **options})

    return make


@pytest.fixture
def smtp_server(make_smtp_server: Callable[..., MailServer]) -> MailServer:
    """A running server with only SMTP and SMTPS enabled, default options otherwise."""
    return make_smtp_server()


@pytest.fixture
def smtp_client() -> Iterator[Callable[..., smtplib.SMTP]]:
    """``smtp_client(server)`` connects ``smtplib.SMTP`` to the server's SMTP port (or
    ``smtp_client(server, implicit_tls=True)``: ``SMTP_SSL`` to SMTPS, trusting the test CA).
    Clients are closed at teardown."""
    clients: list[smtplib.SMTP] = []

    def connect(server: MailServer, *, implicit_tls: bool = False, **kwargs: Any) -> smtplib.SMTP:
        kwargs.setdefault("local_hostname", "client.example")
        client: smtplib.SMTP
        if implicit_tls:
            kwargs.setdefault("context", server.client_ssl_context())
            client = smtplib.SMTP_SSL(*server.smtps, timeout=CLIENT_TIMEOUT, **kwargs)
        else:
            client = smtplib.SMTP(*server.smtp, timeout=CLIENT_TIMEOUT, **kwargs)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


class RawClient(LineClient):
    """A raw SMTP connection, for speaking the protocol byte by byte."""

    def reply(self) -> list[bytes]:
        """One SMTP reply: its lines without line ends (``[]`` at end of stream)."""
        lines: list[bytes] = []
        while True:
            line = self.line()
            if not line:
                return lines
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return lines

    def code(self) -> int:
        """The code of the next SMTP reply (0 at end of stream)."""
        lines = self.reply()
        return int(lines[-1][:3]) if lines else 0


@pytest.fixture
def raw_client() -> Iterator[Callable[..., RawClient]]:
    """``raw_client((host, port), tls=None, server_hostname=None)`` connects a
    :class:`RawClient` (with a timeout; wrapped in TLS when an ``ssl.SSLContext`` is given);
    every client is closed at teardown."""
    clients: list[RawClient] = []

    def connect(
        address: tuple[str, int],
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> RawClient:
        client = RawClient(
            address, context=tls, server_hostname=server_hostname, timeout=CLIENT_TIMEOUT
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
