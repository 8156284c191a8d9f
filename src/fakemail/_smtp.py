"""The SMTP host: aiosmtpd's ``SMTP`` protocol on our own asyncio thread, over pre-bound sockets.

The only module that imports ``asyncio`` servers and ``aiosmtpd``. aiosmtpd's ``Controller`` is
not used: with port 0 its readiness check connects to port 0 (aio-libs/aiosmtpd#276, #388).
Instead :class:`SmtpHost` calls ``loop.create_server(factory, sock=...)`` with sockets the server
bound before start, so ports are known at once.

Each connection reads :attr:`Backend.options` when it opens, so per-test option changes apply to
the next connection.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import inspect
import logging
import re
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, AnyStr, Final, final

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, TLSSetupException, _Missing
from aiosmtpd.smtp import Envelope as AioEnvelope
from aiosmtpd.smtp import Session as AioSession

from fakemail._backend import Backend, Refusal
from fakemail._message import Envelope
from fakemail._sasl import Credentials, Plain, password_credentials, start_mechanism
from fakemail._smtpfaults import REFUSAL, fault_reply
from fakemail._smtptypes import Reply, SmtpSessionInfo
from fakemail._tls import HANDSHAKE_TIMEOUT, handshake_failure
from fakemail._transcript import Transcript

__all__ = ["SmtpHost"]

# aiosmtpd logs a deprecation warning of its own internals on every successful AUTH.
logging.getLogger("mail.log").addFilter(
    lambda record: "login_data is deprecated" not in record.getMessage()
)

IDENT: Final = "fakemail ESMTP"
_TEMPFAIL: Final = "451 4.3.0 Internal error in the test mail server; see the test report"
_LINE_TOO_LONG: Final = "500 Line too long (see RFC5321 4.5.3.1.6)"  # aiosmtpd's own wording
_NOT_AUTHORIZED: Final = "535 5.7.8 Authentication credentials invalid: cannot act as another user"

_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM: Final = rf"{_ATOM}(?:\.{_ATOM})*"
# "<local@domain>" with dot-atoms on both sides: the path nearly every client sends. For it,
# aiosmtpd's RFC 5322 parser (a third of a message's server time) returns the text between
# the brackets, and as the rest what follows once blanks are skipped: after a space or tab it
# strips all whitespace (str.lstrip), then a comment, which is left to it, as is anything
# else (quoted strings, IP literals, source routes, non-ASCII...).
_AFTER_PATH: Final = r"(?![(])(?![ \t]\s*[(])(?:[ \t]\s*)?"
_PLAIN_PATH: Final = re.compile(rf"<({_DOT_ATOM}@{_DOT_ATOM})>{_AFTER_PATH}")


def plain_path(arg: str) -> tuple[str, str] | None:
    """``(address, rest)`` of a MAIL/RCPT argument that is a plain ``<local@domain>`` path,
    as aiosmtpd's parser would give them; ``None`` for anything else."""
    match = _PLAIN_PATH.match(arg)
    # "=?" may start an RFC 2047 encoded word, which that parser decodes even here.
    if match is None or "=?" in match[1]:
        return None
    return match[1], arg[match.end() :]


def has_long_line(raw: bytes, limit: int) -> bool:
    """Whether a line of ``raw`` (message data, dot-unstuffed) is over ``limit`` octets with
    its CRLF. aiosmtpd's own check counts the transparency dot (RFC 5321 §4.5.2) in every
    line, so it lets one octet more through; RFC 5321 §4.5.3.1.6 does not count it."""
    return len(raw) > limit and max(map(len, raw.split(b"\r\n"))) + 2 > limit


def _decode_initial(text: str) -> bytes | None:
    """An AUTH command's initial response, base64-decoded; ``None`` if malformed."""
    if text == "=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
        return None


def _peer(session: AioSession) -> tuple[str, int] | None:
    peer: Any = session.peer
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None


def _session_info(session: AioSession) -> SmtpSessionInfo:
    auth = session.auth_data
    user = auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else auth
    return SmtpSessionInfo(
        peer=_peer(session),
        helo=session.host_name,
        is_tls=session.ssl is not None or getattr(session, "is_implicit_tls", False),
        auth_user=user if isinstance(user, str) else None,
    )


