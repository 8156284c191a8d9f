"""The MailServer test API around real SMTP: waiting, deliver()/mailbox(), configure()/reset(),
life cycle and listener errors."""

from __future__ import annotations

import asyncio
import email.message
import smtplib
import socket
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
import trio

from fakemail._exceptions import (
    ConfigError,
    FakemailError,
    MailAssertionError,
    PortInUse,
    WaitTimeout,
)
from fakemail._server import Endpoint, MailServer
from fakemail._store import INBOX, StoreError

from .conftest import CLIENT_TIMEOUT

RAW = b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"

MakeServer = Callable[..., MailServer]
SmtpClient = Callable[..., smtplib.SMTP]


def send(server: MailServer, to: str = "bob@example.com", raw: bytes = RAW) -> None:
    with smtplib.SMTP(*server.smtp, timeout=CLIENT_TIMEOUT) as client:
        client.sendmail("app@example.com", [to], raw)


class SenderThread:
    """Sends one message from a worker thread once ``go`` is set."""

    def __init__(self, server: MailServer) -> None:
        self.go = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(server,))
        self._thread.start()

    def _run(self, server: MailServer) -> None:
        try:
            if self.go.wait(CLIENT_TIMEOUT):
                send(server)
        except BaseException as error:  # pragma: no cover - reported by join()
            self.error = error

    def join(self) -> None:
        self.go.set()
        self._thread.join(CLIENT_TIMEOUT * 2)
        assert not self._thread.is_alive()
        assert self.error is None


@pytest.fixture
def sender(smtp_server: MailServer) -> Any:
    threads: list[SenderThread] = []

    def start() -> SenderThread:
        thread = SenderThread(smtp_server)
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.join()


# ------------------------------------------------------------------ waiting


