"""``fakemail serve``'s arguments: environment variables derived from the parser, ports."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from fakemail._cli import (
    ENVIRONMENT_PREFIX,
    Parsers,
    _exposed_warning,
    _options,
    _parsers,
    environment_defaults,
    environment_name,
    parse_arguments,
)
from fakemail._config import LISTENERS, STANDALONE_PORTS, Options, User
from fakemail._server import Endpoint


def test_every_serve_flag_has_a_variable() -> None:
    serve = _parsers().serve
    names = {}
    for action in serve._actions:
        name = environment_name(action)
        if isinstance(action, argparse._HelpAction):
            assert name is None
            continue
        assert name is not None, action.option_strings
        assert name.startswith(ENVIRONMENT_PREFIX)
        assert f"[{name}]" in (action.help or "")  # --help shows it
        names[name] = action.dest
    assert names["FAKEMAIL_MAX_MESSAGE_SIZE"] == "max_message_size"
    assert names["FAKEMAIL_VERBOSE"] == "verbose"
    assert names["FAKEMAIL_AUTH_ACCEPT_ANY"] == "auth_accept_any"  # not the Mailpit alias
    assert names["FAKEMAIL_NO_SMTPS"] == "smtps_port"
    assert len(names) == len(set(names))


def test_a_flag_added_later_gets_its_variable() -> None:
    def build(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> Parsers:
        parsers = _parsers(parser_class)
        parsers.serve.add_argument("--relay-to", metavar="HOST:PORT")
        parsers.serve.add_argument("--fault", action="append", default=[])
        parsers.serve.add_argument("--keep-data", action="store_true")
        return parsers

    environ = {
        "FAKEMAIL_RELAY_TO": "mx.test:25",
        "FAKEMAIL_FAULT": "smtp:rcpt:451:times=1 'smtp:data:552'",
        "FAKEMAIL_KEEP_DATA": "on",
    }
    defaults = environment_defaults(build, ["serve"], environ)
    assert defaults == {
        "relay_to": "mx.test:25",
        "fault": ["smtp:rcpt:451:times=1", "smtp:data:552"],
        "keep_data": True,
    }
    given = environment_defaults(build, ["serve", "--fault", "x"], environ)
    assert "fault" not in given  # the flag wins, whole: no mix of both lists


def test_flags_win_over_the_environment() -> None:
    environ = {"FAKEMAIL_SMTP_PORT": "2525", "FAKEMAIL_HOST": "::1", "FAKEMAIL_JSON": "1"}
    args = parse_arguments(["serve", "--smtp-port=26", "--host", "127.0.0.2"], environ)
    assert (args.smtp_port, args.host, args.json) == (26, "127.0.0.2", True)
    args = parse_arguments(["serve"], environ)
    assert (args.smtp_port, args.host, args.json) == (2525, "::1", True)


def test_repeatable_flags_replace_not_extend() -> None:
    environ = {"FAKEMAIL_USER": "a@x.org:1 b@x.org,bee:2"}
    assert parse_arguments(["serve"], environ).user == [
        User("a@x.org", "1"),
        User("b@x.org", "2", login="bee"),
    ]
    assert parse_arguments(["serve", "--user", "c@x.org:3"], environ).user == [User("c@x.org", "3")]


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("YES", True), ("off", False), ("", False)]
)
def test_switch_values(text: str, value: bool) -> None:
    assert parse_arguments(["serve"], {"FAKEMAIL_REQUIRE_TLS": text}).require_tls is value


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"FAKEMAIL_JSON": "maybe"}, "FAKEMAIL_JSON='maybe': use 1, true, yes or on"),
        ({"FAKEMAIL_SMTP_PORT": "x"}, "FAKEMAIL_SMTP_PORT='x': argument --smtp-port: a port is"),
        ({"FAKEMAIL_USER": "'a@x.org:1"}, 'FAKEMAIL_USER="\'a@x.org:1": No closing quotation'),
        ({"FAKEMAIL_USER": "nobody"}, "FAKEMAIL_USER='nobody': argument --user: a user is"),
    ],
)
def test_bad_values_name_the_variable(
    environ: dict[str, str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_arguments(["serve"], environ)
    assert exit_.value.code == 2
    assert f"fakemail serve: error: {error}" in capsys.readouterr().err


def test_ports_default_free_or_off() -> None:
    def ports(*argv: str, **environ: str) -> dict[str, int | None]:
        options = _options(parse_arguments(["serve", *argv], environ))
        return {name: options[f"{name}_port"] for name in LISTENERS}

    assert ports() == dict(STANDALONE_PORTS)
    assert ports("--free-ports") == dict.fromkeys(LISTENERS, 0)
    assert ports("--free-ports", "--smtp-port", "2525", "--no-pop3s") == {
        **dict.fromkeys(LISTENERS, 0),
        "smtp": 2525,
        "pop3s": None,
    }
    assert ports(FAKEMAIL_FREE_PORTS="1", FAKEMAIL_NO_IMAP="1")["imap"] is None
    # The command line decides a listener's port over either variable.
    assert ports("--imap-port", "1", FAKEMAIL_NO_IMAP="1")["imap"] == 1
    assert ports("--no-imap", FAKEMAIL_IMAP_PORT="1")["imap"] is None


def test_http_auth_flag_and_variable() -> None:
    def auth(*argv: str, **environ: str) -> object:
        return _options(parse_arguments(["serve", *argv], environ))["http_auth"]

    assert auth() is None
    assert auth("--http-auth", "ann:pa:ss") == ("ann", "pa:ss")  # the password may have colons
    assert auth(FAKEMAIL_HTTP_AUTH="bob:pw") == ("bob", "pw")
    assert _options(parse_arguments(["serve", "--no-http"], {}))["http_port"] is None


@pytest.mark.parametrize("text", ["no-colon", ":password"])
def test_bad_http_auth_is_a_usage_error(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_arguments(["serve", "--http-auth", text], {})
    assert exit_.value.code == 2
    assert "HTTP credentials are USER:PASSWORD" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "auth", "warns"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("192.0.2.1", None, True),
        ("0.0.0.0", ("ann", "pw"), False),
    ],
)
def test_http_exposed_without_auth_warns(
    host: str, auth: tuple[str, str] | None, warns: bool
) -> None:
    server = SimpleNamespace(http=Endpoint(host, 8025), options=Options(http_auth=auth))
    warning = _exposed_warning(server)  # type: ignore[arg-type]
    assert (warning is not None) == warns
    if warning:
        assert "--http-auth USER:PASSWORD" in warning
