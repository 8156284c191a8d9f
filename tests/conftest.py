"""Fixtures shared by every test folder: servers that are stopped and checked at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer


@pytest.fixture
def make_server() -> Iterator[Callable[..., MailServer]]:
    """``make_server(**options)`` starts a :class:`MailServer` on 127.0.0.1 (free ports).

    Every server made is stopped at teardown, and then :meth:`MailServer.check` re-raises any
    error recorded on a server thread, so a failure in fakemail's code fails the test. A test
    that provokes such errors on purpose must consume them with ``server.check()`` itself.
    """
    servers: list[MailServer] = []

    def make(**options: Any) -> MailServer:
        server = MailServer(**options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
    for server in servers:
        server.check()
