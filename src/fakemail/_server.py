"""``MailServer``: binds the sockets, owns the store, plugins and hosts, and is the test API."""

from __future__ import annotations

import email.message
import email.policy
import errno
import os
import socket
import ssl
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, final, overload

from fakemail._archive import FORMATS, Format, collect, load, read_archive, write_archive
from fakemail._async import changed_waiter
from fakemail._backend import Backend
from fakemail._config import FIXED_OPTIONS, LISTENERS, Options, User
from fakemail._exceptions import (
    ConfigError,
    FakemailError,
    MailAssertionError,
    PortInUse,
    ServerError,
    WaitTimeout,
    raised_at_call,
)
from fakemail._faults import FaultEngine, Rule
from fakemail._flags import normalize_flags
from fakemail._mailbox import Mailbox
from fakemail._matching import Criteria, report
from fakemail._message import Envelope, Message, normalize_address
from fakemail._persist import DataDir
from fakemail._protocols import session_factory
from fakemail._relay import parse_relay
from fakemail._smtp import SmtpHost
from fakemail._store import INBOX, MailStore
from fakemail._transcript import Transcript
from fakemail._triohost import Listener, Service, TrioHost

__all__ = ["Endpoint", "MailServer"]

DEFAULT_TIMEOUT = 10.0
#: Listeners whose protocol sessions the trio host serves (HTTP is a service beside them).
_TRIO_LISTENERS = frozenset({"imap", "imaps", "pop3", "pop3s"})


