"""Plugins: hook implementations that reject, route and observe mail."""

import smtplib

import pytest

import fakemail
from fakemail import MailServer, Reply, ServerError

RAW = b"Subject: Hello\r\n\r\nHi.\r\n"


def send(endpoint, recipients):
    with smtplib.SMTP(*endpoint, timeout=10) as client:
        return client.sendmail("app@example.com", recipients, RAW)


# --- reject recipients ------------------------------------------------------------------


class RejectInvalidDomain:
    """Answer RCPT TO for *@invalid.example with a permanent failure."""

    @fakemail.hookimpl
    def fakemail_smtp_rcpt_to(self, address):
        if address.lower().endswith("@invalid.example"):
            return Reply(550, "5.1.1 No such user")
        return None  # abstain: the default accepts


@pytest.mark.fakemail(plugins=[RejectInvalidDomain()])
def test_bounced_recipient(fakemail):
    refused = send(fakemail.smtp, ["bob@example.com", "nobody@invalid.example"])

    assert refused == {"nobody@invalid.example": (550, b"5.1.1 No such user")}
    assert fakemail.assert_sent().recipients == ("bob@example.com",)


# --- route ------------------------------------------------------------------------------


class TeamAlias:
    """Deliver mail for team@example.com to each member's mailbox instead."""

    @fakemail.hookimpl
    def fakemail_route(self, recipient):
        if recipient.lower() == "team@example.com":
            return ["alice@example.com", "bob@example.com"]
        return None


@pytest.mark.fakemail(plugins=[TeamAlias()])
def test_alias_expands_to_mailboxes(fakemail):
    send(fakemail.smtp, ["team@example.com"])

    # One transaction, addressed to the alias...
    assert fakemail.assert_sent().recipients == ("team@example.com",)
    # ...and one copy in each member's INBOX; the alias itself has no account.
    assert len(fakemail.mailbox("alice@example.com").messages) == 1
    assert len(fakemail.mailbox("bob@example.com").messages) == 1
    assert not fakemail.store.has_account("team@example.com")


# --- observe, for every test of a module --------------------------------------------------


class Recorder:
    """Collects (subject, mailboxes) for each stored message."""

    def __init__(self):
        self.stored = []

    @fakemail.hookimpl
    def fakemail_message_stored(self, message, mailboxes):
        self.stored.append((message.subject, tuple(mailboxes)))


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def fakemail_plugins(recorder):
    # Overrides fakemail's fixture of the same name: every test here gets a fresh Recorder.
    return [recorder]


def test_recorder_sees_each_stored_message(fakemail, recorder):
    send(fakemail.smtp, ["bob@example.com", "carol@example.com"])

    # The hook ran before the server answered 250, so there is no need to wait.
    assert recorder.stored == [("Hello", ("bob@example.com", "carol@example.com"))]


# --- a failing plugin fails the test ------------------------------------------------------


class Broken:
    @fakemail.hookimpl
    def fakemail_smtp_data(self):
        raise RuntimeError("bug in the plugin")


def test_plugin_errors_are_reraised():
    with MailServer(plugins=[Broken()]) as server:
        with pytest.raises(smtplib.SMTPDataError) as answer:
            send(server.smtp, ["bob@example.com"])
        assert answer.value.smtp_code == 451  # the client sees a temporary failure

        with pytest.raises(ServerError) as error:
            server.check()  # the fakemail fixture does this at teardown
        assert isinstance(error.value.__cause__, RuntimeError)
