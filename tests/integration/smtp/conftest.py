"""Fixtures of the SMTP integration tests: SMTP-only servers and closed-at-teardown clients."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer

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
