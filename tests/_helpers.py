"""Plain helpers shared by several test folders (their fixtures live in the conftest files)."""

from __future__ import annotations

import socket
import ssl
from typing import ClassVar

#: Bound on every network operation; generous for slow CI machines.
TIMEOUT = 10.0


class LineClient:
    """A blocking client on a loopback socket, with a timeout on every operation: send bytes,
    read replies exactly as the server wrote them. With ``context`` the socket is wrapped in
    TLS at once (implicit TLS), checking ``server_hostname`` (default: the address's host)."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        sock = socket.create_connection(address, timeout=timeout)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=server_hostname or address[0])
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.file = sock.makefile("rb")

    def send(self, data: bytes) -> None:
        """Send ``data`` in one write."""
        self.sock.sendall(data)

    def line(self) -> bytes:
        """One line, line end included (``b""`` at end of stream)."""
        return self.file.readline()

    def read_to_eof(self) -> bytes:
        """Everything until the server closes (bounded by the socket timeout)."""
        data = b""
        while chunk := self.file.read1(65536):
            data += chunk
        return data

    def close(self) -> None:
        """Close the connection."""
        self.file.close()
        self.sock.close()


class GreetedClient(LineClient):
    """A raw connection to one of a server's listeners, its greeting read."""

    #: Name of the plain listener it connects to; its implicit-TLS twin adds an ``s``.
    listener: ClassVar[str]

    def __init__(self, address: tuple[str, int], *, context: ssl.SSLContext | None = None):
        super().__init__(address, context=context)
        self.greeting = self.line()


def leaves(errors: list[BaseException]) -> list[BaseException]:
    """``errors`` with exception groups replaced by what they hold."""
    found: list[BaseException] = []
    for error in errors:
        inner = getattr(error, "exceptions", None)
        found.extend(leaves(list(inner)) if inner is not None else [error])
    return found
