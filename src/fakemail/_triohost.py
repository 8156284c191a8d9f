"""The trio host: one trio event loop in a background thread running the POP3 and IMAP engines.

The only module that imports trio for serving. It knows nothing of either protocol: each
connection is driven through the :class:`HostedSession` interface (bytes in, bytes out), which
the protocol packages implement on top of their sans-IO engines and sessions.

Store changes made on any thread reach connections through ``TrioToken.run_sync_soon`` (no
polling): the host wakes the sessions of the touched accounts, and they send what they must
(for example IMAP IDLE updates).
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias, final

import trio

from fakemail._backend import Backend
from fakemail._store import Change
from fakemail._tls import HANDSHAKE_TIMEOUT, handshake_failure
from fakemail._transcript import Transcript

__all__ = [
    "SERVICE_GRACE",
    "ConnectionInfo",
    "HostedSession",
    "Listener",
    "Service",
    "SessionFactory",
    "TrioHost",
]

log = logging.getLogger("fakemail")

_RECEIVE_SIZE = 65536


@final
@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """Facts about one accepted connection, given to the session factory."""

    peer: str
    is_tls: bool
    listener: str


class HostedSession(Protocol):
    """One connection's protocol logic, as the host drives it (engine + session glue)."""

    #: Seconds of client silence before :meth:`timed_out`.
    timeout: float

    @property
    def account(self) -> str | None:
        """Account whose changes concern this session (``None``: not logged in yet)."""

    def start(self) -> None:
        """Queue the greeting."""

    def refuse(self, reason: str) -> None:
        """Queue a refusal (too many connections) and close."""

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client (``b""`` at end of stream); queue the replies."""

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the client."""

    @property
    def is_closed(self) -> bool:
        """Whether the host should close the connection once the queue is sent."""

    @property
    def wants_tls(self) -> bool:
        """Whether STARTTLS/STLS was accepted: the host upgrades once the reply is sent."""

    @property
    def trailing_data(self) -> bytes:
        """Bytes the client sent after STARTTLS, before the handshake (must be empty)."""

    def tls_started(self) -> None:
        """The TLS handshake finished; resume the protocol."""

    def store_changed(self) -> None:
        """The store changed for :attr:`account`; queue any unsolicited updates."""

    def timed_out(self) -> None:
        """The client was silent too long; queue a goodbye and close."""

    def close(self) -> None:
        """The connection is gone (for any reason): release whatever is held."""


SessionFactory = Callable[[ConnectionInfo], HostedSession]

#: A task served beside the listeners (the HTTP listener): ``await service(stopping,
#: task_status)`` calls ``task_status.started()`` once it serves, and returns soon after
#: ``stopping`` is set (it is cancelled :data:`SERVICE_GRACE` seconds later if not).
Service: TypeAlias = Callable[[trio.Event, trio.TaskStatus[None]], Awaitable[None]]

#: Seconds services get to finish after the host is told to stop.
SERVICE_GRACE: Final = 3.0


async def _tls_handshake(
    stream: trio.abc.Stream, backend: Backend, transcript: Transcript
) -> trio.SSLStream[trio.abc.Stream]:
    """``stream`` wrapped in server-side TLS, once the client's handshake is done; a failed
    handshake is noted in the transcript with its reason."""
    ssl_stream = trio.SSLStream(stream, backend.tls.server_context(), server_side=True)
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT):
            await ssl_stream.do_handshake()
    except trio.BrokenResourceError as error:
        transcript.note(handshake_failure(error))
        raise
    return ssl_stream


@final
@dataclass(frozen=True, slots=True)
class Listener:
    """A pre-bound listening socket and what to serve on it."""

    name: str
    sock: socket.socket
    implicit_tls: bool
    factory: SessionFactory


