"""Server options: one frozen value object, validated on construction."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, final

from fakemail._address import normalize_address
from fakemail._exceptions import ConfigError

__all__ = [
    "FIXED_OPTIONS",
    "LISTENERS",
    "LISTENER_OPTIONS",
    "STANDALONE_PORTS",
    "Options",
    "User",
    "Users",
    "parse_http_auth",
    "parse_user",
]

#: Listener names, in the order they are reported. ``http`` (the web UI and the HTTP API) is
#: off by default in-process (``http_port=None``) and on in ``fakemail serve``.
LISTENERS: Final = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http")

#: The fixed ports ``fakemail serve`` uses by default (the standard ports plus 1000).
STANDALONE_PORTS: Final[Mapping[str, int]] = {
    "smtp": 1025,
    "smtps": 1465,
    "imap": 1143,
    "imaps": 1993,
    "pop3": 1110,
    "pop3s": 1995,
    "http": 8025,  # Mailpit's port: its users' configs already point there
}

#: Options that decide which sockets are bound; they cannot change on a running server.
LISTENER_OPTIONS: Final = frozenset({"host", *(f"{name}_port" for name in LISTENERS)})
#: Every option that cannot change on a running server: the listeners, where mail is kept.
FIXED_OPTIONS: Final = LISTENER_OPTIONS | {"data_dir"}


@final
@dataclass(frozen=True, slots=True)
class User:
    """An account whose password is checked: ``User("alice@example.com", "s3cret")``.

    With ``login``, the client logs in with that name instead of the address (as with
    GreenMail's ``setUser(email, login, password)``): ``User("alice@example.com", "s3cret",
    login="alice")`` opens ``alice@example.com``'s mailbox for ``alice``. The address is then
    no longer a valid login name, as at a provider whose log-in names are not addresses.
    """

    #: The account's address: the mailbox IMAP and POP3 open.
    address: str
    #: The password (any text; may be empty).
    password: str = dataclasses.field(repr=False)
    #: The name to log in with, when it is not the address.
    login: str | None = None

    def __post_init__(self) -> None:
        for name in ("address", "password"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"a user's {name} must be str, got {getattr(self, name)!r}")
        if not self.address.strip():
            raise ConfigError("a user's address must not be empty")
        if self.login is not None and (not isinstance(self.login, str) or not self.login):
            raise ConfigError(f"a user's login must be a non-empty str or None, got {self.login!r}")

    @property
    def login_name(self) -> str:
        """What the client logs in with: :attr:`login`, or else the address."""
        return self.address if self.login is None else self.login

    def is_named(self, username: str) -> bool:
        """Whether a client logging in as ``username`` means this user.

        A login name is compared exactly; an address with its domain case-insensitive
        (RFC 5321 §2.4), as accounts are keyed.
        """
        if self.login is not None:
            return username == self.login
        return normalize_address(username) == normalize_address(self.address)


#: What ``users=`` takes: ``{address: password}``, or :class:`User` values (for login names).
Users: TypeAlias = Mapping[str, str] | Iterable[User]


def _users(value: object) -> tuple[User, ...]:
    """``users=`` as a tuple of :class:`User`; raises :class:`ConfigError` for anything else
    and for two users one login name would mean."""
    if isinstance(value, Mapping):
        users = tuple(User(address, password) for address, password in value.items())
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        users = tuple(value)
        if not all(isinstance(user, User) for user in users):
            raise ConfigError(
                "users must be a mapping {address: password} or a list of fakemail.User, "
                f"got {value!r}"
            )
    else:
        raise ConfigError(
            f"users must be a mapping {{address: password}} or a list of fakemail.User, "
            f"got {value!r}"
        )
    for index, user in enumerate(users):
        for other in users[:index]:
            if normalize_address(user.address) == normalize_address(other.address):
                raise ConfigError(f"users: {user.address!r} is given twice")
            if other.is_named(user.login_name) or user.is_named(other.login_name):
                raise ConfigError(
                    f"users: the login name {user.login_name!r} would mean both "
                    f"{other.address!r} and {user.address!r}"
                )
    return users


_PORT: Final = (int, type(None))
_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "host": (str,),
    **{f"{name}_port": _PORT for name in LISTENERS},
    "hostname": (str,),
    "http_auth": (tuple, type(None)),
    "require_auth": (bool,),
    "require_tls": (bool,),
    "auth_accept_any": (bool,),
    **dict.fromkeys(
        (
            "max_message_size",
            "smtp_max_line_length",
            "max_line_length",
            "max_connections",
            "max_output_buffer",
            "max_folders",
            "max_folder_depth",
            "max_folder_name_length",
            "max_username_length",
            "transcript_sessions",
            "transcript_bytes",
        ),
        (int,),
    ),
    **dict.fromkeys(("smtp_timeout", "pop3_timeout", "imap_timeout"), (int, float)),
    "data_dir": (str, os.PathLike, type(None)),
    "relay": (str, type(None)),
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
    #: The HTTP listener (web UI, Mailpit-compatible API): off unless given a port.
    http_port: int | None = None
    #: ``(user, password)`` the HTTP listener requires (HTTP Basic auth, RFC 7617), or
    #: ``None`` for none.
    http_auth: tuple[str, str] | None = None
    #: Name the servers give in greetings.
    hostname: str = "localhost"
    #: Accounts with passwords: ``{"alice@example.com": "s3cret"}``, or :class:`User` values
    #: (``[User("alice@example.com", "s3cret", login="alice")]``); kept as a tuple of
    #: :class:`User`. When any are given, only they can log in, with their password;
    #: otherwise any user name and password is accepted.
    users: tuple[User, ...] = ()
    #: SMTP: refuse MAIL until the client authenticates (530). Needs ``users`` (or a plugin
    #: implementing ``fakemail_authenticate``), or ``auth_accept_any``: else no login could
    #: succeed, and the server refuses to start or be configured so.
    require_auth: bool = False
    #: Accept any user name and password, said explicitly: with ``require_auth``, clients
    #: must authenticate but any credentials do (Mailpit's ``--smtp-auth-accept-any``).
    #: Contradicts ``users``.
    auth_accept_any: bool = False
    #: Refuse authentication and mail commands before TLS (SMTP 530, IMAP LOGINDISABLED,
    #: POP3 ``-ERR`` and no USER in CAPA).
    require_tls: bool = False
    #: Largest message accepted, in bytes (SMTP SIZE, 552 above it; IMAP APPEND literal limit).
    max_message_size: int = 25 * 1024 * 1024
    #: Longest SMTP text line, CRLF included (RFC 5321 §4.5.3.1.6: 1000).
    smtp_max_line_length: int = 1000
    #: Longest IMAP or POP3 command line (literals excluded). 64 KiB, Dovecot's IMAP default:
    #: every legal command fits, e.g. an ID at RFC 2971 §3.3's maxima (about 32 KB).
    max_line_length: int = 64 * 1024
    #: Simultaneous connections per listener; more are answered with an error and closed.
    max_connections: int = 100
    #: Bytes of replies an IMAP or POP3 session may have queued for its client; beyond it, the
    #: session takes no further commands until they are sent (a client that never reads holds
    #: no more), and other sessions are served meanwhile.
    max_output_buffer: int = 256 * 1024
    #: Folders per account, INBOX included (IMAP CREATE and RENAME beyond it: ``NO [LIMIT]``).
    max_folders: int = 10_000
    #: Hierarchy levels of a folder name (``a/b/c`` has 3).
    max_folder_depth: int = 64
    #: Characters of a folder name, delimiters included.
    max_folder_name_length: int = 1024
    #: Characters of a user name given to SMTP AUTH, IMAP LOGIN/AUTHENTICATE or POP3; a longer
    #: one is refused like a wrong password.
    max_username_length: int = 256
    #: Seconds an SMTP session may stay silent (RFC 5321 §4.5.3.2 suggests 5 minutes).
    smtp_timeout: float = 300.0
    #: Seconds a POP3 session may stay silent (RFC 1939 §3: at least 10 minutes).
    pop3_timeout: float = 600.0
    #: Seconds an IMAP session may stay silent (RFC 3501 §5.4: at least 30 minutes).
    imap_timeout: float = 1800.0
    #: Sessions whose transcripts are kept, and bytes kept per transcript.
    transcript_sessions: int = 50
    transcript_bytes: int = 16 * 1024
    #: A directory that keeps the mail across restarts (a Maildir per account, see
    #: :doc:`/howto/archive`); ``None`` keeps it in memory only. Fixed while running.
    data_dir: str | os.PathLike[str] | None = None
    #: The upstream SMTP server :meth:`MailServer.release <fakemail.MailServer.release>` (and
    #: the HTTP API's release) sends to: ``smtp://[USER:PASSWORD@]HOST[:PORT]`` (STARTTLS when
    #: offered) or ``smtps://...``, options in the query (see :doc:`/howto/archive`).
    relay: str | None = None

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
        for name in (
            "max_message_size",
            "max_line_length",
            "max_connections",
            "max_output_buffer",
            "max_folders",
            "max_folder_depth",
            "max_folder_name_length",
            "max_username_length",
        ):
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
        if self.http_auth is not None and (
            len(self.http_auth) != 2 or not all(isinstance(p, str) for p in self.http_auth)
        ):
            raise ConfigError(f"http_auth must be (user, password) or None, got {self.http_auth!r}")
        object.__setattr__(self, "users", _users(self.users))
        if self.relay is not None:
            # Imported here: the relay client (smtplib, ssl, messages) is not needed to check
            # options, which the pytest plugin does in every run.
            from fakemail._relay import parse_relay

            parse_relay(self.relay)  # a bad URL is refused now, not at the first release
        if self.users and self.auth_accept_any:
            raise ConfigError(
                "auth_accept_any accepts any credentials, users check them: give one, not both"
            )

    @property
    def checks_credentials(self) -> bool:
        """Whether passwords are checked (users are configured)."""
        return bool(self.users)

    def user_named(self, username: str) -> User | None:
        """The configured user a client logging in as ``username`` means, if any."""
        for user in self.users:
            if user.is_named(username):
                return user
        return None

    def account_of(self, username: str) -> str:
        """The account (normalised address) a login as ``username`` opens: a user's address
        for its login name, otherwise ``username`` itself."""
        user = self.user_named(username)
        return normalize_address(username if user is None else user.address)

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` applied; unknown names raise :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)


def parse_http_auth(text: str) -> tuple[str, str]:
    """``"user:password"`` as ``(user, password)``; the password may contain colons (RFC 7617
    §2 forbids a colon in the user-id). Raises :class:`~fakemail.ConfigError` without one."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise ConfigError(f"HTTP credentials are USER:PASSWORD, got {text!r}")
    return user, password


def parse_user(text: str) -> User:
    """``"alice@example.com:s3cret"`` or, with a login name, ``"alice@example.com,alice:s3cret"``.

    The password is everything after the first colon and may be empty. Before it, the address
    and optionally a comma and the login name (a comma cannot appear in an address unless
    quoted). Raises :class:`~fakemail.ConfigError` without a colon or an address.
    """
    name, sep, password = text.partition(":")
    address, comma, login = (part.strip() for part in name.partition(","))
    if not sep or not address or (comma and not login):
        raise ConfigError(f"a user is ADDRESS:PASSWORD or ADDRESS,LOGIN:PASSWORD, got {text!r}")
    return User(address, password, login=login or None)
