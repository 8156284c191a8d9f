"""Releasing captured mail to an upstream SMTP server: a second fakemail server plays the
upstream, over plain SMTP, STARTTLS, implicit TLS and AUTH."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest

from fakemail import ConfigError, MailServer, RelayError, hookimpl
from fakemail._relay import Relay, parse_relay
from tests._helpers import TIMEOUT

MakeServer = Callable[..., MailServer]
ONLY_SMTP = {"imap_port": None, "imaps_port": None, "pop3_port": None, "pop3s_port": None}
RAW = (
    b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\n"
    b".dot line\r\ncaf\xc3\xa9\r\n"
)


def _captured(make_server: MakeServer, relay: str) -> MailServer:
    server = make_server(relay=relay, **ONLY_SMTP)
    with smtplib.SMTP(*server.smtp, timeout=TIMEOUT) as client:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    return server


def _url(upstream: MailServer, scheme: str = "smtp", query: str = "", auth: str = "") -> str:
    name = "smtps" if scheme == "smtps" else "smtp"
    host, port = upstream.endpoints[name]
    return f"{scheme}://{auth}{host}:{port}?ca={upstream.ca_path}{query}"


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_release_sends_the_bytes_unchanged(make_server: MakeServer, scheme: str) -> None:
    upstream = make_server(**ONLY_SMTP)
    server = _captured(make_server, _url(upstream, scheme))
    server.release(server.messages[0], to=["real@example.org", "other@example.org"])
    (relayed,) = upstream.messages
    assert relayed.raw == RAW
    assert relayed.sender == "app@example.com"
    assert relayed.recipients == ("real@example.org", "other@example.org")
    assert relayed.envelope.is_tls  # STARTTLS taken when offered; smtps is TLS throughout
    assert "BODY=8BITMIME" in relayed.envelope.mail_options


def test_authenticates_with_the_url_credentials(make_server: MakeServer) -> None:
    upstream = make_server(users={"relay@example.com": "p@ss:w/rd"}, require_auth=True, **ONLY_SMTP)
    server = _captured(make_server, _url(upstream, auth="relay%40example.com:p%40ss%3Aw%2Frd@"))
    server.release(server.messages[0], to="real@example.org")
    assert upstream.assert_sent().envelope.auth_user == "relay@example.com"

    server.configure(relay=_url(upstream, auth="relay%40example.com:wrong@"))
    with pytest.raises(RelayError, match="535"):
        server.release(server.messages[0], to="real@example.org")


def test_starttls_off_and_require(make_server: MakeServer) -> None:
    upstream = make_server(require_tls=True, **ONLY_SMTP)
    server = _captured(make_server, _url(upstream, query="&starttls=off"))
    with pytest.raises(RelayError, match="530"):
        server.release(server.messages[0], to="real@example.org")
    server.configure(relay=_url(upstream, query="&starttls=require"))
    server.release(server.messages[0], to="real@example.org")
    assert len(upstream.messages) == 1


def test_an_untrusted_certificate_is_an_error_unless_verify_off(make_server: MakeServer) -> None:
    upstream = make_server(**ONLY_SMTP)
    host, port = upstream.smtps
    server = _captured(make_server, f"smtps://{host}:{port}")  # the system CAs: not ours
    with pytest.raises(RelayError, match="CERTIFICATE_VERIFY_FAILED"):
        server.release(server.messages[0], to="real@example.org")
    server.configure(relay=f"smtps://{host}:{port}?verify=off")
    server.release(server.messages[0], to="real@example.org")
    assert len(upstream.messages) == 1


def test_refused_recipients_and_an_unreachable_relay(make_server: MakeServer) -> None:
    class Refuse:
        @hookimpl
        def fakemail_smtp_rcpt_to(self, address: str) -> str | None:
            return "550 5.1.1 no such user" if address.startswith("nobody") else None

    upstream = make_server(**ONLY_SMTP)
    upstream.add_plugin(Refuse())
    server = _captured(make_server, _url(upstream))
    with pytest.raises(RelayError, match=r"refused some recipients: nobody@example\.org: 550"):
        server.release(server.messages[0], to=["real@example.org", "nobody@example.org"])
    with pytest.raises(RelayError, match="refused every recipient"):
        server.release(server.messages[0], to=["nobody@example.org"])
    host, port = upstream.smtp
    upstream.stop()
    server.configure(relay=f"smtp://{host}:{port}")
    with pytest.raises(RelayError, match=f"cannot relay through {host}:{port}"):
        server.release(server.messages[0], to="real@example.org")


def test_without_a_relay_or_recipients(make_server: MakeServer) -> None:
    server = _captured(make_server, "smtp://127.0.0.1:25")
    server.configure(relay=None)
    with pytest.raises(ConfigError, match="no relay is configured"):
        server.release(server.messages[0], to="real@example.org")
    server.configure(relay="smtp://127.0.0.1:25")
    with pytest.raises(ConfigError, match="at least one address"):
        server.release(server.messages[0], to=[])


def test_from_overrides_the_envelope_sender(make_server: MakeServer) -> None:
    upstream = make_server(**ONLY_SMTP)
    server = _captured(make_server, _url(upstream, query="&from=bounces%40example.com"))
    server.release(server.messages[0], to="real@example.org")
    assert upstream.assert_sent().sender == "bounces@example.com"


def test_relay_urls() -> None:
    assert parse_relay("smtp://mail.example.com") == Relay("smtp", "mail.example.com", 25)
    assert parse_relay("smtps://u:p@[::1]:2465?verify=off") == Relay(
        "smtps", "::1", 2465, "u", "p", verify=False
    )
    assert parse_relay("smtps://[::1]:2465").address == "[::1]:2465"
    for bad, reason in [
        ("http://x", "a relay is smtp://"),
        ("smtp://x:99999", "port"),
        ("smtp://", "names no host"),
        ("smtp://x?tls=1", "unknown option"),
        ("smtps://x?starttls=require", "smtp:// only"),
        ("smtp://x?starttls=yes", "auto, require or off"),
        ("smtp://x?verify=no", "verify is on or off"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            parse_relay(bad)
    with pytest.raises(ConfigError, match="a relay is smtp://"):
        MailServer(relay="localhost:25")
