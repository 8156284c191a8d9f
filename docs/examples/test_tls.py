"""TLS: STARTTLS, implicit TLS and trusting the test CA."""

import poplib
import smtplib
import ssl

RAW = b"Subject: Secret\r\n\r\nFor your eyes only.\r\n"


def test_starttls(fakemail):
    context = fakemail.client_ssl_context()  # trusts the test CA, checks the host name
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.starttls(context=context)
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    message = fakemail.assert_sent(to="bob@example.com")
    assert message.envelope.is_tls


def test_smtps(fakemail):
    context = fakemail.client_ssl_context()
    with smtplib.SMTP_SSL(*fakemail.smtps, context=context, timeout=10) as client:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent(to="bob@example.com").envelope.is_tls


def test_pop3s(fakemail):
    fakemail.deliver(RAW, to="bob@example.com")

    client = poplib.POP3_SSL(*fakemail.pop3s, context=fakemail.client_ssl_context(), timeout=10)
    client.user("bob@example.com")
    client.pass_("any password")
    assert client.stat()[0] == 1
    client.quit()


def test_pop3_stls(fakemail):
    fakemail.deliver(RAW, to="bob@example.com")

    client = poplib.POP3(*fakemail.pop3, timeout=10)
    client.stls(context=fakemail.client_ssl_context())
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    client.user("bob@example.com")
    client.pass_("any password")
    assert client.stat()[0] == 1
    client.quit()


def test_ca_file_for_apps_configured_by_path(fakemail):
    # Apps that take a CA bundle path (or read SSL_CERT_FILE) get the same CA as a file.
    context = ssl.create_default_context(cafile=fakemail.ca_path)
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.starttls(context=context)
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent(to="bob@example.com").envelope.is_tls


def test_ssl_cert_file_environment_variable(fakemail, monkeypatch):
    # For an app that calls ssl.create_default_context() itself (Django 4+, for example).
    monkeypatch.setenv("SSL_CERT_FILE", str(fakemail.ca_path))
    with smtplib.SMTP(*fakemail.smtp, timeout=10) as client:
        client.starttls(context=ssl.create_default_context())
        client.sendmail("app@example.com", ["bob@example.com"], RAW)

    assert fakemail.assert_sent(to="bob@example.com").envelope.is_tls
