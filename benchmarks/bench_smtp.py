"""SMTP benchmarks: start-up, one message per connection, throughput, memory per message.

Baseline: a bare aiosmtpd ``Controller`` with a handler that keeps envelopes in a list — what
a test suite gets without fakemail — started and measured in the same process and run.
"""

from __future__ import annotations

import asyncio
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from benchmarks._common import MESSAGE_2K, Row, free_port, median_of, timed
from fakemail import MailServer


class _Keep:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 OK"


def _bare() -> tuple[Controller, _Keep]:
    handler = _Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, handler


def _send(host: str, port: int, count: int = 1) -> None:
    with smtplib.SMTP(host, port, timeout=30) as client:
        for _ in range(count):
            client.sendmail("sender@example.com", ["receiver@example.org"], MESSAGE_2K)


def start_to_first_message(runs: int) -> Row:
    def ours() -> float:
        start = time.perf_counter()
        server = MailServer().start()
        _send(*server.smtp)
        server.wait_for(timeout=10)
        elapsed = time.perf_counter() - start
        server.stop()
        return elapsed

    def bare() -> float:
        start = time.perf_counter()
        controller, handler = _bare()
        _send(controller.hostname, controller.port)
        handler.arrived.wait(10)
        elapsed = time.perf_counter() - start
        controller.stop()
        return elapsed

    ours()  # warm: imports and the process-wide test certificate
    bare()
    # Interleaved, so that drift in the machine's load hits both alike.
    pairs = [(ours(), bare()) for _ in range(runs)]
    return Row(
        "start to first message accepted, every listener on (warm process)",
        "ms",
        1000 * statistics.median(o for o, _ in pairs),
        1000 * statistics.median(b for _, b in pairs),
        "aiosmtpd Controller",
        "<= 1.2x aiosmtpd",
    )


def cold_start(runs: int) -> Row:
    """A fresh interpreter: import, start, send one message (what a pytest session pays once)."""
    code = (
        "import time,smtplib;t=time.perf_counter();"
        "{setup};"
        "smtplib.SMTP({addr},timeout=30)"
        ".sendmail('a@example.com',['b@example.org'],b'Subject: x\\r\\n\\r\\nx\\r\\n');"
        "{wait};print(time.perf_counter()-t);{stop}"
    )
    ours = code.format(
        setup="import fakemail;s=fakemail.MailServer().start()",
        addr="*s.smtp",
        wait="s.wait_for(timeout=10)",
        stop="s.stop()",
    )
    port = free_port()
    bare = code.format(
        setup=(
            "import threading;from aiosmtpd.controller import Controller\n"
            "class H:\n ev=threading.Event()\n async def handle_DATA(self,*a):\n"
            "  H.ev.set();return '250 OK'\n"
            f"c=Controller(H(),hostname='127.0.0.1',port={port});c.start()"
        ),
        addr=f"'127.0.0.1',{port}",
        wait="H.ev.wait(10)",
        stop="c.stop()",
    )

    def run(source: str) -> float:
        result = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, check=True
        )
        return float(result.stdout.strip().splitlines()[-1])

    return Row(
        "import + start + first message (fresh interpreter)",
        "ms",
        1000 * median_of(runs, lambda: run(ours)),
        1000 * median_of(runs, lambda: run(bare)),
        "aiosmtpd Controller",
        "-",
    )


def one_message_fresh_connection(runs: int) -> Row:
    server = MailServer().start()
    controller, _ = _bare()
    try:
        host, port = server.smtp
        for _ in range(20):
            _send(host, port)
            _send(controller.hostname, controller.port)
        ours = median_of(runs, lambda: timed(lambda: _send(host, port)))
        bare = median_of(runs, lambda: timed(lambda: _send(controller.hostname, controller.port)))
    finally:
        server.stop()
        controller.stop()
    return Row(
        "one message, fresh connection (connect to QUIT)",
        "ms",
        1000 * ours,
        1000 * bare,
        "aiosmtpd Controller",
        "<= 3 ms",
    )


def throughput(count: int, runs: int) -> Row:
    server = MailServer().start()
    controller, _ = _bare()
    try:
        host, port = server.smtp

        def ours() -> float:
            server.clear()
            return count / timed(lambda: _send(host, port, count))

        def bare() -> float:
            return count / timed(lambda: _send(controller.hostname, controller.port, count))

        # Alternate the two, so that drift in the machine's speed hits both alike.
        pairs = [(ours(), bare()) for _ in range(runs)]
        ours_rate = statistics.median(o for o, _ in pairs)
        bare_rate = statistics.median(b for _, b in pairs)
    finally:
        server.stop()
        controller.stop()
    return Row(
        f"{count} messages over one connection",
        "msg/s",
        ours_rate,
        bare_rate,
        "aiosmtpd Controller",
        ">= 0.9x",
    )


MEMORY_PROBE = """
import gc, smtplib, sys
from benchmarks._common import MESSAGE_2K
from fakemail import MailServer

def rss():
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * 4096

count = int(sys.argv[1])
with MailServer() as server:
    with smtplib.SMTP(*server.smtp, timeout=30) as client:  # warm up: imports, first session
        client.sendmail("sender@example.com", ["receiver@example.org"], MESSAGE_2K)
    gc.collect()
    before = rss()
    with smtplib.SMTP(*server.smtp, timeout=30) as client:
        for _ in range(count):
            client.sendmail("sender@example.com", ["receiver@example.org"], MESSAGE_2K)
    server.wait_for(count=count + 1, timeout=300)
    gc.collect()
    print((rss() - before) / count)
"""


def memory_per_message(count: int, runs: int) -> Row:
    """Resident memory growth per stored 2 KB message sent over SMTP, in a fresh process each
    time (in a process that stored and freed mail before, freed memory is reused)."""

    def probe() -> float:
        result = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(count)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        return float(result.stdout.strip().splitlines()[-1])

    return Row(
        f"memory per stored {len(MESSAGE_2K)} B message ({count} stored)",
        "KB",
        median_of(runs, probe) / 1024,
        None,
        "",
        "<= 4 KB",
    )


def run(quick: bool) -> list[Row]:
    """All SMTP rows."""
    runs = 5 if quick else 21
    asyncio.set_event_loop_policy(None)
    return [
        start_to_first_message(runs),
        cold_start(3 if quick else 7),
        one_message_fresh_connection(runs * 5),
        throughput(500 if quick else 2000, 3 if quick else 9),
        memory_per_message(2000 if quick else 10000, 3),
    ]
