"""The pytest plugin: fixtures, the ``fakemail`` marker, options, and failure reports.

The only module that imports pytest. Loaded through the ``pytest11`` entry point (disable it
with ``-p no:fakemail``). Nothing is autouse: only tests asking for a fixture get a server.

* ``fakemail_server`` (session scope): one :class:`~fakemail.MailServer` per test session, i.e.
  per xdist worker, started the first time a test asks for it.
* ``fakemail`` (function scope): the same server, emptied and reset for each test, with the
  test's ``@pytest.mark.fakemail(...)`` options and plugins applied and undone afterwards.
  At teardown, errors raised on server threads during the test are re-raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import pytest

# Only what registering options and checking them needs: pytest imports this module in every
# run, and the servers (trio, aiosmtpd, the protocol engines) are imported by the fixtures,
# when a test first asks for one. A module imported here must not import them either.
from fakemail._config import FIXED_OPTIONS, Options, parse_user
from fakemail._exceptions import ConfigError, ServerError

if TYPE_CHECKING:
    from fakemail._message import Message
    from fakemail._server import MailServer
    from fakemail._transcript import Transcript

__all__ = [
    "fakemail",
    "fakemail_config",
    "fakemail_plugins",
    "fakemail_server",
]


class _Captured(NamedTuple):
    """What a test's server held when the test ended, for the teardown report."""

    messages: tuple[Message, ...]
    transcripts: tuple[Transcript, ...]
    #: The faults that fired, and the seed of the rules' draws.
    faults: tuple[str, ...]
    fault_seed: int


T = TypeVar("T")

_SERVER_KEY = pytest.StashKey["MailServer"]()
_CAPTURED_KEY = pytest.StashKey[_Captured]()

