"""Pointing an app at fakemail through its own configuration."""

import os
import smtplib


def notify_admin(text: str) -> None:
    """An app configured by environment variables, as twelve-factor apps are."""
    host, port = os.environ["MYAPP_SMTP_HOST"], int(os.environ["MYAPP_SMTP_PORT"])
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("app@example.com", ["admin@example.com"], f"Subject: {text}\r\n\r\n")


def test_app_configured_by_environment(fakemail, monkeypatch):
    for name, value in fakemail.env(prefix="MYAPP_").items():
        monkeypatch.setenv(name, value)

    notify_admin("Disk full")

    fakemail.assert_sent(to="admin@example.com", subject="Disk full")


def test_env_names(fakemail):
    env = fakemail.env()
    assert env["SMTP_HOST"] == fakemail.smtp.host
    assert env["SMTP_PORT"] == str(fakemail.smtp.port)
    assert env["MAIL_CA_FILE"] == str(fakemail.ca_path)
