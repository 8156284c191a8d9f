"""Server options: one frozen value object, validated on construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from fakemail._exceptions import ConfigError

__all__ = ["LISTENERS", "LISTENER_OPTIONS", "STANDALONE_PORTS", "Options", "parse_user"]

#: Listener names, in the order they are reported.
LISTENERS: Final = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s")

#: The fixed ports ``fakemail serve`` uses by default (the standard ports plus 1000).
STANDALONE_PORTS: Final[Mapping[str, int]] = {
    "smtp": 1025,
    "smtps": 1465,
    "imap": 1143,
    "imaps": 1993,
    "pop3": 1110,
    "pop3s": 1995,
}

#: Options that decide which sockets are bound; they cannot change on a running server.
LISTENER_OPTIONS: Final = frozenset({"host", *(f"{name}_port" for name in LISTENERS)})


_PORT: Final = (int, type(None))
_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "host": (str,),
    **{f"{name}_port": _PORT for name in LISTENERS},
    "hostname": (str,),
    "require_auth": (bool,),
    "require_tls": (bool,),
    **dict.fromkeys(
        (
            "max_message_size",
            "smtp_max_line_length",
            "max_line_length",
            "max_connections",
            "transcript_sessions",
            "transcript_bytes",
        ),
        (int,),
    ),
    **dict.fromkeys(("smtp_timeout", "pop3_timeout", "imap_timeout"), (int, float)),
}


@final
@dataclass(frozen=True)
class Options:
    """Everything configurable about a :class:`~fakemail.MailServer`.

    Listener options (``host``, ``*_port``) are fixed once the server starts; all others can be
    changed for one test with :meth:`MailServer.configure` or the ``fakemail`` marker.
    A port of ``0`` picks a free port; ``None`` disables that listener.
    """

    #: Address every listener binds to.
    host: str = "127.0.0.1"
    smtp_port: int | None = 0
    smtps_port: int | None = 0
    imap_port: int | None = 0
    imaps_port: int | None = 0
    pop3_port: int | None = 0
    pop3s_port: int | None = 0
    #: Name the servers give in greetings.
    hostname: str = "localhost"
    #: Accounts with passwords, ``{"alice@example.com": "secret"}``. When any are given (or
    #: ``require_auth`` is set) credentials are checked; otherwise any password works.
    users: Mapping[str, str] = field(default_factory=dict)
    #: SMTP: refuse MAIL until the client authenticates (530).
    require_auth: bool = False
    #: Refuse authentication and mail commands before TLS (SMTP 530, IMAP LOGINDISABLED,
    #: POP3 ``-ERR`` and no USER in CAPA).
    require_tls: bool = False
    #: Largest message accepted, in bytes (SMTP SIZE, 552 above it; IMAP APPEND literal limit).
    max_message_size: int = 25 * 1024 * 1024
    #: Longest SMTP text line, CRLF included (RFC 5321 §4.5.3.1.6: 1000).
    smtp_max_line_length: int = 1000
    #: Longest IMAP or POP3 command line (literals excluded).
    max_line_length: int = 8192
    #: Simultaneous connections per listener; more are answered with an error and closed.
    max_connections: int = 100
    #: Seconds an SMTP session may stay silent (RFC 5321 §4.5.3.2 suggests 5 minutes).
    smtp_timeout: float = 300.0
    #: Seconds a POP3 session may stay silent (RFC 1939 §3: at least 10 minutes).
    pop3_timeout: float = 600.0
    #: Seconds an IMAP session may stay silent (RFC 3501 §5.4: at least 30 minutes).
    imap_timeout: float = 1800.0
    #: Sessions whose transcripts are kept, and bytes kept per transcript.
    transcript_sessions: int = 50
    transcript_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        # Values from markers and config files are not type-checked: say what is wrong
        # (ConfigError) rather than fail below with a TypeError.
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            wanted = _TYPES.get(item.name)
            if wanted is None:
                continue
            if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
                names = " or ".join("None" if t is type(None) else t.__name__ for t in wanted)
                raise ConfigError(f"{item.name} must be {names}, got {value!r}")
        for name in ("transcript_sessions", "transcript_bytes"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)!r}")
        for name in ("max_message_size", "max_line_length", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.smtp_max_line_length < 100:
            raise ConfigError("smtp_max_line_length must be at least 100")
        for listener in LISTENERS:
            port = getattr(self, f"{listener}_port")
            if port is not None and not 0 <= port <= 65535:
                raise ConfigError(f"{listener}_port must be 0..65535 or None, got {port!r}")
        for timeout in ("smtp_timeout", "pop3_timeout", "imap_timeout"):
            if getattr(self, timeout) <= 0:
                raise ConfigError(f"{timeout} must be positive")
        if not isinstance(self.users, Mapping):
            raise ConfigError("users must be a mapping of address to password")
        object.__setattr__(self, "users", dict(self.users))

    @property
    def checks_credentials(self) -> bool:
        """Whether passwords are checked (users configured or auth required)."""
        return bool(self.users) or self.require_auth

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` applied; unknown names raise :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)


def parse_user(text: str) -> tuple[str, str]:
    """``"alice@example.com:secret"`` -> ``("alice@example.com", "secret")``.

    The password is everything after the first colon and may be empty; the address may not.
    Raises :class:`~fakemail.ConfigError` without a colon or an address.
    """
    address, sep, password = text.partition(":")
    address = address.strip()
    if not sep or not address:
        raise ConfigError(f"a user is ADDRESS:PASSWORD, got {text!r}")
    return address, password
