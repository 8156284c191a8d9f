"""SMTP defects of issue 11 over real sockets: client syntax errors are the client's (an error
reply, nothing recorded as fakemail's own error), the DATA line limit is exact, and the
connection limit is counted per listener."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from fakemail._server import MailServer
from fakemail._smtp import has_long_line

from .conftest import Clients, SmtpClient

MakeServer = Callable[..., MailServer]


def ehlo(client: SmtpClient) -> None:
    client.send(b"EHLO client.example\r\n")
    assert client.reply()[-1] == b"250 HELP"


def transaction(client: SmtpClient, data: bytes) -> list[bytes]:
    """MAIL, RCPT and DATA with ``data`` (dot-stuffed already, end marker added): the reply
    to the data."""
    client.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [client.code() for _ in range(3)] == [250, 250, 354]
    client.send(data + b".\r\n")
    return client.reply()


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        # The stdlib parser aiosmtpd uses ran off the end of these (IndexError -> 451).
        (b"MAIL FROM:x@", b"553 5.1.3 Error: malformed address"),
        (b"MAIL FROM:<x@", b"553 5.1.3 Error: malformed address"),
        (b"VRFY x@", b"502 Could not VRFY x@"),
    ],
)
def test_malformed_paths_are_the_clients_error(
    server: MailServer, clients: Clients, command: bytes, reply: bytes
) -> None:
    client = clients.smtp(server)
    ehlo(client)
    client.send(command + b"\r\n")
    assert client.reply() == [reply]
    client.send(b"MAIL FROM:<a@example.com>\r\n")
    assert client.code() == 250
    client.send(b"RCPT TO:x@\r\n")
    assert client.reply() == [b"553 5.1.3 Error: malformed address"]
    server.check()  # nothing recorded as fakemail's own error


@pytest.mark.parametrize("mechanism", [b"LOGIN", b"PLAIN", b"CRAM-MD5"])
def test_overlong_auth_continuation(server: MailServer, clients: Clients, mechanism: bytes) -> None:
    # RFC 4954 §4: "500 5.5.6 Authentication Exchange line is too long".
    client = clients.smtp(server)
    ehlo(client)
    client.send(b"AUTH " + mechanism + b"\r\n")
    assert client.code() == 334
    client.send(base64.b64encode(b"u" * 1500) + b"\r\n")  # 2,000 octets
    assert client.reply() == [b"500 5.5.6 Authentication Exchange line is too long"]
    client.send(b"AUTH " + mechanism + b"\r\n")
    assert client.code() == 334
    # Sent in pieces: the line is dropped whole, its tail is not read as a command.
    client.send(b"Q" * 1200)
    client.send(b"Q" * 1200 + b"\r\nNOOP\r\n")
    assert client.reply() == [b"500 5.5.6 Authentication Exchange line is too long"]
    assert client.code() == 250
    server.check()


def test_data_line_limit_is_1000_octets_with_crlf(server: MailServer, clients: Clients) -> None:
    # RFC 5321 §4.5.3.1.6: 1000 octets including CRLF, the transparency dot not counted.
    client = clients.smtp(server)
    ehlo(client)
    longest = b"m" * 998 + b"\r\n"
    assert transaction(client, b"Subject: a\r\n\r\n" + longest)[0].startswith(b"250")
    assert transaction(client, b"Subject: b\r\n\r\n." + longest)[0].startswith(b"250")
    too_long = b"L" * 999 + b"\r\n"
    assert transaction(client, b"Subject: c\r\n\r\n" + too_long) == [
        b"500 Line too long (see RFC5321 4.5.3.1.6)"
    ]
    assert transaction(client, b"Subject: d\r\n\r\n." + too_long) == [
        b"500 Line too long (see RFC5321 4.5.3.1.6)"
    ]
    assert [m.subject for m in server.messages] == ["a", "b"]
    assert server.messages[1].raw.endswith(b"\r\n\r\n" + longest)  # the dot unstuffed


def test_has_long_line() -> None:
    assert not has_long_line(b"", 100)
    assert not has_long_line(b"x" * 98 + b"\r\n", 100)
    assert has_long_line(b"x" * 99 + b"\r\n", 100)
    assert has_long_line(b"ok\r\n" + b"x" * 99 + b"\r\nok\r\n", 100)
    assert not has_long_line((b"x" * 98 + b"\r\n") * 5, 100)


def test_max_connections_is_per_listener(make_server: MakeServer, clients: Clients) -> None:
    server = make_server(max_connections=1)
    plain = clients.smtp(server)
    tls = clients.smtp(server, tls=True)  # SMTPS has a limit of its own
    refused = SmtpClient(server.smtp)
    try:
        assert refused.reply() == [b"421 4.7.0 Too many connections, try again later"]
        assert refused.read_to_eof() == b""
    finally:
        refused.close()
    refused_tls = SmtpClient(server.smtps, context=server.client_ssl_context())
    try:
        assert refused_tls.reply() == [b"421 4.7.0 Too many connections, try again later"]
    finally:
        refused_tls.close()
    for client in (plain, tls):
        client.send(b"NOOP\r\n")
        assert client.code() == 250
