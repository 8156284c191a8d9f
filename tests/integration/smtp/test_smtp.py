"""SMTP with stdlib smtplib against a real MailServer: sending, EHLO, TLS, AUTH, delivery."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from fakemail._server import MailServer
from fakemail._store import INBOX

from .conftest import RawClient

USERS = {"app@example.com": "s3cret"}

RAW = (
    b"From: App <app@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: Welcome\r\n"
    b"\r\n"
    b"Hello Bob\r\n"
)

SmtpClient = Callable[..., smtplib.SMTP]
MakeServer = Callable[..., MailServer]
Connect = Callable[..., RawClient]


# ------------------------------------------------------------------ sending


def test_plain_send(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    refused = client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert refused == {}
    [message] = smtp_server.messages
    assert message.raw == RAW
    assert message.subject == "Welcome"
    assert message.seq == 1
    envelope = message.envelope
    assert envelope.sender == "app@example.com"
    assert envelope.recipients == ("bob@example.com",)
    assert envelope.client_address is not None
    assert envelope.client_address[0] == "127.0.0.1"
    assert envelope.client_address[1] == client.sock.getsockname()[1]
    assert envelope.helo == "client.example"
    assert (envelope.auth_user, envelope.is_tls, envelope.protocol) == (None, False, "smtp")
    assert envelope.mail_options == (f"SIZE={len(RAW)}",)  # smtplib declares the size
    assert smtp_server.assert_sent(to="bob@example.com") is message


def test_several_transactions_on_one_connection(
    smtp_server: MailServer, smtp_client: SmtpClient
) -> None:
    client = smtp_client(smtp_server)
    for n in range(3):
        client.sendmail("app@example.com", [f"u{n}@example.com"], RAW)
    assert [m.recipients for m in smtp_server.messages] == [
        ("u0@example.com",),
        ("u1@example.com",),
        ("u2@example.com",),
    ]
    assert [m.seq for m in smtp_server.messages] == [1, 2, 3]


def test_null_sender_and_helo(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    assert client.helo("old.client")[0] == 250
    client.sendmail("", ["bob@example.com"], RAW)
    envelope = smtp_server.messages[0].envelope
    assert envelope.sender == ""
    assert envelope.helo == "old.client"


def test_ehlo_advertises_extensions(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(max_message_size=12345)
    client = smtp_client(server)
    code, banner = client.ehlo()
    assert code == 250
    assert banner.startswith(b"localhost")
    features = client.esmtp_features
    assert features["size"] == "12345"
    for extension in ("8bitmime", "smtputf8", "pipelining", "starttls"):
        assert extension in features
    assert features["auth"].split() == ["CRAM-MD5", "LOGIN", "PLAIN"]


def test_greeting_uses_hostname(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(hostname="mx.test.example")
    client = smtp_client(server)
    assert client.ehlo_resp is None
    assert client.ehlo()[1].startswith(b"mx.test.example")
    assert client.noop()[0] == 250


def test_pipelined_commands_are_answered_in_order(
    smtp_server: MailServer, raw_client: Connect
) -> None:
    # RFC 2920: the client may send a group of commands in one write.
    client = raw_client(smtp_server.smtp)
    assert client.code() == 220
    client.send(b"EHLO client.example\r\n")
    assert client.reply()[-1] == b"250 HELP"
    client.send(
        b"MAIL FROM:<app@example.com>\r\n"
        b"RCPT TO:<bob@example.com>\r\n"
        b"RCPT TO:<Carol@Example.com>\r\n"
        b"DATA\r\n"
    )
    replies = [client.reply() for _ in range(4)]
    assert [r[-1][:3] for r in replies] == [b"250", b"250", b"250", b"354"]
    client.send(RAW + b".\r\nNOOP\r\nQUIT\r\n")
    assert client.reply()[-1].startswith(b"250 2.0.0 OK: queued as ")
    assert client.code() == 250
    assert client.code() == 221
    assert client.read_to_eof() == b""
    [message] = smtp_server.messages
    assert message.recipients == ("bob@example.com", "Carol@Example.com")


# ------------------------------------------------------------------ TLS


def test_starttls(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    client.ehlo()
    assert client.starttls(context=smtp_server.client_ssl_context())[0] == 220
    client.ehlo()
    assert "starttls" not in client.esmtp_features  # not offered twice
    assert "auth" in client.esmtp_features
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    message = smtp_server.messages[0]
    assert message.envelope.is_tls
    assert message.raw == RAW
    transcript = smtp_server.transcripts[-1]
    assert "*: TLS started" in transcript.text.splitlines()


def test_smtps(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server, implicit_tls=True)
    client.ehlo()
    assert "starttls" not in client.esmtp_features
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert smtp_server.messages[0].envelope.is_tls
    assert smtp_server.transcripts[-1].protocol == "smtps"


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_certificate_verifies_for_both_names(
    smtp_server: MailServer, raw_client: Connect, name: str
) -> None:
    client = raw_client(smtp_server.smtps, smtp_server.client_ssl_context(), server_hostname=name)
    assert client.code() == 220
    assert isinstance(client.sock, ssl.SSLSocket)
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_ca_path_usable_by_clients(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    assert smtp_server.ca_path.read_bytes() == smtp_server.ca_pem
    context = ssl.create_default_context(cafile=str(smtp_server.ca_path))
    client = smtp_client(smtp_server, implicit_tls=True, context=context)
    assert client.noop()[0] == 250
    plain = smtp_client(smtp_server)
    plain.starttls(context=ssl.create_default_context(cafile=str(smtp_server.ca_path)))
    assert plain.ehlo()[0] == 250


def test_untrusted_or_wrong_name_is_refused(smtp_server: MailServer, raw_client: Connect) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        raw_client(smtp_server.smtps, ssl.create_default_context())  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        raw_client(
            smtp_server.smtps, smtp_server.client_ssl_context(), server_hostname="example.org"
        )
    # The server goes on serving.
    assert raw_client(smtp_server.smtps, smtp_server.client_ssl_context()).code() == 220


# ------------------------------------------------------------------ AUTH


def _auth(client: smtplib.SMTP, mechanism: str, user: str, password: str, **kw: bool) -> None:
    client.user, client.password = user, password
    method = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
    client.auth(mechanism, method, **kw)


@pytest.mark.parametrize(
    ("mechanism", "initial_response"),
    [("PLAIN", True), ("PLAIN", False), ("LOGIN", True), ("LOGIN", False), ("CRAM-MD5", True)],
)
def test_auth_mechanisms(
    make_smtp_server: MakeServer,
    smtp_client: SmtpClient,
    mechanism: str,
    initial_response: bool,
) -> None:
    server = make_smtp_server(users=USERS)
    client = smtp_client(server)
    client.ehlo()
    _auth(client, mechanism, "app@example.com", "s3cret", initial_response_ok=initial_response)
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert server.messages[0].envelope.auth_user == "app@example.com"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_auth_wrong_password(
    make_smtp_server: MakeServer, smtp_client: SmtpClient, mechanism: str
) -> None:
    server = make_smtp_server(users=USERS)
    client = smtp_client(server)
    client.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        _auth(client, mechanism, "app@example.com", "wrong")
    assert info.value.smtp_code == 535
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        _auth(client, mechanism, "nobody@example.com", "s3cret")
    assert info.value.smtp_code == 535
    # The session stays usable: retry with the right password.
    _auth(client, mechanism, "app@example.com", "s3cret")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert server.messages[0].envelope.auth_user == "app@example.com"


def test_any_password_without_users(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    client.login("whoever@example.com", "anything")
    client.sendmail("whoever@example.com", ["bob@example.com"], RAW)
    assert smtp_server.messages[0].envelope.auth_user == "whoever@example.com"


def test_require_auth(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(require_auth=True, users=USERS)
    client = smtp_client(server)
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert info.value.smtp_code == 530
    assert info.value.smtp_error == b"5.7.0 Authentication required"
    client.rset()
    client.login("app@example.com", "s3cret")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert len(server.messages) == 1


def test_require_tls(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(require_tls=True, users=USERS)
    client = smtp_client(server)
    client.ehlo()
    assert "auth" not in client.esmtp_features  # no AUTH offered in the clear
    assert client.docmd("AUTH", "PLAIN AGFwcEBleGFtcGxlLmNvbQBzM2NyZXQ=")[0] == 530
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert info.value.smtp_code == 530
    client.starttls(context=server.client_ssl_context())
    client.login("app@example.com", "s3cret")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    [message] = server.messages
    assert message.envelope.is_tls
    assert message.envelope.auth_user == "app@example.com"


def test_require_tls_is_met_by_smtps(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(require_tls=True, users=USERS)
    client = smtp_client(server, implicit_tls=True)
    client.login("app@example.com", "s3cret")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert server.messages[0].envelope.auth_user == "app@example.com"


# ------------------------------------------------------------------ delivery


def test_per_recipient_copies_and_bcc(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    raw = (
        b"From: app@example.com\r\n"
        b"To: bob@example.com\r\n"
        b"Cc: carol@example.com\r\n"
        b"Subject: Team\r\n\r\nhi\r\n"
    )
    recipients = ["bob@example.com", "carol@example.com", "hidden@example.com"]
    smtp_client(smtp_server).sendmail("app@example.com", recipients, raw)
    [message] = smtp_server.messages
    assert message.bcc == ("hidden@example.com",)
    assert b"hidden" not in message.raw
    for address in recipients:
        folder = smtp_server.mailbox(address).inbox
        assert folder.messages == (message,)
        assert folder.items[0].uid == 1
    assert smtp_server.assert_sent(to="hidden@example.com") is message


def test_domains_are_case_insensitive(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    client.sendmail("app@example.com", ["Bob@EXAMPLE.com", "Bob@example.COM"], RAW)
    client.sendmail("app@example.com", ["Bob@example.com"], RAW)
    mailbox = smtp_server.mailbox("Bob@Example.Com")
    assert mailbox.address == "Bob@example.com"
    assert len(mailbox.inbox) == 2  # one copy per transaction, however often named
    assert smtp_server.store.accounts == ("Bob@example.com",)


def test_raw_bytes_after_dot_unstuffing(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    raw = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n"
    smtp_client(smtp_server).sendmail("app@example.com", ["bob@example.com"], raw)
    assert smtp_server.messages[0].raw == raw


def test_eight_bit_body(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    raw = (
        "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, Ångström ✓\r\n"
    ).encode()
    client = smtp_client(smtp_server)
    client.sendmail("app@example.com", ["bob@example.com"], raw, mail_options=["BODY=8BITMIME"])
    [message] = smtp_server.messages
    assert message.raw == raw
    assert message.text == "Grüße, Ångström ✓\n"
    assert message.envelope.mail_options == (f"SIZE={len(raw)}", "BODY=8BITMIME")


def test_smtputf8_addresses(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    raw = "From: jörg@exämple.com\r\nTo: zoë@example.com\r\nSubject: ü\r\n\r\nhi\r\n".encode()
    client = smtp_client(smtp_server)
    client.sendmail("jörg@exämple.com", ["zoë@Example.com"], raw, mail_options=["SMTPUTF8"])
    [message] = smtp_server.messages
    assert message.sender == "jörg@exämple.com"
    assert message.recipients == ("zoë@Example.com",)
    assert message.raw == raw
    assert "SMTPUTF8" in message.envelope.mail_options
    assert smtp_server.mailbox("zoë@example.com").messages == (message,)
    smtp_server.assert_sent(to="ZOË@example.com", from_="jörg@exämple.com")


def test_message_size_limit_boundary(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(max_message_size=200)
    raw = b"Subject: s\r\n\r\n" + b"x" * (200 - 16) + b"\r\n"
    assert len(raw) == 200
    smtp_client(server).sendmail("a@example.com", ["b@example.com"], raw)
    assert server.messages[0].raw == raw


# ------------------------------------------------------------------ sockets


def test_tcp_nodelay_on_listener_and_connections(
    smtp_server: MailServer, smtp_client: SmtpClient
) -> None:
    # Regression: with a listening socket of proto 0, asyncio does not set TCP_NODELAY on
    # accepted connections and every reply waits for Nagle plus delayed ACK (~40 ms).
    host = smtp_server._smtp
    assert host is not None
    for sock, _ in host._sockets:
        assert sock.proto == socket.IPPROTO_TCP
    smtp_client(smtp_server).noop()
    smtp_client(smtp_server, implicit_tls=True).noop()
    # Both clients have had their greeting: their connections are registered.
    connections = list(host.connections)
    assert len(connections) == 2
    for protocol in connections:
        transport = protocol.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_multiline_reply_is_sent_in_one_write(smtp_server: MailServer, raw_client: Connect) -> None:
    # aiosmtpd pushes each line of a reply on its own: one send and one client wake-up each.
    client = raw_client(smtp_server.smtp)
    assert client.code() == 220
    host = smtp_server._smtp
    assert host is not None
    [protocol] = host.connections
    transport: Any = protocol.transport
    writes: list[bytes] = []
    write = transport.write

    def record(data: bytes) -> None:
        writes.append(bytes(data))
        write(data)

    transport.write = record
    client.send(b"EHLO client.example\r\n")
    reply = client.reply()
    assert len(reply) > 5
    assert reply[-1] == b"250 HELP"
    assert writes == [b"".join(line + b"\r\n" for line in reply)]


def test_connection_limit(make_smtp_server: MakeServer, raw_client: Connect) -> None:
    server = make_smtp_server(max_connections=1)
    first = raw_client(server.smtp)
    assert first.code() == 220
    second = raw_client(server.smtp)
    assert second.reply() == [b"421 4.7.0 Too many connections, try again later"]
    assert second.read_to_eof() == b""
    first.send(b"NOOP\r\n")
    assert first.code() == 250


def test_transcript_records_the_session(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    client.quit()
    [transcript] = smtp_server.transcripts
    lines = transcript.text.splitlines()
    assert transcript.protocol == "smtp"
    assert lines[1] == "S: 220 localhost fakemail ESMTP"
    assert "C: ehlo client.example" in lines
    assert any(line.startswith("C: mail FROM:<app@example.com>") for line in lines)
    assert "C: Subject: Welcome" in lines
    assert lines[-1] == "S: 221 Bye"


def test_inbox_uids_grow(smtp_server: MailServer, smtp_client: SmtpClient) -> None:
    client = smtp_client(smtp_server)
    for _ in range(3):
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    snapshot = smtp_server.mailbox("bob@example.com").folder(INBOX).snapshot
    assert snapshot.uids == (1, 2, 3)
    assert snapshot.uidnext == 4
