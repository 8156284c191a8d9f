"""The pytest plugin: fixtures, the ``fakemail`` marker, options, and failure reports.

The only module that imports pytest. Loaded through the ``pytest11`` entry point.

* ``fakemail_server`` (session scope): one :class:`~fakemail.MailServer` per test session, i.e.
  per xdist worker, started the first time a test asks for it.
* ``fakemail`` (function scope): the same server, emptied and reset for each test, with the
  test's ``@pytest.mark.fakemail(...)`` options and plugins applied. At teardown, errors raised
  on server threads during the test are re-raised.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from fakemail._config import LISTENER_OPTIONS
from fakemail._exceptions import ConfigError
from fakemail._matching import describe_message
from fakemail._server import MailServer

__all__ = [
    "fakemail",
    "fakemail_config",
    "fakemail_plugins",
    "fakemail_server",
]

_SERVER_KEY = pytest.StashKey[MailServer]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--fakemail-*`` flags and ``fakemail_*`` ini options."""
    group = parser.getgroup("fakemail", "fakemail test mail server")
    group.addoption("--fakemail-host", help="address the servers bind to (127.0.0.1)")
    group.addoption(
        "--fakemail-user",
        action="append",
        default=None,
        metavar="ADDRESS:PASSWORD",
        help="an account whose password is checked (repeatable)",
    )
    group.addoption(
        "--fakemail-require-auth",
        action="store_true",
        default=None,
        help="SMTP refuses mail from unauthenticated clients",
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
    parser.addini("fakemail_users", "ADDRESS:PASSWORD accounts, one per line", type="linelist")
    parser.addini("fakemail_require_auth", "SMTP requires AUTH", type="bool", default=False)
    parser.addini("fakemail_require_tls", "refuse auth and mail before TLS", type="bool",
                  default=False)
    parser.addini("fakemail_max_message_size", "largest message in bytes", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fakemail`` marker."""
    config.addinivalue_line(
        "markers",
        "fakemail(**options, plugins=[...]): options for this test's fakemail server "
        "(require_auth, users, require_tls, max_message_size, ...); listener options "
        "(host, *_port) give the test a dedicated server",
    )


def parse_user(text: str) -> tuple[str, str]:
    """``"alice@example.com:secret"`` -> ``("alice@example.com", "secret")``."""
    address, sep, password = text.partition(":")
    if not sep or not address:
        raise ConfigError(f"a user is ADDRESS:PASSWORD, got {text!r}")
    return address.strip(), password


@pytest.fixture(scope="session")
def fakemail_config(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Options for the session server, from ``--fakemail-*`` flags over ``fakemail_*`` ini
    values. Override this fixture to set others (any :class:`~fakemail.Options` field)."""
    options: dict[str, Any] = {}
    host = pytestconfig.getoption("fakemail_host") or pytestconfig.getini("fakemail_host")
    if host:
        options["host"] = host
    users = pytestconfig.getoption("fakemail_user") or pytestconfig.getini("fakemail_users")
    if users:
        options["users"] = dict(parse_user(u) for u in users)
    for name in ("require_auth", "require_tls"):
        flag = pytestconfig.getoption(f"fakemail_{name}")
        if flag or pytestconfig.getini(f"fakemail_{name}"):
            options[name] = True
    size = pytestconfig.getoption("fakemail_max_message_size") or pytestconfig.getini(
        "fakemail_max_message_size"
    )
    if size:
        options["max_message_size"] = int(size)
    return options


@pytest.fixture
def fakemail_plugins() -> list[object]:
    """Plugins registered for each test using ``fakemail`` (override to add some)."""
    return []


@pytest.fixture(scope="session")
def fakemail_server(
    fakemail_config: dict[str, Any], pytestconfig: pytest.Config
) -> Iterator[MailServer]:
    """The session's server (one per xdist worker), started on first use."""
    server = MailServer(**fakemail_config).start()
    pytestconfig.stash[_SERVER_KEY] = server
    try:
        yield server
    finally:
        server.stop()


def _marker_options(request: pytest.FixtureRequest) -> tuple[dict[str, Any], list[object]]:
    options: dict[str, Any] = {}
    plugins: list[object] = []
    # Closest marker last so that it wins (function over class over module).
    for marker in reversed(list(request.node.iter_markers("fakemail"))):
        if marker.args:
            raise ConfigError("@pytest.mark.fakemail takes keyword options only")
        kwargs = dict(marker.kwargs)
        plugins.extend(kwargs.pop("plugins", ()))
        options.update(kwargs)
    return options, plugins


@pytest.fixture
def fakemail(
    request: pytest.FixtureRequest,
    fakemail_config: dict[str, Any],
    fakemail_plugins: list[object],
) -> Generator[MailServer, None, None]:
    """A clean server for this test: empty store, the test's marker options and plugins.

    Server-thread errors during the test are re-raised at teardown. The mail stays inspectable
    until the next test resets the server.
    """
    options, plugins = _marker_options(request)
    plugins = [*fakemail_plugins, *plugins]
    if LISTENER_OPTIONS & options.keys():
        # Host/port options cannot change on the shared server: give the test its own.
        server = MailServer(plugins=plugins, **{**fakemail_config, **options}).start()
        request.node.stash[_SERVER_KEY] = server
        try:
            yield server
            server.check()
        finally:
            server.stop()
        return
    server = request.getfixturevalue("fakemail_server")
    # Reset on the way in, not out: the failure report (made after teardown) still needs this
    # test's mail and transcripts.
    server.reset()
    server.configure(**options)
    for plugin in plugins:
        server.add_plugin(plugin, temporary=True)
    request.node.stash[_SERVER_KEY] = server
    yield server
    server.check()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add captured mail and protocol transcripts to the report of a failed test."""
    report = yield
    server = item.stash.get(_SERVER_KEY, None)
    if server is not None and report.failed and report.when in ("call", "teardown"):
        messages = server.messages
        summary = [describe_message(m) for m in messages] or ["(no messages captured)"]
        report.sections.append(("fakemail: captured mail", "\n".join(summary)))
        transcripts = server.transcripts
        if transcripts:
            report.sections.append(
                ("fakemail: transcripts", "\n\n".join(t.text for t in transcripts))
            )
    return report