class Endpoint(NamedTuple):
    """Where a listener accepts connections: ``smtplib.SMTP(*server.smtp)`` works."""

    host: str
    port: int

    def url(self, scheme: str) -> str:
        """``scheme://host:port`` (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def _bind(host: str, port: int, name: str) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise ConfigError(f"cannot listen for {name} on {host}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; with proto 0 every reply waits ~40 ms on Nagle plus
    # delayed ACK (measured: a whole send took ~45 ms instead of ~3 ms).
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(name, host, port) from None
        raise ConfigError(f"cannot listen for {name} on {host}:{port}: {error}") from None
    return sock


def _check_count(method: str, count: object, *, minimum: int) -> None:
    """A clear error for a count that is not one: ``wait_for("bob@example.com")`` means a
    filter given without its name."""
    if isinstance(count, bool) or not isinstance(count, int):
        hint = f"; filters are keywords: {method}(to={count!r})" if isinstance(count, str) else ""
        raise ConfigError(f"{method}() takes a number of messages, got {count!r}{hint}")
    if count < minimum:
        raise ConfigError(f"{method}() count must be at least {minimum}, got {count}")


@raised_at_call
def _async_criteria(count: int, filters: dict[str, Any]) -> Criteria:
    # wait_for_async's checks, apart: its errors then start at the caller, as in wait_for.
    _check_count("wait_for_async", count, minimum=1)
    return Criteria.build(**filters)


@raised_at_call
def _no_mail_criteria(within: object, filters: dict[str, Any]) -> Criteria:
    if isinstance(within, bool) or not isinstance(within, (int, float)) or within < 0:
        raise ConfigError(f"within= takes a number of seconds (0 or more), got {within!r}")
    return Criteria.build(**filters)


def _wait_report(
    count: int,
    timeout: float,
    criteria: Criteria,
    found: list[Message],
    messages: tuple[Message, ...],
) -> str:
    return report(
        f"waited {timeout:g}s for {count} matching message(s), {len(found)} arrived",
        criteria,
        messages,
    )


def _no_mail_report(
    within: float,
    started: float,
    criteria: Criteria,
    found: list[Message],
    messages: tuple[Message, ...],
) -> str:
    return report(
        f"expected no matching message within {within:g}s, found {len(found)} "
        f"after {time.monotonic() - started:.2f}s",
        criteria,
        messages,
    )


def _to_bytes(message: bytes | str | email.message.Message) -> bytes:
    if isinstance(message, email.message.Message):
        return message.as_bytes(policy=email.policy.SMTP)
    data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    # Stored mail uses CRLF line ends (RFC 5322 §2.1), as SMTP delivers it.
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@final
class MailServer:
    """SMTP, SMTPS, IMAP, IMAPS, POP3 and POP3S servers (and optionally HTTP) over one store.

    ::

        with MailServer() as server:
            smtplib.SMTP(*server.smtp).sendmail("a@example.com", ["b@example.com"], raw)
            server.assert_sent(to="b@example.com")

    Every listener binds to ``host`` (127.0.0.1) on a free port unless told otherwise; pass
    ``<name>_port=None`` to disable one. The HTTP listener (web UI and Mailpit-compatible API)
    is off unless given a port: ``MailServer(http_port=0)``. Options are those of
    :class:`~fakemail.Options`.
    """

    @raised_at_call
    def __init__(self, *, plugins: Iterable[object] = (), **options: Any) -> None:
        self._defaults = Options().replace(**options)
        self._backend = Backend(self._defaults, tuple(plugins))
        self._faults = FaultEngine(self._backend.plugins)
        self._endpoints: dict[str, Endpoint] = {}
        self._smtp: SmtpHost | None = None
        self._trio: TrioHost | None = None
        self._data: DataDir | None = None
        self._running = False

    def __repr__(self) -> str:
        where = ", ".join(f"{n}={e.host}:{e.port}" for n, e in self._endpoints.items())
        return f"<MailServer {'running' if self._running else 'stopped'} {where}>"

    # ------------------------------------------------------------------ life cycle

    @raised_at_call
    def start(self) -> MailServer:
        """Bind every enabled listener and start serving. Ports are known on return."""
        if self._running:
            return self
        options = self._backend.options
        self._backend.check_logins(options)
        sockets: dict[str, socket.socket] = {}
        try:
            if options.data_dir is not None:
                # Loaded before any listener accepts: the first client sees the kept mail.
                self._data = DataDir(options.data_dir, self._backend)
                self._data.open()
            for name in LISTENERS:
                port = getattr(options, f"{name}_port")
                if port is not None:
                    sockets[name] = _bind(options.host, port, name)
            self._endpoints = {
                name: Endpoint(options.host, sock.getsockname()[1])
                for name, sock in sockets.items()
            }
            smtp_socks = [(sockets[n], n == "smtps") for n in ("smtp", "smtps") if n in sockets]
            self._smtp = SmtpHost(self._backend, smtp_socks)
            self._trio = TrioHost(
                self._backend, self._trio_listeners(sockets), self._services(sockets)
            )
            self._start_hosts(self._smtp, self._trio)
        except BaseException:
            self._shutdown()
            for sock in sockets.values():
                sock.close()
            self._endpoints = {}
            raise
        self._running = True
        self._backend.plugins.server_started(self)
        return self

    @staticmethod
    def _start_hosts(smtp: SmtpHost, trio_host: TrioHost) -> None:
        # IMAP and POP3 are served from their first client on: until then the SMTP loop
        # watches their sockets (bound and listening: clients wait in the backlog), and a run
        # that only sends mail never starts the trio thread, half of a server's start-up.
        # A host with services (HTTP) starts now: they have no SMTP-watched socket.
        if trio_host.has_services:
            smtp.start()
            trio_host.start()
            return
        for sock in trio_host.sockets:
            smtp.watch(sock, lambda: trio_host.start(wait=False))
        smtp.start()

    def _trio_listeners(self, sockets: dict[str, socket.socket]) -> list[Listener]:
        return [
            Listener(name, sock, name.endswith("s"), session_factory(name, self._backend))
            for name, sock in sockets.items()
            if name in _TRIO_LISTENERS
        ]

    def _services(self, sockets: dict[str, socket.socket]) -> list[Service]:
        if "http" not in sockets:
            return []
        # Imported only when HTTP is on: starlette and hypercorn cost nothing otherwise.
        from fakemail._web._host import web_service

        endpoints = {name: (e.host, e.port) for name, e in self._endpoints.items()}
        return [web_service(self._backend, sockets["http"], endpoints)]

    def stop(self) -> None:
        """Stop every listener and close every connection. Idempotent."""
        if self._running:
            try:
                self._backend.plugins.server_stopping(self)
            finally:
                self._running = False
                self._shutdown()

    def _shutdown(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._trio is not None:
            self._trio.stop()
            self._trio = None
        if self._data is not None:  # last: what the servers did until now is written
            self._data.close()
            self._data = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        """Whether the listeners accept connections."""
        return self._running

    # ------------------------------------------------------------------ where to connect

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            if not self._running:
                raise FakemailError("the server is not running; call start() first")
            raise FakemailError(f"the {name} listener is disabled ({name}_port=None)")
        return endpoint

    @property
    @raised_at_call
    def smtp(self) -> Endpoint:
        """The SMTP listener (plain, with STARTTLS)."""
        return self._endpoint("smtp")

    @property
    @raised_at_call
    def smtps(self) -> Endpoint:
        """The SMTPS listener (implicit TLS, RFC 8314)."""
        return self._endpoint("smtps")

    @property
    @raised_at_call
    def imap(self) -> Endpoint:
        """The IMAP listener (plain, with STARTTLS)."""
        return self._endpoint("imap")

    @property
    @raised_at_call
    def imaps(self) -> Endpoint:
        """The IMAPS listener (implicit TLS)."""
        return self._endpoint("imaps")

    @property
    @raised_at_call
    def pop3(self) -> Endpoint:
        """The POP3 listener (plain, with STLS)."""
        return self._endpoint("pop3")

    @property
    @raised_at_call
    def pop3s(self) -> Endpoint:
        """The POP3S listener (implicit TLS)."""
        return self._endpoint("pop3s")

    @property
    def http(self) -> Endpoint | None:
        """The HTTP listener (web UI, Mailpit-compatible API), or ``None`` when it is off
        (the default in-process: ``MailServer(http_port=0)`` turns it on)."""
        return self._endpoints.get("http")

    @property
    def http_url(self) -> str | None:
        """``http://host:port`` of the HTTP listener, or ``None`` when it is off."""
        endpoint = self._endpoints.get("http")
        return endpoint.url("http") if endpoint is not None else None

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Every enabled listener by name."""
        return dict(self._endpoints)

    # ------------------------------------------------------------------ TLS

    @property
    def ca_path(self) -> Path:
        """A PEM file with the test CA certificate, for clients to trust."""
        return self._backend.tls.ca_path

    @property
    def ca_pem(self) -> bytes:
        """The test CA certificate, PEM-encoded."""
        return self._backend.tls.ca_pem

    def write_ca(self, path: str | os.PathLike[str]) -> Path:
        """Write the test CA certificate (PEM) to ``path``, for clients configured by file."""
        return self._backend.tls.write_ca(path)

    def client_ssl_context(self) -> ssl.SSLContext:
        """An :class:`ssl.SSLContext` that trusts the test CA (host names are checked)."""
        return self._backend.tls.client_context()

    def env(self, prefix: str = "") -> dict[str, str]:
        """Connection settings as environment variables, for apps configured that way.

        ``{"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "40123", ..., "MAIL_CA_FILE": "/tmp/..."}``,
        each name prefixed with ``prefix``.
        """
        values: dict[str, str] = {}
        for name, endpoint in self._endpoints.items():
            values[f"{prefix}{name.upper()}_HOST"] = endpoint.host
            values[f"{prefix}{name.upper()}_PORT"] = str(endpoint.port)
        values[f"{prefix}MAIL_CA_FILE"] = str(self.ca_path)
        return values

    # ------------------------------------------------------------------ configuration

    @property
    def options(self) -> Options:
        """The options in force now."""
        return self._backend.options

    @raised_at_call
    def configure(self, **options: Any) -> None:
        """Change options (for example ``require_auth=True``) until :meth:`reset`.

        Listener options (host and ports) cannot change on a running server.
        """
        new = self._backend.options.replace(**options)
        if self._running:
            fixed = sorted(
                name
                for name in FIXED_OPTIONS
                if getattr(new, name) != getattr(self._backend.options, name)
            )
            if fixed:
                raise ConfigError(
                    f"{', '.join(fixed)} cannot change on a running server; "
                    "use a dedicated MailServer"
                )
        if self._running:
            self._backend.check_logins(new)
        self._backend.options = new

    @raised_at_call
    def add_user(self, address: str, password: str, *, login: str | None = None) -> User:
        """Add an account whose password is checked (GreenMail's ``setUser``), until
        :meth:`reset`; ``login`` is the name to log in with when it is not the address.

        Once a server has users, only they can log in (see :attr:`Options.users
        <fakemail.Options.users>`).
        """
        user = User(address, password, login=login)
        self.configure(users=(*self._backend.options.users, user))
        return user

    @raised_at_call
    def add_plugin(self, plugin: object, *, temporary: bool = False) -> None:
        """Register a plugin; ``temporary=True`` ones are removed by :meth:`reset`."""
        self._backend.plugins.add(plugin, temporary=temporary)

    def reset(self) -> None:
        """Empty the store and transcripts, and undo :meth:`configure`, temporary plugins and
        fault rules."""
        self._backend.options = self._defaults
        self._backend.plugins.remove_temporary()
        self._faults.clear()
        self.clear()

    # ------------------------------------------------------------------ faults

    @property
    def faults(self) -> FaultEngine:
        """The fault rules: ``server.faults.add("smtp:rcpt:451:times=1")`` (see
        :doc:`/howto/faults`). Cleared by :meth:`reset`."""
        return self._faults

    @raised_at_call
    def fail(self, stage: str, reply: int | str | None = None, /, **fields: Any) -> Rule:
        """Make ``stage`` fail with ``reply``, once unless ``times=`` says otherwise:
        ``server.fail("rcpt", 451)``, ``server.fail("imap:fetch", "NO")``. Returns the rule;
        ``with server.fail(...):`` removes it after the block. See
        :meth:`FaultEngine.fail <fakemail.FaultEngine.fail>`."""
        return self._faults.fail(stage, reply, **fields)

    def clear(self) -> None:
        """Forget every message, account and transcript (in O(1))."""
        self._backend.store.clear()
        self._backend.transcripts.clear()

    @raised_at_call
    def check(self) -> None:
        """Raise :class:`~fakemail.ServerError` if fakemail's code or a plugin failed on a server
        thread since the last check (the fixtures call this at teardown)."""
        errors = self._backend.take_errors()
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ServerError(
                f"error on a fakemail server thread{more}: {errors[0]!r}"
            ) from errors[0]

    # ------------------------------------------------------------------ captured mail

    @property
    def store(self) -> MailStore:
        """The shared store (advanced use; the methods here cover most needs)."""
        return self._backend.store

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every message accepted over SMTP, in arrival order (one per transaction)."""
        return self._backend.store.messages

    @property
    def transcripts(self) -> tuple[Transcript, ...]:
        """Recent protocol sessions, oldest first."""
        return self._backend.transcripts.transcripts

    @raised_at_call
    def find(self, **filters: Any) -> list[Message]:
        """Captured messages passing every filter (see :ref:`filters`)."""
        return Criteria.build(**filters).select(self.messages)

    @raised_at_call
    def wait_for(
        self, count: int = 1, *, timeout: float = DEFAULT_TIMEOUT, **filters: Any
    ) -> list[Message]:
        """Block until at least ``count`` captured messages match ``filters``; return them.

        Filters are keyword arguments (``wait_for(to="bob@example.com")``); the only positional
        argument is the number of messages (``wait_for(2, subject="Hi")``).
        Raises :class:`~fakemail.WaitTimeout` (an ``AssertionError``) listing what was captured
        if they do not arrive within ``timeout`` seconds. Woken by each delivery: no polling.
        """
        _check_count("wait_for", count, minimum=1)
        criteria = Criteria.build(**filters)
        found, messages = self._watch(criteria, count, timeout)
        if len(found) < count:
            raise WaitTimeout(_wait_report(count, timeout, criteria, found, messages))
        return found

    async def wait_for_async(
        self, count: int = 1, *, timeout: float = DEFAULT_TIMEOUT, **filters: Any
    ) -> list[Message]:
        """:meth:`wait_for` for async tests: ``await server.wait_for_async(...)`` under asyncio
        or trio. The event loop keeps running while it waits."""
        __tracebackhide__ = True
        criteria = _async_criteria(count, filters)
        found, messages = await self._watch_async(criteria, count, timeout)
        if len(found) < count:
            raise WaitTimeout(_wait_report(count, timeout, criteria, found, messages))
        return found

    @raised_at_call
    def assert_no_mail(self, *, within: float, **filters: Any) -> None:
        """Assert that no message matching ``filters`` is captured within ``within`` seconds
        (GreenMail's ``waitForNoEmail``): for mail that must *not* be sent, by code that would
        send it in the background.

        Fails at once when a matching message arrives (or is already there), listing what was
        captured; otherwise returns after ``within`` seconds. Woken by each delivery: no
        polling. :meth:`assert_not_sent` is the same check without waiting.
        """
        criteria = _no_mail_criteria(within, filters)
        started = time.monotonic()
        found, messages = self._watch(criteria, 1, within)
        if found:
            raise MailAssertionError(_no_mail_report(within, started, criteria, found, messages))

    async def assert_no_mail_async(self, *, within: float, **filters: Any) -> None:
        """:meth:`assert_no_mail` for async tests: the event loop (and the app code on it that
        might send) keeps running while it waits."""
        __tracebackhide__ = True
        criteria = _no_mail_criteria(within, filters)
        started = time.monotonic()
        found, messages = await self._watch_async(criteria, 1, within)
        if found:
            raise MailAssertionError(_no_mail_report(within, started, criteria, found, messages))

    def _watch(
        self, criteria: Criteria, count: int, timeout: float
    ) -> tuple[list[Message], tuple[Message, ...]]:
        """Wait until ``count`` captured messages match or ``timeout`` passes; return the
        matches and every captured message, as last seen."""
        store = self._backend.store
        deadline = time.monotonic() + timeout
        while True:
            version = store.version
            messages = store.messages
            found = criteria.select(messages)
            remaining = deadline - time.monotonic()
            if len(found) >= count or remaining <= 0:
                return found, messages
            store.wait(lambda: store.version != version, remaining)  # noqa: B023

    async def _watch_async(
        self, criteria: Criteria, count: int, timeout: float
    ) -> tuple[list[Message], tuple[Message, ...]]:
        """:meth:`_watch` on the running asyncio or trio loop."""
        store = self._backend.store
        wait, remove = changed_waiter(store)
        try:
            deadline = time.monotonic() + timeout
            timed_out = False
            while True:
                messages = store.messages
                found = criteria.select(messages)
                if len(found) >= count or timed_out:
                    return found, messages
                remaining = deadline - time.monotonic()
                # After a timeout, look once more: the last change may have come just then.
                timed_out = remaining <= 0 or not await wait(remaining)
        finally:
            remove()

    def _exactly(self, count: int, filters: dict[str, Any]) -> list[Message]:
        """The ``count`` messages matching ``filters``; :class:`MailAssertionError` if there
        are not exactly that many."""
        criteria = Criteria.build(**filters)
        messages = self.messages
        found = criteria.select(messages)
        if len(found) != count:
            raise MailAssertionError(
                report(
                    f"expected {count} matching message(s), found {len(found)}",
                    criteria,
                    messages,
                )
            )
        return found

    @overload
    def assert_sent(self, *, count: None = None, **filters: Any) -> Message: ...

    @overload
    def assert_sent(self, *, count: int, **filters: Any) -> list[Message]: ...

    @raised_at_call
    def assert_sent(self, *, count: int | None = None, **filters: Any) -> Message | list[Message]:
        """Assert that exactly one captured message matches (or exactly ``count``).

        Returns the message (or, with ``count``, the list of them). The failure message lists
        every captured message and the filters it missed.
        """
        if count is None:
            return self._exactly(1, filters)[0]
        _check_count("assert_sent", count, minimum=0)
        return self._exactly(count, filters)

    @raised_at_call
    def assert_not_sent(self, **filters: Any) -> None:
        """Assert that no captured message matches."""
        self._exactly(0, filters)

    @raised_at_call
    def assert_count(self, count: int, **filters: Any) -> list[Message]:
        """Assert that exactly ``count`` captured messages match; return them."""
        _check_count("assert_count", count, minimum=0)
        return self._exactly(count, filters)

    # ------------------------------------------------------------------ mailboxes

    @raised_at_call
    def mailbox(self, address: str) -> Mailbox:
        """The account for ``address`` (created, with its default folders, if new)."""
        self._backend.store.ensure_account(address)
        return Mailbox(self._backend.store, address)

    @raised_at_call
    def deliver(
        self,
        message: bytes | str | email.message.Message,
        *,
        to: str | Iterable[str],
        folder: str = INBOX,
        flags: Iterable[str] = (),
        internal_date: datetime | None = None,
    ) -> Message:
        """Put a message straight into mailboxes, for apps that read mail (IMAP, POP3).

        Not an SMTP transaction: it does not appear in :attr:`messages`. Line ends become CRLF.
        The folder is created if missing. ``flags`` are normalised as IMAP's ``STORE`` does
        them (see :ref:`flags <flags>`): ``\\seen`` is ``\\Seen``; an unknown system flag,
        ``\\Recent`` or a keyword that is not an IMAP atom raises :class:`ConfigError`.
        """
        recipients = (to,) if isinstance(to, str) else tuple(to)
        if not recipients:
            raise ConfigError("deliver() needs at least one recipient in to=")
        raw = _to_bytes(message)
        checked = normalize_flags(flags)
        store = self._backend.store
        envelope = Envelope(sender="", recipients=recipients, protocol="api")
        stored = Message(raw, envelope, datetime.now(timezone.utc), store.next_message_seq())
        for address in dict.fromkeys(normalize_address(r) for r in recipients):
            store.append(
                address,
                folder,
                stored,
                flags=checked,
                internal_date=internal_date,
                create=True,
            )
        return stored

    # ------------------------------------------------------------------ files

    @raised_at_call
    def export_mail(
        self,
        path: str | os.PathLike[str],
        format: Format,
        *,
        account: str | None = None,
        folder: str | None = None,
    ) -> int:
        """Write mail to files: ``"eml"`` (a new directory of ``.eml`` files), ``"mbox"`` (a
        new file) or ``"maildir"`` (a new Maildir); returns how many messages were written.

        Without ``account``: every SMTP transaction (:attr:`messages`). With it: that
        account's folders (only ``folder`` if given) with flags and internal dates, which a
        Maildir keeps (as subfolders and file-name flags). Bytes are kept exactly; see
        :doc:`/howto/archive` for what each format keeps.
        """
        if format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        messages = collect(self._backend.store, account=account, folder=folder)
        return write_archive(Path(path), messages, format)

    @raised_at_call
    def import_mail(
        self,
        path: str | os.PathLike[str],
        format: Format | None = None,
        *,
        account: str | None = None,
    ) -> list[Message]:
        """Store the mail in a file or directory (format detected if not given: a Maildir,
        a directory of ``.eml`` files, one ``.eml`` file, or an mbox); returns the messages.

        Without ``account``, each message is stored as an SMTP transaction just received
        (recipients from its To, Cc and Bcc headers, hooks called); with it, into that
        account's folders with their flags (as IMAP APPEND). Every message is read and
        checked against ``max_message_size`` before any is stored.
        """
        if format is not None and format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        limit = self._backend.options.max_message_size
        messages = read_archive(Path(path), format, max_message_size=limit)
        return load(self._backend, messages, account=account)

    # ------------------------------------------------------------------ relay

    @raised_at_call
    def release(self, message: Message, *, to: str | Iterable[str]) -> None:
        """Send a captured message on to the real SMTP server named by the ``relay`` option
        (Mailpit's "release"), to the addresses ``to``: its bytes unchanged, its envelope
        sender (or the relay's ``from=``) as MAIL FROM.

        Raises :class:`~fakemail.ConfigError` without a relay and
        :class:`~fakemail.RelayError` when the upstream server cannot be reached or refuses.
        """
        url = self._backend.options.relay
        if url is None:
            raise ConfigError("no relay is configured (relay=smtp://host:port, --relay)")
        recipients = (to,) if isinstance(to, str) else tuple(to)
        if not recipients:
            raise ConfigError("release() needs at least one address in to=")
        parse_relay(url).send(message, recipients)
