"""``fakemail serve`` as a subprocess: readiness, mail, TLS, signals, errors, logging."""

from __future__ import annotations

import imaplib
import json
import os
import poplib
import queue
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from fakemail._config import LISTENERS, STANDALONE_PORTS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TIMEOUT = 60.0  # generous: a slow CI machine starting Python, trio and aiosmtpd
ALL_RANDOM = [arg for name in LISTENERS for arg in (f"--{name}-port", "0")]
USER_SYNTAX = "a user is ADDRESS:PASSWORD or ADDRESS,LOGIN:PASSWORD"
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

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakemail._cli", "serve", *args],
            env=None if env is None else {**os.environ, **env},
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

    def start(*args: str, env: dict[str, str] | None = None) -> Serve:
        process = Serve(*args, env=env)
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
    # The time once, from the log format; then the message.
    server.stderr.until(
        lambda line: (
            re.fullmatch(
                r"\d\d:\d\d:\d\d message #1 from app@example.com to bob@example.com "
                r"subject 'Welcome'; delivered to bob@example.com",
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
        f"fakemail: cannot listen for smtp on 127.0.0.1:{port}: address already in use "
        "(--smtp-port PORT picks another, --free-ports free ones, --no-smtp turns it off)"
    ]
    assert server.stdout.rest() == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--user", "bob"], f"argument --user: {USER_SYNTAX}, got 'bob'"),
        (["--user", ":pw"], f"argument --user: {USER_SYNTAX}, got ':pw'"),
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
        assert f"--{name}-port PORT {name.upper()} port (default {port}," in text
        assert f"--no-{name} do not serve {name.upper()} [FAKEMAIL_NO_{name.upper()}]" in text
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


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakemail", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    from fakemail import __version__

    assert result.stdout == f"fakemail {__version__} (pytest-fakemail)\n"


def test_free_ports_let_two_servers_run_side_by_side(serve: Callable[..., Serve]) -> None:
    first = serve("--json", "--free-ports").ready_json()["listeners"]
    second = serve("--json", "--free-ports").ready_json()["listeners"]
    assert set(first) == set(second) == set(LISTENERS)
    ports = [e["port"] for e in (*first.values(), *second.values())]
    assert len(set(ports)) == len(ports) == 2 * len(LISTENERS)
    assert not set(ports) & set(STANDALONE_PORTS.values())
    _send(second["smtp"]["host"], second["smtp"]["port"])


def test_free_ports_keep_a_port_given_and_no_listener_turns_one_off(
    serve: Callable[..., Serve],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fixed = probe.getsockname()[1]
    server = serve("--free-ports", "--smtp-port", str(fixed), "--no-smtps", "--no-pop3s")
    endpoints = server.ready_text()
    assert set(endpoints) == {"smtp", "imap", "imaps", "pop3", "http"}
    assert endpoints["smtp"] == ("127.0.0.1", fixed)
    _send(*endpoints["smtp"])
    assert server.stop() == 0


def test_environment_variables_set_options_and_flags_win(serve: Callable[..., Serve]) -> None:
    env = {
        "FAKEMAIL_JSON": "1",
        "FAKEMAIL_FREE_PORTS": "yes",
        "FAKEMAIL_NO_IMAPS": "true",
        "FAKEMAIL_MAX_MESSAGE_SIZE": "100",
        "FAKEMAIL_REQUIRE_AUTH": "1",
        "FAKEMAIL_USER": "alice@example.com,alice:pw 'bob@example.com:two words'",
        "FAKEMAIL_HOSTNAME": "from-env.test",
    }
    server = serve("--max-message-size", "5000", env=env)
    listeners = server.ready_json()["listeners"]
    assert "imaps" not in listeners
    assert "smtps" in listeners
    smtp = listeners["smtp"]
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=TIMEOUT) as client:
        _, greeting = client.ehlo()
        assert greeting.startswith(b"from-env.test")
        assert client.esmtp_features["size"] == "5000"  # the flag, not the variable
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail("alice@example.com", ["x@example.com"], MESSAGE)
        client.login("alice", "pw")
        client.sendmail("alice@example.com", ["x@example.com"], MESSAGE)
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=TIMEOUT) as client:
        client.login("bob@example.com", "two words")
    assert server.stop() == 0


def test_a_bad_environment_value_names_the_variable(serve: Callable[..., Serve]) -> None:
    server = serve(env={"FAKEMAIL_SMTP_PORT": "many"})
    assert server.wait() == 2
    assert server.stderr.rest()[-1] == (
        "fakemail serve: error: FAKEMAIL_SMTP_PORT='many': argument --smtp-port: "
        "a port is 0..65535 (0 = any free port), got 'many'"
    )


def test_require_auth_without_users_does_not_start(serve: Callable[..., Serve]) -> None:
    server = serve("--require-auth", "--free-ports")
    assert server.wait() == 2
    assert server.stderr.rest() == [
        "fakemail: require_auth without users would refuse every login: give users "
        "(fakemail serve --user), or auth_accept_any=True (--auth-accept-any) to require "
        "AUTH and accept any credentials"
    ]


@pytest.mark.parametrize("flag", ["--auth-accept-any", "--smtp-auth-accept-any"])
def test_require_auth_accepting_any_credentials(serve: Callable[..., Serve], flag: str) -> None:
    server = serve("--require-auth", flag, "--free-ports")
    smtp = server.ready_text()["smtp"]
    assert "  SMTP clients must authenticate before sending" in server.stdout.seen
    with pytest.raises(smtplib.SMTPSenderRefused):
        _send(*smtp)
    with smtplib.SMTP(*smtp, timeout=TIMEOUT) as client:
        client.login("whoever@example.com", "whatever")
        client.sendmail("whoever@example.com", ["bob@example.com"], MESSAGE)
    assert server.stop() == 0


def _run_try_line(server: Serve) -> None:
    """Run the banner's ``try:`` command; it must send a message."""
    server.ready_text()
    line = next(line for line in server.stdout.seen if line.startswith("  try: "))
    command = line.removeprefix("  try: ")
    result = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, (command, result.stderr)
    assert server.stop() == 0
    assert server.stdout.rest() == ["fakemail stopped; 1 message(s) were received."]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--require-tls"],
        ["--require-tls", "--require-auth", "--user", "al'ice@example.com,alice:p\"w"],
        ["--require-auth", "--auth-accept-any"],
        ["--no-smtp"],
    ],
    ids=["plain", "require-tls", "tls-and-users", "accept-any", "smtps-only"],
)
def test_the_banner_try_command_works(serve: Callable[..., Serve], args: list[str]) -> None:
    _run_try_line(serve("--free-ports", *args))


