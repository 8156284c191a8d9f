"""Options: defaults, validation (always ConfigError), replace(), listener names."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from fakemail._config import LISTENER_OPTIONS, LISTENERS, STANDALONE_PORTS, Options
from fakemail._exceptions import ConfigError


def test_defaults() -> None:
    options = Options()
    assert options.host == "127.0.0.1"
    assert options.smtp_port == 0
    assert options.smtps_port == 0
    assert options.hostname == "localhost"
    assert options.users == {}
    assert (options.require_auth, options.require_tls) == (False, False)
    assert options.max_message_size == 25 * 1024 * 1024
    assert options.smtp_max_line_length == 1000
    assert options.max_line_length == 8192
    assert options.max_connections == 100
    assert (options.smtp_timeout, options.pop3_timeout, options.imap_timeout) == (
        300.0,
        600.0,
        1800.0,
    )
    assert (options.transcript_sessions, options.transcript_bytes) == (50, 16 * 1024)
    assert not options.checks_credentials


def test_listener_names() -> None:
    assert LISTENERS == ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s")
    assert set(STANDALONE_PORTS) == set(LISTENERS)
    assert len(set(STANDALONE_PORTS.values())) == len(LISTENERS)
    assert {"host", "smtp_port", "pop3s_port"} <= LISTENER_OPTIONS
    assert len(LISTENER_OPTIONS) == 7
    fields = {f.name for f in dataclasses.fields(Options)}
    assert fields >= LISTENER_OPTIONS


def test_checks_credentials() -> None:
    assert Options(users={"a@x.org": "pw"}).checks_credentials
    assert Options(require_auth=True).checks_credentials
    assert not Options(require_tls=True).checks_credentials


def test_users_are_copied() -> None:
    users = {"a@x.org": "pw"}
    options = Options(users=users)
    users["b@x.org"] = "other"
    assert options.users == {"a@x.org": "pw"}
    assert type(options.users) is dict


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
        ({"users": [("a", "b")]}, "users must be a mapping of address to password"),
        ({"transcript_sessions": -1}, "transcript_sessions must not be negative, got -1"),
        # Wrong types (e.g. from a marker) are ConfigErrors too, not TypeErrors.
        ({"smtp_port": "25"}, "smtp_port must be int or None, got '25'"),
        ({"max_message_size": "10"}, "max_message_size must be int, got '10'"),
        ({"max_connections": True}, "max_connections must be int, got True"),
        ({"smtp_timeout": "1"}, "smtp_timeout must be int or float, got '1'"),
        ({"require_auth": "yes"}, "require_auth must be bool, got 'yes'"),
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
    assert "host, hostname, imap_port" in text
    assert "users" in text
