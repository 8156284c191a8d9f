"""Releasing a stored message to a real (upstream) SMTP server, as Mailpit's "release" does.

The upstream is a URL: ``smtp://[USER:PASSWORD@]HOST[:PORT][?OPTIONS]`` (STARTTLS when the
server offers it) or ``smtps://...`` (implicit TLS, RFC 8314). User and password are
percent-decoded; with them the client authenticates (smtplib picks CRAM-MD5, PLAIN or LOGIN from
what the server offers). Options, all optional:

* ``starttls=require`` refuses to send unless STARTTLS succeeds; ``starttls=off`` never tries
  it (``smtp://`` only; the default ``auto`` uses it when offered, and a failed handshake is an
  error, never a silent fall-back to plain text);
* ``ca=PATH`` trusts the CA certificates in ``PATH`` instead of the system's;
  ``verify=off`` accepts any certificate (Mailpit's "allow insecure");
* ``from=ADDRESS`` is the envelope sender of every released message (Mailpit's
  "return path"); by default the original message's envelope sender.

The message's bytes are sent exactly as stored (smtplib only dot-stuffs them).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, cast, final
from urllib.parse import parse_qsl, unquote, urlsplit

from fakemail._exceptions import ConfigError, RelayError
from fakemail._message import Message

__all__ = ["RELAY_TIMEOUT", "Relay", "parse_relay"]

_DEFAULT_PORTS: Final = {"smtp": 25, "smtps": 465}
#: Seconds for connecting and for each reply of the upstream server.
RELAY_TIMEOUT: Final = 30.0


@final
@dataclass(frozen=True, slots=True)
class Relay:
    """A parsed relay URL (see the module docstring)."""

    scheme: Literal["smtp", "smtps"]
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: Literal["auto", "require", "off"] = "auto"
    verify: bool = True
    ca_file: str | None = None
    sender: str | None = None

    @property
    def address(self) -> str:
        """``host:port`` (for display: never the credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def context(self) -> ssl.SSLContext:
        """The TLS client context: the system's (or ``ca``'s) CAs, host names checked, unless
        ``verify=off``."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        """Send ``message`` to ``recipients`` through the upstream server; raises
        :class:`RelayError` if it cannot be reached or does not accept it for every one."""
        if not recipients:
            raise RelayError("no recipients to release the message to")
        sender = message.sender if self.sender is None else self.sender
        try:
            with self._connect() as client:
                options = []
                if not message.raw.isascii() and client.has_extn("8bitmime"):
                    options.append("BODY=8BITMIME")
                if not all(a.isascii() for a in (sender, *recipients)):
                    options.append("SMTPUTF8")
                refused = client.sendmail(sender, list(recipients), message.raw, options)
        except smtplib.SMTPRecipientsRefused as error:
            raise RelayError(
                f"{self.address} refused every recipient: {_replies(error.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
            raise RelayError(f"{self.address} answered {error.smtp_code} {text}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise RelayError(f"cannot relay through {self.address}: {error}") from None
        if refused:
            raise RelayError(f"{self.address} refused some recipients: {_replies(refused)}")

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=RELAY_TIMEOUT, context=self.context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=RELAY_TIMEOUT)
        try:
            client.ehlo_or_helo_if_needed()
            if self.scheme == "smtp" and self.starttls != "off":
                if client.has_extn("starttls"):
                    client.starttls(context=self.context())
                    client.ehlo()
                elif self.starttls == "require":
                    raise RelayError(f"{self.address} does not offer STARTTLS (starttls=require)")
            if self.username is not None:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client


def _replies(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {text.decode('utf-8', 'replace')}"
        for address, (code, text) in refused.items()
    )


def parse_relay(url: str) -> Relay:
    """The :class:`Relay` a URL names; :class:`~fakemail.ConfigError` saying what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"a relay is smtp://HOST[:PORT] or smtps://HOST[:PORT], got {url!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"relay {url!r}: the port is not a number 0..65535") from None
    if not parts.hostname:
        raise ConfigError(f"relay {url!r} names no host")
    known = {"starttls", "verify", "ca", "from"}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - known)
    if unknown:
        raise ConfigError(
            f"relay {url!r}: unknown option(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(known))}"
        )
    starttls = query.get("starttls", "auto")
    if starttls not in ("auto", "require", "off") or (scheme == "smtps" and "starttls" in query):
        raise ConfigError(f"relay {url!r}: starttls is auto, require or off (smtp:// only)")
    verify = query.get("verify", "on")
    if verify not in ("on", "off"):
        raise ConfigError(f"relay {url!r}: verify is on or off")
    return Relay(
        cast(Literal["smtp", "smtps"], scheme),
        parts.hostname,
        port,
        unquote(parts.username) if parts.username is not None else None,
        unquote(parts.password) if parts.password is not None else None,
        cast(Literal["auto", "require", "off"], starttls),
        verify == "on",
        query.get("ca") or None,
        query.get("from"),
    )
