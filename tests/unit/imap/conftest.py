"""Fixtures of the IMAP session tests: a backend, a client, a logged-in client."""

from __future__ import annotations

import pytest

from fakemail._backend import Backend
from fakemail._config import Options
from tests.unit.imap._client import Client


@pytest.fixture
def backend() -> Backend:
    return Backend(Options())


@pytest.fixture
def client(backend: Backend) -> Client:
    return Client(backend)


@pytest.fixture
def logged_in(client: Client) -> Client:
    client.login()
    return client
