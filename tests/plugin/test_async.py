"""The fixtures in trio tests (pytest-trio) and asyncio code (``asyncio.run`` in a sync test)."""

from __future__ import annotations

import pytest


def test_trio_tests(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest
        import trio
        from fakemail import WaitTimeout
        from mailhelpers import send


        @pytest.mark.trio
        async def test_wait_for_async_while_the_app_sends(fakemail):
            async with trio.open_nursery() as nursery:
                # The "app" sends from a worker thread while this task waits.
                nursery.start_soon(trio.to_thread.run_sync, send, fakemail)
                found = await fakemail.wait_for_async(to="bob@example.com", timeout=30)
            assert [m.subject for m in found] == ["Welcome"]
            fakemail.assert_sent(to="bob@example.com")


        @pytest.mark.trio
        async def test_store_is_clean_again(fakemail):
            assert fakemail.messages == ()


        @pytest.mark.trio
        async def test_wait_for_async_times_out(fakemail):
            with pytest.raises(WaitTimeout, match="waited 0.2s for 2 matching"):
                await fakemail.wait_for_async(2, timeout=0.2)


        @pytest.mark.trio
        @pytest.mark.fakemail(require_auth=True, users={"a@example.com": "pw"})
        async def test_marker_in_trio_test(fakemail):
            assert fakemail.options.require_auth
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=4)


def test_trio_test_failure_has_report_sections(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest
        import trio
        from mailhelpers import send


        @pytest.mark.trio
        async def test_fails(fakemail):
            await trio.to_thread.run_sync(send, fakemail)
            await fakemail.wait_for_async(subject="Nope", timeout=0.2)
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            # pytest-trio may show it inside an exception group: no "E" prefix then.
            "*WaitTimeout: waited 0.2s for 1 matching message(s), 0 arrived",
            "*- fakemail: captured mail -*",
            "#1 * subject 'Welcome'",
        ]
    )


def test_asyncio_code(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import asyncio

        import pytest
        from fakemail import WaitTimeout
        from mailhelpers import send


        def test_wait_for_async_under_asyncio(fakemail):
            async def main():
                loop = asyncio.get_running_loop()
                sending = loop.run_in_executor(None, send, fakemail)
                found = await fakemail.wait_for_async(subject="Welcome", timeout=30)
                await sending
                return found

            found = asyncio.run(main())
            assert [m.recipients for m in found] == [("bob@example.com",)]


        def test_smtp_from_an_asyncio_client(fakemail):
            async def main():
                reader, writer = await asyncio.open_connection(*fakemail.smtp)

                async def say(line):
                    if line:
                        writer.write(line.encode() + b"\\r\\n")
                    while True:
                        reply = (await reader.readline()).decode()
                        if reply[3:4] != "-":
                            return reply

                assert (await say("")).startswith("220")
                assert (await say("HELO client")).startswith("250")
                assert (await say("MAIL FROM:<a@example.com>")).startswith("250")
                assert (await say("RCPT TO:<b@example.com>")).startswith("250")
                assert (await say("DATA")).startswith("354")
                assert (await say("Subject: async\\r\\n\\r\\nhi\\r\\n.")).startswith("250")
                assert (await say("QUIT")).startswith("221")
                writer.close()
                await writer.wait_closed()
                return await fakemail.wait_for_async(subject="async", timeout=30)

            assert len(asyncio.run(main())) == 1


        def test_timeout_under_asyncio(fakemail):
            with pytest.raises(WaitTimeout):
                asyncio.run(fakemail.wait_for_async(timeout=0.2))
        """
    )
    result = mailtester.runpytest()
    result.assert_outcomes(passed=3)