@final
class _Connection:
    """Pumps bytes between one stream and one :class:`HostedSession`."""

    def __init__(
        self,
        host: TrioHost,
        stream: trio.abc.Stream,
        session: HostedSession,
        transcript: Transcript,
    ) -> None:
        self.host = host
        self.stream = stream
        self.session = session
        self.transcript = transcript
        self.wakeup = trio.Event()
        # One task sends at a time. A plain flag and an Event made only when someone has to
        # wait: trio.Lock would cost a checkpoint on every reply.
        self.sending = False
        self._sent: trio.Event | None = None
        self._scope: trio.CancelScope | None = None

    def wake(self) -> None:
        self.wakeup.set()

    async def _claim(self) -> None:
        """Become the one task writing to the stream."""
        while self.sending:
            if self._sent is None:
                self._sent = trio.Event()
            await self._sent.wait()
        self.sending = True

    def _release(self) -> None:
        self.sending = False
        if self._sent is not None:
            self._sent.set()
            self._sent = None

    async def flush(self) -> None:
        """Send everything the session queued; returns once it is written."""
        await self._claim()
        try:
            while data := self.session.data_to_send():
                self.transcript.server(data)
                await self.stream.send_all(data)
        finally:
            self._release()

    async def run(self) -> None:
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            self._scope = nursery.cancel_scope
            nursery.start_soon(self._watch_store)
            try:
                await self._read_loop()
            except Exception as error:
                # Re-raised outside the nursery, so that it is not wrapped in an
                # ExceptionGroup: the caller tells a client going away from a bug by its type.
                failure = error
            finally:
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _watch_store(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup = trio.Event()
            self.session.store_changed()
            try:
                await self.flush()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the client went away; the read loop ends the connection
            if self.session.is_closed and self._scope is not None:
                # The update closed the session (e.g. * BYE for a deleted mailbox): stop
                # reading too, the goodbye has been written.
                self._scope.cancel()
                return

    async def _read_loop(self) -> None:
        session = self.session
        session.start()
        await self.flush()
        # One scope for the whole loop, its deadline pushed back before each read: cheaper
        # than a new move_on_after per command.
        with trio.CancelScope() as idle:
            while not session.is_closed:
                idle.deadline = trio.current_time() + session.timeout
                data = bytes(await self.stream.receive_some(_RECEIVE_SIZE))
                idle.deadline = math.inf
                self.transcript.client(data)
                session.receive_data(data)
                await self.flush()
                if not data:
                    return
                if session.wants_tls:
                    await self._start_tls()
        if idle.cancelled_caught:
            self.transcript.note("idle timeout")
            session.timed_out()
            await self.flush()

    async def _start_tls(self) -> None:
        session = self.session
        if session.trailing_data:
            # RFC 3207 §4.2 / RFC 2595 §3.1: data pipelined after STARTTLS could be injected
            # by an attacker; drop the connection.
            self.transcript.note("data after STARTTLS before handshake: closing")
            raise _Drop
        await self._claim()  # nothing may be written in clear text during the handshake
        try:
            self.stream = await _tls_handshake(self.stream, self.host.backend, self.transcript)
            self.transcript.note("TLS started")
        finally:
            self._release()
        session.tls_started()
        await self.flush()


class _Drop(Exception):
    """Close this connection quietly."""


@final
class TrioHost:
    """Serves :class:`Listener` sockets on a trio loop in a background thread."""

    def __init__(
        self,
        backend: Backend,
        listeners: Sequence[Listener],
        services: Sequence[Service] = (),
    ) -> None:
        self.backend = backend
        self._listeners = list(listeners)
        self._services = list(services)
        self._stopping: trio.Event | None = None
        self._protocols: trio.CancelScope | None = None
        self._connections: dict[str, set[_Connection]] = {lst.name: set() for lst in listeners}
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._thread = threading.Thread(target=self._run, name="fakemail-trio", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._start_lock = threading.Lock()
        self._started = False
        self._wait = True

    # ------------------------------------------------------------------ thread life cycle

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets served."""
        return [listener.sock for listener in self._listeners]

    @property
    def has_services(self) -> bool:
        """Whether services (HTTP) run beside the listeners: the host must start at once."""
        return bool(self._services)

    def start(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        """Start the trio thread and begin accepting; raises what startup raised.

        With ``wait=False`` it returns at once, for a start from another event loop's thread
        on a first connection (the sockets are bound and listening already, so clients wait
        in the backlog meanwhile); a startup error is then recorded as a server error.
        """
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self._wait = wait
            self._remove_listener = self.backend.store.add_listener(self._store_changed)
            self._thread.start()
        if not wait:
            return
        if not self._ready.wait(timeout):
            raise RuntimeError("trio host did not start in time")
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self, timeout: float = 30.0) -> None:
        """Close listeners and every connection, and join the thread (also when it was never
        started: then only the sockets are closed)."""
        with self._start_lock:
            self._started = True  # no start after this
            remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            remove()
        if not self._thread.ident:  # never started
            for sock in self.sockets:
                sock.close()
            return
        self._ready.wait(timeout)  # a host started lazily may be starting just now
        token = self._token
        if token is not None and self._thread.is_alive():
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self._begin_stop, trio_token=token)
        self._thread.join(timeout)

    def _begin_stop(self) -> None:
        # Connections of the protocol listeners end at once (as before services existed);
        # services get a grace period to finish gracefully, then are cancelled too.
        if self._protocols is not None:
            self._protocols.cancel()
        if self._cancel is None:
            return
        if self._services and self._stopping is not None:
            self._stopping.set()
            self._cancel.deadline = trio.current_time() + SERVICE_GRACE
        else:
            self._cancel.cancel()

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as error:
            if not self._ready.is_set():
                # Unwrap the nursery's group so that start() raises, e.g., the OSError itself.
                while (inner := getattr(error, "exceptions", None)) and len(inner) == 1:
                    error = inner[0]
                self._startup_error = error
                if not self._wait:  # nobody waits for start() to raise it
                    self.backend.record_error(error, "trio host start-up")
                self._ready.set()
            else:
                log.exception("fakemail: trio host crashed")
                self.backend.record_error(error, "trio host")
        finally:
            for listener in self._listeners:
                listener.sock.close()  # idempotent

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stopping = trio.Event()
        with trio.CancelScope() as cancel:
            self._cancel = cancel
            async with trio.open_nursery() as nursery:
                await nursery.start(self._serve_listeners)
                for service in self._services:
                    await nursery.start(service, self._stopping)
                self._ready.set()

    async def _serve_listeners(self, task_status: trio.TaskStatus[None]) -> None:
        with trio.CancelScope() as scope:
            self._protocols = scope
            async with trio.open_nursery() as nursery:
                for listener in self._listeners:
                    trio_sock = trio.socket.from_stdlib_socket(listener.sock)
                    await nursery.start(
                        trio.serve_listeners,
                        self._handler(listener),
                        [trio.SocketListener(trio_sock)],
                    )
                task_status.started()

    # ------------------------------------------------------------------ store wake-ups

    def _store_changed(self, change: Change) -> None:
        # Runs on whichever thread changed the store: hop onto the trio thread.
        token = self._token
        if token is None or not any(self._connections.values()):
            return  # nobody to wake: skip the cross-thread hop (it costs a GIL hand-off)
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._wake, change)

    def _wake(self, change: Change) -> None:
        for connections in self._connections.values():
            for conn in connections:
                account = conn.session.account
                if account is not None and (change.is_clear or account in change.accounts):
                    conn.wake()

    # ------------------------------------------------------------------ connections

    def _handler(self, listener: Listener) -> Callable[[trio.SocketStream], object]:
        async def handle(stream: trio.SocketStream) -> None:
            try:
                host, port = stream.socket.getpeername()[:2]
                peer = f"{host}:{port}"
            except OSError:
                peer = "?"
            await self._serve(listener, stream, peer)

        return handle

    async def _serve(self, listener: Listener, raw: trio.SocketStream, peer: str) -> None:
        backend = self.backend
        transcript = backend.transcripts.start(listener.name, peer)
        live = self._connections[listener.name]
        stream: trio.abc.Stream = raw
        session: HostedSession | None = None
        try:
            if listener.implicit_tls:
                stream = await _tls_handshake(raw, backend, transcript)
            session = listener.factory(ConnectionInfo(peer, listener.implicit_tls, listener.name))
            conn = _Connection(self, stream, session, transcript)
            if len(live) >= backend.options.max_connections:
                session.refuse("too many connections")
                await conn.flush()
                return
            live.add(conn)
            try:
                await conn.run()
            finally:
                live.discard(conn)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError, _Drop) as e:
            transcript.note(f"connection ended: {type(e).__name__}")
        except Exception as error:
            backend.record_error(error, f"{listener.name} connection")
        finally:
            if session is not None:
                try:
                    session.close()
                except Exception as error:
                    backend.record_error(error, f"{listener.name} session close")
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()