def test_client_mistakes_are_logged_only_with_verbose(serve: Callable[..., Serve]) -> None:
    quiet = serve("--json", "--free-ports")
    loud = serve("--json", "--free-ports", "-v")
    for server in (quiet, loud):
        smtp = server.ready_json()["listeners"]["smtp"]
        with socket.create_connection((smtp["host"], smtp["port"]), timeout=TIMEOUT) as sock:
            sock.recv(1024)
            sock.sendall(b"GET / HTTP/1.0\r\n")
            assert sock.recv(1024).startswith(b"500 ")
    loud.stderr.until(lambda line: "unrecognised: GET" in line)
    assert quiet.stop() == 0
    assert quiet.stderr.rest() == []
    assert loud.stop() == 0


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the script needs curl and jq"
)
def test_the_shell_script_example_runs() -> None:
    script = Path(__file__).parents[2] / "docs" / "examples" / "serve.sh"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # our fakemail
    result = subprocess.run(
        ["bash", str(script)],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "round trip OK: SMTP in, POP3 out"


def test_http_listener_in_banner_json_and_serving(serve: Callable[..., Serve]) -> None:
    server = serve("--free-ports")
    lines = []
    while (line := server.stdout.next()) != "Press Ctrl-C to stop.":
        assert line is not None, server.stderr.rest()
        lines.append(line)
    [url_line] = [line for line in lines if line.startswith("  web UI: ")]
    url = url_line.split(": ", 1)[1].rstrip("/")
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/livez", timeout=TIMEOUT) as response:
        assert response.read() == b"ok"
    assert server.stop() == 0
    as_json = serve("--json", "--free-ports", "--http-auth", "ann:pw")
    http = as_json.ready_json()["listeners"]["http"]
    assert http["url"] == f"http://127.0.0.1:{http['port']}"
    assert as_json.stop() == 0
