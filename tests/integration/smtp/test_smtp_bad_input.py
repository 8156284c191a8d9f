"""Misbehaving SMTP clients: each gets its specific reply, the server goes on serving, and the
store holds exactly the messages that were accepted."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from fakemail._server import MailServer

from .conftest import CLIENT_TIMEOUT, RawClient

RAW = b"Subject: ok\r\n\r\nfine\r\n"

MakeServer = Callable[..., MailServer]
Connect = Callable[..., RawClient]
SmtpClient = Callable[..., smtplib.SMTP]


def greeted(connect: Connect, server: MailServer) -> RawClient:
    client = connect(server.smtp)
    assert client.code() == 220
    client.send(b"EHLO client.example\r\n")
    assert client.reply()[-1] == b"250 HELP"
    return client


def send_ok(client: RawClient, recipient: str = "bob@example.com") -> None:
    """A complete, valid transaction on an open session."""
    client.send(f"MAIL FROM:<app@example.com>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(RAW + b".\r\n")
    assert client.code() == 250


def still_serves(server: MailServer, client: smtplib.SMTP) -> None:
    before = len(server.messages)
    client.sendmail("app@example.com", ["after@example.com"], RAW)
    assert len(server.messages) == before + 1


def wait_until(condition: Callable[[], bool], timeout: float = CLIENT_TIMEOUT) -> None:
    """Poll a condition the server offers no event for (connection bookkeeping)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def no_connections(server: MailServer) -> Callable[[], bool]:
    host = server._smtp
    assert host is not None
    return lambda: not host.connections


# ------------------------------------------------------------------ commands


def test_garbage_commands(smtp_server: MailServer, raw_client: Connect) -> None:
    client = greeted(raw_client, smtp_server)
    client.send(b"FROB nicate\r\n")
    assert client.reply() == [b'500 Error: command "FROB" not recognized']
    client.send(b"\r\n")
    assert client.reply() == [b"500 Error: bad syntax"]
    client.send(b"\xff\xfe\r\n")
    assert client.reply() == [b"500 Error: bad syntax"]
    client.send(b"MAIL FROM:nonsense<<\r\n")
    assert client.reply() == [b"501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"]
    client.send(b"RCPT TO:<bob@example.com>\r\n")
    assert client.reply() == [b"503 Error: need MAIL command"]
    client.send(b"DATA\r\n")
    assert client.reply() == [b"503 Error: need RCPT command"]
    send_ok(client)
    assert [m.recipients for m in smtp_server.messages] == [("bob@example.com",)]


def test_vrfy_answers_as_documented(smtp_server: MailServer, raw_client: Connect) -> None:
    # docs/reference/protocols.md: 252 for any address, 501 without one, 502 for a non-address.
    client = greeted(raw_client, smtp_server)
    for argument in (b"bob@example.com", b"<nobody@nowhere.example>", b"postmaster"):
        client.send(b"VRFY " + argument + b"\r\n")
        assert client.reply() == [
            b"252 Cannot VRFY user, but will accept message and attempt delivery"
        ]
    client.send(b"VRFY\r\n")
    assert client.reply() == [b"501 Syntax: VRFY <address>"]
    client.send(b"VRFY x@\r\n")
    assert client.reply() == [b"502 Could not VRFY x@"]
    send_ok(client)
    assert len(smtp_server.messages) == 1


def test_invalid_utf8_echoed_in_a_reply(smtp_server: MailServer, raw_client: Connect) -> None:
    # aiosmtpd decodes arguments with surrogateescape and some replies echo them: the reply
    # must still go out (invalid octets replaced), not fail the session with an encode error.
    client = greeted(raw_client, smtp_server)
    client.send(b"VRFY @\xff\r\n")
    assert client.reply() == [b"502 Could not VRFY @?"]
    send_ok(client)
    assert len(smtp_server.messages) == 1
    smtp_server.check()  # nothing was recorded as a server error


def test_overlong_command_lines(smtp_server: MailServer, raw_client: Connect) -> None:
    client = greeted(raw_client, smtp_server)
    client.send(b"NOOP " + b"x" * 600 + b"\r\n")  # over the 512-octet command limit
    assert client.reply() == [b"500 Command line too long"]
    client.send(b"NOOP " + b"y" * 5000 + b"\r\n")  # over the stream buffer limit too
    assert client.reply() == [b"500 Command line too long"]
    client.send(b"MAIL FROM:<" + b"a" * 2000 + b"@example.com>\r\n")
    assert client.reply() == [b"500 Command line too long"]
    send_ok(client)
    assert len(smtp_server.messages) == 1


