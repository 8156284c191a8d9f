"""Clients that abandon STARTTLS (IMAP) or STLS (POP3) on purpose, over real sockets.

Each way of dropping ends the connection without a server error: under the pytest plugin a
recorded error fails the user's test, and a client's behaviour is never fakemail's bug
(PLAN decision 9). The server stays usable for the next client.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT, GreetedClient


@dataclass(frozen=True)
class Upgrade:
    """How a protocol asks for TLS, and what follows in clear text if a client misbehaves."""

    listener: str
    command: bytes
    ok: bytes
    #: A command a man in the middle might append (RFC 3207 §6 "STARTTLS command injection").
    injected: bytes
    #: A command that works in clear text, to show the server still serves.
    probe: bytes
    probe_ok: bytes


UPGRADES = [
    Upgrade("imap", b"a STARTTLS\r\n", b"a OK ", b"b LOGIN evil pw\r\n", b"p NOOP\r\n", b"p OK "),
    Upgrade("pop3", b"STLS\r\n", b"+OK ", b"USER evil\r\n", b"CAPA\r\n", b"+OK "),
]


@pytest.fixture(scope="module")
def tls_server() -> Iterator[MailServer]:
    """IMAP and POP3 listeners only; every test checks its own errors."""
    with MailServer(smtp_port=None, smtps_port=None, imaps_port=None, pop3s_port=None) as server:
        yield server
    server.check()


@pytest.fixture(params=UPGRADES, ids=[u.listener for u in UPGRADES])
def upgrade(request: pytest.FixtureRequest) -> Upgrade:
    """One protocol's STARTTLS."""
    param: Upgrade = request.param
    return param


@pytest.fixture
def asked(tls_server: MailServer, upgrade: Upgrade) -> Iterator[GreetedClient]:
    """A client whose STARTTLS/STLS the server has accepted: the handshake is due."""
    tls_server.check()  # nothing left over from an earlier test
    client = GreetedClient(tls_server.endpoints[upgrade.listener])
    client.send(upgrade.command)
    assert client.line().startswith(upgrade.ok)
    yield client
    client.close()


def peer(client: GreetedClient) -> str:
    """How the server names ``client`` in its transcripts."""
    host, port = client.sock.getsockname()[:2]
    return f"{host}:{port}"


def ended(server: MailServer, peer: str) -> str:
    """Wait until the server has finished with the connection from ``peer``; its transcript."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        (transcript,) = [t for t in server.transcripts if t.peer == peer]
        # Written where a connection that a client ended is closed; a server error is
        # recorded instead of it.
        if "connection ended" in transcript.text:
            return transcript.text
        errors = server._backend.take_errors()
        assert errors == [], transcript.text
        assert time.monotonic() < deadline, f"the connection did not end:\n{transcript.text}"
        time.sleep(0.01)


def client_hello() -> bytes:
    """The first flight of a real TLS client (its ClientHello records)."""
    context = ssl.create_default_context()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname="x")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:  # waits for the server's answer
        return outgoing.read()
    raise AssertionError("a TLS handshake finished without a server")


def reset(client: GreetedClient) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER 0)."""
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def still_serves(server: MailServer, upgrade: Upgrade) -> None:
    other = GreetedClient(server.endpoints[upgrade.listener])
    other.send(upgrade.probe)
    assert other.line().startswith(upgrade.probe_ok)
    other.close()


def test_data_pipelined_after_starttls_drops_quietly(
    tls_server: MailServer, upgrade: Upgrade
) -> None:
    client = GreetedClient(tls_server.endpoints[upgrade.listener])
    name = peer(client)
    # One write: the injected command arrives with STARTTLS, before any handshake
    # (RFC 3501 §6.2.1, RFC 2595 §3.1): the server answers STARTTLS, runs nothing else, closes.
    client.send(upgrade.command + upgrade.injected)
    assert client.line().startswith(upgrade.ok)
    assert client.read_to_eof() == b""  # the server closes only after handling the end
    client.close()
    assert tls_server._backend.take_errors() == []
    assert "data after STARTTLS before handshake: closing" in ended(tls_server, name)
    still_serves(tls_server, upgrade)


def then_fin(data: bytes) -> Callable[[GreetedClient], None]:
    """A drop: send ``data``, then end the stream (the server reads EOF mid-handshake)."""

    def drop(client: GreetedClient) -> None:
        client.send(data)
        client.sock.shutdown(socket.SHUT_WR)

    return drop


# Each way a client can give up once the server waits for its TLS handshake.
DROPS: dict[str, Callable[[GreetedClient], None]] = {
    # A client that goes on in clear text (the injected command in a write of its own).
    "clear text instead of a handshake": lambda client: client.send(b"b NOOP\r\nCAPA\r\n"),
    "FIN before the handshake": then_fin(b""),
    "FIN inside the ClientHello": then_fin(client_hello()[:20]),
    "FIN after the ClientHello": then_fin(client_hello()),
}


@pytest.mark.parametrize("drop", list(DROPS))
def test_client_abandoning_the_handshake_is_not_a_server_error(
    tls_server: MailServer, upgrade: Upgrade, asked: GreetedClient, drop: str
) -> None:
    name = peer(asked)
    DROPS[drop](asked)
    # The server closes after handling the failed handshake: by EOF everything is recorded.
    while asked.sock.recv(65536):
        pass  # a TLS alert or ServerHello, if the server got that far
    assert tls_server._backend.take_errors() == []
    assert "connection ended: BrokenResourceError" in ended(tls_server, name)
    still_serves(tls_server, upgrade)


def test_client_resetting_mid_handshake_is_not_a_server_error(
    tls_server: MailServer, upgrade: Upgrade, asked: GreetedClient
) -> None:
    name = peer(asked)
    asked.send(client_hello())
    assert asked.sock.recv(5)[:1] == b"\x16"  # the server's handshake reply has begun
    reset(asked)
    assert "connection ended: BrokenResourceError" in ended(tls_server, name)
    assert tls_server._backend.take_errors() == []
    still_serves(tls_server, upgrade)


def test_client_refusing_the_certificate_is_not_a_server_error(
    tls_server: MailServer, upgrade: Upgrade, asked: GreetedClient
) -> None:
    name = peer(asked)
    # The default context does not trust the test CA: the client aborts with an alert.
    with pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(asked.sock, server_hostname="localhost")
    assert "connection ended: BrokenResourceError" in ended(tls_server, name)
    assert tls_server._backend.take_errors() == []
    still_serves(tls_server, upgrade)
