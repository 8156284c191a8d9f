"""fakemail without pytest: a unittest test case owns a MailServer."""

import smtplib
import unittest

from fakemail import MailServer


def send_welcome(host: str, port: int, address: str) -> None:
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("noreply@example.com", [address], b"Subject: Welcome\r\n\r\nHi!\r\n")


class WelcomeMailTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One server for the class: starting one costs a few milliseconds.
        cls.mail = MailServer().start()
        cls.addClassCleanup(cls.mail.stop)

    def setUp(self):
        self.mail.reset()  # empty store, default options
        self.addCleanup(self.mail.check)  # re-raise errors from server threads

    def test_welcome(self):
        send_welcome(*self.mail.smtp, "bob@example.com")
        # fakemail's assertions raise AssertionError: unittest reports a failure.
        self.mail.assert_sent(to="bob@example.com", subject="Welcome")

    def test_nothing_sent(self):
        self.mail.assert_not_sent()


if __name__ == "__main__":
    unittest.main()
