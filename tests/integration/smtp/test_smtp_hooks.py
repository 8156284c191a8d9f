"""fakemail's hooks over real SMTP sessions: replies, rejections, errors, routing, notifications."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from fakemail._exceptions import ServerError
from fakemail._message import Envelope, Message
from fakemail._server import MailServer
from fakemail._smtptypes import Reply, SmtpSessionInfo
from fakemail.hookspecs import hookimpl

RAW = b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: hooks\r\n\r\nbody\r\n"

MakeServer = Callable[..., MailServer]
SmtpClient = Callable[..., smtplib.SMTP]


class RejectGhosts:
    @hookimpl
    def fakemail_smtp_rcpt_to(self, address: str) -> Reply | None:
        if address.startswith("ghost@"):
            return Reply(550, "5.1.1 no such user")
        return None


def test_rcpt_rejected_by_plugin(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    server = make_smtp_server(plugins=[RejectGhosts()])
    client = smtp_client(server)
    refused = client.sendmail("app@example.com", ["bob@example.com", "ghost@example.com"], RAW)
    assert refused == {"ghost@example.com": (550, b"5.1.1 no such user")}
    [message] = server.messages
    assert message.recipients == ("bob@example.com",)
    assert not server.store.has_account("ghost@example.com")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        client.sendmail("app@example.com", ["ghost@example.com"], RAW)
    assert info.value.recipients == {"ghost@example.com": (550, b"5.1.1 no such user")}
    assert len(server.messages) == 1


def test_data_rejected_by_plugin(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    class RejectSpam:
        @hookimpl
        def fakemail_smtp_data(self, raw: bytes) -> Reply | None:
            return Reply(554, "5.7.1 looks like spam") if b"SPAM" in raw else None

    server = make_smtp_server(plugins=[RejectSpam()])
    client = smtp_client(server)
    with pytest.raises(smtplib.SMTPDataError) as info:
        client.sendmail("app@example.com", ["bob@example.com"], b"Subject: SPAM\r\n\r\nx\r\n")
    assert (info.value.smtp_code, info.value.smtp_error) == (554, b"5.7.1 looks like spam")
    assert server.messages == ()
    assert not server.store.has_account("bob@example.com")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert [m.subject for m in server.messages] == ["hooks"]


def test_mail_from_rejected_and_accepted_with_custom_replies(
    make_smtp_server: MakeServer, smtp_client: SmtpClient
) -> None:
    senders: list[tuple[str, tuple[str, ...]]] = []

    class Senders:
        @hookimpl
        def fakemail_smtp_mail_from(self, address: str, options: Sequence[str]) -> Reply:
            senders.append((address, tuple(options)))
            if address.endswith("@blocked.example"):
                return Reply(550, "5.7.1 sender blocked\nsee policy")
            return Reply(250, "2.1.0 sender welcome")

    server = make_smtp_server(plugins=[Senders()])
    client = smtp_client(server)
    client.ehlo()
    assert client.mail("x@blocked.example") == (550, b"5.7.1 sender blocked\nsee policy")
    assert client.mail("", ["BODY=8BITMIME"]) == (250, b"2.1.0 sender welcome")
    assert client.rcpt("bob@example.com")[0] == 250
    assert client.data(RAW)[0] == 250
    assert senders == [("x@blocked.example", ()), ("", ("BODY=8BITMIME",))]
    assert server.messages[0].sender == ""


def test_plugin_error_gives_451_and_is_reraised(
    make_smtp_server: MakeServer, smtp_client: SmtpClient
) -> None:
    failure = RuntimeError("plugin bug")

    class Broken:
        @hookimpl
        def fakemail_smtp_data(self, raw: bytes) -> None:
            if b"boom" in raw:
                raise failure

    server = make_smtp_server(plugins=[Broken()])
    client = smtp_client(server)
    with pytest.raises(smtplib.SMTPDataError) as info:
        client.sendmail("app@example.com", ["bob@example.com"], b"Subject: boom\r\n\r\nx\r\n")
    assert info.value.smtp_code == 451
    assert info.value.smtp_error.startswith(b"4.3.0 ")
    assert server.messages == ()
    # The server and even the same session go on.
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert len(server.messages) == 1
    with pytest.raises(ServerError) as raised:
        server.check()
    assert raised.value.__cause__ is failure
    assert "plugin bug" in str(raised.value)
    server.check()  # reported once


def test_errors_in_mail_and_rcpt_hooks(
    make_smtp_server: MakeServer, smtp_client: SmtpClient
) -> None:
    class Broken:
        @hookimpl
        def fakemail_smtp_mail_from(self, address: str) -> None:
            if address.startswith("bad"):
                raise ValueError("in mail from")

        @hookimpl
        def fakemail_smtp_rcpt_to(self, address: str) -> None:
            if address.startswith("bad"):
                raise KeyError("in rcpt to")

    server = make_smtp_server(plugins=[Broken()])
    client = smtp_client(server)
    client.ehlo()
    assert client.mail("bad@example.com")[0] == 451
    assert client.mail("good@example.com")[0] == 250
    assert client.rcpt("bad@example.com")[0] == 451
    assert client.rcpt("bob@example.com")[0] == 250
    assert client.data(RAW)[0] == 250
    assert server.messages[0].recipients == ("bob@example.com",)
    with pytest.raises(ServerError, match=r"\(and 1 more\)") as raised:
        server.check()
    assert isinstance(raised.value.__cause__, ValueError)


def test_route_to_another_mailbox(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    class Aliases:
        @hookimpl
        def fakemail_route(self, recipient: str, envelope: Envelope) -> list[str] | None:
            if recipient == "team@example.com":
                return ["alice@example.com", "bob@Example.com"]
            if recipient == "devnull@example.com":
                return []
            return None

    server = make_smtp_server(plugins=[Aliases()])
    recipients = ["team@example.com", "bob@example.com", "devnull@example.com"]
    smtp_client(server).sendmail("app@example.com", recipients, RAW)
    [message] = server.messages
    assert message.recipients == tuple(recipients)
    assert server.mailbox("alice@example.com").messages == (message,)
    assert server.mailbox("bob@example.com").messages == (message,)  # once, not twice
    assert server.store.accounts == ("alice@example.com", "bob@example.com")


def test_message_stored_called_once_per_message(
    make_smtp_server: MakeServer, smtp_client: SmtpClient
) -> None:
    stored: list[tuple[Message, tuple[str, ...], str]] = []

    class Listener:
        @hookimpl
        def fakemail_message_stored(self, message: Message, mailboxes: Sequence[str]) -> None:
            stored.append((message, tuple(mailboxes), threading.current_thread().name))

    server = make_smtp_server(plugins=[Listener()])
    client = smtp_client(server)
    client.sendmail("app@example.com", ["a@example.com", "B@EXAMPLE.com"], RAW)
    client.sendmail("app@example.com", ["c@example.com"], RAW)
    server.deliver(RAW, to="d@example.com")  # not an SMTP transaction: no notification
    assert [(m, boxes) for m, boxes, _ in stored] == [
        (server.messages[0], ("a@example.com", "B@example.com")),
        (server.messages[1], ("c@example.com",)),
    ]
    assert {thread for _, _, thread in stored} == {"fakemail-smtp"}


def test_failing_message_stored_keeps_the_message(
    make_smtp_server: MakeServer, smtp_client: SmtpClient
) -> None:
    class Broken:
        @hookimpl
        def fakemail_message_stored(self) -> None:
            raise RuntimeError("after the fact")

    server = make_smtp_server(plugins=[Broken()])
    reply = smtp_client(server).sendmail("app@example.com", ["bob@example.com"], RAW)
    assert reply == {}  # accepted: the client must not send it again
    assert len(server.messages) == 1
    with pytest.raises(ServerError, match="after the fact"):
        server.check()


def test_hooks_see_the_session(make_smtp_server: MakeServer, smtp_client: SmtpClient) -> None:
    seen: list[SmtpSessionInfo] = []

    class Spy:
        @hookimpl
        def fakemail_smtp_data(self, session: SmtpSessionInfo, envelope: Envelope) -> None:
            seen.append(session)
            assert envelope.auth_user == session.auth_user

    server = make_smtp_server(plugins=[Spy()])
    client = smtp_client(server)
    client.ehlo("hooked.example")
    client.starttls(context=server.client_ssl_context())
    client.ehlo("hooked.example")
    client.login("app@example.com", "pw")
    client.sendmail("app@example.com", ["bob@example.com"], RAW)
    [session] = seen
    assert session.helo == "hooked.example"
    assert session.is_tls
    assert session.auth_user == "app@example.com"
    assert session.peer == client.sock.getsockname()


def test_temporary_plugin_applies_until_reset(
    smtp_server: MailServer, smtp_client: SmtpClient
) -> None:
    smtp_server.add_plugin(RejectGhosts(), temporary=True)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp_client(smtp_server).sendmail("a@example.com", ["ghost@example.com"], RAW)
    smtp_server.reset()
    smtp_client(smtp_server).sendmail("a@example.com", ["ghost@example.com"], RAW)
    assert len(smtp_server.messages) == 1


def test_server_life_cycle_hooks(make_smtp_server: MakeServer) -> None:
    calls: list[tuple[str, Any]] = []

    class LifeCycle:
        @hookimpl
        def fakemail_server_started(self, server: MailServer) -> None:
            calls.append(("started", server.is_running))

        @hookimpl
        def fakemail_server_stopping(self, server: MailServer) -> None:
            calls.append(("stopping", server.smtp))

    server = make_smtp_server(plugins=[LifeCycle()])
    endpoint = server.smtp
    server.stop()
    server.stop()
    assert calls == [("started", True), ("stopping", endpoint)]