def test_overlong_data_line(smtp_server: MailServer, raw_client: Connect) -> None:
    # RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with CRLF.
    client = greeted(raw_client, smtp_server)
    longest = b"Subject: max\r\n\r\n" + b"m" * 998 + b"\r\n"
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(longest + b".\r\n")
    assert client.code() == 250
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(b"Subject: long\r\n\r\n" + b"L" * 1100 + b"\r\nmore\r\n.\r\n")
    assert client.reply() == [b"500 Line too long (see RFC5321 4.5.3.1.6)"]
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(b"Subject: huge\r\n\r\n" + b"H" * 200_000 + b"\r\n.\r\n")
    assert client.reply() == [b"500 Line too long (see RFC5321 4.5.3.1.6)"]
    send_ok(client)
    assert [m.subject for m in smtp_server.messages] == ["max", "ok"]
    assert smtp_server.messages[0].raw == longest


def test_oversize_message(
    make_smtp_server: MakeServer, raw_client: Connect, smtp_client: SmtpClient
) -> None:
    server = make_smtp_server(max_message_size=1000)
    client = greeted(raw_client, server)
    # Declared too big in MAIL FROM (RFC 1870).
    client.send(b"MAIL FROM:<a@example.com> SIZE=1001\r\n")
    assert client.reply() == [b"552 Error: message size exceeds fixed maximum message size"]
    # Not declared, but too big when it arrives.
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(b"Subject: big\r\n\r\n" + (b"z" * 70 + b"\r\n") * 20 + b".\r\n")
    assert client.reply() == [b"552 Error: Too much mail data"]
    send_ok(client)
    assert [m.subject for m in server.messages] == ["ok"]
    # smtplib sees the same.
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        smtp_client(server).sendmail("a@example.com", ["b@example.com"], b"x" * 2000)
    assert info.value.smtp_code == 552
    assert len(server.messages) == 1


def test_non_ascii_address_without_smtputf8(smtp_server: MailServer, raw_client: Connect) -> None:
    client = greeted(raw_client, smtp_server)
    client.send("MAIL FROM:<jörg@example.com>\r\n".encode())
    assert client.reply() == [b"553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter"]
    client.send(b"MAIL FROM:<a@example.com>\r\n")
    assert client.code() == 250
    client.send("RCPT TO:<zoë@example.com>\r\n".encode())
    assert client.reply() == [
        b"553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter on MAIL FROM"
    ]
    client.send(b"RSET\r\n")
    assert client.code() == 250
    send_ok(client)
    assert [m.recipients for m in smtp_server.messages] == [("bob@example.com",)]


def test_bad_auth(make_smtp_server: MakeServer, raw_client: Connect) -> None:
    server = make_smtp_server(users={"app@example.com": "s3cret"})
    client = greeted(raw_client, server)
    wrong = base64.b64encode(b"\0app@example.com\0nope")
    client.send(b"AUTH PLAIN " + wrong + b"\r\n")
    assert client.reply() == [b"535 5.7.8 Authentication credentials invalid"]
    client.send(b"AUTH PLAIN !!!notbase64\r\n")
    assert client.reply() == [b"501 5.5.2 Can't decode base64"]
    client.send(b"AUTH PLAIN " + base64.b64encode(b"no separators") + b"\r\n")
    assert client.reply() == [b"501 5.5.2 PLAIN response must be authzid NUL authcid NUL passwd"]
    client.send(b"AUTH PLAIN\r\n")
    assert client.reply() == [b"334 "]
    client.send(b"not base64 either\r\n")
    assert client.reply() == [b"501 5.5.2 Can't decode base64"]  # one reply only
    client.send(b"AUTH LOGIN\r\n")
    assert client.code() == 334
    client.send(b"*\r\n")
    assert client.reply() == [b"501 5.7.0 Auth aborted"]
    client.send(b"AUTH CRAM-MD5\r\n")
    assert client.code() == 334
    client.send(base64.b64encode(b"app@example.com not-a-digest") + b"\r\n")
    assert client.reply() == [b"501 5.5.2 Malformed CRAM-MD5 response"]
    client.send(b"AUTH CRAM-MD5 initial\r\n")
    assert client.reply() == [b"501 5.5.2 CRAM-MD5 takes no initial response"]
    client.send(b"AUTH NTLM\r\n")
    assert client.reply() == [b"504 5.5.4 Unrecognized authentication type"]
    client.send(b"NOOP\r\n")
    assert client.code() == 250  # replies stayed in step with commands
    right = base64.b64encode(b"\0app@example.com\0s3cret")
    client.send(b"AUTH PLAIN " + right + b"\r\n")
    assert client.reply() == [b"235 2.7.0 Authentication successful"]
    client.send(b"AUTH PLAIN " + right + b"\r\n")
    assert client.reply() == [b"503 Already authenticated"]
    send_ok(client)
    assert server.messages[0].envelope.auth_user == "app@example.com"