def test_wait_for_wakes_on_delivery_from_another_thread(
    smtp_server: MailServer, sender: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = sender()
    store = smtp_server.store
    original = store.wait

    def waiting(predicate: Callable[[], bool], timeout: float | None) -> bool:
        thread.go.set()  # send only once wait_for is really waiting
        return original(predicate, timeout)

    monkeypatch.setattr(store, "wait", waiting)
    [message] = smtp_server.wait_for(to="bob@example.com", timeout=CLIENT_TIMEOUT)
    assert message.subject == "Hi"
    thread.join()


def test_wait_for_several_and_filters(smtp_server: MailServer) -> None:
    workers = [
        threading.Thread(target=send, args=(smtp_server, f"u{n}@example.com")) for n in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        found = smtp_server.wait_for(2, to=lambda a: a in ("u0@example.com", "u2@example.com"))
        assert sorted(m.recipients[0] for m in found) == ["u0@example.com", "u2@example.com"]
    finally:
        for worker in workers:
            worker.join(CLIENT_TIMEOUT)


def test_wait_for_times_out(smtp_server: MailServer) -> None:
    send(smtp_server, "other@example.com", b"Subject: not for bob\r\n\r\nx\r\n")
    with pytest.raises(WaitTimeout, match=r"^waited 0\.05s for 1 matching message\(s\), 0 arrived"):
        smtp_server.wait_for(to="bob@example.com", timeout=0.05)


def test_wait_for_async_under_asyncio(
    smtp_server: MailServer, sender: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = sender()
    store = smtp_server.store
    original = store.add_listener

    def add_listener(listener: Any) -> Callable[[], None]:
        remove = original(listener)
        thread.go.set()  # send once the waiter listens
        return remove

    monkeypatch.setattr(store, "add_listener", add_listener)

    async def main() -> list[Any]:
        return await smtp_server.wait_for_async(to="bob@example.com", timeout=CLIENT_TIMEOUT)

    [message] = asyncio.run(main())
    assert message.subject == "Hi"
    thread.join()

    async def too_long() -> None:
        await smtp_server.wait_for_async(2, timeout=0.05)

    with pytest.raises(WaitTimeout, match=r"waited 0\.05s for 2 matching message\(s\), 1 arrived"):
        asyncio.run(too_long())


def test_wait_for_async_under_trio(smtp_server: MailServer) -> None:
    async def main() -> list[Any]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, send, smtp_server)
            found = await smtp_server.wait_for_async(to="bob@example.com", timeout=CLIENT_TIMEOUT)
        return found  # noqa: RET504 - returned after the nursery has joined the sender

    [message] = trio.run(main)
    assert message.subject == "Hi"

    async def too_long() -> None:
        await smtp_server.wait_for_async(2, timeout=0.05)

    with pytest.raises(WaitTimeout):
        trio.run(too_long)


def test_wait_for_async_detaches_its_listener(smtp_server: MailServer) -> None:
    listeners = list(smtp_server.store._listeners)

    async def main() -> None:
        await smtp_server.wait_for_async(timeout=0.01)

    with pytest.raises(WaitTimeout):
        asyncio.run(main())
    with pytest.raises(WaitTimeout):
        trio.run(main)
    assert smtp_server.store._listeners == listeners


def test_assert_no_mail_passes_when_only_other_mail_arrives(smtp_server: MailServer) -> None:
    send(smtp_server, "other@example.com", b"To: other@example.com\r\n\r\nx\r\n")
    smtp_server.assert_no_mail(within=0.05, to="bob@example.com")
    smtp_server.assert_no_mail(within=0, subject="Hi")  # no wait: assert_not_sent


def test_assert_no_mail_fails_as_soon_as_matching_mail_arrives(
    smtp_server: MailServer, sender: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = sender()
    store = smtp_server.store
    original = store.wait

    def waiting(predicate: Callable[[], bool], timeout: float | None) -> bool:
        thread.go.set()  # send only once assert_no_mail is really waiting
        return original(predicate, timeout)

    monkeypatch.setattr(store, "wait", waiting)
    # The window is long: the test ending quickly shows the failure did not wait it out.
    with pytest.raises(MailAssertionError) as caught:
        smtp_server.assert_no_mail(within=CLIENT_TIMEOUT * 4, to="bob@example.com")
    assert not isinstance(caught.value, WaitTimeout)
    text = str(caught.value)
    assert text.startswith("expected no matching message within 120s, found 1 after ")
    assert "Filters: to='bob@example.com'" in text
    assert "MATCH #1 " in text
    assert "subject 'Hi'" in text
    thread.join()


def test_assert_no_mail_counts_mail_already_captured(smtp_server: MailServer) -> None:
    send(smtp_server)
    with pytest.raises(MailAssertionError, match=r"found 1 after 0\.\d\ds"):
        smtp_server.assert_no_mail(within=CLIENT_TIMEOUT, subject="Hi")
    smtp_server.assert_not_sent(subject="Bye")  # unchanged: immediate


@pytest.mark.parametrize("within", [-1, "1", None, True])
def test_assert_no_mail_checks_within(smtp_server: MailServer, within: Any) -> None:
    with pytest.raises(ConfigError, match="within= takes a number of seconds"):
        smtp_server.assert_no_mail(within=within)
    with pytest.raises(ConfigError, match="within= takes a number of seconds"):
        asyncio.run(smtp_server.assert_no_mail_async(within=within))


def test_assert_no_mail_async_under_asyncio_and_trio(smtp_server: MailServer) -> None:
    async def quiet() -> None:
        await smtp_server.assert_no_mail_async(within=0.05, to="bob@example.com")

    asyncio.run(quiet())
    trio.run(quiet)

    async def sent_meanwhile() -> None:
        # The app sends on the loop's behalf while the assertion waits: a blocking wait
        # would hold the loop, and with it the app, and pass for the wrong reason.
        sending = asyncio.create_task(asyncio.to_thread(send, smtp_server))
        try:
            await smtp_server.assert_no_mail_async(within=CLIENT_TIMEOUT * 4, to="bob@example.com")
        finally:
            await sending

    with pytest.raises(MailAssertionError, match="within 120s, found 1"):
        asyncio.run(sent_meanwhile())
    listeners = list(smtp_server.store._listeners)
    with pytest.raises(MailAssertionError, match="found 1"):
        trio.run(quiet)
    assert smtp_server.store._listeners == listeners


# ------------------------------------------------------------------ deliver() and mailbox()


def test_deliver_str_bytes_and_email_message(smtp_server: MailServer) -> None:
    text = smtp_server.deliver("Subject: str\n\nline one\nline two\n", to="bob@example.com")
    data = smtp_server.deliver(b"Subject: bytes\r\n\r\nmixed\nends\r\n", to="bob@example.com")
    built = email.message.EmailMessage()
    built["Subject"] = "built"
    built["To"] = "bob@example.com"
    built.set_content("first\nsecond\n")
    emailed = smtp_server.deliver(built, to="bob@example.com")
    assert text.raw == b"Subject: str\r\n\r\nline one\r\nline two\r\n"
    assert data.raw == b"Subject: bytes\r\n\r\nmixed\r\nends\r\n"
    assert b"\r\n\r\nfirst\r\nsecond\r\n" in emailed.raw
    assert b"\n" not in emailed.raw.replace(b"\r\n", b"")
    assert emailed.subject == "built"
    assert smtp_server.messages == ()  # not SMTP transactions
    inbox = smtp_server.mailbox("bob@example.com").inbox
    assert inbox.messages == (text, data, emailed)
    assert text.envelope.protocol == "api"
    assert text.envelope.recipients == ("bob@example.com",)


def test_deliver_options(smtp_server: MailServer) -> None:
    when = datetime(2020, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    flags = (flag for flag in ["\\Seen", "$Important"])  # any iterable, even a generator
    message = smtp_server.deliver(
        RAW,
        to=["a@example.com", "B@EXAMPLE.com", "a@Example.com"],
        folder="Work/Reports",
        flags=flags,
        internal_date=when,
    )
    for address in ("a@example.com", "B@example.com"):
        folder = smtp_server.mailbox(address).folder("Work/Reports")
        [item] = folder.items
        assert item.message is message
        assert item.flags == {"\\Seen", "$Important"}
        assert item.internal_date == when
    assert smtp_server.store.accounts == ("a@example.com", "B@example.com")
    with pytest.raises(ConfigError, match="at least one recipient"):
        smtp_server.deliver(RAW, to=[])


def test_mailbox_and_folders(smtp_server: MailServer) -> None:
    mailbox = smtp_server.mailbox("Carol@Example.COM")
    assert mailbox.address == "Carol@example.com"
    assert mailbox.folder_names == ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive")
    assert mailbox.messages == ()
    created = mailbox.create_folder("Projects/2026", special_use="\\Flagged")
    assert created.name == "Projects/2026"
    assert created.snapshot.special_use == "\\Flagged"
    assert mailbox.folder_names[-1] == "Projects/2026"
    with pytest.raises(StoreError) as info:
        mailbox.create_folder("Projects/2026")
    assert info.value.code == "ALREADYEXISTS"
    with pytest.raises(StoreError):
        mailbox.folder("Nope")
    assert mailbox.folder("inbox").name == INBOX
    send(smtp_server, "Carol@example.COM")
    [smtp_message] = smtp_server.messages
    assert mailbox.messages == (smtp_message,)
    uid = mailbox.append(smtp_message, "Projects/2026", flags=["\\Seen"])
    assert uid == 1
    assert mailbox.folder("Projects/2026").flags(1) == {"\\Seen"}
    assert mailbox.append(smtp_message, "New/Folder") == 1  # created on demand
    assert "New/Folder" in mailbox.folder_names
    assert "Carol@example.com" in repr(mailbox)


def test_folder_flags_and_expunge(smtp_server: MailServer) -> None:
    for n in range(3):
        smtp_server.deliver(f"Subject: {n}\n\nx\n", to="dan@example.com")
    inbox = smtp_server.mailbox("dan@example.com").inbox
    assert [item.uid for item in inbox.items] == [1, 2, 3]
    inbox.set_flags(1, ["\\Seen", "\\Flagged"])
    inbox.set_flags([2, 3], ["\\Seen"], mode="add")
    inbox.set_flags([1], ["\\Flagged"], mode="remove")
    assert [inbox.flags(uid) for uid in (1, 2, 3)] == [{"\\Seen"}, {"\\Seen"}, {"\\Seen"}]
    inbox.set_flags(range(1, 4), [])
    assert all(inbox.flags(uid) == frozenset() for uid in (1, 2, 3))
    with pytest.raises(KeyError):
        inbox.flags(99)
    assert inbox.expunge([2, 99]) == (2,)
    assert inbox.expunge(3) == (3,)
    assert len(inbox) == 1
    assert [m.subject for m in inbox.messages] == ["0"]
    assert "dan@example.com/INBOX (1 messages)" in repr(inbox)


# ------------------------------------------------------------------ configure() and reset()


def test_configure_applies_to_new_connections_and_reset_restores(
    smtp_server: MailServer, smtp_client: SmtpClient
) -> None:
    smtp_server.configure(require_auth=True, users={"app@example.com": "pw"}, max_message_size=500)
    assert smtp_server.options.require_auth
    client = smtp_client(smtp_server)
    client.ehlo()
    assert client.esmtp_features["size"] == "500"
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        client.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert info.value.smtp_code == 530
    with pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("app@example.com", "wrong")
    smtp_server.deliver(RAW, to="kept@example.com")
    smtp_server.reset()
    assert smtp_server.options == MailServer().options.replace(
        imap_port=None, imaps_port=None, pop3_port=None, pop3s_port=None
    )
    assert smtp_server.store.accounts == ()
    assert smtp_server.transcripts == ()
    fresh = smtp_client(smtp_server)
    fresh.ehlo()
    assert fresh.esmtp_features["size"] == str(25 * 1024 * 1024)
    fresh.sendmail("app@example.com", ["bob@example.com"], RAW)
    assert len(smtp_server.messages) == 1


def test_configure_rejects_listener_options_while_running(smtp_server: MailServer) -> None:
    with pytest.raises(ConfigError) as info:
        smtp_server.configure(smtp_port=2525, host="0.0.0.0")
    assert str(info.value) == (
        "host, smtp_port cannot change on a running server; use a dedicated MailServer"
    )
    smtp_server.configure(host=smtp_server.options.host)  # unchanged values are fine
    with pytest.raises(ConfigError, match="unknown option"):
        smtp_server.configure(no_such_option=1)
    assert smtp_server.options.smtp_port == 0


def test_configure_listener_options_before_start() -> None:
    server = MailServer(imap_port=None, imaps_port=None, pop3_port=None, pop3s_port=None)
    server.configure(smtps_port=None)
    try:
        server.start()
        assert set(server.endpoints) == {"smtp"}
        with pytest.raises(FakemailError, match=r"smtps listener is disabled \(smtps_port=None\)"):
            _ = server.smtps
    finally:
        server.stop()


# ------------------------------------------------------------------ life cycle


def test_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = MailServer(
            smtp_port=port, imap_port=None, imaps_port=None, pop3_port=None, pop3s_port=None
        )
        with pytest.raises(PortInUse) as info:
            server.start()
        message = str(info.value)
        assert message == (
            f"cannot listen for smtp on 127.0.0.1:{port}: address already in use "
            "(smtp_port=0 picks a free port)"
        )
        assert (info.value.listener, info.value.host, info.value.port) == (
            "smtp",
            "127.0.0.1",
            port,
        )
        assert isinstance(info.value, ConfigError)
        # The traceback ends at the public call: no socket-binding frames below it.
        frames = traceback.extract_tb(info.value.__traceback__)
        assert [frame.name for frame in frames] == ["test_port_in_use", "public"]
        assert not server.is_running
        # Nothing was left bound: the same server can start on a free port.
        server.configure(smtp_port=0)
        with server:
            assert server.smtp.port != port
            send(server)
            assert len(server.messages) == 1
        server.check()


def test_endpoints_and_life_cycle() -> None:
    server = MailServer(imap_port=None, imaps_port=None, pop3_port=None, pop3s_port=None)
    with pytest.raises(FakemailError, match="not running; call start"):
        _ = server.smtp
    assert repr(server) == "<MailServer stopped >"
    with server as running:
        assert running is server
        assert server.is_running
        assert server.start() is server  # idempotent
        assert set(server.endpoints) == {"smtp", "smtps"}
        endpoint = server.smtp
        assert isinstance(endpoint, Endpoint)
        assert endpoint.host == "127.0.0.1"
        assert endpoint.url("smtp") == f"smtp://127.0.0.1:{endpoint.port}"
        assert Endpoint("::1", 25).url("smtp") == "smtp://[::1]:25"
        assert f"smtp=127.0.0.1:{endpoint.port}" in repr(server)
        env = server.env("APP_")
        assert env["APP_SMTP_PORT"] == str(endpoint.port)
        assert env["APP_SMTPS_HOST"] == "127.0.0.1"
        assert env["APP_MAIL_CA_FILE"] == str(server.ca_path)
        send(server)
    assert not server.is_running
    with pytest.raises(OSError):
        socket.create_connection(tuple(endpoint), timeout=CLIENT_TIMEOUT).close()
    server.check()
    assert len(server.messages) == 1  # the store outlives the listeners


def test_write_ca(smtp_server: MailServer, tmp_path: Any) -> None:
    target = smtp_server.write_ca(tmp_path / "ca.pem")
    assert target.read_bytes() == smtp_server.ca_pem
    assert smtp_server.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_restart_after_stop() -> None:
    server = MailServer(imap_port=None, imaps_port=None, pop3_port=None, pop3s_port=None)
    with server:
        send(server)
    with server:
        send(server, "second@example.com")
        assert [m.recipients for m in server.messages] == [
            ("bob@example.com",),
            ("second@example.com",),
        ]
    server.check()


def test_idle_sessions_time_out(make_smtp_server: MakeServer, raw_client: Any) -> None:
    server = make_smtp_server(smtp_timeout=0.2)
    client = raw_client(server.smtp)
    assert client.code() == 220
    # No command: the server closes the session by itself (RFC 5321 §4.5.3.2).
    assert client.read_to_eof() == b""
