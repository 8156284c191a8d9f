"""Shared helpers for the benchmarks: timing, medians, tables, machine facts."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


def varied_messages(count: int) -> list[bytes]:
    """``count`` messages of about 2 KB with varied senders, subjects, dates and bodies."""
    messages = []
    for n in range(count):
        head = (
            f"From: Sender {n % 37} <sender{n % 37}@example.com>\r\n"
            f"To: Receiver <user@example.org>, Team {n % 5} <team{n % 5}@example.org>\r\n"
            f"Cc: watcher{n % 7}@example.net\r\n"
            f"Subject: {'invoice' if n % 10 == 0 else 'report'} number {n}\r\n"
            f"Message-ID: <{n}.bench@example.com>\r\n"
            f"Date: Wed, {1 + n % 28:02d} Oct 2026 12:{n % 60:02d}:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
        ).encode()
        line = f"line of message {n} ".ljust(76, "x").encode() + b"\r\n"
        body = line * ((2048 - len(head)) // len(line) + 1)
        messages.append(head + body)
    return messages


def shared_dir() -> Path | None:
    """The workplace's ``shared/`` folder (beside the repository), if present."""
    for candidate in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if (candidate / "reference" / "dovecot.sh").exists():
            return candidate
    return None


class Dovecot:
    """A rootless Dovecot started by ``shared/reference/dovecot.sh`` (IMAP + POP3)."""

    def __init__(self) -> None:
        shared = shared_dir()
        if shared is None or not shutil.which("dovecot"):
            raise RuntimeError("Dovecot or shared/reference/dovecot.sh is not available")
        self.script = shared / "reference" / "dovecot.sh"
        self.dir = Path(tempfile.mkdtemp(prefix="fakemail-dovecot-"))
        self.imap_port, self.pop3_port = free_port(), free_port()
        self.user = "user@example.org"
        subprocess.run(
            [
                "bash",
                str(self.script),
                "start",
                str(self.dir),
                str(self.imap_port),
                str(self.pop3_port),
            ],
            check=True,
            capture_output=True,
        )
        self.owner = os.environ.get("REF_DOVECOT_USER", "nobody")

    @property
    def maildir(self) -> Path:
        return self.dir / "home" / self.user / "Maildir"

    def fill(self, messages: Sequence[bytes]) -> None:
        """Replace the user's mail with ``messages`` (written as maildir files)."""
        import pwd

        entry = pwd.getpwnam(self.owner)
        for sub in ("cur", "new", "tmp"):
            folder = self.maildir / sub
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
        for n, raw in enumerate(messages, 1):
            path = self.maildir / "cur" / f"{n}.M{n}P1.ref,S={len(raw)}:2,"
            path.write_bytes(raw)
        for root, dirs, files in os.walk(self.dir / "home"):
            for name in (*dirs, *files):
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
        os.chown(self.dir / "home", entry.pw_uid, entry.pw_gid)
        for cache in self.maildir.glob("dovecot*"):
            cache.unlink()

    def stop(self) -> None:
        subprocess.run(["bash", str(self.script), "stop", str(self.dir)], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def repeated(
    repeats: int, fill: Callable[[], object], measure: Callable[[], dict[str, float]]
) -> list[dict[str, float]]:
    """``measure()`` (seconds per step) after a fresh ``fill()``, ``repeats`` times."""
    runs = []
    for _ in range(repeats):
        fill()
        runs.append(measure())
    return runs


def median_steps(
    runs: list[dict[str, float]], steps: Sequence[str], total: str
) -> dict[str, float]:
    """The median of each step over ``runs``, and under ``total`` the median of their sums."""
    result = {name: statistics.median(run[name] for run in runs) for name in steps}
    result[total] = statistics.median(sum(run.values()) for run in runs)
    return result


class ServerProcess:
    """``benchmarks._server_process`` started as a subprocess."""

    def __init__(self) -> None:
        import json

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert self.proc.stdout is not None
        self.endpoints = {k: tuple(v) for k, v in json.loads(self.proc.stdout.readline()).items()}

    def fill(self, count: int, user: str) -> None:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"fill {count} {user}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
