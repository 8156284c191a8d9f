"""``@pytest.mark.fakemail(...)``: per-test options, restored after the test."""

from __future__ import annotations

import pytest


def test_options_apply_to_the_test_and_are_restored(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from mailhelpers import raw_message, send

        DEFAULT_SIZE = 25 * 1024 * 1024


        @pytest.mark.fakemail(require_auth=True, users={"app@example.com": "pw"})
        def test_require_auth(fakemail):
            assert fakemail.options.require_auth
            with pytest.raises(smtplib.SMTPSenderRefused) as info:
                send(fakemail)
            assert info.value.smtp_code == 530
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.login("app@example.com", "pw")
                client.sendmail("app@example.com", ["bob@example.com"],
                                raw_message("app@example.com", "bob@example.com", "auth", "x"))
            assert fakemail.assert_sent(subject="auth").envelope.auth_user == "app@example.com"


        def test_defaults_again(fakemail):
            assert not fakemail.options.require_auth
            assert fakemail.options.users == ()
            send(fakemail)
            assert fakemail.assert_sent().envelope.auth_user is None


        @pytest.mark.fakemail(users={"alice@example.com": "secret"})
        def test_users(fakemail):
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                with pytest.raises(smtplib.SMTPAuthenticationError):
                    client.login("alice@example.com", "wrong")
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.login("alice@example.com", "secret")


        def test_users_restored(fakemail):
            assert fakemail.options.users == ()
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.login("alice@example.com", "wrong")  # any password works again


        @pytest.mark.fakemail(require_tls=True)
        def test_require_tls(fakemail):
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                with pytest.raises(smtplib.SMTPSenderRefused) as info:
                    client.sendmail("app@example.com", ["bob@example.com"], "Subject: x\\r\\n")
                assert info.value.smtp_code == 530
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.starttls(context=fakemail.client_ssl_context())
                client.sendmail("app@example.com", ["bob@example.com"], "Subject: x\\r\\n\\r\\n")
            fakemail.assert_sent(subject="x")


        def test_require_tls_restored(fakemail):
            assert not fakemail.options.require_tls
            send(fakemail)


        @pytest.mark.fakemail(max_message_size=200)
        def test_size_limit(fakemail):
            with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as info:
                send(fakemail, body="x" * 500)
            assert info.value.smtp_code == 552
            fakemail.assert_not_sent()
            send(fakemail, body="short")


        def test_size_limit_restored(fakemail):
            assert fakemail.options.max_message_size == DEFAULT_SIZE
            send(fakemail, body="x" * 500)
        """
    )
    result = mailtester.runpytest("-v")
    result.assert_outcomes(passed=8)


def test_marker_plugins_are_temporary(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from fakemail import Reply, hookimpl
        from mailhelpers import send


        class RejectAll:
            @hookimpl
            def fakemail_smtp_mail_from(self, address):
                return Reply(550, "5.7.1 no mail today")


        @pytest.mark.fakemail(plugins=[RejectAll()])
        def test_rejected(fakemail):
            with pytest.raises(smtplib.SMTPSenderRefused) as info:
                send(fakemail)
            assert info.value.smtp_code == 550
            assert b"no mail today" in info.value.smtp_error


        def test_accepted_again(fakemail):
            send(fakemail)
            fakemail.assert_sent()


        def test_accepted_without_the_fixture_too(fakemail_server):
            send(fakemail_server)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)


def test_closest_marker_wins_and_plugins_accumulate(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest
        from fakemail import hookimpl

        pytestmark = pytest.mark.fakemail(max_message_size=1000, hostname="module.test")


        class Named:
            def __init__(self, name):
                self.name = name

            @hookimpl
            def fakemail_server_started(self, server):
                pass


        @pytest.mark.fakemail(
            require_auth=True, auth_accept_any=True, max_message_size=2000, plugins=[Named("cls")]
        )
        class TestGroup:
            @pytest.mark.fakemail(max_message_size=3000, plugins=[Named("fn")])
            def test_function_marker_wins(self, fakemail):
                options = fakemail.options
                assert options.max_message_size == 3000
                assert options.require_auth
                assert options.hostname == "module.test"
                plugins = fakemail._backend.plugins.manager.get_plugins()
                names = sorted(p.name for p in plugins if isinstance(p, Named))
                assert names == ["cls", "fn"]

            def test_class_marker(self, fakemail):
                assert fakemail.options.max_message_size == 2000
                assert fakemail.options.require_auth


        def test_module_marker(fakemail):
            assert fakemail.options.max_message_size == 1000
            assert not fakemail.options.require_auth
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)


def test_listener_options_give_a_dedicated_server(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest
        from mailhelpers import send

        dedicated = []


        @pytest.mark.fakemail(smtp_port=0, require_auth=False)
        def test_own_port(fakemail, fakemail_server):
            assert fakemail is not fakemail_server
            assert fakemail.smtp.port != fakemail_server.smtp.port
            send(fakemail)
            fakemail.assert_sent()
            assert fakemail_server.messages == ()
            dedicated.append(fakemail)


        @pytest.mark.fakemail(host="127.0.0.1", smtps_port=None, max_message_size=300)
        def test_own_host(fakemail, fakemail_server):
            assert fakemail is not fakemail_server
            assert fakemail.options.max_message_size == 300
            assert "smtps" not in fakemail.endpoints
            dedicated.append(fakemail)


        def test_dedicated_servers_were_stopped(fakemail):
            assert len(dedicated) == 2
            assert not any(server.is_running for server in dedicated)
            assert fakemail.is_running
            assert "smtps" in fakemail.endpoints
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)


def test_dedicated_server_does_not_start_the_session_server(mailtester: pytest.Pytester) -> None:
    # With fixed ports in the session options, a session server started alongside would
    # hold the port the dedicated server needs.
    mailtester.makeconftest(
        """
        import socket

        import pytest


        @pytest.fixture(scope="session")
        def fakemail_config(fakemail_config):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            return {**fakemail_config, "smtp_port": port, "smtps_port": None,
                    "imap_port": None, "imaps_port": None, "pop3_port": None,
                    "pop3s_port": None}
        """
    )
    mailtester.makepyfile(
        """
        import pytest
        from mailhelpers import send


        @pytest.mark.fakemail(host="127.0.0.1", require_auth=False)
        def test_dedicated(fakemail):
            send(fakemail)
            fakemail.assert_sent()
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1)


