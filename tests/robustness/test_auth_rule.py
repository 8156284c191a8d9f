"""One AUTH rule for SMTP, IMAP and POP3 (issue 11 §11), over real sockets: a foreign SASL
authorization identity is refused (RFC 4616 §2), and so are user names with control characters
or longer than ``max_username_length``; the user's own address as authzid is accepted."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from fakemail._server import MailServer

from .conftest import Clients

USERS = {"alice@example.com": "a-pw", "bob@example.com": "b-pw"}


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


@pytest.fixture
def server(make_server: Callable[..., MailServer]) -> MailServer:
    """A server checking the passwords of alice and bob."""
    return make_server(users=USERS)


def smtp_auth(server: MailServer, clients: Clients, response: bytes) -> list[bytes]:
    client = clients.smtp(server)
    client.send(b"EHLO client.example\r\n")
    client.reply()
    client.send(b"AUTH PLAIN " + b64(response) + b"\r\n")
    return client.reply()


def imap_auth(server: MailServer, clients: Clients, response: bytes) -> bytes:
    client = clients.imap(server)
    return client.command(b"a AUTHENTICATE PLAIN " + b64(response))


def pop3_auth(server: MailServer, clients: Clients, response: bytes) -> bytes:
    client = clients.pop3(server)
    return client.command(b"AUTH PLAIN " + b64(response))


def test_foreign_authzid_is_refused_everywhere(server: MailServer, clients: Clients) -> None:
    # bob's own password, asking to act as alice: SMTP logged in as bob before.
    foreign = b"alice@example.com\0bob@example.com\0b-pw"
    assert smtp_auth(server, clients, foreign) == [
        b"535 5.7.8 Authentication credentials invalid: cannot act as another user"
    ]
    assert imap_auth(server, clients, foreign) == (
        b"a NO [AUTHORIZATIONFAILED] cannot act as another user\r\n"
    )
    assert pop3_auth(server, clients, foreign) == b"-ERR [AUTH] cannot act as another user\r\n"
    own = b"bob@example.com\0bob@example.com\0b-pw"
    assert smtp_auth(server, clients, own) == [b"235 2.7.0 Authentication successful"]
    assert imap_auth(server, clients, own).startswith(b"a OK")
    assert pop3_auth(server, clients, own).startswith(b"+OK bob@example.com has")


@pytest.mark.parametrize(
    "username",
    [b"bob@example.com\r\nX", b"bob@example.com\n", b"bo\tb@example.com", b"u" * 300],
)
def test_bad_user_names_are_refused_everywhere(
    server_any: MailServer, clients: Clients, username: bytes
) -> None:
    response = b"\0" + username + b"\0pw"
    assert smtp_auth(server_any, clients, response) == [
        b"535 5.7.8 Authentication credentials invalid"
    ]
    assert imap_auth(server_any, clients, response) == (
        b"a NO [AUTHENTICATIONFAILED] invalid user name or password\r\n"
    )
    assert (
        pop3_auth(server_any, clients, response) == b"-ERR [AUTH] invalid user name or password\r\n"
    )
    assert server_any.store.accounts == ()


@pytest.fixture
def server_any(make_server: Callable[..., MailServer]) -> MailServer:
    """A server that accepts any credentials (where IMAP once made an account of any name)."""
    return make_server()


def test_imap_login_with_a_huge_literal_name(server_any: MailServer, clients: Clients) -> None:
    # 400 KiB as an IMAP LOGIN user name became an account name.
    name = b"n" * 400 * 1024
    imap = clients.imap(server_any)
    imap.send(b"a LOGIN {%d+}\r\n%b pw\r\n" % (len(name), name))
    assert (
        imap.until_tagged(b"a") == b"a NO [AUTHENTICATIONFAILED] invalid user name or password\r\n"
    )
    imap.send(b"b LOGIN {5+}\r\nx\r\nyz pw\r\n")
    assert (
        imap.until_tagged(b"b") == b"b NO [AUTHENTICATIONFAILED] invalid user name or password\r\n"
    )
    assert server_any.store.accounts == ()