@final
class _Handler:
    """aiosmtpd handler: turns its hooks into fakemail hooks, typed replies and store writes."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __dir__(self) -> list[str]:
        # Scanned by aiosmtpd for handle_*/auth_* on every connection (see _Smtp.__dir__).
        return _HOOK_NAMES

    def _decide(self, hook: str, session: AioSession, *args: Any) -> str | None:
        """Ask the plugins for a reply; ``None`` means no opinion. Skipped (no session facts
        built) when only fakemail's defaults implement ``hook``."""
        plugins = self.backend.plugins
        if not plugins.has_plugins(hook):
            return None
        try:
            reply: Reply | None = getattr(plugins, hook.removeprefix("fakemail_"))(
                _session_info(session), *args
            )
        except Exception as error:
            self.backend.record_error(error, f"{hook} hook")
            return _TEMPFAIL
        return None if reply is None else str(reply)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: AioSession,
        envelope: AioEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # aiosmtpd answers pipelined commands in order but does not advertise it (RFC 2920).
        session.host_name = hostname  # with this hook, aiosmtpd leaves it to us
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: AioSession,
        envelope: AioEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        options_ = self.backend.options
        if options_.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if not address.isascii() and "SMTPUTF8" not in options:
            # RFC 6531 §3.4: a non-ASCII address needs the SMTPUTF8 parameter.
            return "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter"
        # aiosmtpd gives the null sender as "<>"; hooks and envelopes use "" (RFC 5321 §4.5.5).
        sender = "" if address == "<>" else address
        fault = await _smtp(server).fault("mail", (sender,))
        if fault is not None:
            return fault
        reply = self._decide("fakemail_smtp_mail_from", session, sender, tuple(options))
        if reply is not None and not reply.startswith(("2", "3")):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return reply or "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: AioSession,
        envelope: AioEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        if not address.isascii() and not envelope.smtp_utf8:
            return "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter on MAIL FROM"
        fault = await _smtp(server).fault("rcpt", (address,))
        if fault is not None:
            return fault
        reply = self._decide("fakemail_smtp_rcpt_to", session, address, tuple(options))
        if reply is not None and not reply.startswith(("2", "3")):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return reply or "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: AioSession, envelope: AioEnvelope) -> str:
        # Before anything is stored: a message failed or dropped here stores nothing.
        smtp = _smtp(server)
        if smtp.is_cut:
            smtp.drop()  # the whole message came before the cut could happen
            return ""
        fault = await smtp.fault("message", tuple(envelope.rcpt_tos))
        if fault is not None:
            return fault
        raw = envelope.original_content or b""
        if has_long_line(raw, self.backend.options.smtp_max_line_length):
            return _LINE_TOO_LONG
        info = _session_info(session)
        ours = Envelope(
            sender="" if envelope.mail_from in (None, "<>") else envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            client_address=_peer(session),
            helo=session.host_name,
            auth_user=info.auth_user,
            is_tls=info.is_tls,
            protocol="smtp",
            mail_options=tuple(envelope.mail_options),
        )
        reply = self._decide("fakemail_smtp_data", session, ours, raw)
        if reply is not None and not reply.startswith(("2", "3")):
            return reply
        backend = self.backend
        try:
            message = backend.deliver(raw, ours)
        except Exception as error:
            backend.record_error(error, "SMTP delivery")
            return _TEMPFAIL
        return reply or f"250 2.0.0 OK: queued as {message.seq}"

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            # The client's STARTTLS handshake failed: its problem, not a server error.
            # aiosmtpd closes the connection and sends no reply.
            return "454 4.7.0 TLS handshake failed"
        self.backend.record_error(error, "SMTP session")
        return _TEMPFAIL


def _smtp(server: SMTP) -> _Smtp:
    assert isinstance(server, _Smtp)
    return server


def _faulted(stage: str, command: Callable[[SMTP, str], Awaitable[None]]) -> Any:
    """``command`` (an ``smtp_*`` method of aiosmtpd) asking for a fault at ``stage`` first;
    it keeps the method's HELP syntax attributes."""

    @functools.wraps(command)
    async def method(self: _Smtp, arg: str) -> None:
        fault = await self.fault(stage)
        if fault is None:
            await command(self, arg)
        elif fault:
            await self.push(fault)

    return method


