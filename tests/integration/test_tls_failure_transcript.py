"""A client that refuses the test certificate leaves a transcript saying so, and where the CA
is, instead of ending at "Ready to start TLS" (real clients, real sockets)."""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator

import pytest

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

HINT = "the client does not trust the test certificate: give it the test CA (fakemail.ca_path"


@pytest.fixture(scope="module")
def server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server
    server.check()


def untrusting() -> ssl.SSLContext:
    """What an app gets by default: a context that does not know the test CA."""
    return ssl.create_default_context()


def smtp_starttls(server: MailServer) -> None:
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        client.starttls(context=untrusting())


def imap_starttls(server: MailServer) -> None:
    client = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
    try:
        client.starttls(ssl_context=untrusting())
    finally:
        with contextlib.suppress(OSError):  # the failed wrap closed the socket
            client.shutdown()


def imaps(server: MailServer) -> None:
    imaplib.IMAP4_SSL(*server.imaps, ssl_context=untrusting(), timeout=TIMEOUT)


def pop3_stls(server: MailServer) -> None:
    client = poplib.POP3(*server.pop3, timeout=TIMEOUT)
    try:
        client.stls(context=untrusting())
    finally:
        with contextlib.suppress(OSError):  # the failed wrap closed the socket
            client.close()


def pop3s(server: MailServer) -> None:
    poplib.POP3_SSL(*server.pop3s, context=untrusting(), timeout=TIMEOUT)


CLIENTS: dict[str, tuple[str, Callable[[MailServer], None]]] = {
    "smtp STARTTLS": ("smtp", smtp_starttls),
    "imap STARTTLS": ("imap", imap_starttls),
    "imaps": ("imaps", imaps),
    "pop3 STLS": ("pop3", pop3_stls),
    "pop3s": ("pop3s", pop3s),
}


@pytest.mark.parametrize("case", list(CLIENTS))
def test_a_refused_certificate_is_explained_in_the_transcript(
    server: MailServer, case: str
) -> None:
    listener, connect = CLIENTS[case]
    server.clear()
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server)
    deadline = time.monotonic() + TIMEOUT
    while True:  # the server notes the failure once it has read the client's alert
        [transcript] = [t for t in server.transcripts if t.protocol == listener]
        if "TLS handshake failed" in transcript.text:
            break
        assert time.monotonic() < deadline, transcript.text
        time.sleep(0.01)
    text = transcript.text
    assert "TLS handshake failed: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca" in text
    assert HINT in text
    assert server._backend.take_errors() == []
