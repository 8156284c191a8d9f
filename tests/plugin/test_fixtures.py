"""The ``fakemail`` and ``fakemail_server`` fixtures, run through pytester."""

from __future__ import annotations

import pytest


def test_user_example_passes(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib


        def send_signup_mail(host, port):
            with smtplib.SMTP(host, port, timeout=30) as client:
                client.sendmail(
                    "app@example.com",
                    ["bob@example.com"],
                    b"Subject: Welcome\\r\\n\\r\\nClick https://example.com/verify?t=1\\r\\n",
                )


        def test_signup(fakemail):
            send_signup_mail(host=fakemail.smtp.host, port=fakemail.smtp.port)
            msg = fakemail.assert_sent(to="bob@example.com", subject="Welcome")
            assert msg.links
            assert msg.links == ("https://example.com/verify?t=1",)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1)


def test_each_test_gets_a_clean_store_on_the_same_server(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send

        seen = []


        def test_first(fakemail, fakemail_server):
            assert fakemail is fakemail_server
            send(fakemail)
            assert len(fakemail.messages) == 1
            assert fakemail.transcripts
            fakemail.mailbox("carol@example.com")
            seen.append((fakemail, fakemail.smtp))


        def test_second(fakemail):
            assert fakemail.messages == ()
            assert fakemail.transcripts == ()
            assert fakemail.mailbox("bob@example.com").inbox.messages == ()
            send(fakemail, to="dave@example.com")
            assert [m.recipients for m in fakemail.messages] == [("dave@example.com",)]
            seen.append((fakemail, fakemail.smtp))


        def test_same_server_throughout():
            (first, first_smtp), (second, second_smtp) = seen
            assert first is second
            assert first_smtp == second_smtp
            assert first.is_running
        """
    )
    result = mailtester.runpytest("-v")
    result.assert_outcomes(passed=3)


def test_fakemail_server_is_session_scoped_and_shared(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send

        servers = []


        def test_a(fakemail_server):
            servers.append(fakemail_server)
            send(fakemail_server)


        def test_b(fakemail_server):
            # Without the fakemail fixture nothing is reset: the mail is still there.
            servers.append(fakemail_server)
            assert len(fakemail_server.messages) == 1


        def test_c(fakemail):
            assert fakemail is servers[0] is servers[1]
            assert fakemail.messages == ()
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)


def test_server_starts_lazily_and_nothing_is_autouse(mailtester: pytest.Pytester) -> None:
    # A subprocess, so that no server thread of another (in-process) run can be seen.
    mailtester.makepyfile(
        """
        import threading


        def fakemail_threads():
            return sorted(t.name for t in threading.enumerate() if t.name.startswith("fakemail"))


        def test_before(request):
            assert "fakemail" not in request.fixturenames
            assert fakemail_threads() == []


        def test_uses_it(fakemail):
            assert fakemail.is_running
            assert fakemail_threads() != []


        def test_after(request):
            # The session server lives on until the session ends.
            assert fakemail_threads() != []
        """
    )
    result = mailtester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_plugin_can_be_disabled(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        def test_uses_it(fakemail):
            pass
        """
    )
    result = mailtester.runpytest("-p", "no:fakemail")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'fakemail' not found*"])

    result = mailtester.runpytest("-p", "no:fakemail", "--fakemail-require-auth")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --fakemail-require-auth*"])


def test_connection_helpers(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib
        import ssl
        from pathlib import Path

        from mailhelpers import raw_message


        def test_env_and_endpoints(fakemail):
            env = fakemail.env()
            assert env["SMTP_HOST"] == fakemail.smtp.host == "127.0.0.1"
            assert env["SMTP_PORT"] == str(fakemail.smtp.port)
            assert env["SMTPS_PORT"] == str(fakemail.smtps.port)
            assert Path(env["MAIL_CA_FILE"]) == fakemail.ca_path
            assert b"BEGIN CERTIFICATE" in Path(env["MAIL_CA_FILE"]).read_bytes()
            for name, endpoint in fakemail.endpoints.items():
                assert env[f"{name.upper()}_PORT"] == str(endpoint.port)
            prefixed = fakemail.env(prefix="APP_")
            assert prefixed["APP_SMTP_PORT"] == env["SMTP_PORT"]
            assert fakemail.smtp.url("smtp") == f"smtp://127.0.0.1:{fakemail.smtp.port}"


        def test_implicit_tls_with_the_ca_file(fakemail):
            env = fakemail.env()
            context = ssl.create_default_context(cafile=env["MAIL_CA_FILE"])
            with smtplib.SMTP_SSL(
                "localhost", int(env["SMTPS_PORT"]), context=context, timeout=30
            ) as client:
                client.sendmail(
                    "app@example.com", ["bob@example.com"],
                    raw_message("app@example.com", "bob@example.com", "tls", "x"),
                )
            assert fakemail.assert_sent(subject="tls").envelope.is_tls


        def test_starttls_with_the_client_context(fakemail):
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.starttls(context=fakemail.client_ssl_context())
                client.sendmail(
                    "app@example.com", ["bob@example.com"],
                    raw_message("app@example.com", "bob@example.com", "starttls", "x"),
                )
            assert fakemail.assert_sent(subject="starttls").envelope.is_tls
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)


