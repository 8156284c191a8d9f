"""``@pytest.mark.fakemail(faults=[...])`` and the failing test's report of fired faults."""

from __future__ import annotations

import pytest


def test_marker_faults_apply_to_the_test_only(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import smtplib

        import pytest
        from mailhelpers import send


        @pytest.mark.fakemail(faults=["smtp:rcpt:451:times=1"])
        def test_first_rcpt_fails(fakemail):
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                send(fakemail)
            send(fakemail)
            fakemail.assert_sent()


        def test_no_faults_afterwards(fakemail):
            assert fakemail.faults.rules == ()
            send(fakemail)
        """
    )
    mailtester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_bad_marker_rule_is_a_clear_error(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest

        @pytest.mark.fakemail(faults=["smtp:rcptt:451"])
        def test_it(fakemail):
            pass
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fault rule: stage 'rcptt'*"])


def test_failing_report_lists_fired_faults_and_the_seed(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        from mailhelpers import send

        def test_it(fakemail):
            fakemail.fail("rcpt", 451)
            send(fakemail)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "!! fault: rcpt 451 (rule 1)",
            "*fakemail: faults fired*",
            "smtp session #* from 127.0.0.1:*: rcpt 451 (rule 1)",
            "(fault seed *)",
        ]
    )
