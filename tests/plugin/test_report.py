"""Failure reports: captured mail and transcripts sections, assertion messages."""

from __future__ import annotations

import pytest


def test_failed_test_report_has_mail_and_transcripts(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send


        def test_fails(fakemail):
            send(fakemail, to="bob@example.com", subject="Welcome")
            send(fakemail, to="carol@example.com", subject="Reset your password")
            assert False, "the app is broken"
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the app is broken*",
            "*- fakemail: captured mail -*",
            "#1 ??:??:?? from app@example.com to bob@example.com subject 'Welcome'",
            "#2 ??:??:?? from app@example.com to carol@example.com subject 'Reset your password'",
            "*- fakemail: transcripts -*",
            "--- smtp session #1 from 127.0.0.1:* at ??:??:??.???",
            "S: 220 localhost fakemail ESMTP",
            "C: mail FROM:<app@example.com> size=*",
            "C: Subject: Welcome",
            "S: 250 *",
            "",
            "--- smtp session #2 from 127.0.0.1:*",
            "*short test summary info*",
        ]
    )


def test_no_sections_when_passing_or_not_using_fakemail(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send


        def test_passes(fakemail):
            send(fakemail)


        def test_fails_without_fakemail():
            assert False


        def test_xfails(fakemail):
            import pytest
            pytest.xfail("expected")
        """
    )
    result = mailtester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    result.stdout.no_fnmatch_line("*fakemail: captured mail*")
    result.stdout.no_fnmatch_line("*fakemail: transcripts*")


def test_failure_without_mail_says_so(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        def test_fails(fakemail):
            assert fakemail.messages
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- fakemail: captured mail -*",
            "(no messages captured)",
            "*- fakemail: transcripts -*",
            "(no protocol sessions)",
        ]
    )


def test_report_shows_the_failing_test_mail_not_the_next_one(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send


        def test_fails(fakemail):
            send(fakemail, subject="from the failing test")
            assert False


        def test_passes_after(fakemail):
            send(fakemail, subject="from the next test")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["#1 * subject 'from the failing test'"])
    result.stdout.no_fnmatch_line("*from the next test*")


def test_assert_sent_failure_message(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send


        def test_wrong_recipient(fakemail):
            send(fakemail, to="bob@example.com", subject="Welcome")
            send(fakemail, to="carol@example.com", subject="Hello")
            fakemail.assert_sent(to="carol@example.com", subject="Welcome")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '>       fakemail.assert_sent(to="carol@example.com", subject="Welcome")',
            "E       fakemail*.MailAssertionError: expected 1 matching message(s), found 0",
            "E       Filters: to='carol@example.com', subject='Welcome'",
            "E       Captured 2 message(s):",
            "E         miss  #1 ??:??:?? from app@example.com to bob@example.com subject 'Welcome'",
            "E                 - to: 'carol@example.com' not among recipients ['bob@example.com']",
            "E         miss  #2 ??:??:?? from app@example.com to carol@example.com subject 'Hello'",
            "E                 - subject: 'Hello' does not match 'Welcome'",
            "test_assert_sent_failure_message.py:7: MailAssertionError",
        ]
    )
    # The traceback stops at the test: fakemail's own frames are hidden.
    result.stdout.no_fnmatch_line("*_server.py*")


def test_assert_sent_failure_with_nothing_captured(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        def test_nothing(fakemail):
            fakemail.assert_sent(subject="Welcome")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       *MailAssertionError: expected 1 matching message(s), found 0",
            "E       Filters: subject='Welcome'",
            "E       No messages were captured.",
        ]
    )


def test_wait_for_timeout_message(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send


        def test_waits(fakemail):
            send(fakemail, subject="Other")
            fakemail.wait_for(subject="Welcome", timeout=0.2)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       *WaitTimeout: waited 0.2s for 1 matching message(s), 0 arrived",
            "E       Filters: subject='Welcome'",
            "E       Captured 1 message(s):",
            "E         miss  #1 * subject 'Other'",
        ]
    )


def test_show_capture_no_hides_the_sections(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        def test_fails(fakemail):
            assert False
        """
    )
    result = mailtester.runpytest("--show-capture=no")
    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("*fakemail: captured mail*")


def test_a_test_mail_is_not_kept_after_it(mailtester: pytest.Pytester) -> None:
    # The teardown report needs the test's mail; nothing after it does. Items live until the
    # session ends, so mail kept on them would pile up over a whole run.
    mailtester.makepyfile(
        """
        import gc
        import weakref

        from mailhelpers import send

        refs = []


        def test_sends(fakemail):
            send(fakemail, subject="kept only while needed")
            refs.append(weakref.ref(fakemail.assert_sent()))


        def test_that_mail_is_gone(fakemail):
            gc.collect()
            assert len(refs) == 1
            assert refs[0]() is None
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=2)


def test_each_test_numbers_its_messages_from_one(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send

        def test_first(fakemail):
            send(fakemail)
            send(fakemail)
            assert [m.seq for m in fakemail.messages] == [1, 2]

        def test_second(fakemail):
            send(fakemail, subject="Second test")
            assert [m.seq for m in fakemail.messages] == [1]
            fakemail.assert_sent(subject="Other")
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["E         miss  #1 * subject 'Second test'", "#1 * subject 'Second test'"]
    )