class _Smtp(SMTP):
    """aiosmtpd's protocol plus transcripts, CRAM-MD5, a connection limit and TLS facts."""

    def __dir__(self) -> list[str]:
        # aiosmtpd's __init__ finds its smtp_*/auth_* methods with dir() and
        # inspect.getmembers() on every new connection: ~150 attributes fetched, most of a
        # connection's set-up cost. Only those names are looked for, so list only them.
        return _COMMAND_NAMES

    smtp_EHLO = _faulted("ehlo", SMTP.smtp_EHLO)
    smtp_HELO = _faulted("ehlo", SMTP.smtp_HELO)
    smtp_AUTH = _faulted("auth", SMTP.smtp_AUTH)
    smtp_RSET = _faulted("rset", SMTP.smtp_RSET)
    smtp_QUIT = _faulted("quit", SMTP.smtp_QUIT)

    def __init__(self, host: SmtpHost, *, implicit_tls: bool) -> None:
        backend = host.backend
        options = backend.options
        # aiosmtpd sizes its stream reader from this attribute in __init__; +1 for the
        # transparent dot (RFC 5321 §4.5.2).
        self.line_length_limit = options.smtp_max_line_length + 1
        self._host = host
        self._implicit_tls = implicit_tls
        self._transcript: Transcript | None = None
        self._continued: list[bytes] = []
        # Set by faults: bytes per second each way, close after the next reply, closed.
        self._throttle: int | None = None
        self._close_after_reply = False
        self._dropped = False
        self._cut = False  # close once message bytes arrive after DATA's 354
        # STARTTLS is advertised with a stand-in context; the real one (importing trustme and
        # making the certificate cost ~100 ms, once per process) is fetched when a client
        # actually asks for TLS.
        starttls = None if implicit_tls else host.starttls_placeholder
        super().__init__(
            host.handler,
            data_size_limit=options.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=options.hostname,
            ident=IDENT,
            tls_context=starttls,
            require_starttls=options.require_tls and not implicit_tls,
            timeout=options.smtp_timeout,
            # AUTH is offered in the clear unless TLS is required; on the SMTPS port the
            # connection is already encrypted (aiosmtpd only knows about STARTTLS).
            auth_require_tls=options.require_tls and not implicit_tls,
            authenticator=self._authenticator,
            loop=host.loop,
        )

    # -- life cycle ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            assert self.session is not None
            self.session.is_implicit_tls = self._implicit_tls  # type: ignore[attr-defined]
            peer = _peer(self.session)
            name = "smtps" if self._implicit_tls else "smtp"
            peer_text = f"{peer[0]}:{peer[1]}" if peer else "?"
            self._transcript = self._host.backend.transcripts.start(name, peer_text)
            self._host.connections.add(self)
            self._host.opened(self._implicit_tls, 1)
        elif self._transcript is not None:
            self._transcript.note("TLS started")

    def connection_lost(self, error: Exception | None) -> None:
        if self in self._host.connections:
            self._host.connections.discard(self)
            self._host.opened(self._implicit_tls, -1)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        limit = self._host.backend.options.max_connections
        if self._host.open_on(self._implicit_tls) > limit:
            await self.push(REFUSAL)
            if self.transport is not None:
                self.transport.close()
            return
        fault = await self.fault("connect")
        if fault is not None:
            if fault:
                await self.push(fault)
            self.drop()  # the greeting was refused: no session follows
            return
        await super()._handle_client()

    # -- faults ----------------------------------------------------------------------------

    async def fault(self, stage: str, addresses: tuple[str, ...] = ()) -> str | None:
        """Carry out the fault that fires at ``stage``, if any: ``None`` to go on normally,
        else the reply to give instead (``""``: none, the connection is closed)."""
        backend = self._host.backend
        if not backend.plugins.has_plugins("fakemail_fault"):
            return None
        user = None if self.session is None else _session_info(self.session).auth_user
        fault = backend.fault("smtp", stage, self._transcript, addresses=addresses, user=user)
        if fault is None:
            return None
        if fault.throttle is not None:
            self._throttle = fault.throttle
        if fault.delay:
            await asyncio.sleep(fault.delay)
        action = fault.action
        if action == "reply":
            self._close_after_reply = fault.close
            return fault_reply(fault)
        if action == "refuse":
            self._close_after_reply = True
            return REFUSAL
        if action == "close":
            self.drop()
            return ""
        if action == "hang":
            # Never answer; aiosmtpd cancels this when the client goes away.
            await self.loop.create_future()
        self._cut = action == "cut"
        return None if action != "tls-fail" else "tls-fail"

    @property
    def is_cut(self) -> bool:
        """Whether a ``cut`` fault waits for the message to close the connection."""
        return self._cut

    def drop(self) -> None:
        """Close the connection now; nothing more is sent."""
        self._dropped = True
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if envelope is not None and envelope.rcpt_tos and not arg:
            # Only a DATA the server would answer with 354 (RFC 5321 §3.3).
            fault = await self.fault("data", tuple(envelope.rcpt_tos))
            if fault is not None:
                if fault:
                    await self.push(fault)
                return
        await super().smtp_DATA(arg)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = plain_path(arg)
        if plain is None:
            try:
                return super()._getaddr(arg)
            except (IndexError, ValueError):
                # The stdlib header parser aiosmtpd uses runs off the end of some malformed
                # paths ("x@") instead of raising its HeaderParseError: the client's syntax
                # error all the same (501 for MAIL and RCPT, RFC 5321 §4.2.2).
                return None, None
        if self.local_part_limit and plain[0].index("@") > self.local_part_limit:
            return None, None
        return plain

    async def challenge_auth(
        self,
        challenge: str | bytes,
        encode_to_b64: bool = True,
        log_client_response: bool = False,
    ) -> _Missing | bytes:
        """Send a ``334`` challenge and return the client's decoded answer, or ``MISSING``
        once the failure is answered. As aiosmtpd's, except that an answer longer than a
        line gets RFC 4954 §4's ``500 5.5.6`` instead of escaping as a reader error."""
        data = challenge.encode() if isinstance(challenge, str) else challenge
        # The space after 334 is required even before an empty challenge (RFC 4954 §4).
        await self.push(b"334 " + (base64.b64encode(data) if encode_to_b64 else data))
        line = await self._read_line()
        if line is None:
            await self.push("500 5.5.6 Authentication Exchange line is too long")
            return MISSING
        blob = line.strip()
        if blob == b"*":
            await self.push("501 5.7.0 Auth aborted")
            return MISSING
        try:
            return base64.b64decode(blob, validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")
            return MISSING

    async def _read_line(self) -> bytes | None:
        """The next line; ``None`` (the whole line read and dropped) if it is longer than the
        reader's limit. At end of stream, what there was."""
        reader = self._reader
        try:
            return await reader.readuntil()
        except asyncio.IncompleteReadError as error:
            return error.partial
        except asyncio.LimitOverrunError as error:
            consumed = error.consumed
        while True:  # drop the rest of the line, a limit's worth at a time
            await reader.read(consumed)
            try:
                await reader.readuntil()
                return None
            except asyncio.IncompleteReadError:
                return None
            except asyncio.LimitOverrunError as error:
                consumed = error.consumed

    async def smtp_STARTTLS(self, arg: str) -> None:
        fault = None if arg else await self.fault("starttls")
        if fault == "tls-fail":
            await self.push("220 2.0.0 Ready to start TLS")
            self.drop()  # abort before the handshake
            return
        if fault is not None:
            if fault:
                await self.push(fault)
            return
        if not arg and self.tls_context is self._host.starttls_placeholder:
            self.tls_context = await self._host.server_context()
        try:
            await super().smtp_STARTTLS(arg)
        except TLSSetupException as error:
            if self._transcript is not None:
                self._transcript.note(handshake_failure(error))
            raise

    # -- transcript ------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._transcript is not None:
            self._transcript.client(data)
        if self._cut:
            if self._transcript is not None:
                self._transcript.note("fault: connection cut in the middle of DATA")
            self.drop()
            return
        super().data_received(data)
        if self._throttle is not None and isinstance(self.transport, asyncio.Transport):
            # Read no more until this chunk's share of the rate has passed.
            self.transport.pause_reading()
            self.loop.call_later(len(data) / self._throttle, self._resume_reading)

    def _resume_reading(self) -> None:
        if isinstance(self.transport, asyncio.Transport) and not self._dropped:
            self.transport.resume_reading()

    async def push(self, status: AnyStr) -> None:
        line = status.encode("utf-8", "replace") if isinstance(status, str) else bytes(status)
        if self._transcript is not None:
            self._transcript.server(line + b"\r\n")
        if line.rpartition(b"\n")[2][3:4] == b"-":
            # A continuation line of a multi-line reply (RFC 5321 §4.2.1): aiosmtpd pushes
            # each line on its own, one send and one client wake-up per line; send the whole
            # reply at once with its last line.
            self._continued.append(line)
            return
        if self._continued:
            line = b"\r\n".join([*self._continued, line])
            self._continued.clear()
        if self._dropped:
            return
        if self._throttle is not None:
            await asyncio.sleep((len(line) + 2) / self._throttle)
        await super().push(line)
        # aiosmtpd reads the next command without yielding while one is buffered, and a
        # drain below the transport's high-water mark does not yield either: a client
        # pipelining thousands of commands would hold the loop, and every other SMTP
        # session, for seconds. One loop turn per reply keeps them served.
        await asyncio.sleep(0)
        if self._close_after_reply:
            self._close_after_reply = False
            self._drop_after_sending()

    def _drop_after_sending(self) -> None:
        """Close once the reply is written (a fault's reply, then the disconnect)."""
        self._dropped = True
        if self.transport is not None:
            self.transport.close()  # flushes what is buffered first

    # -- authentication ----------------------------------------------------------------------

    def _authenticator(
        self, server: SMTP, session: AioSession, envelope: AioEnvelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            username = data.login.decode("utf-8", "replace")
            password = data.password.decode("utf-8", "replace")
            credentials = password_credentials(username, password, mechanism=mechanism)
        else:
            credentials = data
        refused = self._host.backend.log_in("smtp", credentials)
        if not isinstance(refused, Refusal):
            return AuthResult(success=True, auth_data=credentials.username)
        if refused is Refusal.AUTHORIZATION:
            return AuthResult(success=False, handled=False, message=_NOT_AUTHORIZED)
        return AuthResult(success=False, handled=False)

    async def auth_PLAIN(self, _: SMTP, args: list[str]) -> AuthResult:
        """RFC 4616 PLAIN through fakemail's mechanism: aiosmtpd's ignores the authorization
        identity, which would log a client in as the authcid whatever authzid it asked for."""
        if len(args) > 1:
            # RFC 4954 §4: "=" is an empty initial response.
            response = _decode_initial(args[1])
            if response is None:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            challenged = await self.challenge_auth("")
            if challenged is MISSING:
                return AuthResult(success=False, handled=True)
            assert isinstance(challenged, bytes)
            response = challenged
        step = Plain().step(response)
        if not isinstance(step, Credentials):
            await self.push(f"501 5.5.2 {getattr(step, 'reason', 'malformed PLAIN response')}")
            return AuthResult(success=False, handled=True)
        assert self.session is not None
        assert self.envelope is not None
        return self._authenticator(self, self.session, self.envelope, "PLAIN", step)

    async def auth_CRAM__MD5(self, _: SMTP, args: list[str]) -> AuthResult:
        """RFC 2195 CRAM-MD5 (aiosmtpd has only PLAIN and LOGIN)."""
        if len(args) > 1:
            await self.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        mechanism = start_mechanism("CRAM-MD5", hostname=self.hostname)
        assert mechanism is not None
        challenge = mechanism.step(None)
        response = await self.challenge_auth(getattr(challenge, "data", b""))
        if response is MISSING:
            return AuthResult(success=False, handled=True)
        result = mechanism.step(response)
        if not isinstance(result, Credentials):
            await self.push("501 5.5.2 Malformed CRAM-MD5 response")
            return AuthResult(success=False, handled=True)
        assert self.session is not None
        assert self.envelope is not None
        return self._authenticator(self, self.session, self.envelope, "CRAM-MD5", result)


# aiosmtpd reads handle_EHLO's signature on every connection (to tell its two forms apart);
# inspect.signature() returns a function's __signature__ at once when it has one.
_Handler.handle_EHLO.__signature__ = inspect.signature(_Handler.handle_EHLO)  # type: ignore[attr-defined]
_HOOK_NAMES: Final = sorted(name for name in dir(_Handler) if name.startswith("handle_"))
_COMMAND_NAMES: Final = sorted(name for name in dir(_Smtp) if name.startswith(("smtp_", "auth_")))


@functools.cache
def _starttls_placeholder() -> ssl.SSLContext:
    # Never used for a handshake, only compared by identity: one per process (making an
    # SSLContext costs about a millisecond).
    return ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)


@final
class SmtpHost:
    """Runs SMTP (and SMTPS) listeners on an asyncio loop in a background thread."""

    def __init__(self, backend: Backend, sockets: Sequence[tuple[socket.socket, bool]]) -> None:
        """``sockets``: pre-bound listening sockets, each with ``True`` for implicit TLS."""
        self.backend = backend
        self.handler = _Handler(backend)
        self.connections: set[_Smtp] = set()
        # Open connections per listener kind (implicit TLS or not): max_connections is
        # per listener, and counting the set on each connect would be quadratic in a flood.
        self._open = {False: 0, True: 0}
        self._sockets = list(sockets)
        self.loop = asyncio.new_event_loop()
        #: Makes aiosmtpd advertise STARTTLS; swapped for the real context on use.
        self.starttls_placeholder = _starttls_placeholder()
        # Listening sockets served only from their first connection on (see watch()).
        self._watched: list[tuple[socket.socket, Callable[[], object]]] = [
            (sock, self._start_smtps) for sock, implicit in self._sockets if implicit
        ]
        self._servers: list[asyncio.AbstractServer] = []
        self._thread = threading.Thread(target=self._run, name="fakemail-smtp", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def opened(self, implicit_tls: bool, delta: int) -> None:
        """Count a connection of the SMTP (or SMTPS) listener opening (1) or closing (-1)."""
        self._open[implicit_tls] += delta

    def open_on(self, implicit_tls: bool) -> int:
        """Connections open on the SMTP (or SMTPS) listener."""
        return self._open[implicit_tls]

    def start(self, timeout: float = 30.0) -> None:
        """Start the loop thread and begin accepting; raises what startup raised."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("SMTP host did not start in time")
        if self._startup_error is not None:
            raise self._startup_error

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._listen(implicit_tls=False))
        except BaseException as error:
            self._startup_error = error
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        for sock, start in self._watched:
            self.loop.add_reader(sock.fileno(), self._first_client, sock, start)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self._shutdown())
            self.loop.close()

    async def _listen(self, *, implicit_tls: bool, context: ssl.SSLContext | None = None) -> None:
        for sock, implicit in self._sockets:
            if implicit != implicit_tls:
                continue
            server = await self.loop.create_server(
                lambda: _Smtp(self, implicit_tls=implicit_tls),
                sock=sock,
                ssl=context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if context else None,
            )
            self._servers.append(server)

    def watch(self, sock: socket.socket, start: Callable[[], object]) -> None:
        """Call ``start()`` on the loop thread when ``sock`` (a listening socket served
        elsewhere) first has a client waiting; until then clients wait in its listen backlog,
        and what serves it costs nothing. Call before :meth:`start`."""
        self._watched.append((sock, start))

    def _first_client(self, sock: socket.socket, start: Callable[[], object]) -> None:
        self.loop.remove_reader(sock.fileno())
        try:
            start()
        except Exception as error:
            self.backend.record_error(error, "listener start-up")

    def _start_smtps(self) -> None:
        # A run that never uses SMTPS never makes a certificate.
        self.loop.create_task(self._listen_tls())

    async def server_context(self) -> ssl.SSLContext:
        """The test certificate's server context, made off the loop thread the first time."""
        return await self.loop.run_in_executor(None, self.backend.tls.server_context)

    async def _listen_tls(self) -> None:
        try:
            await self._listen(implicit_tls=True, context=await self.server_context())
        except Exception as error:
            self.backend.record_error(error, "SMTPS listener start-up")

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for protocol in list(self.connections):
            transport = protocol.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        for sock, _ in self._sockets:
            sock.close()  # idempotent; covers an SMTPS socket stopped before it was served

    def stop(self, timeout: float = 30.0) -> None:
        """Close listeners and every connection, stop the loop and join the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
