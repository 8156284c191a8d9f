"""Options: defaults, validation (always ConfigError), replace(), listener names."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from fakemail._config import (
    LISTENER_OPTIONS,
    LISTENERS,
    STANDALONE_PORTS,
    Options,
    User,
    parse_user,
)
from fakemail._exceptions import ConfigError


def test_defaults() -> None:
    options = Options()
    assert options.host == "127.0.0.1"
    assert options.smtp_port == 0
    assert options.smtps_port == 0
    assert options.hostname == "localhost"
    assert options.users == ()
    assert (options.require_auth, options.auth_accept_any, options.require_tls) == (
        False,
        False,
        False,
    )
    assert options.max_message_size == 25 * 1024 * 1024
    assert options.smtp_max_line_length == 1000
    assert options.max_line_length == 64 * 1024
    assert options.max_connections == 100
    assert (options.smtp_timeout, options.pop3_timeout, options.imap_timeout) == (
        300.0,
        600.0,
        1800.0,
    )
    assert (options.transcript_sessions, options.transcript_bytes) == (50, 16 * 1024)
    assert not options.checks_credentials


def test_listener_names() -> None:
    assert LISTENERS == ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http")
    assert set(STANDALONE_PORTS) == set(LISTENERS)
    assert len(set(STANDALONE_PORTS.values())) == len(LISTENERS)
    assert {"host", "smtp_port", "pop3s_port"} <= LISTENER_OPTIONS
    assert len(LISTENER_OPTIONS) == 8
    assert Options().http_port is None  # off in-process unless asked for
    fields = {f.name for f in dataclasses.fields(Options)}
    assert fields >= LISTENER_OPTIONS


def test_checks_credentials() -> None:
    assert Options(users={"a@x.org": "pw"}).checks_credentials
    # require_auth alone checks nothing: MailServer refuses to run so (tests/integration).
    assert not Options(require_auth=True).checks_credentials
    assert not Options(require_auth=True, auth_accept_any=True).checks_credentials
    assert not Options(require_tls=True).checks_credentials


def test_users_from_a_mapping_or_user_values() -> None:
    users = {"a@x.org": "pw"}
    options = Options(users=users)
    users["b@x.org"] = "other"
    assert options.users == (User("a@x.org", "pw"),)
    given = [User("a@x.org", "pw"), User("b@x.org", "", login="bee")]
    assert Options(users=given).users == tuple(given)
    assert Options(users=iter(given)).users == tuple(given)
    assert Options(users={}).users == ()


def test_user_names_and_accounts() -> None:
    options = Options(
        users=[User("Alice@Example.com", "s3cret"), User("bob@example.com", "pw", login="bob")]
    )
    alice, bob = options.users
    assert (alice.login_name, bob.login_name) == ("Alice@Example.com", "bob")
    # An address matches with its domain case-insensitive; a login name exactly.
    assert options.user_named("Alice@EXAMPLE.com") is alice
    assert options.user_named("alice@example.com") is None
    assert options.user_named("bob") is bob
    assert options.user_named("Bob") is None
    assert options.user_named("bob@example.com") is None  # the address is not a login now
    assert options.account_of("bob") == "bob@example.com"
    assert options.account_of("Alice@EXAMPLE.COM") == "Alice@example.com"
    assert options.account_of("nobody@Example.COM") == "nobody@example.com"


def test_user_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(User("a@x.org", "s3cret", login="a"))
    assert repr(User("a@x.org", "s3cret", login="a")) == "User(address='a@x.org', login='a')"


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ([("a", "b")], "users must be a mapping {address: password} or a list of fakemail.User"),
        ("a@x.org:pw", "users must be a mapping {address: password} or a list of fakemail.User"),
        ({"a@x.org": 5}, "a user's password must be str, got 5"),
        ({" ": "pw"}, "a user's address must not be empty"),
        ([User("a@x.org", "1"), User("a@X.ORG", "2")], "users: 'a@X.ORG' is given twice"),
        (
            [User("a@x.org", "1"), User("b@x.org", "2", login="a@x.org")],
            "users: the login name 'a@x.org' would mean both 'a@x.org' and 'b@x.org'",
        ),
        (
            [User("a@x.org", "1", login="x"), User("b@x.org", "2", login="x")],
            "users: the login name 'x' would mean both 'a@x.org' and 'b@x.org'",
        ),
    ],
)
def test_invalid_users(users: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Options(users=users)


def test_invalid_user_login() -> None:
    with pytest.raises(ConfigError, match="a user's login must be a non-empty str or None"):
        User("a@x.org", "pw", login="")


def test_accept_any_contradicts_users() -> None:
    with pytest.raises(ConfigError, match="auth_accept_any accepts any credentials, users"):
        Options(users={"a@x.org": "pw"}, auth_accept_any=True)


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("alice@example.com:s3cret", User("alice@example.com", "s3cret")),
        ("alice@example.com:s3:cr:t", User("alice@example.com", "s3:cr:t")),
        ("alice@example.com:", User("alice@example.com", "")),
        ("alice@example.com,alice:s3cret", User("alice@example.com", "s3cret", login="alice")),
        (" bob@x.org , bob :pw ", User("bob@x.org", "pw ", login="bob")),
        ("robot:pw", User("robot", "pw")),
    ],
)
def test_parse_user(text: str, user: User) -> None:
    parsed = parse_user(text)
    assert (parsed, parsed.password) == (user, user.password)


@pytest.mark.parametrize("text", ["alice", ":pw", " :pw", "a@x.org,:pw", ",alice:pw"])
def test_parse_user_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="a user is ADDRESS:PASSWORD or ADDRESS,LOGIN:PASSWORD"):
        parse_user(text)


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Options().host = "0.0.0.0"  # type: ignore[misc]


def test_ports() -> None:
    options = Options(smtp_port=2525, pop3_port=None, imap_port=65535)
    assert (options.smtp_port, options.pop3_port, options.imap_port) == (2525, None, 65535)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_message_size": 0}, "max_message_size must be positive, got 0"),
        ({"max_line_length": -1}, "max_line_length must be positive, got -1"),
        ({"max_connections": 0}, "max_connections must be positive, got 0"),
        ({"smtp_max_line_length": 99}, "smtp_max_line_length must be at least 100"),
        ({"smtp_port": 65536}, "smtp_port must be 0..65535 or None, got 65536"),
        ({"pop3s_port": -1}, "pop3s_port must be 0..65535 or None, got -1"),
        ({"smtp_timeout": 0}, "smtp_timeout must be positive"),
        ({"imap_timeout": -5.0}, "imap_timeout must be positive"),
        ({"transcript_sessions": -1}, "transcript_sessions must not be negative, got -1"),
        # Wrong types (e.g. from a marker) are ConfigErrors too, not TypeErrors.
        ({"smtp_port": "25"}, "smtp_port must be int or None, got '25'"),
        ({"max_message_size": "10"}, "max_message_size must be int, got '10'"),
        ({"max_connections": True}, "max_connections must be int, got True"),
        ({"smtp_timeout": "1"}, "smtp_timeout must be int or float, got '1'"),
        ({"require_auth": "yes"}, "require_auth must be bool, got 'yes'"),
        ({"auth_accept_any": 1}, "auth_accept_any must be bool, got 1"),
        ({"host": None}, "host must be str, got None"),
    ],
)
def test_invalid(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Options(**changes)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Options().replace(**changes)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        Options(max_connections=0)


def test_replace() -> None:
    base = Options()
    changed = base.replace(require_auth=True, smtp_timeout=5)
    assert changed.require_auth
    assert changed.smtp_timeout == 5
    assert not base.require_auth
    assert base.replace() == base


def test_replace_unknown_names() -> None:
    with pytest.raises(ConfigError) as info:
        Options().replace(require_ssl=True, colour="red")
    text = str(info.value)
    assert text.startswith("unknown option(s) colour, require_ssl; known: ")
    assert "host, hostname, http_auth, http_port, imap_port" in text
    assert "users" in text
