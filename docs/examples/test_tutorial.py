"""The tutorial's first tests: an app sends mail over SMTP; the test asserts on what arrived."""

import smtplib
import threading
from email.message import EmailMessage

# --- the app under test -----------------------------------------------------------------


def send_welcome(smtp_host: str, smtp_port: int, address: str) -> None:
    """What a real app does on sign-up: build a message and hand it to an SMTP server."""
    message = EmailMessage()
    message["From"] = "Example App <noreply@example.com>"
    message["To"] = address
    message["Subject"] = "Welcome to Example"
    link = "https://example.com/confirm?token=abc123"
    message.set_content(f"Thanks for signing up.\n\nConfirm your address: {link}\n")
    with smtplib.SMTP(smtp_host, smtp_port, timeout=10) as client:
        client.send_message(message)


# --- the tests --------------------------------------------------------------------------


def test_welcome_mail(fakemail):
    send_welcome(fakemail.smtp.host, fakemail.smtp.port, "bob@example.com")

    message = fakemail.assert_sent(to="bob@example.com", subject="Welcome to Example")
    assert message.from_ == "noreply@example.com"
    assert message.links == ("https://example.com/confirm?token=abc123",)


def test_welcome_mail_sent_in_background(fakemail):
    # The app sends from a worker thread: the test must wait for the mail, not assume it.
    worker = threading.Thread(target=send_welcome, args=(*fakemail.smtp, "carol@example.com"))
    worker.start()

    [message] = fakemail.wait_for(to="carol@example.com", timeout=10)
    assert "Confirm your address" in message.text

    worker.join()


def test_no_mail_to_anyone_else(fakemail):
    # The worker sends one welcome mail, to carol, and nothing to dave, whenever it runs.
    worker = threading.Thread(target=send_welcome, args=(*fakemail.smtp, "carol@example.com"))
    worker.start()

    fakemail.assert_no_mail(within=0.5, to="dave@example.com")

    worker.join()
