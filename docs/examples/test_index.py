import smtplib


def test_welcome_mail(fakemail):
    with smtplib.SMTP(*fakemail.smtp) as client:  # the app under test would do this
        client.sendmail(
            "app@example.com",
            ["bob@example.com"],
            b"Subject: Welcome\r\n\r\nClick https://example.com/verify?t=1\r\n",
        )

    message = fakemail.assert_sent(to="bob@example.com", subject="Welcome")
    assert message.links == ("https://example.com/verify?t=1",)
