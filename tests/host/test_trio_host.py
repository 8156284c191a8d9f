"""The trio host, protocol-agnostic: a tiny line-echo :class:`HostedSession` over in-memory
streams (one trio run per test) and over loopback sockets (the host's own thread)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone
from typing import cast

import pytest
import trio
import trio.testing

from fakemail._backend import Backend
from fakemail._config import Options
from fakemail._message import Envelope, Message
from fakemail._store import INBOX
from fakemail._triohost import ConnectionInfo, HostedSession, Listener, TrioHost
from tests._helpers import TIMEOUT, LineClient, leaves

MemoryPair = trio.StapledStream[trio.testing.MemorySendStream, trio.testing.MemoryReceiveStream]


class EchoSession:
    """Echoes each line; ``LOGIN name`` sets :attr:`account`; ``STARTTLS`` asks for TLS;
    ``QUIT`` closes; ``CRASH`` raises; ``BIG`` answers 1 MB."""

    def __init__(self, info: ConnectionInfo, timeout: float) -> None:
        self.info = info
        self.account: str | None = None
        self.timeout = timeout
        self.is_closed = False
        self.wants_tls = False
        self.trailing_data = b""
        self.tls = info.is_tls
        self.received = b""
        self.closes = 0
        self.timeouts = 0
        self.changes = 0
        self._buffer = b""
        self._out: list[bytes] = []

    def start(self) -> None:
        self._out.append(f"hello tls={self.tls}\r\n".encode())

    def refuse(self, reason: str) -> None:
        self._out.append(f"refused {reason}\r\n".encode())
        self.is_closed = True

    def receive_data(self, data: bytes) -> None:
        self.received += data
        if not data:
            self.is_closed = True
            return
        if self.wants_tls:
            self.trailing_data += data
            return
        self._buffer += data
        while b"\n" in self._buffer and not self.wants_tls:
            line, _, self._buffer = self._buffer.partition(b"\n")
            line = line.rstrip(b"\r")
            if line == b"CRASH":
                raise RuntimeError("session bug")
            if line == b"QUIT":
                self._out.append(b"bye\r\n")
                self.is_closed = True
                return
            if line == b"STARTTLS":
                self._out.append(b"go ahead\r\n")
                self.wants_tls = True
                self.trailing_data, self._buffer = self._buffer, b""
                return
            if line == b"BIG":
                self._out.append(b"x" * 1_000_000 + b"\r\n")
                continue
            if line.startswith(b"LOGIN "):
                self.account = line[6:].decode()
            self._out.append(b"echo " + line + b"\r\n")

    def data_to_send(self) -> bytes:
        data = b"".join(self._out)
        self._out.clear()
        return data

    def tls_started(self) -> None:
        self.wants_tls = False
        self.tls = True
        self._out.append(b"secure\r\n")

    def store_changed(self) -> None:
        self.changes += 1
        self._out.append(f"changed {self.account}\r\n".encode())

    def timed_out(self) -> None:
        self.timeouts += 1
        self._out.append(b"timeout\r\n")
        self.is_closed = True

    def close(self) -> None:
        self.closes += 1


class Factory:
    """Makes :class:`EchoSession` objects and keeps them for inspection."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.sessions: list[EchoSession] = []

    def __call__(self, info: ConnectionInfo) -> HostedSession:
        session = EchoSession(info, self.timeout)  # mypy checks it against the protocol
        self.sessions.append(session)
        return session


def make_host(
    backend: Backend | None = None, *, timeout: float = 60.0, implicit_tls: bool = False
) -> tuple[TrioHost, Listener, Factory]:
    backend = backend or Backend(Options())
    factory = Factory(timeout)
    # The memory-stream tests call _serve directly: the listening socket is never used.
    listener = Listener("test", cast(socket.socket, None), implicit_tls, factory)
    return TrioHost(backend, [listener]), listener, factory


