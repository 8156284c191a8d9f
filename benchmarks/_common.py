"""Shared helpers for the benchmarks: timing, medians, tables, machine facts."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MESSAGE_2K = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: Receiver <receiver@example.org>\r\n"
    b"Subject: benchmark message\r\n"
    b"Message-ID: <bench@example.com>\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n" + (b"x" * 76 + b"\r\n") * 25
)
assert 2000 <= len(MESSAGE_2K) <= 2200, len(MESSAGE_2K)


@dataclass
class Row:
    """One line of a result table: a measurement and, where there is one, its baseline."""

    name: str
    unit: str
    ours: float
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> str:
        if not self.baseline:
            return "-"
        return f"{self.ours / self.baseline:.2f}x"


def median_of(runs: int, func: Callable[[], float]) -> float:
    """Median of ``runs`` calls of ``func`` (each returns one measurement)."""
    return statistics.median(func() for _ in range(runs))


def timed(func: Callable[[], object]) -> float:
    """Seconds taken by one call."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def table(rows: Sequence[Row]) -> str:
    """A Markdown table of the rows."""
    lines = [
        "| measurement | fakemail | baseline | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        base = f"{row.baseline:.3f} {row.unit} ({row.baseline_name})" if row.baseline else "-"
        lines.append(
            f"| {row.name} | {row.ours:.3f} {row.unit} | {base} | {row.ratio} | {row.target} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """A line describing the machine and its load, for the record."""
    load = os.getloadavg()
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        rev = "?"
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, commit {rev}"
    )
