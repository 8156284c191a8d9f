"""Accounts over every protocol: login names beside addresses, add_user(), and the options
under which no login could succeed (refused up front), or any does (auth_accept_any)."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from collections.abc import Callable

import pytest

from fakemail import ConfigError, MailServer, User, hookimpl
from tests._helpers import TIMEOUT

RAW = b"Subject: hi\r\n\r\nhello\r\n"
NO_TLS = {"smtps_port": None, "imaps_port": None, "pop3s_port": None}

MakeServer = Callable[..., MailServer]


def test_a_login_name_sends_mail_and_opens_the_address_mailbox(make_server: MakeServer) -> None:
    server = make_server(
        users=[User("alice@example.com", "s3cret", login="alice")], require_auth=True, **NO_TLS
    )
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("alice@example.com", "s3cret")  # the address is not the login now
        client.login("alice", "s3cret")
        client.sendmail("alice@example.com", ["alice@example.com"], RAW)
    assert server.assert_sent().envelope.auth_user == "alice"
    pop = poplib.POP3(*server.pop3, timeout=TIMEOUT)
    pop.user("alice")
    assert pop.pass_("s3cret").startswith(b"+OK alice@example.com has 1 messages")
    assert pop.retr(1)[1][-1] == b"hello"
    pop.quit()


def test_add_user_lasts_until_reset(make_server: MakeServer) -> None:
    server = make_server(**NO_TLS)
    user = server.add_user("bob@example.com", "pw", login="bob")
    assert user == User("bob@example.com", "pw", login="bob")
    server.add_user("carol@example.com", "pw2")
    assert [u.login_name for u in server.options.users] == ["bob", "carol@example.com"]
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("dave@example.com", "anything")  # users given: only they log in
        client.login("bob", "pw")
    with pytest.raises(ConfigError, match="'bob' would mean both"):
        server.add_user("robert@example.com", "pw", login="bob")
    server.reset()
    assert server.options.users == ()
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        client.login("dave@example.com", "anything")


def test_require_auth_without_users_is_refused_at_start() -> None:
    server = MailServer(require_auth=True, **NO_TLS)
    with pytest.raises(ConfigError, match="require_auth without users would refuse every login"):
        server.start()
    assert not server.is_running


def test_require_auth_without_users_is_refused_by_configure(make_server: MakeServer) -> None:
    server = make_server(**NO_TLS)
    with pytest.raises(ConfigError, match="require_auth without users"):
        server.configure(require_auth=True)
    assert not server.options.require_auth
    server.configure(require_auth=True, users={"a@example.com": "pw"})
    server.reset()
    server.configure(require_auth=True, auth_accept_any=True)


def test_require_auth_with_a_plugin_that_checks_logins(make_server: MakeServer) -> None:
    class Gate:
        @hookimpl
        def fakemail_authenticate(self, credentials: object) -> bool:
            return True

    server = MailServer(plugins=[Gate()], require_auth=True, **NO_TLS)
    server.start().stop()
    server = make_server(**NO_TLS)
    server.add_plugin(Gate(), temporary=True)
    server.configure(require_auth=True)


def test_require_auth_accepting_any_credentials(make_server: MakeServer) -> None:
    server = make_server(require_auth=True, auth_accept_any=True, **NO_TLS)
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("app@example.com", ["bob@example.com"], RAW)
        assert refused.value.smtp_code == 530
        client.login("app@example.com", "any password")
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert server.assert_sent().envelope.auth_user == "app@example.com"


def test_imap_login_names(make_server: MakeServer) -> None:
    server = make_server(users=[User("alice@example.com", "s3cret", login="alice")], **NO_TLS)
    server.deliver(RAW, to="alice@example.com")
    client = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        client.login("alice@example.com", "s3cret")
    client.login("alice", "s3cret")
    assert client.select("INBOX") == ("OK", [b"1"])
    client.logout()
    # AUTHENTICATE PLAIN may name the address as the identity to act as: it is alice's own.
    client = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
    client.authenticate("PLAIN", lambda _: b"alice@example.com\0alice\0s3cret")
    assert client.select("INBOX") == ("OK", [b"1"])
    client.logout()
