"""Mistakes in a test's set-up or calls are one clear line, without fakemail's frames:
options (require_auth without users), ports taken, counts given where filters belong."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests._helpers import TIMEOUT


def test_require_auth_without_users_is_a_one_line_setup_error(
    mailtester: pytest.Pytester,
) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from mailhelpers import send


        @pytest.mark.fakemail(require_auth=True)
        def test_forgot_the_users(fakemail):
            pass


        @pytest.mark.fakemail(require_auth=True, auth_accept_any=True)
        def test_any_login_will_do(fakemail):
            with pytest.raises(smtplib.SMTPSenderRefused):
                send(fakemail)
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.login("app@example.com", "whatever")
                client.sendmail("app@example.com", ["bob@example.com"], "Subject: x\\r\\n\\r\\n")
            fakemail.assert_sent(to="bob@example.com")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_forgot_the_users*",
            "fakemail.ConfigError: require_auth without users would refuse every login: give "
            "users (fakemail serve --user), or auth_accept_any=True (--auth-accept-any) to "
            "require AUTH and accept any credentials",
            "*= short test summary info =*",
        ]
    )
    result.stdout.no_fnmatch_line("*_server.py*")


def test_port_taken_is_a_one_line_setup_error_with_an_xdist_hint(
    mailtester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")  # what a worker sees
    mailtester.makepyfile(
        """
        import socket

        import pytest

        TAKEN = socket.socket()
        TAKEN.bind(("127.0.0.1", 0))
        TAKEN.listen()
        PORT = TAKEN.getsockname()[1]


        def teardown_module():
            TAKEN.close()


        @pytest.mark.fakemail(smtp_port=PORT)
        def test_fixed_port(fakemail):
            pass
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_fixed_port*",
            "fakemail.PortInUse: cannot listen for smtp on 127.0.0.1:*: address already in use "
            "(smtp_port=0 picks a free port); under pytest-xdist every worker runs its own "
            "server, so a fixed port is taken by the first (see the xdist how-to)",
            "*= short test summary info =*",
        ]
    )
    result.stdout.no_fnmatch_line("*_bind*")


def test_a_filter_given_as_the_count(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        def test_wait(fakemail):
            fakemail.wait_for("bob@example.com")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '>       fakemail.wait_for("bob@example.com")',
            "E       fakemail.ConfigError: wait_for() takes a number of messages, got "
            "'bob@example.com'; filters are keywords: wait_for(to='bob@example.com')",
        ]
    )
    result.stdout.no_fnmatch_line("*_server.py*")


def test_unittest_failures_show_one_fakemail_frame(tmp_path: Path) -> None:
    test_file = tmp_path / "test_mail.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import unittest

            from fakemail import MailServer


            class Mail(unittest.TestCase):
                def test_not_sent(self):
                    with MailServer(imap_port=None, imaps_port=None, pop3_port=None,
                                    pop3s_port=None) as server:
                        server.assert_not_sent()  # passes
                        server.assert_sent(to="bob@example.com")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "unittest", "test_mail"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 6,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    assert len(frames) == 2, result.stderr
    assert frames[0].endswith("in test_not_sent")
    assert "_server.py" not in result.stderr
    assert "fakemail.MailAssertionError: expected 1 matching message(s), found 0" in lines
