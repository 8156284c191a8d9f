"""Unit tests must not touch the network: creating an internet socket fails here.

Only ``AF_INET``/``AF_INET6`` sockets are refused; ``socket.socketpair()`` (AF_UNIX, used by
event loops for wake-ups) and sockets wrapping an existing file descriptor stay allowed, so
libraries that use them internally keep working.
"""

from __future__ import annotations

import socket

import pytest

_NETWORK_FAMILIES = frozenset({socket.AF_INET, socket.AF_INET6})


class NetworkUseInUnitTest(RuntimeError):
    """A unit test tried to create a network socket."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    original = socket.socket.__init__

    def guarded(
        self: socket.socket,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: int | None = None,
    ) -> None:
        # socket.socket() defaults to AF_INET when family is -1 and no fileno is given.
        if fileno is None and (family == -1 or family in _NETWORK_FAMILIES):
            raise NetworkUseInUnitTest("unit tests must not create network sockets")
        original(self, family, type, proto, fileno)

    monkeypatch.setattr(socket.socket, "__init__", guarded)
