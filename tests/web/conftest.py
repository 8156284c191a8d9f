"""Fixtures of the HTTP tests: one server per worker with HTTP on, reset for each test, and an
httpx client talking to it over loopback."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator

import httpx
import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT


@pytest.fixture(scope="session")
def shared_web_server() -> Iterator[MailServer]:
    """One server with the HTTP listener, for every HTTP test of this worker."""
    server = MailServer(http_port=0).start()
    yield server
    server.stop()
    server.check()


@pytest.fixture
def server(shared_web_server: MailServer) -> Iterator[MailServer]:
    """The shared server, reset; errors recorded on server threads fail the test."""
    shared_web_server.reset()
    shared_web_server.check()
    yield shared_web_server
    shared_web_server.check()


@pytest.fixture
def http(server: MailServer) -> Iterator[httpx.Client]:
    """An HTTP client with the server's URL as base."""
    assert server.http_url is not None
    with httpx.Client(base_url=server.http_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def send(server: MailServer) -> Callable[..., None]:
    """``send(raw, to=[...], sender=...)`` over real SMTP."""

    def send(
        raw: bytes | str, to: list[str] | None = None, sender: str = "app@example.com"
    ) -> None:
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
            client.sendmail(sender, to or ["user@example.com"], raw)

    return send