async def read_until(stream: trio.abc.ReceiveStream, end: bytes, limit: float = TIMEOUT) -> bytes:
    data = b""
    with trio.fail_after(limit):
        while not data.endswith(end):
            chunk = await stream.receive_some()
            assert chunk, f"EOF after {data!r}"
            data += chunk
    return data


async def read_to_eof(stream: trio.abc.ReceiveStream, limit: float = TIMEOUT) -> bytes:
    data = b""
    with trio.fail_after(limit):
        while chunk := await stream.receive_some():
            data += chunk
    return data


def serve(
    nursery: trio.Nursery, host: TrioHost, listener: Listener, peer: str = "192.0.2.1:1"
) -> MemoryPair:
    client, server = trio.testing.memory_stream_pair()
    # _serve only needs a stream; it is typed for the SocketStream it gets in production.
    nursery.start_soon(host._serve, listener, cast(trio.SocketStream, server), peer)
    return client


@asynccontextmanager
async def greeted(host: TrioHost, listener: Listener) -> AsyncIterator[MemoryPair]:
    """A client served (:func:`serve`) in a nursery of its own, its greeting read. On exit
    the nursery waits for the connection to end."""
    async with trio.open_nursery() as nursery:
        client = serve(nursery, host, listener)
        await read_until(client, b"\r\n")
        yield client


async def tls_client(client: MemoryPair, host: TrioHost) -> trio.SSLStream[MemoryPair]:
    """``client`` after a TLS handshake trusting the test CA."""
    tls = trio.SSLStream(client, host.backend.tls.client_context(), server_hostname="localhost")
    with trio.fail_after(TIMEOUT):
        await tls.do_handshake()
    return tls


# --- memory streams --------------------------------------------------------------------


@pytest.mark.trio
async def test_greeting_echo_and_close() -> None:
    host, listener, factory = make_host()
    async with trio.open_nursery() as nursery:
        client = serve(nursery, host, listener, "192.0.2.9:4242")
        assert await read_until(client, b"\r\n") == b"hello tls=False\r\n"
        # Two lines in one write and one line in two writes.
        await client.send_all(b"one\r\ntwo\r\nthr")
        assert await read_until(client, b"two\r\n") == b"echo one\r\necho two\r\n"
        await client.send_all(b"ee\r\nQUIT\r\n")
        assert await read_to_eof(client) == b"echo three\r\nbye\r\n"
    (session,) = factory.sessions
    assert session.info == ConnectionInfo("192.0.2.9:4242", False, "test")
    assert session.closes == 1
    (transcript,) = host.backend.transcripts.transcripts
    assert transcript.protocol == "test"
    assert transcript.peer == "192.0.2.9:4242"
    assert "C: one" in transcript.text
    assert "S: echo three" in transcript.text


@pytest.mark.trio
async def test_client_eof_closes_the_session() -> None:
    host, listener, factory = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(b"half a line")
        await client.send_stream.aclose()
        assert await read_to_eof(client) == b""
    (session,) = factory.sessions
    assert session.received == b"half a line"  # then b"" for EOF
    assert session.is_closed
    assert session.closes == 1


@pytest.mark.trio
async def test_large_replies_are_sent_whole() -> None:
    host, listener, _ = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(b"BIG\r\nQUIT\r\n")
        assert await read_to_eof(client) == b"x" * 1_000_000 + b"\r\nbye\r\n"


@pytest.mark.trio
async def test_idle_timeout(autojump_clock: trio.abc.Clock) -> None:
    host, listener, factory = make_host(timeout=600.0)
    async with trio.open_nursery() as nursery:
        client = serve(nursery, host, listener)
        start = trio.current_time()
        await read_until(client, b"\r\n")
        await client.send_all(b"ping\r\n")
        await read_until(client, b"echo ping\r\n")
        assert await read_to_eof(client, limit=1000) == b"timeout\r\n"
        # The clock restarts with each read; virtual time, so no real waiting.
        assert 600 <= trio.current_time() - start < 601
    (session,) = factory.sessions
    assert session.timeouts == 1
    assert session.closes == 1
    assert "idle timeout" in host.backend.transcripts.transcripts[0].text


