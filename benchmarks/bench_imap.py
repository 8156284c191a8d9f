"""IMAP: one imaplib session over 2,000 stored 2 KB messages with varied headers, step by step,
against Dovecot; and IDLE wake-up latency.

Steps: LOGIN+SELECT; FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE); FETCH 1:* BODY.PEEK[];
UID SEARCH FROM x SUBJECT y; STORE 1:* +FLAGS (\\Seen). fakemail runs in its own process, as
Dovecot does, so client and server don't share a GIL.

IDLE latency: for fakemail, from smtplib's 250 reply to DATA until the idling client reads the
untagged EXISTS (server in the client's process, as in a test); for Dovecot (no SMTP), from the
rename of a file into the maildir's ``new/`` until the EXISTS.
"""

from __future__ import annotations

import imaplib
import os
import smtplib
import socket
import statistics
import time
from collections.abc import Callable

from benchmarks._common import MESSAGE_2K, Dovecot, Row, ServerProcess, varied_messages
from fakemail import MailServer

STEPS = (
    "LOGIN + SELECT",
    "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)",
    "FETCH 1:* BODY.PEEK[]",
    "UID SEARCH FROM x SUBJECT y",
    "STORE 1:* +FLAGS (\\Seen)",
)
NOTES: list[str] = []


def _session(host: str, port: int, user: str, count: int) -> dict[str, float]:
    times: dict[str, float] = {}

    def step(name: str, action: Callable[[], tuple[str, list[object]]]) -> None:
        start = time.perf_counter()
        status, data = action()
        times[name] = time.perf_counter() - start
        assert status == "OK", (name, status, data)

    client = imaplib.IMAP4(host, port, timeout=60)
    try:
        step(STEPS[0], lambda: (client.login(user, "secret"), client.select("INBOX"))[1])
        step(STEPS[1], lambda: client.fetch("1:*", "(FLAGS UID RFC822.SIZE ENVELOPE)"))
        step(STEPS[2], lambda: client.fetch("1:*", "BODY.PEEK[]"))
        step(STEPS[3], lambda: client.uid("SEARCH", "FROM", "sender7", "SUBJECT", "invoice"))
        step(STEPS[4], lambda: client.store("1:*", "+FLAGS", "(\\Seen)"))
    finally:
        client.logout()
    return times


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    result = {name: statistics.median(run[name] for run in runs) for name in STEPS}
    result["all five steps"] = statistics.median(sum(run.values()) for run in runs)
    return result


def _read_until(sock: socket.socket, marker: bytes, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed while waiting for {marker!r}")
        data += chunk
    return data


def _idle_client(host: str, port: int, user: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    _read_until(sock, b"\r\n")
    sock.sendall(f'a LOGIN "{user}" "secret"\r\nb SELECT INBOX\r\n'.encode())
    _read_until(sock, b"b OK")
    sock.sendall(b"c IDLE\r\n")
    _read_until(sock, b"+ ")
    return sock


def idle_latency_fakemail(samples: int) -> float:
    user = "idle@example.org"
    with MailServer() as server:
        sock = _idle_client(*server.imap, user)
        smtp = smtplib.SMTP(*server.smtp, timeout=10)
        latencies = []
        try:
            for _ in range(samples):
                smtp.sendmail("a@example.com", [user], MESSAGE_2K)
                start = time.perf_counter()
                _read_until(sock, b"EXISTS")
                latencies.append(time.perf_counter() - start)
        finally:
            smtp.quit()
            sock.close()
    return statistics.median(latencies)


def idle_latency_dovecot(dovecot: Dovecot, samples: int) -> float:
    dovecot.fill([])
    sock = _idle_client("127.0.0.1", dovecot.imap_port, dovecot.user)
    import pwd

    owner = pwd.getpwnam(dovecot.owner)
    latencies = []
    try:
        for n in range(samples):
            tmp = dovecot.maildir / "tmp" / f"idle{n}.M1P1.ref"
            tmp.write_bytes(MESSAGE_2K)
            os.chown(tmp, owner.pw_uid, owner.pw_gid)
            os.rename(tmp, dovecot.maildir / "new" / tmp.name)
            start = time.perf_counter()
            _read_until(sock, b"EXISTS")
            latencies.append(time.perf_counter() - start)
    finally:
        sock.close()
    return statistics.median(latencies)


def run(quick: bool) -> list[Row]:
    """Rows per step and IDLE latency, fakemail vs Dovecot."""
    count = 500 if quick else 2000
    repeats = 3 if quick else 7
    user = "user@example.org"
    process = ServerProcess()
    try:
        ours_runs = []
        for _ in range(repeats):
            process.fill(count, user)
            ours_runs.append(_session(*process.endpoints["imap"], user, count))
    finally:
        process.stop()
    ours = _medians(ours_runs)
    theirs: dict[str, float] = {}
    idle_theirs: float | None = None
    try:
        dovecot = Dovecot()
    except (RuntimeError, OSError) as error:
        NOTES.append(f"Dovecot baseline skipped: {error}")
    else:
        try:
            messages = varied_messages(count)
            theirs_runs = []
            for _ in range(repeats):
                dovecot.fill(messages)
                theirs_runs.append(_session("127.0.0.1", dovecot.imap_port, dovecot.user, count))
            theirs = _medians(theirs_runs)
            idle_theirs = idle_latency_dovecot(dovecot, 10 if quick else 30)
        finally:
            dovecot.stop()
    rows = [
        Row(
            f"{name} ({count} messages)",
            "ms",
            1000 * ours[name],
            1000 * theirs[name] if theirs else None,
            "Dovecot",
            "<= 1000 ms" if name == "all five steps" else "<= 3x Dovecot",
        )
        for name in (*STEPS, "all five steps")
    ]
    rows.append(
        Row(
            "IDLE: delivery to untagged EXISTS",
            "ms",
            1000 * idle_latency_fakemail(10 if quick else 30),
            1000 * idle_theirs if idle_theirs is not None else None,
            "Dovecot (maildir rename)",
            "<= 5 ms",
        )
    )
    return rows
