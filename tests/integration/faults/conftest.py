"""Fixtures of the fault tests: one shared server per worker, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakemail._server import MailServer


@pytest.fixture(scope="session")
def shared_server() -> Iterator[MailServer]:
    """Every listener on a free port, for the whole session."""
    with MailServer() as server:
        yield server
