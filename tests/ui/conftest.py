"""A server with its HTTP listener on, and an httpx client for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from fakemail._server import MailServer


@pytest.fixture
def server(make_server: Callable[..., MailServer]) -> MailServer:
    """A server with every listener on free ports, HTTP included."""
    return make_server(http_port=0)


@pytest.fixture
def http(server: MailServer) -> Iterator[httpx.Client]:
    """An HTTP client for ``server``'s web listener."""
    assert server.http_url is not None
    with httpx.Client(base_url=server.http_url, timeout=10.0) as client:
        yield client