def test_dedicated_server_reports_thread_errors(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from fakemail import hookimpl
        from mailhelpers import send


        class Boom:
            @hookimpl
            def fakemail_smtp_rcpt_to(self, address):
                raise LookupError("no route")


        @pytest.mark.fakemail(smtp_port=0, plugins=[Boom()])
        def test_dedicated(fakemail):
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                send(fakemail)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_dedicated*",
            "*ServerError: error on a fakemail server thread: LookupError('no route')",
            "*- fakemail: transcripts -*",
            "C: rcpt TO:<bob@example.com>",
        ]
    )


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('"positional"', "*takes keyword options only, got positional ('positional',)*"),
        ("bogus_option=1", "*ConfigError: unknown option(s) bogus_option; known: *"),
        ("plugins=object()", "*plugins=...) takes a list, got <object object at *"),
        ("max_message_size=0", "*ConfigError: max_message_size must be positive, got 0*"),
        ("smtp_port=-1", "*ConfigError: smtp_port must be 0..65535 or None, got -1*"),
    ],
)
def test_bad_marker_is_a_setup_error(
    mailtester: pytest.Pytester, marker: str, message: str
) -> None:
    mailtester.makepyfile(
        f"""
        import pytest


        @pytest.mark.fakemail({marker})
        def test_bad(fakemail):
            pass


        def test_next_is_fine(fakemail):
            assert fakemail.options.max_message_size == 25 * 1024 * 1024
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_bad*", message])


def test_marker_is_registered(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest


        @pytest.mark.fakemail(require_auth=True, auth_accept_any=True)
        def test_marked(fakemail):
            assert fakemail.options.require_auth
        """
    )
    result = mailtester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)
    result = mailtester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.fakemail(*options, plugins=*): options for this test's fakemail server *"]
    )
