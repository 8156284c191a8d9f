"""Fixtures shared by every test folder: servers that are stopped and checked at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# pytester's in-process runs restore sys.modules afterwards, dropping modules first imported
# inside them. The web room (and starlette) is imported lazily, so without this import an
# in-process run could import it, be undone, and leave two copies of starlette in one worker
# (its routing enums then compare unequal and every request is redirected).
import fakemail._web._app  # noqa: F401
from fakemail._server import MailServer

# Hypothesis's per-example deadline and "too slow" health check are stopwatches: on a loaded
# 2-core machine they fail correct code. Speed is measured in benchmarks/, not by tests.
settings.register_profile("fakemail", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fakemail")


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
