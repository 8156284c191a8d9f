"""Soak: many concurrent SMTP, IMAP and POP3 clients against one server, with exact accounting
(every message sent is stored exactly once, and the test API, IMAP and POP3 agree on every
account) and p50/p99 latencies printed per protocol (``pytest -s`` shows them).

A normal run is short: 30 clients, a few rounds each. ``FAKEMAIL_SOAK=SECONDS`` runs ~100
clients for that long (``FAKEMAIL_SOAK=60`` for the issue's one-minute soak).
"""

from __future__ import annotations

import imaplib
import os
import poplib
import smtplib
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fakemail._server import MailServer
from tests._helpers import TIMEOUT

SECONDS = float(os.environ.get("FAKEMAIL_SOAK", "0"))
SENDERS, IMAP_READERS, POP3_READERS = (50, 30, 20) if SECONDS else (14, 8, 8)
ROUNDS = 3  # per client in a short run
T = TypeVar("T")


class Latencies:
    """Seconds per operation, by protocol (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, list[float]] = defaultdict(list)

    def timed(self, protocol: str, operation: Callable[..., T], *args: object) -> T:
        """``operation(*args)``, timed."""
        start = time.perf_counter()
        result = operation(*args)
        with self._lock:
            self._seen[protocol].append(time.perf_counter() - start)
        return result

    def report(self) -> str:
        lines = []
        for protocol, seen in sorted(self._seen.items()):
            cuts = statistics.quantiles(seen, n=100) if len(seen) > 1 else seen * 99
            lines.append(
                f"{protocol}: {len(seen)} operations, p50 {cuts[49] * 1000:.1f} ms, "
                f"p99 {cuts[98] * 1000:.1f} ms"
            )
        return "\n".join(lines)


def keep_going(started: float, rounds_done: int) -> bool:
    if SECONDS:
        return time.monotonic() - started < SECONDS
    return rounds_done < ROUNDS


def test_soak(make_server: Callable[..., MailServer]) -> None:
    server = make_server(max_connections=200)
    latencies = Latencies()
    sent: list[str] = []  # subjects, one per message sent
    sent_lock = threading.Lock()
    started = time.monotonic()

    def sender(index: int) -> None:
        rounds = 0
        with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
            while keep_going(started, rounds):
                subject = f"soak {index}.{rounds}"
                to = f"box{index % 10}@example.com"
                raw = f"Subject: {subject}\r\n\r\nbody {index} {rounds}\r\n".encode()
                latencies.timed("smtp", client.sendmail, "app@example.com", [to], raw)
                with sent_lock:
                    sent.append(subject)
                rounds += 1

    def imap_reader(index: int) -> None:
        rounds = 0
        client = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
        client.login(f"box{index % 10}@example.com", "x")
        try:
            while keep_going(started, rounds):
                latencies.timed("imap", client.select, "INBOX", True)
                found = latencies.timed("imap", client.search, None, "ALL")[1]
                if found and found[0]:
                    latencies.timed("imap", client.fetch, "1:*", "(FLAGS RFC822.SIZE)")
                rounds += 1
        finally:
            client.logout()

    def pop3_reader(index: int) -> None:
        rounds = 0
        while keep_going(started, rounds):
            # A maildrop of its own: POP3 locks it (RFC 1939 §8), readers would queue.
            server.deliver(
                f"Subject: pop {index}.{rounds}\r\n\r\nx\r\n".encode(), to=f"pop{index}@example.com"
            )
            client = poplib.POP3(*server.pop3, timeout=TIMEOUT)
            try:
                client.user(f"pop{index}@example.com")
                latencies.timed("pop3", client.pass_, "x")
                latencies.timed("pop3", client.stat)
                latencies.timed("pop3", client.retr, 1)
            finally:
                client.quit()
            rounds += 1

    with ThreadPoolExecutor(SENDERS + IMAP_READERS + POP3_READERS) as pool:
        futures = [pool.submit(sender, i) for i in range(SENDERS)]
        futures += [pool.submit(imap_reader, i) for i in range(IMAP_READERS)]
        futures += [pool.submit(pop3_reader, i) for i in range(POP3_READERS)]
        for future in futures:
            future.result()
    print(f"\nsoak: {len(sent)} messages sent\n{latencies.report()}")

    # Exact accounting: each message stored once, and every view of each account agrees.
    subjects = sorted(m.subject for m in server.messages)
    assert subjects == sorted(sent)
    for box in range(10):
        address = f"box{box}@example.com"
        expected = sorted(s for s in sent if int(s.split()[1].split(".")[0]) % 10 == box)
        found = [i.message.subject for i in server.store.folder(address, "INBOX").items]
        assert sorted(found) == expected
        imap = imaplib.IMAP4(*server.imap, timeout=TIMEOUT)
        try:
            imap.login(address, "x")
            imap.select("INBOX", readonly=True)
            assert len(imap.search(None, "ALL")[1][0].split()) == len(expected)
        finally:
            imap.logout()
        pop = poplib.POP3(*server.pop3, timeout=TIMEOUT)
        try:
            pop.user(address)
            pop.pass_("x")
            assert pop.stat()[0] == len(expected)
        finally:
            pop.quit()
