"""``fakemail serve``: the servers in the foreground, for local development and other languages.

Every ``serve`` flag can also come from the environment: ``--smtp-port`` from
``FAKEMAIL_SMTP_PORT``, ``--require-auth`` from ``FAKEMAIL_REQUIRE_AUTH``, and so on. The names
are derived from the parser (:func:`environment_name`), so a flag added later gets its variable
with no list to keep; flags given on the command line win over the environment.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, NoReturn

from fakemail._config import LISTENERS, STANDALONE_PORTS, User, parse_http_auth, parse_user
from fakemail._exceptions import ConfigError, PortInUse
from fakemail._matching import summarize_message
from fakemail._message import Message
from fakemail._relay import parse_relay
from fakemail._server import MailServer
from fakemail._version import __version__
from fakemail.hookspecs import hookimpl

__all__ = [
    "ENVIRONMENT_PREFIX",
    "Parsers",
    "environment_defaults",
    "environment_name",
    "main",
    "parse_arguments",
]

log = logging.getLogger("fakemail.serve")

#: What every ``serve`` flag's environment variable starts with.
ENVIRONMENT_PREFIX: Final = "FAKEMAIL_"

_HINTS: Final = {
    "smtp": "plain, STARTTLS available",
    "smtps": "implicit TLS",
    "imap": "plain, STARTTLS available",
    "imaps": "implicit TLS",
    "pop3": "plain, STLS available",
    "pop3s": "implicit TLS",
    "http": "web UI and Mailpit-compatible API",
}

#: ``--no-<listener>`` stores this in ``<listener>_port``: the listener is off.
_OFF: Final = -1

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})

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


def _user_argument(text: str) -> User:
    try:
        return parse_user(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _http_auth_argument(text: str) -> tuple[str, str]:
    try:
        return parse_http_auth(text)
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


class Parsers(NamedTuple):
    """The ``fakemail`` command's parser and its ``serve`` subparser."""

    main: argparse.ArgumentParser
    serve: argparse.ArgumentParser


def _parsers(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> Parsers:
    """The ``fakemail`` parser and its ``serve`` subparser. Add ``serve`` flags before the
    loop at the end, which names each flag's environment variable in its help."""
    parser = parser_class(
        prog="fakemail", description="Test mail servers (SMTP, IMAP, POP3) over one store."
    )
    parser.add_argument(
        "--version", action="version", version=f"fakemail {__version__} (pytest-fakemail)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the servers in the foreground until Ctrl-C",
        description="Run the servers in the foreground until Ctrl-C or SIGTERM. Every flag "
        f"can also be set by an environment variable ({ENVIRONMENT_PREFIX}<FLAG>, shown with "
        "each); a flag given here wins over its variable.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    for name in LISTENERS:
        serve.add_argument(
            f"--{name}-port",
            type=_port_argument,
            metavar="PORT",
            help=f"{name.upper()} port (default {STANDALONE_PORTS[name]}, or a free one with "
            "--free-ports; 0 = any free port)",
        )
    serve.add_argument(
        "--free-ports",
        action="store_true",
        help="every listener not given a port takes a free one (printed when ready)",
    )
    for name in LISTENERS:
        serve.add_argument(
            f"--no-{name}",
            dest=f"{name}_port",
            action="store_const",
            const=_OFF,
            help=f"do not serve {name.upper()}",
        )
    serve.add_argument(
        "--user",
        action="append",
        type=_user_argument,
        default=[],
        metavar="ADDRESS[,LOGIN]:PASSWORD",
        help="an account whose password is checked (repeatable); LOGIN is the name to log in "
        "with if not the address; without any, every login works",
    )
    serve.add_argument(
        "--require-auth",
        action="store_true",
        help="SMTP requires AUTH (needs --user, or --auth-accept-any)",
    )
    serve.add_argument(
        "--auth-accept-any",
        "--smtp-auth-accept-any",
        action="store_true",
        help="accept any user name and password, also with --require-auth (the second "
        "spelling is Mailpit's)",
    )
    serve.add_argument(
        "--require-tls", action="store_true", help="refuse authentication and mail before TLS"
    )
    serve.add_argument(
        "--http-auth",
        type=_http_auth_argument,
        metavar="USER:PASSWORD",
        help="the web UI and HTTP API require these credentials (HTTP Basic auth)",
    )
    serve.add_argument("--max-message-size", type=int, metavar="BYTES", help="largest message")
    serve.add_argument("--hostname", default="localhost", help="name used in greetings")
    serve.add_argument(
        "--relay",
        metavar="URL",
        help="release messages to this SMTP server: smtp://[USER:PASSWORD@]HOST[:PORT] "
        "(STARTTLS when offered) or smtps://... (implicit TLS)",
    )
    serve.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the mail in DIR across restarts (Maildirs; default: in memory only)",
    )
    serve.add_argument("--ca-cert", metavar="PATH", help="write the test CA certificate here")
    serve.add_argument(
        "--json", action="store_true", help="print one JSON object with the listeners when ready"
    )
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="log each session and message to stderr"
    )
    for action in serve._actions:
        variable = environment_name(action)
        if variable is not None:
            action.help = f"{action.help or ''} [{variable}]".lstrip()
    return Parsers(parser, serve)


