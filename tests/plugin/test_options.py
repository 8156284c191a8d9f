"""Session defaults: ``--fakemail-*`` flags, ``fakemail_*`` ini options, ``fakemail_config``."""

from __future__ import annotations

import pytest

USER_SYNTAX = "a user is ADDRESS:PASSWORD or ADDRESS,LOGIN:PASSWORD"
SHOW_OPTIONS = """
def test_show(fakemail):
    options = fakemail.options
    print("OPTIONS", options.require_auth, options.require_tls, options.max_message_size,
          [(u.address, u.login, u.password) for u in options.users], fakemail.smtp.host)
"""


def _shown(result: pytest.RunResult) -> str:
    lines = [line[line.index("OPTIONS ") :] for line in result.outlines if "OPTIONS " in line]
    assert len(lines) == 1, result.outlines
    return lines[0]


def test_defaults(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(SHOW_OPTIONS)
    result = mailtester.runpytest("-s")
    result.assert_outcomes(passed=1)
    assert _shown(result) == "OPTIONS False False 26214400 [] 127.0.0.1"


def test_command_line_flags(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(SHOW_OPTIONS)
    result = mailtester.runpytest(
        "-s",
        "--fakemail-require-auth",
        "--fakemail-require-tls",
        "--fakemail-max-message-size=4096",
        "--fakemail-user=alice@example.com:secret",
        "--fakemail-user",
        "bob@example.com,bob:pass:word",
        "--fakemail-host=127.0.0.1",
    )
    result.assert_outcomes(passed=1)
    assert _shown(result) == (
        "OPTIONS True True 4096 [('alice@example.com', None, 'secret'), "
        "('bob@example.com', 'bob', 'pass:word')] 127.0.0.1"
    )


def test_ini_options(mailtester: pytest.Pytester) -> None:
    mailtester.makeini(
        """
        [pytest]
        fakemail_require_auth = true
        fakemail_require_tls = yes
        fakemail_max_message_size = 2048
        fakemail_host = 127.0.0.1
        fakemail_users =
            alice@example.com:secret
            carol@example.com:
        """
    )
    mailtester.makepyfile(SHOW_OPTIONS)
    result = mailtester.runpytest("-s", "--strict-config")
    result.assert_outcomes(passed=1)
    assert _shown(result) == (
        "OPTIONS True True 2048 [('alice@example.com', None, 'secret'), "
        "('carol@example.com', None, '')] 127.0.0.1"
    )


def test_flags_override_ini(mailtester: pytest.Pytester) -> None:
    mailtester.makeini(
        """
        [pytest]
        fakemail_max_message_size = 2048
        fakemail_users = alice@example.com:from-ini
        """
    )
    mailtester.makepyfile(SHOW_OPTIONS)
    result = mailtester.runpytest(
        "-s", "--fakemail-max-message-size=999", "--fakemail-user=dave@example.com:flag"
    )
    result.assert_outcomes(passed=1)
    assert (
        _shown(result) == "OPTIONS False False 999 [('dave@example.com', None, 'flag')] 127.0.0.1"
    )


def test_session_defaults_apply_to_every_test_and_markers_override(
    mailtester: pytest.Pytester,
) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from mailhelpers import send


        def test_auth_required(fakemail):
            with pytest.raises(smtplib.SMTPSenderRefused) as info:
                send(fakemail)
            assert info.value.smtp_code == 530


        @pytest.mark.fakemail(require_auth=False)
        def test_marker_overrides(fakemail):
            send(fakemail)


        def test_session_default_is_back(fakemail):
            assert fakemail.options.require_auth
            assert [u.address for u in fakemail.options.users] == ["alice@example.com"]
        """
    )
    result = mailtester.runpytest(
        "--fakemail-require-auth", "--fakemail-user=alice@example.com:secret"
    )
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--fakemail-user=bob"], "", f"{USER_SYNTAX}, got 'bob'"),
        (["--fakemail-user=:secret"], "", f"{USER_SYNTAX}, got ':secret'"),
        (["--fakemail-user=a@x.org,:secret"], "", f"{USER_SYNTAX}, got 'a@x.org,:secret'"),
        ([], "fakemail_users = carol", f"{USER_SYNTAX}, got 'carol'"),
        ([], "fakemail_max_message_size = big", "max_message_size must be a number, got 'big'"),
        (["--fakemail-max-message-size=-5"], "", "max_message_size must be positive, got -5"),
        (["--fakemail-max-message-size=0"], "", "max_message_size must be positive, got 0"),
        (["--fakemail-host=127.0.0.1", "--fakemail-user=a"], "", "*got 'a'"),
    ],
)
def test_bad_values_are_usage_errors(
    mailtester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    if ini:
        mailtester.makeini(f"[pytest]\n{ini}\n")
    mailtester.makepyfile(SHOW_OPTIONS)
    result = mailtester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: fakemail: {message}"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_help_lists_the_options(mailtester: pytest.Pytester) -> None:
    result = mailtester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "fakemail test mail server:",
            "*--fakemail-host=FAKEMAIL_HOST*",
            "*--fakemail-user=ADDRESS?,LOGIN?:PASSWORD*",  # fnmatch: [ opens a class
            "*--fakemail-require-auth*",
            "*--fakemail-require-tls*",
            "*--fakemail-max-message-size=FAKEMAIL_MAX_MESSAGE_SIZE*",
            "*fakemail_users (linelist):*",
        ]
    )


def test_fakemail_config_fixture_can_be_overridden(mailtester: pytest.Pytester) -> None:
    mailtester.makeconftest(
        """
        import pytest


        @pytest.fixture(scope="session")
        def fakemail_config(fakemail_config):
            return {**fakemail_config, "hostname": "mx.test", "smtps_port": None}
        """
    )
    mailtester.makepyfile(
        """
        import smtplib


        def test_greeting(fakemail):
            assert "smtps" not in fakemail.endpoints
            assert fakemail.options.max_message_size == 1234
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                code, banner = client.noop()
                assert code == 250
                assert client.ehlo()[1].startswith(b"mx.test")
        """
    )
    result = mailtester.runpytest("--fakemail-max-message-size=1234")
    result.assert_outcomes(passed=1)
