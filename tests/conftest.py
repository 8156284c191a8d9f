"""Fixtures shared by every test folder: servers that are stopped and checked at teardown."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakemail._server import MailServer

#: Seconds any test client waits on the network before giving up (slow CI machines).
CLIENT_TIMEOUT = 30.0


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


class RawClient:
    """A line-oriented client on a plain socket, for speaking a protocol byte by byte."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._file = sock.makefile("rb")

    def send(self, data: bytes) -> None:
        """Send ``data`` in one write."""
        self.sock.sendall(data)

    def readline(self) -> bytes:
        """One line, line end included (``b""`` at end of stream)."""
        return self._file.readline()

    def reply(self) -> list[bytes]:
        """One SMTP reply: its lines without line ends (``[]`` at end of stream)."""
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return lines

    def code(self) -> int:
        """The code of the next SMTP reply (0 at end of stream)."""
        lines = self.reply()
        return int(lines[-1][:3]) if lines else 0

    def at_eof(self) -> bool:
        """Whether the server closed the connection (after any bytes still unread)."""
        return self._file.read() == b""

    def close(self) -> None:
        """Close the connection."""
        self._file.close()
        self.sock.close()


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
        sock = socket.create_connection(address, timeout=CLIENT_TIMEOUT)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=server_hostname or address[0])
            except BaseException:
                sock.close()
                raise
        client = RawClient(sock)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