@pytest.mark.trio
async def test_connections_beyond_max_connections_are_refused() -> None:
    host, listener, factory = make_host(Backend(Options(max_connections=2)))
    async with trio.open_nursery() as nursery:
        first = serve(nursery, host, listener)
        second = serve(nursery, host, listener)
        for client in (first, second):
            assert await read_until(client, b"\r\n") == b"hello tls=False\r\n"
        third = serve(nursery, host, listener)
        assert await read_to_eof(third) == b"refused too many connections\r\n"
        assert factory.sessions[2].closes == 1
        await first.send_all(b"QUIT\r\n")
        assert await read_to_eof(first) == b"bye\r\n"
        fourth = serve(nursery, host, listener)  # a slot is free again
        assert await read_until(fourth, b"\r\n") == b"hello tls=False\r\n"
        for client in (second, fourth):
            await client.send_all(b"QUIT\r\n")
            assert await read_to_eof(client) == b"bye\r\n"
    assert [s.closes for s in factory.sessions] == [1, 1, 1, 1]


@pytest.mark.trio
async def test_starttls_over_memory_streams() -> None:
    host, listener, factory = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(b"STARTTLS\r\n")
        assert await read_until(client, b"\r\n") == b"go ahead\r\n"
        tls = await tls_client(client, host)
        assert await read_until(tls, b"\r\n") == b"secure\r\n"
        await tls.send_all(b"private\r\nQUIT\r\n")
        assert await read_until(tls, b"bye\r\n") == b"echo private\r\nbye\r\n"
    (session,) = factory.sessions
    assert session.tls
    assert session.closes == 1
    assert "TLS started" in host.backend.transcripts.transcripts[0].text


@pytest.mark.trio
async def test_data_after_starttls_drops_the_connection() -> None:
    host, listener, factory = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(b"STARTTLS\r\nINJECTED\r\n")
        assert await read_to_eof(client) == b"go ahead\r\n"
    (session,) = factory.sessions
    assert session.trailing_data == b"INJECTED\r\n"
    assert not session.tls
    assert session.closes == 1
    assert "data after STARTTLS" in host.backend.transcripts.transcripts[0].text
    assert host.backend.take_errors() == []


@pytest.mark.trio
async def test_implicit_tls() -> None:
    host, listener, factory = make_host(implicit_tls=True)
    async with trio.open_nursery() as nursery:
        client = serve(nursery, host, listener)
        tls = await tls_client(client, host)
        assert await read_until(tls, b"\r\n") == b"hello tls=True\r\n"
        await tls.send_all(b"QUIT\r\n")
        assert await read_until(tls, b"\r\n") == b"bye\r\n"
    assert factory.sessions[0].info.is_tls


@pytest.mark.trio
async def test_implicit_tls_handshake_timeout(autojump_clock: trio.abc.Clock) -> None:
    host, listener, factory = make_host(implicit_tls=True)
    async with trio.open_nursery() as nursery:
        client = serve(nursery, host, listener)
        start = trio.current_time()
        # A silent client: given up after 30 s (virtual time).
        assert await read_to_eof(client, limit=1000) == b""
        assert 30 <= trio.current_time() - start < 31
    assert factory.sessions == []  # no session without a handshake
    assert "TooSlowError" in host.backend.transcripts.transcripts[0].text


@pytest.mark.trio
async def test_session_errors_are_recorded_and_close_the_connection() -> None:
    host, listener, factory = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(b"CRASH\r\n")
        assert await read_to_eof(client) == b""
    assert [str(e) for e in leaves(host.backend.take_errors())] == ["session bug"]
    assert factory.sessions[0].closes == 1


