"""``fakemail serve`` as a subprocess: readiness, mail, TLS, signals, errors, logging."""

from __future__ import annotations

import imaplib
import json
import poplib
import queue
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from fakemail._config import LISTENERS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TIMEOUT = 60.0  # generous: a slow CI machine starting Python, trio and aiosmtpd
ALL_RANDOM = [arg for name in LISTENERS for arg in (f"--{name}-port", "0")]
MESSAGE = "From: app@example.com\r\nTo: bob@example.com\r\nSubject: Welcome\r\n\r\nHi\r\n"


class _Lines:
    """Lines of a pipe, read by a thread, so that reads can have a deadline."""

    def __init__(self, pipe: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next(self, timeout: float = TIMEOUT) -> str | None:
        """The next line, or ``None`` at end of stream; fails after ``timeout``."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout}s; so far: {self.seen}") from None
        if line is None:
            self._queue.put(None)  # stay at EOF for later calls
        else:
            self.seen.append(line)
        return line

    def until(self, predicate: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        """Read until a line satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(deadline - time.monotonic(), 0.001))
            if line is None:
                raise AssertionError(f"stream ended; lines: {self.seen}")
            if predicate(line):
                return line

    def rest(self, timeout: float = TIMEOUT) -> list[str]:
        """Every remaining line (the process must be ending)."""
        lines = []
        while (line := self.next(timeout)) is not None:
            lines.append(line)
        return lines


