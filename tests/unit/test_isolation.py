"""The unit-test guard of ``tests/unit/conftest.py``: no network sockets, local ones allowed."""

from __future__ import annotations

import socket

import pytest


def test_network_socket_is_refused() -> None:
    with pytest.raises(RuntimeError, match="must not create network sockets"):
        socket.socket()
    with pytest.raises(RuntimeError, match="must not create network sockets"):
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    with pytest.raises(RuntimeError, match="must not create network sockets"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_socketpair_still_works() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
