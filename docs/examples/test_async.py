"""Waiting for mail from async tests, under asyncio and under trio."""

import asyncio
import smtplib

import pytest
import trio

RAW = b"Subject: Report ready\r\n\r\nYour report is ready.\r\n"


def send_report(host: str, port: int, address: str) -> None:
    """A blocking app call, run in a worker thread by the async code below."""
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("reports@example.com", [address], RAW)


def test_asyncio(fakemail):
    async def main():
        sending = asyncio.create_task(
            asyncio.to_thread(send_report, *fakemail.smtp, "dave@example.com")
        )
        # The event loop keeps running while this waits: no thread is blocked.
        [message] = await fakemail.wait_for_async(to="dave@example.com", timeout=10)
        assert message.subject == "Report ready"
        await sending

    asyncio.run(main())


@pytest.mark.trio
async def test_trio(fakemail):
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, send_report, *fakemail.smtp, "erin@example.com")
        [message] = await fakemail.wait_for_async(to="erin@example.com", timeout=10)
        assert message.subject == "Report ready"