# ---------------------------------------------------------------------- environment variables


def _long_option(action: argparse.Action) -> str | None:
    return next((o for o in action.option_strings if o.startswith("--")), None)


def environment_name(action: argparse.Action) -> str | None:
    """The variable that sets ``action``: ``--max-message-size`` -> ``FAKEMAIL_MAX_MESSAGE_SIZE``
    (its first long option names it); ``None`` for ``--help`` and ``--version``."""
    long = _long_option(action)
    if long is None or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return None
    return ENVIRONMENT_PREFIX + long[2:].upper().replace("-", "_")


def _environment_words(action: argparse.Action, name: str, text: str) -> list[str]:
    """The command-line words meaning ``name=text`` for ``action``.

    A flag without a value is on for 1/true/yes/on and off for 0/false/no/off or empty; a
    repeatable flag takes its values split like a shell line (quote a value with spaces).
    Raises :class:`_Rejected` for a value that is neither.
    """
    option = _long_option(action)
    assert option is not None  # environment_name() gave a name
    if action.nargs == 0:
        word = text.strip().lower()
        if word in _TRUE:
            return [option]
        if word in _FALSE:
            return []
        raise _Rejected("use 1, true, yes or on (0, false, no, off or empty for off)")
    if isinstance(action, argparse._AppendAction):
        try:
            values = shlex.split(text)
        except ValueError as error:
            raise _Rejected(str(error)) from None
    else:
        values = [text]
    return [f"{option}={value}" for value in values]


class _Rejected(Exception):
    """argparse's error, raised rather than printed with an exit."""


class _QuietParser(argparse.ArgumentParser):
    """A parser whose errors are :class:`_Rejected` exceptions."""

    def error(self, message: str) -> NoReturn:
        raise _Rejected(message)


