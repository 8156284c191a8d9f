"""The HTTP listener from the plugin's side: off by default (and not even imported), on with
the marker's ``http_port``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def test_marker_turns_http_on(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import httpx
        import pytest
        from mailhelpers import send


        def test_off_by_default(fakemail):
            assert fakemail.http is None
            assert fakemail.http_url is None


        @pytest.mark.fakemail(http_port=0)
        def test_on(fakemail):
            assert fakemail.http.host == "127.0.0.1" and fakemail.http.port > 0
            send(fakemail, subject="seen over HTTP")
            body = httpx.get(fakemail.http_url + "/api/v1/messages", timeout=30).json()
            assert [m["Subject"] for m in body["messages"]] == ["seen over HTTP"]
        """
    )
    mailtester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_web_packages_are_not_imported_unless_http_is_on() -> None:
    # The plugin and a server without HTTP must not pay for starlette and hypercorn.
    code = textwrap.dedent(
        """
        import sys
        import fakemail.pytest_plugin
        from fakemail import MailServer

        with MailServer() as server:
            pass
        heavy = ("starlette", "hypercorn", "httpx", "h11", "wsproto")
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] in heavy or m.startswith("fakemail._web"))
        print(",".join(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""
