"""Faults: test how an application handles a mail server that fails."""

import smtplib

import pytest

RAW = b"Subject: Receipt\r\n\r\nThanks for your order.\r\n"


def send_with_retry(endpoint, recipient, attempts=3):
    """The application code under test: retry temporary (4xx) failures, give up on 5xx."""
    for attempt in range(1, attempts + 1):
        try:
            with smtplib.SMTP(*endpoint, timeout=10) as client:
                client.sendmail("shop@example.com", [recipient], RAW)
            return attempt
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500 or attempt == attempts:
                raise
        except smtplib.SMTPRecipientsRefused as error:
            code = error.recipients[recipient][0]
            if code >= 500 or attempt == attempts:
                raise
        except smtplib.SMTPServerDisconnected:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


# --- retry on 4xx -------------------------------------------------------------------------


def test_retry_after_a_temporary_failure(fakemail):
    fakemail.fail("rcpt", 451)  # the next RCPT only (times=1)
    assert send_with_retry(fakemail.smtp, "alice@example.com") == 2
    fakemail.assert_sent(to="alice@example.com")


# --- bounce on 5xx ------------------------------------------------------------------------


@pytest.mark.fakemail(faults=["smtp:rcpt:550:code=5.1.1:address=*@bounce.test"])
def test_permanent_failure_is_not_retried(fakemail):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_with_retry(fakemail.smtp, "gone@bounce.test")
    assert fakemail.faults.rules[0].fired == 1  # one try, no retries
    fakemail.assert_not_sent()


# --- reconnect on drop --------------------------------------------------------------------


def test_reconnect_after_a_dropped_connection(fakemail):
    fakemail.faults.add("smtp:message:close:times=1")  # hang up instead of answering the dot
    assert send_with_retry(fakemail.smtp, "alice@example.com") == 2
    fakemail.assert_sent(to="alice@example.com")  # exactly once: the dropped try stored nothing