# ------------------------------------------------------------------ connections


def test_failing_tls_handshakes(
    smtp_server: MailServer, raw_client: Connect, smtp_client: SmtpClient
) -> None:
    # Plain text to the SMTPS port.
    garbage = raw_client(smtp_server.smtps)
    garbage.send(b"EHLO client.example\r\n" * 10)
    assert b"220" not in garbage.read_to_eof()  # closed (maybe after a TLS alert)
    # A handshake abandoned half-way: a TLS ClientHello, then hang up.
    context = smtp_server.client_ssl_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    aborted = raw_client(smtp_server.smtps)
    aborted.send(outgoing.read())
    aborted.close()
    # Connect and leave at once.
    raw_client(smtp_server.smtps).close()
    # STARTTLS, then garbage instead of a handshake.
    plain = greeted(raw_client, smtp_server)
    plain.send(b"STARTTLS\r\n")
    assert plain.code() == 220
    plain.send(b"this is not TLS\r\n" * 10)
    assert b"250" not in plain.read_to_eof()
    # Every listener still serves.
    still_serves(smtp_server, smtp_client(smtp_server, implicit_tls=True))
    client = smtp_client(smtp_server)
    client.starttls(context=smtp_server.client_ssl_context())
    still_serves(smtp_server, client)
    assert [m.recipients for m in smtp_server.messages] == [("after@example.com",)] * 2


def test_disconnect_mid_data_stores_nothing(
    smtp_server: MailServer, raw_client: Connect, smtp_client: SmtpClient
) -> None:
    client = greeted(raw_client, smtp_server)
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(b"Subject: cut\r\n\r\nhalf a mess")
    client.close()
    abrupt = greeted(raw_client, smtp_server)
    abrupt.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [abrupt.code() for _ in range(3)] == [250, 250, 354]
    abrupt.send(b"Subject: reset\r\n\r\nbody\r\n")
    abrupt.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    abrupt.close()  # RST instead of FIN
    wait_until(no_connections(smtp_server))
    assert smtp_server.messages == ()
    assert not smtp_server.store.has_account("b@example.com")
    still_serves(smtp_server, smtp_client(smtp_server))


def test_fifty_concurrent_senders(smtp_server: MailServer) -> None:
    senders = 50
    barrier = threading.Barrier(senders, timeout=CLIENT_TIMEOUT)

    def send(n: int) -> None:
        with smtplib.SMTP(*smtp_server.smtp, timeout=CLIENT_TIMEOUT) as client:
            client.ehlo()
            barrier.wait()  # every connection open before anyone sends
            raw = f"Subject: n{n}\r\n\r\nfrom sender {n}\r\n".encode()
            client.sendmail(f"s{n}@example.com", ["inbox@example.com", f"r{n}@example.com"], raw)

    with ThreadPoolExecutor(senders) as pool:
        for future in [pool.submit(send, n) for n in range(senders)]:
            future.result(timeout=CLIENT_TIMEOUT * 2)

    messages = smtp_server.messages
    assert len(messages) == senders
    assert sorted(m.subject or "" for m in messages) == sorted(f"n{n}" for n in range(senders))
    assert [m.seq for m in messages] == list(range(1, senders + 1))
    shared = smtp_server.mailbox("inbox@example.com").inbox
    assert shared.snapshot.uids == tuple(range(1, senders + 1))
    assert {m.subject for m in shared.messages} == {f"n{n}" for n in range(senders)}
    for n in range(senders):
        [own] = smtp_server.mailbox(f"r{n}@example.com").messages
        assert own.subject == f"n{n}"