class Serve:
    """A running ``fakemail serve`` process."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakemail._cli", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.stdout = _Lines(self.process.stdout)
        self.stderr = _Lines(self.process.stderr)

    def ready_json(self) -> dict[str, Any]:
        """The JSON object printed when the servers are ready."""
        line = self.stdout.next()
        if line is None:
            raise AssertionError(f"exited {self.wait()}: {self.stderr.rest()}")
        info: dict[str, Any] = json.loads(line)
        return info

    def ready_text(self) -> dict[str, tuple[str, int]]:
        """Listeners from the human-readable banner, read up to "Press Ctrl-C to stop."."""
        endpoints = {}
        while (line := self.stdout.next()) != "Press Ctrl-C to stop.":
            if line is None:
                raise AssertionError(f"exited {self.wait()}: {self.stderr.rest()}")
            match = re.match(r"  ([A-Z0-9]+) +(\S+):(\d+) ", line)
            if match:
                endpoints[match[1].lower()] = (match[2], int(match[3]))
        return endpoints

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.process.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Serve]]:
    """Start ``fakemail serve`` processes; every one is killed at the end."""
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        process = Serve(*args)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.kill()


def _send(host: str, port: int, **kwargs: Any) -> None:
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as client:
        client.sendmail("app@example.com", ["bob@example.com"], MESSAGE, **kwargs)


def test_json_ready_line_and_every_listener_accepts(serve: Callable[..., Serve]) -> None:
    server = serve("--json", *ALL_RANDOM)
    info = server.ready_json()
    listeners = info["listeners"]
    assert {"smtp", "smtps"} <= set(listeners) <= set(LISTENERS)
    for endpoint in listeners.values():
        assert endpoint["host"] == "127.0.0.1"
        assert endpoint["port"] > 0
        with socket.create_connection((endpoint["host"], endpoint["port"]), timeout=TIMEOUT):
            pass
    assert len({e["port"] for e in listeners.values()}) == len(listeners)
    assert Path(info["ca_cert"]).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    _send(listeners["smtp"]["host"], listeners["smtp"]["port"])
    assert server.stop() == 0
    assert server.stdout.rest() == []  # JSON mode: nothing but the one object on stdout


def test_text_banner_mail_and_stopped_line(serve: Callable[..., Serve]) -> None:
    server = serve(*ALL_RANDOM)
    endpoints = server.ready_text()
    assert {"smtp", "smtps"} <= set(endpoints)
    _send(*endpoints["smtp"])
    _send(*endpoints["smtp"])
    assert server.stop(signal.SIGINT) == 0
    assert server.stdout.rest() == ["fakemail stopped; 2 message(s) were received."]
    assert server.stderr.rest() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly(serve: Callable[..., Serve], signum: int) -> None:
    server = serve(*ALL_RANDOM)
    endpoints = server.ready_text()
    assert server.stop(signum) == 0
    assert server.stdout.rest() == ["fakemail stopped; 0 message(s) were received."]
    assert server.stderr.rest() == []
    with pytest.raises(OSError), socket.create_connection(endpoints["smtp"], timeout=TIMEOUT):
        pass


def test_tls_with_the_written_ca_certificate(serve: Callable[..., Serve], tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    server = serve("--json", "--ca-cert", str(ca_file), *ALL_RANDOM)
    info = server.ready_json()
    assert Path(info["ca_cert"]) == ca_file
    context = ssl.create_default_context(cafile=str(ca_file))
    smtps = info["listeners"]["smtps"]
    with smtplib.SMTP_SSL(smtps["host"], smtps["port"], context=context, timeout=TIMEOUT) as c:
        c.sendmail("app@example.com", ["bob@example.com"], MESSAGE)
        assert isinstance(c.sock, ssl.SSLSocket)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    smtp = info["listeners"]["smtp"]
    with smtplib.SMTP("localhost", smtp["port"], timeout=TIMEOUT) as c:
        c.starttls(context=context)
        c.sendmail("app@example.com", ["bob@example.com"], MESSAGE)
    # A client that does not trust the test CA refuses the certificate.
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(
            smtps["host"], smtps["port"], context=ssl.create_default_context(), timeout=TIMEOUT
        )
    assert server.stop() == 0


def test_users_and_require_auth(serve: Callable[..., Serve]) -> None:
    server = serve("--json", "--require-auth", "--user", "alice@example.com:s3cr:t", *ALL_RANDOM)
    smtp = server.ready_json()["listeners"]["smtp"]
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        _send(smtp["host"], smtp["port"])
    assert info.value.smtp_code == 530
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=TIMEOUT) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("alice@example.com", "wrong")
        client.login("alice@example.com", "s3cr:t")
        client.sendmail("alice@example.com", ["bob@example.com"], MESSAGE)
    assert server.stop() == 0


def test_max_message_size(serve: Callable[..., Serve]) -> None:
    server = serve("--json", "--max-message-size", "100", *ALL_RANDOM)
    smtp = server.ready_json()["listeners"]["smtp"]
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=TIMEOUT) as client:
        assert client.ehlo()[0] == 250
        assert client.esmtp_features["size"] == "100"
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as info:
            client.sendmail("app@example.com", ["bob@example.com"], MESSAGE + "x" * 200)
    assert info.value.smtp_code == 552
    assert server.stop() == 0


def test_verbose_logs_sessions_and_messages(serve: Callable[..., Serve]) -> None:
    server = serve("--json", "-v", *ALL_RANDOM)
    listeners = server.ready_json()["listeners"]
    smtp = listeners["smtp"]
    _send(smtp["host"], smtp["port"])
    session = re.compile(r"smtp session #1 from 127\.0\.0\.1:\d+$")
    server.stderr.until(lambda line: session.search(line) is not None)
    server.stderr.until(
        lambda line: (
            re.search(
                r"message #1 .* from app@example.com to bob@example.com subject 'Welcome'; "
                r"delivered to bob@example.com$",
                line,
            )
            is not None
        )
    )
    # Sessions of every protocol are logged, IMAP and POP3 included once they are served.
    if "pop3" in listeners:
        poplib.POP3(listeners["pop3"]["host"], listeners["pop3"]["port"], timeout=TIMEOUT).quit()
        server.stderr.until(lambda line: re.search(r"pop3 session #\d+ from ", line) is not None)
    if "imap" in listeners:
        imaplib.IMAP4(
            listeners["imap"]["host"], listeners["imap"]["port"], timeout=TIMEOUT
        ).logout()
        server.stderr.until(lambda line: re.search(r"imap session #\d+ from ", line) is not None)
    assert server.stop() == 0
    assert not any("Traceback" in line for line in server.stderr.rest())


def test_quiet_without_verbose(serve: Callable[..., Serve]) -> None:
    server = serve("--json", *ALL_RANDOM)
    smtp = server.ready_json()["listeners"]["smtp"]
    _send(smtp["host"], smtp["port"])
    assert server.stop() == 0
    assert server.stderr.rest() == []


def test_port_in_use_is_a_one_line_error(serve: Callable[..., Serve]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        args = [a if a != "0" or i != 1 else str(port) for i, a in enumerate(ALL_RANDOM)]
        assert args[:2] == ["--smtp-port", str(port)]
        server = serve(*args)
        assert server.wait() == 2
    assert server.stderr.rest() == [
        f"fakemail: cannot listen for smtp on 127.0.0.1:{port}: address already in use"
    ]
    assert server.stdout.rest() == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--user", "bob"], "argument --user: a user is ADDRESS:PASSWORD, got 'bob'"),
        (["--user", ":pw"], "argument --user: a user is ADDRESS:PASSWORD, got ':pw'"),
        (["--smtp-port", "70000"], "argument --smtp-port: a port is 0..65535 *, got '70000'"),
        (["--imap-port", "x"], "argument --imap-port: a port is 0..65535 *, got 'x'"),
        (["--max-message-size", "many"], "argument --max-message-size: invalid int value: *"),
    ],
)
def test_bad_arguments_are_usage_errors(
    serve: Callable[..., Serve], args: list[str], error: str
) -> None:
    server = serve(*ALL_RANDOM, *args)
    assert server.wait() == 2
    stderr = server.stderr.rest()
    assert stderr[0].startswith("usage: fakemail serve ")
    assert re.fullmatch(
        r"fakemail serve: error: " + re.escape(error).replace(r"\*", ".*"), stderr[-1]
    )
    assert not any("Traceback" in line for line in stderr)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--max-message-size", "0"], "fakemail: max_message_size must be positive, got 0"),
        (
            ["--host", "nonexistent.invalid"],
            "fakemail: cannot listen for smtp on nonexistent.invalid: *",
        ),
        (
            ["--ca-cert", "/nonexistent-dir/ca.pem"],
            "fakemail: cannot write the CA certificate to /nonexistent-dir/ca.pem: *",
        ),
    ],
)
def test_bad_values_are_one_line_errors(
    serve: Callable[..., Serve], args: list[str], error: str
) -> None:
    server = serve("--json", *ALL_RANDOM, *args)
    assert server.wait() == 2
    stderr = server.stderr.rest()
    assert len(stderr) == 1, stderr
    assert re.fullmatch(re.escape(error).replace(r"\*", ".*"), stderr[0])


def test_help_shows_the_default_ports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakemail._cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for name, port in [
        ("smtp", 1025),
        ("smtps", 1465),
        ("imap", 1143),
        ("imaps", 1993),
        ("pop3", 1110),
        ("pop3s", 1995),
    ]:
        assert f"--{name}-port PORT {name.upper()} port (default {port};" in text
    for option in ("--host", "--user", "--require-auth", "--require-tls", "--ca-cert", "--json"):
        assert option in text


def test_python_m_fakemail() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakemail", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert result.stdout.startswith("usage: fakemail serve ")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "fakemail"
    if not script.exists():
        pytest.skip("the fakemail script is not installed next to this Python")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    assert "serve" in result.stdout
