"""Helpers for the plugin tests: each test writes a test file and runs pytest on it (pytester)."""

from __future__ import annotations

import textwrap

import pytest

from fakemail._tls import certificates

#: A module the inner test files import: how an app under test would send mail.
MAILHELPERS = textwrap.dedent(
    """
    import smtplib

    TIMEOUT = 30


    def raw_message(sender, to, subject, body):
        return (
            f"From: {sender}\\r\\nTo: {to}\\r\\nSubject: {subject}\\r\\n\\r\\n{body}\\r\\n"
        )


    def send(server, to="bob@example.com", subject="Welcome",
             body="Hi! Verify: https://example.com/verify?t=1", sender="app@example.com"):
        with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=TIMEOUT) as client:
            client.sendmail(sender, [to], raw_message(sender, to, subject, body))
    """
)


@pytest.fixture
def mailtester(pytester: pytest.Pytester) -> pytest.Pytester:
    """``pytester`` with a ``mailhelpers`` module next to the test files."""
    # In-process runs drop the modules they imported; the test certificates (and with them
    # the ``cryptography`` bindings, which break when imported twice) must come from here.
    certificates()
    pytester.makepyfile(mailhelpers=MAILHELPERS)
    return pytester
