"""TLS 1.2 or later (docs: protocol reference), checked with a client that offers only TLS 1.0
and 1.1, on every implicit-TLS listener and after each STARTTLS/STLS, over real sockets.

A client that refuses old versions itself proves nothing about the server, so the old client is
first shown to complete a TLS 1.1 handshake with a permissive in-memory server; if the local
OpenSSL cannot do that at all, the tests are skipped with OpenSSL's reason.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator

import pytest
import trustme

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

# TLS 1.0 and 1.1 are deprecated in Python: using them is the point here.
pytestmark = pytest.mark.filterwarnings(r"ignore:ssl\.TLSVersion\.TLSv1:DeprecationWarning")
# Security level 0: OpenSSL 3 refuses TLS 1.0/1.1 (their MD5-SHA1 handshake) at any higher one.
_OLD_CIPHERS = "DEFAULT:@SECLEVEL=0"


def client_context(
    server: MailServer, control_ca: trustme.CA, maximum: ssl.TLSVersion
) -> ssl.SSLContext:
    """A client context offering TLS 1.0 up to ``maximum``, trusting the server's and the
    control's CAs; otherwise a normal client (host names checked)."""
    context = server.client_ssl_context()
    control_ca.configure_trust(context)
    context.set_ciphers(_OLD_CIPHERS)
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = maximum
    return context


def memory_handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> str:
    """Handshake two contexts through memory BIOs; the version they agreed on."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    ours = client.wrap_bio(to_client, to_server, server_hostname="localhost")
    theirs = server.wrap_bio(to_server, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", ours), ("server", theirs)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done.values()):
            version = ours.version()
            assert version is not None
            return version
    raise AssertionError("the in-memory handshake did not finish")


@pytest.fixture(scope="module")
def server() -> Iterator[MailServer]:
    """Every TLS listener; every test checks that nothing was recorded as a server error."""
    with MailServer() as server:
        yield server
    server.check()


Clients = Callable[[ssl.TLSVersion], ssl.SSLContext]


@pytest.fixture(scope="module")
def clients(server: MailServer) -> Clients:
    """``clients(maximum)``: client contexts offering TLS 1.0 up to ``maximum``; the TLS 1.1
    one shown first to work against a server that allows TLS 1.1."""
    ca = trustme.CA()
    permissive = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(permissive)
    permissive.set_ciphers(_OLD_CIPHERS)
    permissive.minimum_version = ssl.TLSVersion.TLSv1
    try:
        version = memory_handshake(client_context(server, ca, ssl.TLSVersion.TLSv1_1), permissive)
    except ssl.SSLError as error:
        pytest.skip(f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot do TLS 1.1: {error}")
    assert version in ("TLSv1", "TLSv1.1")
    return lambda maximum: client_context(server, ca, maximum)


def upgraded(server: MailServer, listener: str) -> socket.socket:
    """A plain connection on which ``listener``'s STARTTLS/STLS has been answered OK."""
    sock = socket.create_connection(server.endpoints[listener], timeout=TIMEOUT)
    reader = sock.makefile("rb")
    greeting = reader.readline()
    if listener == "smtp":
        assert greeting.startswith(b"220 ")
        sock.sendall(b"EHLO client.example\r\nSTARTTLS\r\n")
        while not (line := reader.readline()).startswith(b"250 "):
            assert line.startswith(b"250-"), line
        assert reader.readline().startswith(b"220 ")
    elif listener == "imap":
        sock.sendall(b"a STARTTLS\r\n")
        assert reader.readline().startswith(b"a OK ")
    else:
        sock.sendall(b"STLS\r\n")
        assert reader.readline().startswith(b"+OK ")
    reader.close()
    return sock


Connect = Callable[[MailServer, str], socket.socket]


def implicit(server: MailServer, listener: str) -> socket.socket:
    return socket.create_connection(server.endpoints[listener], timeout=TIMEOUT)


WAYS = [
    pytest.param(implicit, "smtps", id="smtps"),
    pytest.param(implicit, "imaps", id="imaps"),
    pytest.param(implicit, "pop3s", id="pop3s"),
    pytest.param(upgraded, "smtp", id="smtp-STARTTLS"),
    pytest.param(upgraded, "imap", id="imap-STARTTLS"),
    pytest.param(upgraded, "pop3", id="pop3-STLS"),
]


@pytest.mark.parametrize(("connect", "listener"), WAYS)
def test_tls_before_1_2_is_refused(
    server: MailServer, clients: Clients, connect: Connect, listener: str
) -> None:
    with connect(server, listener) as sock, pytest.raises(ssl.SSLError):
        clients(ssl.TLSVersion.TLSv1_1).wrap_socket(sock, server_hostname="localhost")
    # The same client, allowed TLS 1.2, gets it: the refusal was the version, nothing else.
    with (
        connect(server, listener) as sock,
        clients(ssl.TLSVersion.TLSv1_2).wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.2"
    server.check()  # an old client is the client's business, not a server error


def test_smtplib_with_an_old_client_cannot_send(server: MailServer, clients: Clients) -> None:
    with (
        smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client,
        pytest.raises(ssl.SSLError),
    ):
        client.starttls(context=clients(ssl.TLSVersion.TLSv1_1))
    assert server.messages == ()
    server.check()