def test_fakemail_plugins_fixture_applies_to_each_test(mailtester: pytest.Pytester) -> None:
    mailtester.makeconftest(
        """
        import pytest
        from fakemail import Reply, hookimpl


        class RejectBlocked:
            @hookimpl
            def fakemail_smtp_rcpt_to(self, address):
                if address.startswith("blocked@"):
                    return Reply(550, "5.1.1 blocked by the test plugin")
                return None


        @pytest.fixture
        def fakemail_plugins():
            return [RejectBlocked()]
        """
    )
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from mailhelpers import send


        def test_rejected(fakemail):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
                send(fakemail, to="blocked@example.com")
            assert info.value.recipients["blocked@example.com"][0] == 550
            send(fakemail, to="fine@example.com")
            fakemail.assert_sent(to="fine@example.com")
            fakemail.assert_not_sent(to="blocked@example.com")


        def test_rejected_again(fakemail):
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                send(fakemail, to="blocked@example.com")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=2)


def test_server_thread_error_is_raised_at_teardown(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from fakemail import hookimpl
        from mailhelpers import send


        class Boom:
            @hookimpl
            def fakemail_smtp_data(self, envelope):
                raise ValueError("boom in the data hook")


        @pytest.mark.fakemail(plugins=[Boom()])
        def test_hook_raises(fakemail):
            with pytest.raises(smtplib.SMTPDataError) as info:
                send(fakemail)
            assert info.value.smtp_code == 451
            # The test body passes; the error is reported at teardown.


        def test_next_is_clean(fakemail):
            send(fakemail)
            fakemail.assert_sent(to="bob@example.com")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_hook_raises*",
            "*ValueError: boom in the data hook",
            "*direct cause of the following exception*",
            "*ServerError: error on a fakemail server thread: ValueError('boom in the data hook')",
            "*- fakemail: captured mail -*",
            "*(no messages captured)",
            "*- fakemail: transcripts -*",
            "C: data",
            "*S: 451 *",
        ]
    )


def test_error_after_a_test_ended_is_raised_in_the_next_setup(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from fakemail import hookimpl
        from mailhelpers import send


        class Boom:
            @hookimpl
            def fakemail_smtp_rcpt_to(self, address):
                raise KeyError(address)


        def test_direct_use_leaves_an_error(fakemail_server):
            # fakemail_server does not check errors per test.
            fakemail_server.add_plugin(Boom(), temporary=True)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                send(fakemail_server)


        def test_next(fakemail):
            pass


        def test_after_that(fakemail):
            # The plugin was removed and the error reported once.
            send(fakemail)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_next*",
            "*KeyError: 'bob@example.com'",
            "*ServerError: error on a fakemail server thread: KeyError('bob@example.com')"
            " (raised after an earlier test ended, before this one started)",
        ]
    )


def test_error_left_at_the_end_of_the_session_is_not_lost(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from fakemail import hookimpl
        from mailhelpers import send


        class Boom:
            @hookimpl
            def fakemail_smtp_mail_from(self, address):
                raise RuntimeError("late")


        def test_last(fakemail_server):
            fakemail_server.add_plugin(Boom(), temporary=True)
            with pytest.raises(smtplib.SMTPSenderRefused):
                send(fakemail_server)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_last*", "*ServerError: *RuntimeError('late')*"]
    )


def test_reading_app_example(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import imaplib
        import poplib

        import pytest

        MAIL = "From: alice@example.com\\r\\nSubject: Invoice\\r\\n\\r\\nPlease pay.\\r\\n"


        def fetch_subjects_pop3(host, port, user, password):
            client = poplib.POP3(host, port, timeout=30)
            try:
                client.user(user)
                client.pass_(password)
                count, _ = client.stat()
                subjects = []
                for number in range(1, count + 1):
                    for line in client.retr(number)[1]:
                        if line.startswith(b"Subject: "):
                            subjects.append(line[9:].decode())
                client.dele(1)
                return subjects
            finally:
                client.quit()


        def test_pop3_reader(fakemail):
            fakemail.deliver(MAIL, to="bob@example.com")
            subjects = fetch_subjects_pop3(*fakemail.pop3, "bob@example.com", "any")
            assert subjects == ["Invoice"]
            assert fakemail.mailbox("bob@example.com").inbox.messages == ()


        @pytest.mark.fakemail(imap_port=0)  # a listener option: a dedicated server
        def test_imap_reader(fakemail):
            fakemail.deliver(MAIL, to="bob@example.com")
            with imaplib.IMAP4(*fakemail.imap, timeout=30) as client:
                client.login("bob@example.com", "any")
                client.select("INBOX")
                _, data = client.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
                assert b"Subject: Invoice" in data[0][1]
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=2)
