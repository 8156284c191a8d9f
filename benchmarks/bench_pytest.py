"""Per-test overhead in a real pytest run: 200 tests that each send one message and assert it.

Generated suites run in fresh pytest processes; a ``conftest.py`` times the test loop only
(collection and interpreter start-up excluded). Overhead per test = (suite - empty suite) / 200,
which spreads the session server's one-time start over the 200 tests ("amortised"). The
"marginal" rows take the difference between 400-test and 200-test suites instead: the cost of
one more test once the server runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import Row

TESTS = 200

CONFTEST = """
import os, time, threading, smtplib
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_OUT"], "w") as fh:
            fh.write(str(time.perf_counter() - start))

class _Keep:
    def __init__(self):
        self.envelopes = []
    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

@pytest.fixture(scope="session")
def _bare_server():
    import socket
    from aiosmtpd.controller import Controller
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    handler = _Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, handler
    controller.stop()

@pytest.fixture
def bare_smtp(_bare_server):
    _bare_server[1].envelopes.clear()
    return _bare_server
"""

SUITES = {
    "empty": "def test_{n}():\n    pass\n",
    "fixture": "def test_{n}(fakemail):\n    pass\n",
    "fakemail": (
        "def test_{n}(fakemail):\n"
        "    with smtplib.SMTP(*fakemail.smtp, timeout=30) as c:\n"
        "        c.sendmail('app@example.com', ['u{n}@example.org'], MSG)\n"
        "    fakemail.assert_sent(to='u{n}@example.org', subject='Welcome')\n"
    ),
    "bare": (
        "def test_{n}(bare_smtp):\n"
        "    controller, handler = bare_smtp\n"
        "    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as c:\n"
        "        c.sendmail('app@example.com', ['u{n}@example.org'], MSG)\n"
        "    assert len(handler.envelopes) == 1\n"
    ),
}

HEADER = (
    "import smtplib\nMSG = b'Subject: Welcome\\r\\nTo: u@example.org\\r\\n\\r\\nhello\\r\\n'\n\n"
)


def _write(root: Path) -> None:
    (root / "conftest.py").write_text(CONFTEST)
    for name, template in SUITES.items():
        for count in (TESTS, 2 * TESTS):
            body = HEADER + "\n\n".join(template.format(n=n) for n in range(count))
            (root / f"test_{name}_{count}.py").write_text(body)


def _loop_seconds(root: Path, suite: str, count: int = TESTS) -> float:
    out = root / f"{suite}.time"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"test_{suite}_{count}.py",
        ],
        cwd=root,
        env={**_env(), "BENCH_OUT": str(out)},
        check=True,
        capture_output=True,
    )
    return float(out.read_text())


def _process_seconds(root: Path, *extra: str) -> float:
    """Wall time of a whole pytest process on the 200 no-op tests: start-up and plugin load
    included (what ``_loop_seconds`` leaves out)."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *extra,
            f"test_empty_{TESTS}.py",
        ],
        cwd=root,
        env={**_env(), "BENCH_OUT": str(root / "process.time")},
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def plugin_load(runs: int) -> Row:
    """What having fakemail installed costs a run that never uses it: the no-op suite with the
    plugin against the same suite with ``-p no:fakemail``, interleaved."""
    with tempfile.TemporaryDirectory(prefix="fakemail-bench-") as tmp:
        root = Path(tmp)
        _write(root)
        loaded, disabled = [], []
        for _ in range(runs):
            loaded.append(_process_seconds(root))
            disabled.append(_process_seconds(root, "-p", "no:fakemail"))
    return Row(
        f"{TESTS} no-op tests, whole pytest process (plugin load)",
        "ms",
        1000 * statistics.median(loaded),
        1000 * statistics.median(disabled),
        "same suite, -p no:fakemail",
        "<= +30 ms",
    )


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def run(quick: bool) -> list[Row]:
    """Rows: per-test overhead of fakemail vs a session-scoped bare aiosmtpd, and fixture cost."""
    runs = 3 if quick else 9
    samples: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="fakemail-bench-") as tmp:
        root = Path(tmp)
        _write(root)
        # Round-robin, so that the machine's drift over the minutes this takes hits every
        # suite alike (one suite's runs all in a row were up to 30% off another's).
        for _ in range(runs):
            for suite in SUITES:
                for count in (TESTS, 2 * TESTS):
                    samples.setdefault((suite, count), []).append(_loop_seconds(root, suite, count))
    loop = {suite: statistics.median(samples[suite, TESTS]) for suite in SUITES}
    double = {suite: statistics.median(samples[suite, 2 * TESTS]) for suite in SUITES}
    per_test = {s: 1000 * (t - loop["empty"]) / TESTS for s, t in loop.items()}
    marginal = {
        s: 1000 * ((double[s] - loop[s]) - (double["empty"] - loop["empty"])) / TESTS
        for s in SUITES
    }
    return [
        plugin_load(runs * 2),
        Row(
            f"{TESTS} tests: send one message + assert, overhead per test (amortised)",
            "ms",
            per_test["fakemail"],
            per_test["bare"],
            "session-scoped bare aiosmtpd",
            "<= 2 ms",
        ),
        Row(
            "`fakemail` fixture alone (no mail), overhead per test",
            "ms",
            per_test["fixture"],
            None,
            "",
            "<= 0.3 ms",
        ),
        Row(
            "marginal: send one message + assert, per extra test",
            "ms",
            marginal["fakemail"],
            marginal["bare"],
            "session-scoped bare aiosmtpd",
            "<= 2 ms",
        ),
        Row(
            "marginal: `fakemail` fixture alone, per extra test",
            "ms",
            marginal["fixture"],
            None,
            "",
            "<= 0.3 ms",
        ),
    ]