_MARKER_HELP = (
    "fakemail(**options, plugins=[...], faults=[...]): options for this test's fakemail server "
    "(require_auth, users, require_tls, max_message_size, ...); listener options "
    "(host, *_port) give the test a dedicated server"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--fakemail-*`` flags and ``fakemail_*`` ini options."""
    group = parser.getgroup("fakemail", "fakemail test mail server")
    group.addoption("--fakemail-host", help="address the servers bind to (127.0.0.1)")
    group.addoption(
        "--fakemail-user",
        action="append",
        default=None,
        metavar="ADDRESS[,LOGIN]:PASSWORD",
        help="an account whose password is checked (repeatable); LOGIN is the name to log in "
        "with, if not the address",
    )
    group.addoption(
        "--fakemail-require-auth",
        action="store_true",
        default=None,
        help="SMTP refuses mail from unauthenticated clients",
    )
    group.addoption(
        "--fakemail-auth-accept-any",
        action="store_true",
        default=None,
        help="accept any user name and password (with --fakemail-require-auth: AUTH is "
        "required, any credentials do)",
    )
    group.addoption(
        "--fakemail-require-tls",
        action="store_true",
        default=None,
        help="refuse authentication and mail before TLS",
    )
    group.addoption(
        "--fakemail-max-message-size", type=int, default=None, help="largest message, bytes"
    )
    parser.addini("fakemail_host", "address the fakemail servers bind to", default="")
    parser.addini(
        "fakemail_users", "ADDRESS[,LOGIN]:PASSWORD accounts, one per line", type="linelist"
    )
    parser.addini("fakemail_require_auth", "SMTP requires AUTH", type="bool", default=False)
    parser.addini("fakemail_auth_accept_any", "accept any credentials", type="bool", default=False)
    parser.addini(
        "fakemail_require_tls", "refuse auth and mail before TLS", type="bool", default=False
    )
    parser.addini("fakemail_max_message_size", "largest message in bytes", default="")


def _session_options(config: pytest.Config) -> dict[str, Any]:
    """``--fakemail-*`` flags over ``fakemail_*`` ini values; raises :class:`ConfigError`."""
    options: dict[str, Any] = {}
    host = config.getoption("fakemail_host") or config.getini("fakemail_host")
    if host:
        options["host"] = host
    users = config.getoption("fakemail_user") or config.getini("fakemail_users")
    if users:
        options["users"] = [parse_user(u) for u in users]
    for name in ("require_auth", "auth_accept_any", "require_tls"):
        if config.getoption(f"fakemail_{name}") or config.getini(f"fakemail_{name}"):
            options[name] = True
    size = config.getoption("fakemail_max_message_size")
    if size is None:  # not "or": a flag of 0 is an error to report, not a missing flag
        size = config.getini("fakemail_max_message_size") or None
    if size is not None:
        try:
            options["max_message_size"] = int(size)
        except ValueError:
            raise ConfigError(f"max_message_size must be a number, got {size!r}") from None
    Options().replace(**options)  # validate now, not in every test's setup
    return options


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fakemail`` marker and reject bad ``--fakemail-*``/ini values early."""
    config.addinivalue_line("markers", _MARKER_HELP)
    try:
        _session_options(config)
    except ConfigError as error:
        raise pytest.UsageError(f"fakemail: {error}") from None


@pytest.fixture(scope="session")
def fakemail_config(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Options for the session server, from ``--fakemail-*`` flags over ``fakemail_*`` ini
    values. Override this fixture to set others (any :class:`~fakemail.Options` field)."""
    return _session_options(pytestconfig)


@pytest.fixture
def fakemail_plugins() -> list[object]:
    """Plugins registered for each test using ``fakemail`` (override to add some)."""
    return []


@pytest.fixture(scope="session")
def fakemail_server(fakemail_config: dict[str, Any]) -> Iterator[MailServer]:
    """The session's server (one per xdist worker), started on first use.

    Tests using it directly share its mail and options; the ``fakemail`` fixture resets it.
    """
    from fakemail._server import MailServer

    server = _set_up(lambda: MailServer(**fakemail_config).start())
    try:
        yield server
    finally:
        server.stop()
    # Errors no test's teardown collected (raised after the last test, or while only tests
    # using this fixture directly ran) are not lost.
    _raise_server_errors(server, "found when the session's server stopped")


def _set_up(make: Callable[[], T]) -> T:
    """``make()``, a :class:`ConfigError` reported as one line: the options, the marker or a
    port is wrong, and fakemail's frames would only push that line out of sight."""
    __tracebackhide__ = True
    try:
        return make()
    except ConfigError as error:
        text = f"fakemail.{type(error).__name__}: {error}"
    if "PYTEST_XDIST_WORKER" in os.environ and "already in use" in text:
        text += (
            "; under pytest-xdist every worker runs its own server, so a fixed port is "
            "taken by the first (see the xdist how-to)"
        )
    pytest.fail(text, pytrace=False)


def _raise_server_errors(server: MailServer, when: str = "") -> None:
    """Re-raise errors recorded on server threads, without fakemail's frames in the report."""
    __tracebackhide__ = True
    try:
        server.check()
    except ServerError as error:
        cause = error.__cause__
        if when:
            raise ServerError(f"{error} ({when})") from cause
        raise ServerError(str(error)) from cause


def _marker_options(
    request: pytest.FixtureRequest,
) -> tuple[dict[str, Any], list[object], list[object]]:
    options: dict[str, Any] = {}
    plugins: list[object] = []
    faults: list[object] = []
    # Closest marker last so that it wins (function over class over module).
    for marker in reversed(list(request.node.iter_markers("fakemail"))):
        if marker.args:
            raise ConfigError(
                f"@pytest.mark.fakemail takes keyword options only, got positional {marker.args!r}"
            )
        kwargs = dict(marker.kwargs)
        extra = kwargs.pop("plugins", ())
        if not isinstance(extra, Sequence) or isinstance(extra, (str, bytes)):
            raise ConfigError(f"@pytest.mark.fakemail(plugins=...) takes a list, got {extra!r}")
        plugins.extend(extra)
        rules = kwargs.pop("faults", ())
        if not isinstance(rules, Sequence) or isinstance(rules, (str, bytes)):
            raise ConfigError(f"@pytest.mark.fakemail(faults=...) takes a list, got {rules!r}")
        faults.extend(rules)
        options.update(kwargs)
    return options, plugins, faults


def _snapshot(server: MailServer) -> _Captured:
    fired = tuple(str(fault) for fault in server.faults.fired)
    return _Captured(server.messages, server.transcripts, fired, server.faults.seed)


def _start(
    request: pytest.FixtureRequest, config: dict[str, Any], plugins: list[object]
) -> tuple[MailServer, bool]:
    """The server for one test and whether it is dedicated to it, configured."""
    options, marker_plugins, faults = _marker_options(request)
    plugins = [*plugins, *marker_plugins]
    if FIXED_OPTIONS & options.keys():
        from fakemail._server import MailServer

        # Host/port options (and data_dir) cannot change on the shared server: its own.
        dedicated = MailServer(plugins=plugins, **{**config, **options})
        _add_faults(dedicated, faults)
        return dedicated.start(), True
    server: MailServer = request.getfixturevalue("fakemail_server")
    server.reset()
    _raise_server_errors(server, "raised after an earlier test ended, before this one started")
    try:
        # Plugins first: whether the options make sense can depend on them (a plugin checking
        # logins makes require_auth without users useful).
        for plugin in plugins:
            server.add_plugin(plugin, temporary=True)
        if options:
            server.configure(**options)
        _add_faults(server, faults)
    except BaseException:
        server.reset()
        raise
    return server, False


def _add_faults(server: MailServer, rules: list[object]) -> None:
    for rule in rules:
        server.faults.add(rule)  # type: ignore[arg-type]  # checked by add()


def _finish(item: pytest.Item, server: MailServer, dedicated: bool) -> None:
    # The call report is already made; keep what a teardown report needs, then restore the
    # defaults so that the next test (or one using fakemail_server) starts clean.
    item.stash[_CAPTURED_KEY] = _snapshot(server)
    if dedicated:
        server.stop()  # idempotent
    else:
        server.reset()


@pytest.fixture
def fakemail(
    request: pytest.FixtureRequest,
    fakemail_config: dict[str, Any],
    fakemail_plugins: list[object],
) -> Generator[MailServer, None, None]:
    """A clean server for this test: empty store, the test's marker options and plugins.

    The shared ``fakemail_server``, unless the marker sets listener options (``host``,
    ``*_port``): then a dedicated server, stopped after the test. Errors raised on server
    threads during the test are re-raised at teardown. Options and plugins are restored after.
    """
    server, dedicated = _set_up(lambda: _start(request, fakemail_config, fakemail_plugins))
    request.node.stash[_SERVER_KEY] = server
    try:
        yield server
        if dedicated:
            server.stop()  # first, so that errors while closing sessions are reported too
        _raise_server_errors(server)
    finally:
        _finish(request.node, server, dedicated)


def _sections(captured: _Captured) -> list[tuple[str, str]]:
    from fakemail._matching import describe_message

    mail = [describe_message(m) for m in captured.messages] or ["(no messages captured)"]
    sessions = [t.text for t in captured.transcripts] or ["(no protocol sessions)"]
    sections = [
        ("fakemail: captured mail", "\n".join(mail)),
        ("fakemail: transcripts", "\n\n".join(sessions)),
    ]
    if captured.faults:
        fired = "\n".join([*captured.faults, f"(fault seed {captured.fault_seed})"])
        sections.append(("fakemail: faults fired", fired))
    return sections


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add captured mail and protocol transcripts to the report of a failed test."""
    report = yield
    if report.failed and report.when in ("call", "teardown"):
        # At "call" the server still holds the test's mail; at "teardown" it was reset, and
        # the fixture kept a snapshot.
        captured = item.stash.get(_CAPTURED_KEY, None) if report.when == "teardown" else None
        if captured is None:
            server = item.stash.get(_SERVER_KEY, None)
            captured = None if server is None else _snapshot(server)
        if captured is not None:
            report.sections.extend(_sections(captured))
    if report.when == "teardown":
        # Items live until the session ends: holding each test's mail there would keep every
        # message (and its attachments) of the run in memory.
        if _CAPTURED_KEY in item.stash:
            del item.stash[_CAPTURED_KEY]
        if _SERVER_KEY in item.stash:
            del item.stash[_SERVER_KEY]
    return report
