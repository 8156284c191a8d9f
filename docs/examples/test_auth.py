"""Authentication: accounts with passwords, required AUTH, required TLS."""

import poplib
import smtplib

import pytest

import fakemail
from fakemail import User

USERS = {"app@example.com": "s3cret"}
RAW = b"Subject: Hello\r\n\r\nHi.\r\n"


def test_any_password_works_by_default(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.login("whoever@example.com", "whatever")
        client.sendmail("whoever@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent().envelope.auth_user == "whoever@example.com"


@pytest.mark.fakemail(users=USERS, require_auth=True)
def test_app_authenticates(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.login("app@example.com", "s3cret")  # smtplib picks CRAM-MD5 here
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent(to="bob@example.com").envelope.auth_user == "app@example.com"


@pytest.mark.fakemail(users=USERS, require_auth=True)
def test_mail_without_auth_is_refused(fakemail):
    with (
        smtplib.SMTP(*fakemail.smtp, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert refused.value.smtp_code == 530
    fakemail.assert_not_sent()


@pytest.mark.fakemail(users=[User("alice@example.com", "s3cret", login="alice")])
def test_login_name_other_than_the_address(fakemail):
    fakemail.deliver(RAW, to="alice@example.com")

    client = poplib.POP3(*fakemail.pop3, timeout=10)
    client.user("alice")  # not the address: the login name opens alice@example.com's mail
    client.pass_("s3cret")
    assert client.stat()[0] == 1
    client.quit()


def test_add_a_user_at_run_time(fakemail):
    fakemail.add_user("app@example.com", "s3cret", login="app")  # until the test ends
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.login("app", "s3cret")
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent().envelope.auth_user == "app"


@pytest.mark.fakemail(require_auth=True, auth_accept_any=True)
def test_auth_required_any_credentials(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.login("app@example.com", "whatever the app is configured with")
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent().envelope.auth_user == "app@example.com"


@pytest.mark.fakemail(users=USERS)
def test_wrong_password(fakemail):
    with (
        smtplib.SMTP(*fakemail.smtp, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as failed,
    ):
        client.login("app@example.com", "wrong")
    assert failed.value.smtp_code == 535


@pytest.mark.fakemail(users=USERS)
def test_choose_the_mechanism(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["CRAM-MD5", "LOGIN", "PLAIN"]
        client.user, client.password = "app@example.com", "s3cret"
        client.auth("PLAIN", client.auth_plain)


@pytest.mark.fakemail(require_tls=True)
def test_auth_only_after_starttls(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        client.starttls(context=fakemail.client_ssl_context())
        client.ehlo()
        assert client.has_extn("auth")
        client.login("app@example.com", "anything")


@pytest.mark.fakemail(users={"bob@example.com": "hunter2"})
def test_pop3_apop(fakemail):
    fakemail.deliver(RAW, to="bob@example.com")

    client = poplib.POP3(*fakemail.pop3, timeout=10)
    client.apop("bob@example.com", "hunter2")  # MD5 of the greeting's timestamp + password
    assert client.stat()[0] == 1
    client.quit()


@pytest.mark.fakemail(require_tls=True)
def test_pop3_plaintext_login_needs_tls(fakemail):
    client = poplib.POP3(*fakemail.pop3, timeout=10)
    assert "USER" not in client.capa()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.user("bob@example.com")
    client.quit()


class SharedPassword:
    """Every account's password is "letmein"; whatever the mechanism, verify() checks it."""

    @fakemail.hookimpl
    def fakemail_authenticate(self, credentials):
        return credentials.verify("letmein")


@pytest.mark.fakemail(require_auth=True, plugins=[SharedPassword()])
def test_custom_credential_check(fakemail):
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.login("anyone@example.com", "letmein")  # CRAM-MD5: no password on the wire
        client.sendmail("anyone@example.com", ["bob@example.com"], RAW)

    fakemail.assert_sent(to="bob@example.com")
