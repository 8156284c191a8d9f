"""Byte-transcript helpers for the IMAP session tests: a client over :class:`ImapHosted`."""

from __future__ import annotations

from datetime import datetime, timezone

from fakemail._backend import Backend
from fakemail._imap._hosted import ImapHosted
from fakemail._message import Envelope, Message
from fakemail._store import INBOX
from fakemail._triohost import ConnectionInfo

USER = "user@example.org"
SIMPLE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: user@example.org\r\n"
    b"Subject: hello world\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    b"\r\n"
    b"first body line\r\n"
)
MULTIPART = (
    b"From: Bob <bob@example.com>\r\n"
    b"To: user@example.org\r\n"
    b"Subject: =?utf-8?q?caf=C3=A9_menu?=\r\n"
    b"Date: Fri, 15 Mar 2024 08:30:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"cr=C3=A8me br=C3=BBl=C3=A9e\r\n"
    b"--XX\r\n"
    b"Content-Type: application/octet-stream; name=data.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"c2VjcmV0IHBheWxvYWQ=\r\n"
    b"--XX--\r\n"
)


def make_message(backend: Backend, raw: bytes) -> Message:
    envelope = Envelope("sender@example.com", (USER,), protocol="api")
    return Message(raw, envelope, datetime.now(timezone.utc), backend.store.next_message_seq())


def deliver(
    backend: Backend,
    raw: bytes = SIMPLE,
    *,
    folder: str = INBOX,
    flags: tuple[str, ...] = (),
    when: datetime | None = None,
    to: str = USER,
) -> int:
    message = make_message(backend, raw)
    _, uid = backend.store.append(to, folder, message, flags=flags, internal_date=when, create=True)
    return uid


class Client:
    """One connection: bytes in, bytes out, through :class:`ImapHosted`."""

    def __init__(self, backend: Backend, *, tls: bool = False) -> None:
        self.backend = backend
        self.hosted = ImapHosted(backend, ConnectionInfo("127.0.0.1:1", tls, "imap"))
        self.hosted.start()
        self.greeting = self.hosted.data_to_send()

    def send(self, data: bytes) -> bytes:
        self.hosted.receive_data(data)
        # As the host does: take output until there is none (pipelined commands may be
        # answered a slice at a time, as the output is taken).
        out = b""
        while chunk := self.hosted.data_to_send():
            out += chunk
        return out

    def cmd(self, line: str | bytes) -> bytes:
        data = line.encode() if isinstance(line, str) else line
        return self.send(data + b"\r\n")

    def ok(self, line: str | bytes) -> bytes:
        """Send a command whose tag is its first word; assert it ends ``tag OK``."""
        reply = self.cmd(line)
        tag = (line.encode() if isinstance(line, str) else line).split(b" ")[0]
        last = reply.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        assert last.startswith(tag + b" OK"), reply
        return reply

    def login(self, user: str = USER, password: str = "pw") -> bytes:
        return self.ok(f'L1 LOGIN "{user}" "{password}"')

    def select(self, mailbox: str = "INBOX") -> bytes:
        return self.ok(f'S1 SELECT "{mailbox}"')


def lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[:-1]
