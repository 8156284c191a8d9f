"""``fakemail serve``: the servers in the foreground, for local development and other languages."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, Final

from fakemail._config import LISTENERS, STANDALONE_PORTS, parse_user
from fakemail._exceptions import ConfigError
from fakemail._matching import describe_message
from fakemail._message import Message
from fakemail._server import MailServer
from fakemail.hookspecs import hookimpl

__all__ = ["main"]

log = logging.getLogger("fakemail.serve")

_HINTS: Final = {
    "smtp": "plain, STARTTLS available",
    "smtps": "implicit TLS",
    "imap": "plain, STARTTLS available",
    "imaps": "implicit TLS",
    "pop3": "plain, STLS available",
    "pop3s": "implicit TLS",
}

#: Longest wait of the main thread: Python runs signal handlers on the main thread, and a
#: blocking wait there is not interrupted when the OS delivers the signal to another thread
#: (possible where :func:`_start` cannot block signals in the server threads, e.g. Windows).
_WAKE_SECONDS: Final = 1.0
_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def _start(server: MailServer) -> MailServer:
    """Start ``server`` with SIGINT/SIGTERM blocked, so that its threads inherit the block and
    the OS delivers those signals to the main thread, which runs their handlers at once."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return server.start()
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        return server.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _user_argument(text: str) -> tuple[str, str]:
    try:
        return parse_user(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port_argument(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0 = any free port), got {text!r}")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakemail", description="Test mail servers (SMTP, IMAP, POP3) over one store."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the servers in the foreground until Ctrl-C",
        description="Run the servers in the foreground until Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    for name in LISTENERS:
        serve.add_argument(
            f"--{name}-port",
            type=_port_argument,
            default=STANDALONE_PORTS[name],
            metavar="PORT",
            help=f"{name.upper()} port (default {STANDALONE_PORTS[name]}; 0 = any free port)",
        )
    serve.add_argument(
        "--user",
        action="append",
        type=_user_argument,
        default=[],
        metavar="ADDRESS:PASSWORD",
        help="an account whose password is checked (repeatable); without any, every login works",
    )
    serve.add_argument("--require-auth", action="store_true", help="SMTP requires AUTH")
    serve.add_argument(
        "--require-tls", action="store_true", help="refuse authentication and mail before TLS"
    )
    serve.add_argument("--max-message-size", type=int, metavar="BYTES", help="largest message")
    serve.add_argument("--hostname", default="localhost", help="name used in greetings")
    serve.add_argument("--ca-cert", metavar="PATH", help="write the test CA certificate here")
    serve.add_argument(
        "--json", action="store_true", help="print one JSON object with the listeners when ready"
    )
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="log each session and message to stderr"
    )
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "host": args.host,
        "hostname": args.hostname,
        "users": dict(args.user),
        "require_auth": args.require_auth,
        "require_tls": args.require_tls,
    }
    for name in LISTENERS:
        options[f"{name}_port"] = getattr(args, f"{name}_port")
    if args.max_message_size is not None:
        options["max_message_size"] = args.max_message_size
    return options


def _describe(server: MailServer, ca_path: str) -> str:
    lines = ["fakemail is listening:"]
    for name, endpoint in server.endpoints.items():
        lines.append(f"  {name.upper():<6} {endpoint.host}:{endpoint.port:<6} ({_HINTS[name]})")
    lines.append(f"  test CA certificate: {ca_path}")
    options = server.options
    if options.users:
        lines.append(f"  accounts with passwords: {', '.join(options.users)}")
    else:
        lines.append("  any user name and password is accepted (log in with the address)")
    smtp = server.endpoints.get("smtp")
    if smtp:
        lines.append(
            f"  try: python -c \"import smtplib; smtplib.SMTP('{smtp.host}', {smtp.port})"
            ".sendmail('me@example.com', ['you@example.com'], 'Subject: hi\\n\\nhello')\""
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


class _ActivityLog:
    """``-v``: one line per stored message (sessions are logged by the transcript log)."""

    @hookimpl
    def fakemail_message_stored(self, message: Message, mailboxes: Sequence[str]) -> None:
        """Log one line per accepted message (on a server thread)."""
        log.info("message %s; delivered to %s", describe_message(message), ", ".join(mailboxes))


def _fail(message: str) -> int:
    print(f"fakemail: {message}", file=sys.stderr, flush=True)
    return 2


def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM; return the exit status (2 when the servers cannot start)."""
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("fakemail")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    # Installed before the servers start, so that an early Ctrl-C is a clean stop too.
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        try:
            plugins = [_ActivityLog()] if args.verbose else []
            server = _start(MailServer(plugins=plugins, **_options(args)))
        except ConfigError as error:
            # Port in use, unknown host, bad option: one line, no traceback.
            return _fail(str(error))
        try:
            if args.ca_cert:
                try:
                    ca_path = str(server.write_ca(args.ca_cert))
                except OSError as error:
                    return _fail(f"cannot write the CA certificate to {args.ca_cert}: {error}")
            else:
                ca_path = str(server.ca_path)
            if args.json:
                listeners = {
                    n: {"host": e.host, "port": e.port} for n, e in server.endpoints.items()
                }
                print(json.dumps({"listeners": listeners, "ca_cert": ca_path}), flush=True)
            else:
                print(_describe(server, ca_path), flush=True)
            # The signal handlers run on this (main) thread and set the event.
            while not stop.wait(_WAKE_SECONDS):
                pass
        finally:
            server.stop()
        if not args.json:
            print(f"fakemail stopped; {len(server.messages)} message(s) were received.", flush=True)
        return 0
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fakemail`` command."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
