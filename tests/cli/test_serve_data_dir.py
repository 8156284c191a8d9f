"""``fakemail serve --data-dir``: a real process restarted keeps every message."""

from __future__ import annotations

import imaplib
import signal
import smtplib
from collections.abc import Callable
from pathlib import Path

from tests.cli.test_serve import ALL_RANDOM, TIMEOUT, Serve, pytestmark, serve

__all__ = ["pytestmark", "serve"]  # the fixture and skip mark, shared with test_serve


def test_a_restarted_process_keeps_every_message(
    serve: Callable[..., Serve], tmp_path: Path
) -> None:
    data = str(tmp_path / "mail")
    first = serve("--json", "--data-dir", data, *ALL_RANDOM)
    smtp = first.ready_json()["listeners"]["smtp"]
    sent = [
        f"Subject: {n}\r\nTo: bob@example.com\r\n\r\nmessage {n}\r\n".encode() for n in range(3)
    ]
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=TIMEOUT) as client:
        for raw in sent:
            client.sendmail("app@example.com", ["bob@example.com"], raw)
    assert first.stop(signal.SIGTERM) == 0

    second = serve("--data-dir", data, *ALL_RANDOM)
    endpoints = second.ready_text()
    assert any("mail is kept in" in line and "3 message(s)" in line for line in second.stdout.seen)
    imap = imaplib.IMAP4(*endpoints["imap"], timeout=TIMEOUT)
    imap.login("bob@example.com", "x")
    imap.select("INBOX", readonly=True)
    _, data_ = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert [part[1] for part in data_ if isinstance(part, tuple)] == sent
    imap.logout()
    assert second.stop() == 0
    assert second.stdout.rest() == ["fakemail stopped; 3 message(s) were received."]
