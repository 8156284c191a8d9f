"""IMAP: one imaplib session over 2,000 stored 2 KB messages with varied headers, step by step,
against Dovecot; and IDLE wake-up latency.

Steps: LOGIN+SELECT; FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE); FETCH 1:* BODY.PEEK[];
UID SEARCH FROM x SUBJECT y; STORE 1:* +FLAGS (\\Seen). fakemail runs in its own process, as
Dovecot does, so client and server don't share a GIL.

Rendering: the engine alone turning 2,000 FETCH (UID FLAGS RFC822.SIZE ENVELOPE) responses
into bytes, in thread CPU time (no sockets, no store).

IDLE latency: for fakemail, from smtplib's 250 reply to DATA until the idling client reads the
untagged EXISTS (server in the client's process, as in a test); for Dovecot (no SMTP), from the
rename of a file into the maildir's ``new/`` until the EXISTS.
"""

from __future__ import annotations

import imaplib
import os
import select
import socket
import statistics
import time
from collections.abc import Callable

from benchmarks._common import (
    MESSAGE_2K,
    Dovecot,
    Row,
    ServerProcess,
    median_steps,
    repeated,
    varied_messages,
)
from fakemail import MailServer
from fakemail._imap._response import Atom, FetchData, render_response

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


def idle_latency_fakemail(samples: int) -> tuple[float, float]:
    """Medians of (EXISTS arrival - 250 arrival, EXISTS arrival - end of DATA sent), seconds.

    A raw SMTP client sends the message; both sockets are watched with select, so each
    arrival is timestamped as it happens (the EXISTS can even come before the 250: the message
    is stored before the reply is written).
    """
    user = "idle@example.org"
    after_250, after_data = [], []
    with MailServer() as server:
        imap = _idle_client(*server.imap, user)
        smtp = socket.create_connection(tuple(server.smtp), timeout=10)
        try:
            _read_until(smtp, b"\r\n")
            smtp.sendall(b"EHLO bench\r\n")
            _read_until(smtp, b"250 ")
            for _ in range(samples):
                smtp.sendall(f"MAIL FROM:<a@example.com>\r\nRCPT TO:<{user}>\r\nDATA\r\n".encode())
                _read_until(smtp, b"354 ")
                smtp.sendall(MESSAGE_2K + b".\r\n")
                sent = time.perf_counter()
                got_250 = got_exists = 0.0
                smtp_data = imap_data = b""
                while not (got_250 and got_exists):
                    ready, _, _ = select.select([smtp, imap], [], [], 10)
                    if not ready:
                        raise TimeoutError("no 250 or EXISTS within 10 s")
                    now = time.perf_counter()
                    if smtp in ready:
                        smtp_data += smtp.recv(65536)
                        if b"250 " in smtp_data and not got_250:
                            got_250 = now
                    if imap in ready:
                        imap_data += imap.recv(65536)
                        if b"EXISTS" in imap_data and not got_exists:
                            got_exists = now
                after_250.append(got_exists - got_250)
                after_data.append(got_exists - sent)
        finally:
            smtp.close()
            imap.close()
    return statistics.median(after_250), statistics.median(after_data)


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


def render_fetch_envelopes(count: int, repeats: int) -> float:
    """Best thread CPU time, in seconds, to render ``count`` FETCH responses with ENVELOPE."""
    address = (("Alice Example", None, "alice", "example.com"),)
    responses = [
        FetchData(
            n,
            (
                ("UID", n),
                ("FLAGS", (Atom("\\Seen"), Atom("$Label1"))),
                ("RFC822.SIZE", 1234),
                (
                    "ENVELOPE",
                    (
                        "Mon, 1 Jan 2024 10:00:00 +0000",
                        f'Message number {n} about "things"',
                        address,
                        address,
                        address,
                        (("Bob", None, "bob", "example.org"), (None, None, "c", "d.e")),
                        None,
                        None,
                        None,
                        f"<{n}@example.com>",
                    ),
                ),
            ),
        )
        for n in range(1, count + 1)
    ]
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        out = b"".join(render_response(r) for r in responses)
        best = min(best, time.thread_time() - start)
    assert out.count(b" FETCH (") == count
    return best


def run(quick: bool) -> list[Row]:
    """Rows per step and IDLE latency, fakemail vs Dovecot."""
    count = 500 if quick else 2000
    repeats = 3 if quick else 7
    user = "user@example.org"
    process = ServerProcess()
    try:
        ours_runs = repeated(
            repeats,
            lambda: process.fill(count, user),
            lambda: _session(*process.endpoints["imap"], user, count),
        )
    finally:
        process.stop()
    ours = median_steps(ours_runs, STEPS, "all five steps")
    theirs: dict[str, float] = {}
    idle_theirs: float | None = None
    try:
        dovecot = Dovecot()
    except (RuntimeError, OSError) as error:
        NOTES.append(f"Dovecot baseline skipped: {error}")
    else:
        try:
            messages = varied_messages(count)
            theirs_runs = repeated(
                repeats,
                lambda: dovecot.fill(messages),
                lambda: _session("127.0.0.1", dovecot.imap_port, dovecot.user, count),
            )
            theirs = median_steps(theirs_runs, STEPS, "all five steps")
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
            "render 2000 FETCH (UID FLAGS RFC822.SIZE ENVELOPE) responses, engine only",
            "ms",
            1000 * render_fetch_envelopes(2000, repeats),
            None,
            "",
            "<= 100 ms CPU",
        )
    )
    after_250, after_data = idle_latency_fakemail(10 if quick else 50)
    rows.append(
        Row(
            "IDLE: SMTP 250 reply to untagged EXISTS (negative: EXISTS first)",
            "ms",
            1000 * after_250,
            None,
            "",
            "<= 5 ms",
        )
    )
    rows.append(
        Row(
            "IDLE: end of DATA sent to untagged EXISTS",
            "ms",
            1000 * after_data,
            1000 * idle_theirs if idle_theirs is not None else None,
            "Dovecot (maildir rename to EXISTS)",
            "",
        )
    )
    return rows
