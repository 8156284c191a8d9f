"""The plugin costs nothing to a run that never asks for a mail server: loading it imports
the pytest glue and option checks only; the servers come with the first fakemail fixture."""

from __future__ import annotations

import pytest

#: Modules a run without fakemail fixtures must not import (trio itself is checked with
#: pytest-trio and anyio's plugin disabled, since both import it: anyio comes with starlette).
HEAVY = (
    "trio",
    "aiosmtpd",
    "trustme",
    "fakemail._server",
    "fakemail._triohost",
    "fakemail._smtp",
    "fakemail._imap",
    "fakemail._pop3",
    "fakemail._store",
    "fakemail._message",
    "fakemail._matching",
)

CONFTEST = f"""
import sys

def pytest_sessionfinish(session):
    loaded = [name for name in {HEAVY!r} if name in sys.modules]
    print("HEAVY:", loaded)
"""


def test_a_run_without_fakemail_fixtures_imports_no_server(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nfakemail_require_tls = true\n")  # option checks still run
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fakemail(require_auth=True)
        def test_marked_but_not_using_it():
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-s", "-p", "no:trio", "-p", "no:anyio", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r".*HEAVY: \[\]$"])
    # The marker and options are registered all the same.
    result = pytester.runpytest_subprocess("--markers", "-p", "no:trio")
    result.stdout.fnmatch_lines(["@pytest.mark.fakemail(**options, plugins=*"])
    result = pytester.runpytest_subprocess("--help", "-p", "no:trio")
    result.stdout.fnmatch_lines(["*--fakemail-require-auth*"])


def test_bad_options_are_still_refused_at_start(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nfakemail_max_message_size = x\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:trio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*fakemail: max_message_size must be a number, got 'x'*"])


def test_the_first_fixture_brings_the_server(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import smtplib

        def test_no_server():
            pass

        def test_sends(fakemail):
            with smtplib.SMTP(*fakemail.smtp, timeout=30) as client:
                client.sendmail("a@example.com", ["b@example.com"], b"Subject: x\\r\\n\\r\\n")
            fakemail.assert_sent(to="b@example.com")
        """
    )
    result = pytester.runpytest_subprocess(
        "-s", "-p", "no:trio", "-p", "no:anyio", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    result.stdout.re_match_lines([r".*HEAVY: \[.*'aiosmtpd', .*'fakemail._server', .*\]$"])