@pytest.mark.trio
async def test_close_errors_are_recorded() -> None:
    host, listener, factory = make_host()

    def broken_close() -> None:
        raise RuntimeError("close bug")

    async with greeted(host, listener) as client:
        factory.sessions[0].close = broken_close  # type: ignore[method-assign]
        await client.send_all(b"QUIT\r\n")
        assert await read_to_eof(client) == b"bye\r\n"
    assert [str(e) for e in leaves(host.backend.take_errors())] == ["close bug"]


# BIG: the client vanishes while the server writes a reply it cannot deliver.
@pytest.mark.parametrize("send", [b"STARTTLS\r\nINJECTED\r\n", b"BIG\r\n"])
@pytest.mark.trio
async def test_clients_going_away_are_not_server_errors(send: bytes) -> None:
    host, listener, factory = make_host()
    async with greeted(host, listener) as client:
        await client.send_all(send)
        await client.aclose()
    assert factory.sessions[0].closes == 1
    assert host.backend.take_errors() == []


# --- loopback sockets and the host thread ----------------------------------------------


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@contextmanager
def running_host(backend: Backend) -> Iterator[tuple[TrioHost, tuple[str, int], Factory]]:
    factory = Factory()
    sock = _listening_socket()
    address = sock.getsockname()
    host = TrioHost(backend, [Listener("test", sock, False, factory)])
    host.start()
    try:
        yield host, address, factory
    finally:
        host.stop()


def message(to: str) -> Message:
    envelope = Envelope(sender="", recipients=(to,), protocol="api")
    return Message(b"Subject: x\r\n\r\nx\r\n", envelope, datetime.now(timezone.utc), 1)


def test_store_changes_wake_the_sessions_of_that_account() -> None:
    backend = Backend(Options())
    with running_host(backend) as (_, address, factory):
        clients = {name: LineClient(address) for name in ("alice", "bob", "anonymous")}
        for name, client in clients.items():
            assert client.line() == b"hello tls=False\r\n"
            if name != "anonymous":
                client.send(f"LOGIN {name}@example.com\r\n".encode())
                assert client.line() == f"echo LOGIN {name}@example.com\r\n".encode()
        backend.store.append("alice@example.com", INBOX, message("alice@example.com"))
        assert clients["alice"].line() == b"changed alice@example.com\r\n"
        for name in ("bob", "anonymous"):  # not woken: the next thing they get is the echo
            clients[name].send(b"ping\r\n")
            assert clients[name].line() == b"echo ping\r\n"
        backend.store.clear()  # concerns every logged-in session
        assert clients["alice"].line() == b"changed alice@example.com\r\n"
        assert clients["bob"].line() == b"changed bob@example.com\r\n"
        clients["anonymous"].send(b"ping\r\n")
        assert clients["anonymous"].line() == b"echo ping\r\n"
        for client in clients.values():
            client.close()
    by_account = {s.account: s.changes for s in factory.sessions}
    assert by_account == {"alice@example.com": 2, "bob@example.com": 1, None: 0}


def test_stop_closes_every_connection_promptly() -> None:
    backend = Backend(Options())
    with running_host(backend) as (host, address, factory):
        clients = [LineClient(address) for _ in range(3)]
        for client in clients:
            assert client.line() == b"hello tls=False\r\n"
        started = time.monotonic()
        host.stop()
        assert time.monotonic() - started < 5
        for client in clients:
            with contextlib.suppress(ConnectionResetError):
                assert client.line() == b""  # EOF
            client.close()
        assert [s.closes for s in factory.sessions] == [1, 1, 1]
        with pytest.raises(OSError):
            LineClient(address)  # no longer listening
    host.stop()  # idempotent


def test_start_reports_listener_errors() -> None:
    sock = _listening_socket()
    sock.close()  # a closed socket cannot be served
    host = TrioHost(Backend(Options()), [Listener("test", sock, False, Factory())])
    with pytest.raises(Exception) as caught:
        host.start()
    assert any(isinstance(e, OSError) for e in leaves([caught.value]))
    host.stop()