def environment_defaults(
    build: Callable[[type[argparse.ArgumentParser]], Parsers],
    argv: Sequence[str],
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """``serve`` defaults from the ``FAKEMAIL_*`` variables in ``environ`` for every option
    that ``argv`` leaves unset (flags win). ``build(parser_class)`` makes the parsers.

    Exits with a usage error naming the variable when a value is bad.
    """
    quiet = build(_QuietParser)
    for parser in quiet:
        for action in parser._actions:
            action.default = argparse.SUPPRESS  # a parse then yields only what it was given
    try:
        explicit = set(vars(quiet.main.parse_args(argv)))
    except _Rejected:
        return {}  # the real parse reports the command line's own mistake
    defaults: dict[str, Any] = {}
    for action in quiet.serve._actions:
        name = environment_name(action)
        if name is None or name not in environ or action.dest in explicit:
            continue
        try:
            words = _environment_words(action, name, environ[name])
            values = vars(quiet.main.parse_args(["serve", *words]))
        except _Rejected as error:
            build(argparse.ArgumentParser).serve.error(f"{name}={environ[name]!r}: {error}")
        if action.dest in values:
            defaults[action.dest] = values[action.dest]
    return defaults


def parse_arguments(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """The command line ``argv`` over the ``FAKEMAIL_*`` variables of ``environ``."""
    argv = sys.argv[1:] if argv is None else argv
    defaults = environment_defaults(_parsers, argv, os.environ if environ is None else environ)
    parsers = _parsers()
    parsers.serve.set_defaults(**defaults)
    return parsers.main.parse_args(argv)


# ---------------------------------------------------------------------- serve


def _port(args: argparse.Namespace, name: str) -> int | None:
    value: int | None = getattr(args, f"{name}_port")
    if value == _OFF:
        return None
    if value is None:
        return 0 if args.free_ports else STANDALONE_PORTS[name]
    return value


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "host": args.host,
        "hostname": args.hostname,
        "users": args.user,
        "require_auth": args.require_auth,
        "auth_accept_any": args.auth_accept_any,
        "require_tls": args.require_tls,
        "http_auth": args.http_auth,
    }
    for name in LISTENERS:
        options[f"{name}_port"] = _port(args, name)
    if args.max_message_size is not None:
        options["max_message_size"] = args.max_message_size
    if args.data_dir is not None:
        options["data_dir"] = args.data_dir
    if args.relay is not None:
        options["relay"] = args.relay
    return options


def _literal(value: object) -> str:
    # A Python literal in double quotes (JSON's are valid Python), so that the shell quoting
    # around the command stays readable.
    return json.dumps(value)


def _try_command(server: MailServer, ca_path: str) -> str | None:
    """A shell command that sends a message with Python's smtplib under the server's options."""
    options = server.options
    endpoints = server.endpoints
    context = f"ssl.create_default_context(cafile={_literal(ca_path)})"
    if "smtp" in endpoints:
        host, port = endpoints["smtp"]
        steps = [f"s = smtplib.SMTP({_literal(host)}, {port})"]
        if options.require_tls:
            steps.append(f"s.starttls(context={context})")
    elif "smtps" in endpoints:
        host, port = endpoints["smtps"]
        steps = [f"s = smtplib.SMTP_SSL({_literal(host)}, {port}, context={context})"]
    else:
        return None
    if options.require_auth:
        user = options.users[0] if options.users else User("me@example.com", "any password")
        steps.append(f"s.login({_literal(user.login_name)}, {_literal(user.password)})")
    message = _literal("Subject: hi\n\nhello")
    steps.append(
        f"s.sendmail({_literal('me@example.com')}, [{_literal('you@example.com')}], "
        f"{message}); s.quit()"
    )
    return "python3 -c " + shlex.quote("import smtplib, ssl; " + "; ".join(steps))


def _describe_users(users: Iterable[User]) -> str:
    return ", ".join(
        user.address if user.login is None else f"{user.address} (login {user.login})"
        for user in users
    )


def _describe(server: MailServer, ca_path: str) -> str:
    lines = ["fakemail is listening:"]
    for name, endpoint in server.endpoints.items():
        hint = _HINTS.get(name, "")
        lines.append(f"  {name.upper():<6} {endpoint.host}:{endpoint.port:<6} ({hint})")
    if server.http_url is not None:
        lines.append(f"  web UI: {server.http_url}/")
    lines.append(f"  test CA certificate: {ca_path}")
    options = server.options
    if options.relay is not None:
        lines.append(f"  messages can be released to {parse_relay(options.relay).address}")
    if options.data_dir is not None:
        lines.append(
            f"  mail is kept in {options.data_dir} ({len(server.messages)} message(s) now)"
        )
    if options.users:
        lines.append(f"  accounts with passwords: {_describe_users(options.users)}")
    else:
        lines.append("  any user name and password is accepted (log in with the address)")
    if options.require_auth:
        lines.append("  SMTP clients must authenticate before sending")
    if options.require_tls:
        lines.append("  authentication and mail need TLS first (STARTTLS, STLS or the TLS ports)")
    command = _try_command(server, ca_path)
    if command is not None:
        lines.append(f"  try: {command}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


class _ActivityLog:
    """``-v``: one line per stored message (sessions are logged by the transcript log)."""

    @hookimpl
    def fakemail_message_stored(self, message: Message, mailboxes: Sequence[str]) -> None:
        """Log one line per accepted message (on a server thread)."""
        log.info(
            "message #%d %s; delivered to %s",
            message.seq,
            summarize_message(message),
            ", ".join(mailboxes),
        )


def _configure_logging(verbose: bool) -> None:
    """Logs on stderr: fakemail's warnings and errors always, its activity with ``-v``.

    aiosmtpd logs each client's mistakes (``unrecognised: GET``) as warnings; they show only
    with ``-v``, where they explain a session (its per-command INFO lines are left out:
    the transcripts say more).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    ours = logging.getLogger("fakemail")
    ours.addHandler(handler)
    ours.setLevel(logging.INFO if verbose else logging.WARNING)
    aiosmtpd = logging.getLogger("mail.log")
    aiosmtpd.propagate = False
    aiosmtpd.setLevel(logging.WARNING)
    aiosmtpd.addHandler(handler if verbose else logging.NullHandler())


def _exposed_warning(server: MailServer) -> str | None:
    """A warning when the web UI and API are reachable from other machines without a password
    (every mail fakemail caught would be readable by anyone on the network)."""
    endpoint = server.http
    if endpoint is None or server.options.http_auth is not None:
        return None
    try:
        loopback = ipaddress.ip_address(endpoint.host).is_loopback
    except ValueError:
        loopback = endpoint.host == "localhost"
    if loopback:
        return None
    return (
        f"the web UI and HTTP API on {endpoint.host} can be reached from other machines and "
        "have no password: anyone there can read every message; add --http-auth USER:PASSWORD"
    )


def _fail(message: str) -> int:
    print(f"fakemail: {message}", file=sys.stderr, flush=True)
    return 2


def _start_error(error: ConfigError) -> str:
    if isinstance(error, PortInUse):
        name = error.listener
        return (
            f"cannot listen for {name} on {error.host}:{error.port}: address already in use "
            f"(--{name}-port PORT picks another, --free-ports free ones, --no-{name} turns it off)"
        )
    return str(error)


def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM; return the exit status (2 when the servers cannot start)."""
    _configure_logging(args.verbose)
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
            return _fail(_start_error(error))
        try:
            if args.ca_cert:
                try:
                    ca_path = str(server.write_ca(args.ca_cert))
                except OSError as error:
                    return _fail(f"cannot write the CA certificate to {args.ca_cert}: {error}")
            else:
                ca_path = str(server.ca_path)
            warning = _exposed_warning(server)
            if warning is not None:
                print(f"fakemail: warning: {warning}", file=sys.stderr, flush=True)
            if args.json:
                listeners: dict[str, dict[str, Any]] = {
                    n: {"host": e.host, "port": e.port} for n, e in server.endpoints.items()
                }
                if server.http_url is not None:
                    listeners["http"]["url"] = server.http_url
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
    args = parse_arguments(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
