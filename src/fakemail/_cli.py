"""``fakemail serve``: the servers in the foreground, for local development and other languages."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from fakemail._config import LISTENERS, STANDALONE_PORTS
from fakemail._exceptions import ConfigError
from fakemail._protocols import AVAILABLE
from fakemail._server import MailServer

__all__ = ["main"]

_HINTS = {
    "smtp": "plain, STARTTLS available",
    "smtps": "implicit TLS",
    "imap": "plain, STARTTLS available",
    "imaps": "implicit TLS",
    "pop3": "plain, STLS available",
    "pop3s": "implicit TLS",
}


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
            type=int,
            default=STANDALONE_PORTS[name],
            metavar="PORT",
            help=f"{name.upper()} port (default {STANDALONE_PORTS[name]}; 0 = any free port)",
        )
    serve.add_argument(
        "--user",
        action="append",
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
    serve.add_argument("-v", "--verbose", action="store_true", help="log each session")
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from fakemail.pytest_plugin import parse_user

    options: dict[str, Any] = {
        "host": args.host,
        "hostname": args.hostname,
        "users": dict(parse_user(u) for u in args.user),
        "require_auth": args.require_auth,
        "require_tls": args.require_tls,
    }
    for name in LISTENERS:
        port = getattr(args, f"{name}_port")
        options[f"{name}_port"] = port if name.rstrip("s") in AVAILABLE else None
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


def serve(args: argparse.Namespace) -> int:
    """Run until interrupted; return the exit status."""
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = MailServer(**_options(args)).start()
    except ConfigError as error:
        print(f"fakemail: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ca_path = str(server.ca_path)
        if args.ca_cert:
            ca_path = str(server.write_ca(args.ca_cert))
        if args.json:
            listeners = {n: {"host": e.host, "port": e.port} for n, e in server.endpoints.items()}
            print(json.dumps({"listeners": listeners, "ca_cert": ca_path}), flush=True)
        else:
            print(_describe(server, ca_path), flush=True)
        stop.wait()  # signal handlers run on this (main) thread and set it
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        if not args.json:
            print(f"fakemail stopped; {len(server.messages)} message(s) were received.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fakemail`` command."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
