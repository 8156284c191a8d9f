"""POP3 session meaning, driven through the host glue (:class:`Pop3Hosted`) with byte
transcripts over a real :class:`Backend` and store: no sockets, no threads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fakemail._backend import Backend
from fakemail._config import Options, User
from fakemail._message import Envelope, Message
from fakemail._pop3 import Err, MultiLine, Pop3State, Response, dot_stuff
from fakemail._pop3._hosted import Pop3Hosted
from fakemail._pop3._session import Pop3Session, top_of, wire_size
from fakemail._store import INBOX
from fakemail._triohost import ConnectionInfo, HostedSession
from fakemail.hookspecs import hookimpl

ADDR = "bob@example.com"
OTHER = "carol@example.com"

# --- helpers ---------------------------------------------------------------------------


def make_backend(**options: Any) -> Backend:
    return Backend(Options().replace(**options))


def deliver(backend: Backend, raw: bytes, to: str = ADDR) -> int:
    """Put ``raw`` into ``to``'s INBOX; return its UID."""
    store = backend.store
    envelope = Envelope(sender="", recipients=(to,), protocol="api")
    message = Message(raw, envelope, datetime.now(timezone.utc), store.next_message_seq())
    return store.append(to, INBOX, message)[1]


def inbox(backend: Backend, address: str = ADDR) -> list[bytes]:
    return [item.message.raw for item in backend.store.folder(address, INBOX).items]


def lock_is_free(backend: Backend, address: str = ADDR) -> bool:
    store = backend.store
    if not store.lock_maildrop(address):
        return False
    store.unlock_maildrop(address)
    return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


PLAIN_PW = b64(f"\0{ADDR}\0pw".encode())  # AUTH PLAIN as bob, password "pw"


def split_reply(out: bytes) -> tuple[bytes, list[bytes] | None]:
    """Check that ``out`` is exactly one POP3 reply; return its status line and, for a
    multi-line reply, its body lines with the byte-stuffing undone."""
    assert out.endswith(b"\r\n"), out
    status, _, rest = out.partition(b"\r\n")
    assert status == b"+OK" or status.startswith((b"+OK ", b"-ERR", b"+ ")), out
    if not rest:
        return status, None
    assert status.startswith(b"+OK"), out
    lines = rest[:-2].split(b"\r\n")
    assert lines[-1] == b".", out
    body = lines[:-1]
    assert b"." not in body, out  # the terminator comes once, last
    return status, [line[1:] if line.startswith(b".") else line for line in body]


class Client:
    """One connection through :class:`Pop3Hosted`: bytes in, bytes out."""

    def __init__(self, backend: Backend, *, tls: bool = False) -> None:
        info = ConnectionInfo("192.0.2.7:40000", tls, "pop3s" if tls else "pop3")
        self.hosted = Pop3Hosted(backend, info)
        self.hosted.start()
        self.greeting = self.hosted.data_to_send()

    @property
    def timestamp(self) -> str:
        match = re.search(rb"<[^<>]+>", self.greeting)
        assert match is not None, self.greeting
        return match.group().decode("ascii")

    # Methods, not properties: mypy would keep a narrowed value across calls that change it.
    def state(self) -> Pop3State:
        return self.hosted.connection.state

    def wants_tls(self) -> bool:
        return self.hosted.wants_tls

    def send(self, data: bytes) -> bytes:
        self.hosted.receive_data(data)
        # As the host does: take output until there is none (pipelined commands may be
        # answered a slice at a time, as the output is taken).
        out = b""
        while chunk := self.hosted.data_to_send():
            out += chunk
        return out

    def __call__(self, line: str | bytes) -> bytes:
        """C: one command line; S: its reply (checked to be exactly one)."""
        data = line.encode("utf-8") if isinstance(line, str) else line
        out = self.send(data + b"\r\n")
        split_reply(out)
        return out

    def status(self, line: str | bytes) -> bytes:
        return split_reply(self(line))[0]

    def body(self, line: str | bytes) -> list[bytes]:
        status, body = split_reply(self(line))
        assert status.startswith(b"+OK"), status
        assert body is not None, status
        return body

    def login(self, user: str = ADDR, password: str = "pw") -> bytes:
        assert self(f"USER {user}").startswith(b"+OK")
        out = self(f"PASS {password}")
        assert out.startswith(b"+OK"), out
        assert self.state() is Pop3State.TRANSACTION
        return out


@pytest.fixture
def backend() -> Backend:
    return make_backend()


@pytest.fixture
def users() -> Backend:
    return make_backend(users={ADDR: "secret", OTHER: "pässwörd"})


M1 = b"From: a@example.com\r\nSubject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
M2 = b"Subject: two\nX-Bare: lf\n\nline 1\nline 2\nline 3\n"
M3 = b"Subject: three\r\n\r\nno final newline"
MESSAGES = (M1, M2, M3)


def normalized(backend: Backend, out: bytes) -> bytes:
    """``out`` with ``backend``'s INBOX UIDVALIDITY (which starts UIDL ids) made neutral."""
    uidvalidity = backend.store.folder(ADDR, INBOX).uidvalidity
    return out.replace(f" {uidvalidity}.".encode(), b" V.")


def wire(raw: bytes) -> bytes:
    """``raw`` as POP3 sends it: CRLF line ends, final CRLF."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@pytest.fixture
def filled(backend: Backend) -> Backend:
    for raw in MESSAGES:
        deliver(backend, raw)
    return backend


# --- greeting, refusal, capabilities ---------------------------------------------------


def test_greeting_carries_an_apop_timestamp(backend: Backend) -> None:
    client = Client(backend)
    assert re.fullmatch(rb"\+OK .*<[0-9.]+@localhost>\r\n", client.greeting)
    assert Client(backend).timestamp != client.timestamp  # fresh per connection


def test_greeting_survives_a_host_name_unfit_for_a_timestamp() -> None:
    client = Client(make_backend(hostname="mail host@example"))
    assert client.greeting.startswith(b"+OK ")
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", client.timestamp)


def test_refuse_greets_with_err_and_closes(backend: Backend) -> None:
    hosted = Pop3Hosted(backend, ConnectionInfo("192.0.2.7:1", False, "pop3"))
    hosted.refuse("too many connections")
    assert hosted.data_to_send() == b"-ERR [SYS/TEMP] too many connections\r\n"
    assert hosted.is_closed
    hosted.receive_data(b"CAPA\r\n")
    assert hosted.data_to_send() == b""


def caps(client: Client) -> list[str]:
    return [line.decode() for line in client.body("CAPA")]


def test_capa_before_login(backend: Backend) -> None:
    listed = caps(Client(backend))
    names = [c.split()[0] for c in listed]
    assert names == [
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "USER",
        "SASL",
        "STLS",
        "UTF8",
        "IMPLEMENTATION",
    ]
    assert "SASL PLAIN LOGIN CRAM-MD5" in listed


def test_capa_over_tls_has_no_stls(backend: Backend) -> None:
    listed = caps(Client(backend, tls=True))
    assert "STLS" not in listed
    assert "USER" in listed


def test_capa_with_require_tls_hides_plaintext_login_until_tls() -> None:
    backend = make_backend(require_tls=True)
    client = Client(backend)
    listed = caps(client)
    assert "USER" not in listed
    assert not any(c.startswith("SASL") for c in listed)
    assert "STLS" in listed
    assert client("STLS") == b"+OK Begin TLS negotiation\r\n"
    assert client.wants_tls()
    client.hosted.tls_started()
    assert not client.wants_tls()
    listed = caps(client)
    assert "USER" in listed
    assert "STLS" not in listed
    client.login()


def test_capa_in_transaction(filled: Backend) -> None:
    client = Client(filled)
    before = caps(client)
    client.login()
    # The same list but STLS (RFC 2449 §6 "possible differences: no"; RFC 2595 §4).
    assert caps(client) == [c for c in before if c != "STLS"]


def test_bare_auth_lists_mechanisms(backend: Backend) -> None:
    assert Client(backend).body("AUTH") == [b"PLAIN", b"LOGIN", b"CRAM-MD5"]


# --- USER / PASS -----------------------------------------------------------------------


def test_any_password_by_default(backend: Backend) -> None:
    client = Client(backend)
    assert client.login(password="whatever you like") == (
        b"+OK bob@example.com has 0 messages (0 octets)\r\n"
    )
    assert client("STAT") == b"+OK 0 0\r\n"


def test_configured_users_are_checked(users: Backend) -> None:
    client = Client(users)
    assert client("USER bob@example.com").startswith(b"+OK")
    assert client("PASS wrong") == b"-ERR [AUTH] invalid user name or password\r\n"
    assert client.state() is Pop3State.AUTHORIZATION
    assert client("USER nobody@example.com").startswith(b"+OK")
    assert client("PASS secret").startswith(b"-ERR [AUTH]")
    # The domain is case-insensitive; the password may hold spaces and non-ASCII.
    client.login("bob@EXAMPLE.COM", "secret")
    assert users.take_errors() == []
    other = Client(users)
    other.login(OTHER, "pässwörd")


def test_password_is_the_rest_of_the_line() -> None:
    backend = make_backend(users={ADDR: "two  words "})
    client = Client(backend)
    client("USER " + ADDR)
    assert client("PASS two  words").startswith(b"-ERR [AUTH]")
    client.login(ADDR, "two  words ")


def test_a_login_name_opens_its_address_account() -> None:
    backend = make_backend(users=[User(ADDR, "secret", login="bob")])
    deliver(backend, M1)
    client = Client(backend)
    assert client.login("bob", "secret") == b"+OK bob@example.com has 1 messages (71 octets)\r\n"
    assert client("STAT") == b"+OK 1 71\r\n"
    # The address is not a login name any more; the maildrop is bob@example.com's, locked.
    other = Client(backend)
    other("USER " + ADDR)
    assert other("PASS secret") == b"-ERR [AUTH] invalid user name or password\r\n"
    other("USER bob")
    assert other("PASS secret").startswith(b"-ERR [IN-USE]")


def test_pass_needs_user_first(backend: Backend) -> None:
    client = Client(backend)
    assert client.status("PASS pw").startswith(b"-ERR")
    assert client("USER " + ADDR).startswith(b"+OK")
    assert client.status("NOOP").startswith(b"-ERR")  # PASS must come right after USER
    assert client.status("PASS pw").startswith(b"-ERR")
    client.login()


def test_user_refused_before_tls_when_required() -> None:
    backend = make_backend(require_tls=True)
    client = Client(backend)
    assert client("USER " + ADDR) == (
        b"-ERR [AUTH] plaintext authentication requires TLS: use STLS first\r\n"
    )
    assert client(f"AUTH PLAIN {PLAIN_PW}").startswith(b"-ERR [AUTH]")
    assert client.state() is Pop3State.AUTHORIZATION
    Client(backend, tls=True).login()  # POP3S is TLS from the start
    # APOP does not send the password: allowed in the clear (docs/reference/protocols.md).
    assert client(f"APOP {OTHER} {apop(client.timestamp, 'pw')}").startswith(b"+OK")


def test_quit_in_authorization(backend: Backend) -> None:
    client = Client(backend)
    assert client("QUIT").startswith(b"+OK")
    assert client.hosted.is_closed


def test_login_names_with_control_characters_are_refused(backend: Backend) -> None:
    client = Client(backend)
    response = b64(b"\0bob@example.com\r\n+OK injected\0pw")
    assert client(f"AUTH PLAIN {response}").startswith(b"-ERR [AUTH]")
    assert client("USER <>").startswith(b"+OK")
    assert client("PASS pw").startswith(b"-ERR [AUTH]")  # normalizes to an empty name
    assert backend.take_errors() == []
    assert backend.store.accounts == ()
    client.login()


# --- APOP ------------------------------------------------------------------------------


def apop(timestamp: str, secret: str) -> str:
    return hashlib.md5((timestamp + secret).encode(), usedforsecurity=False).hexdigest()


def test_apop_checks_the_digest_against_the_password(users: Backend) -> None:
    client = Client(users)
    wrong = apop(client.timestamp, "guess")
    assert client(f"APOP {ADDR} {wrong}") == b"-ERR [AUTH] invalid user name or password\r\n"
    other_stamp = apop("<1.2@localhost>", "secret")  # right secret, another timestamp
    assert client(f"APOP {ADDR} {other_stamp}").startswith(b"-ERR [AUTH]")
    right = apop(client.timestamp, "secret").upper()  # hex digits in any case
    assert client(f"APOP {ADDR} {right}").startswith(b"+OK bob@example.com has 0 messages")
    assert client.state() is Pop3State.TRANSACTION


def test_apop_with_utf8_secret(users: Backend) -> None:
    client = Client(users)
    assert client(f"APOP {OTHER} {apop(client.timestamp, 'pässwörd')}").startswith(b"+OK")


def test_apop_malformed_digest(backend: Backend) -> None:
    client = Client(backend)
    assert client.status(f"APOP {ADDR} xyz").startswith(b"-ERR")
    assert client.status(f"APOP {ADDR}").startswith(b"-ERR")
    client.login()


# --- AUTH (SASL, RFC 5034) -------------------------------------------------------------


def test_auth_plain_initial_response(users: Backend) -> None:
    client = Client(users)
    wrong = b64(b"\0bob@example.com\0nope")
    assert client(f"AUTH PLAIN {wrong}") == b"-ERR [AUTH] invalid user name or password\r\n"
    assert client.state() is Pop3State.AUTHORIZATION
    right = b64(b"\0bob@example.com\0secret")
    assert client(f"auth plain {right}").startswith(b"+OK bob@example.com has 0 messages")
    assert client.state() is Pop3State.TRANSACTION


def test_auth_plain_continuation(users: Backend) -> None:
    client = Client(users)
    assert client("AUTH PLAIN") == b"+ \r\n"  # empty challenge (RFC 4422 §5)
    assert client.state() is Pop3State.SASL_EXCHANGE
    assert client(b64(b"\0bob@example.com\0secret")).startswith(b"+OK")
    assert client.state() is Pop3State.TRANSACTION


def test_auth_plain_with_authzid(users: Backend) -> None:
    client = Client(users)
    # RFC 4616 §2: bob may not act as carol, with either one's password (one rule for SMTP,
    # IMAP and POP3: Backend.log_in).
    for password in ("pässwörd", "secret"):
        cred = b64(f"carol@example.com\0bob@example.com\0{password}".encode())
        assert client(f"AUTH PLAIN {cred}") == b"-ERR [AUTH] cannot act as another user\r\n"
    own = b64(b"bob@example.com\0bob@example.com\0secret")
    assert client(f"AUTH PLAIN {own}").startswith(b"+OK bob@example.com has")


def test_auth_cancel_and_errors_leave_authorization(backend: Backend) -> None:
    client = Client(backend)
    assert client("AUTH PLAIN") == b"+ \r\n"
    assert client("*") == b"-ERR authentication cancelled\r\n"
    assert client.state() is Pop3State.AUTHORIZATION
    assert client("AUTH PLAIN") == b"+ \r\n"
    assert client.status("not base64!").startswith(b"-ERR")
    assert client.state() is Pop3State.AUTHORIZATION
    assert client("AUTH PLAIN =").startswith(b"-ERR [AUTH] authentication failed")
    assert client("AUTH KERBEROS_V9") == b"-ERR unsupported SASL mechanism KERBEROS_V9\r\n"
    assert client.status("AUTH PLAIN %%%").startswith(b"-ERR")
    client.login()


def test_auth_login(users: Backend) -> None:
    client = Client(users)
    assert client("AUTH LOGIN") == f"+ {b64(b'Username:')}\r\n".encode()
    assert client(b64(ADDR.encode())) == f"+ {b64(b'Password:')}\r\n".encode()
    assert client(b64(b"secret")).startswith(b"+OK")


def test_auth_cram_md5(users: Backend) -> None:
    client = Client(users)
    out = client("AUTH CRAM-MD5")
    assert out.startswith(b"+ ")
    challenge = base64.b64decode(out[2:-2])
    assert re.fullmatch(rb"<[0-9.]+@localhost>", challenge)
    digest = hmac.new(b"secret", challenge, "md5").hexdigest()
    assert client(b64(f"{ADDR} {digest}".encode())).startswith(b"+OK")


# --- STLS and UTF8 ---------------------------------------------------------------------


def test_stls_then_tls_started(backend: Backend) -> None:
    client = Client(backend)
    assert client("STLS") == b"+OK Begin TLS negotiation\r\n"
    assert client.wants_tls()
    assert client.hosted.trailing_data == b""
    client.hosted.tls_started()
    assert client.hosted.data_to_send() == b""
    assert client.status("STLS").startswith(b"-ERR")  # already TLS
    client.login()


def test_bytes_after_stls_are_trailing_data_not_commands(backend: Backend) -> None:
    client = Client(backend)
    out = client.send(b"STLS\r\nUSER bob@example.com\r\n")
    assert out == b"+OK Begin TLS negotiation\r\n"
    assert client.wants_tls()
    assert client.hosted.trailing_data == b"USER bob@example.com\r\n"


def test_stls_refused_over_tls_and_after_utf8(backend: Backend) -> None:
    assert Client(backend, tls=True).status("STLS").startswith(b"-ERR")
    client = Client(backend)
    assert client("UTF8").startswith(b"+OK")
    assert client.status("STLS").startswith(b"-ERR")


def test_utf8_mode_and_utf8_user_names() -> None:
    backend = make_backend(users={"jörg@bücher.example": "geheim"})
    deliver(backend, "Subject: Grüße\r\n\r\nÄpfel\r\n".encode(), to="jörg@bücher.example")
    client = Client(backend)
    assert client("UTF8").startswith(b"+OK")
    client.login("jörg@bücher.example", "geheim")
    assert client.body("RETR 1") == ["Subject: Grüße".encode(), b"", "Äpfel".encode()]
    assert client.status("UTF8").startswith(b"-ERR")  # only in AUTHORIZATION


# --- the maildrop ----------------------------------------------------------------------


def test_stat_list_uidl(filled: Backend) -> None:
    client = Client(filled)
    sizes = [len(wire(raw)) for raw in MESSAGES]
    total = sum(sizes)
    assert client.login() == f"+OK bob@example.com has 3 messages ({total} octets)\r\n".encode()
    assert client("STAT") == f"+OK 3 {total}\r\n".encode()
    assert client.body("LIST") == [f"{n} {s}".encode() for n, s in enumerate(sizes, 1)]
    assert client("LIST 2") == f"+OK 2 {sizes[1]}\r\n".encode()
    uidvalidity = filled.store.folder(ADDR, INBOX).uidvalidity
    assert client.body("UIDL") == [f"{n} {uidvalidity}.{n}".encode() for n in (1, 2, 3)]
    assert client("UIDL 3") == f"+OK 3 {uidvalidity}.3\r\n".encode()
    for line in ("LIST 4", "UIDL 4", "RETR 4", "TOP 4 0", "DELE 4"):
        assert client(line) == b"-ERR no message 4\r\n"


def test_retr_sends_the_stored_bytes_stuffed(filled: Backend) -> None:
    client = Client(filled)
    client.login()
    size = len(wire(M1))
    assert client("RETR 1") == (
        f"+OK {size} octets\r\n".encode()
        + b"From: a@example.com\r\nSubject: one\r\n\r\n"
        + b"..leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n"
    )
    # Bare LF goes out as CRLF, a missing final line end is added.
    assert client("RETR 2") == (f"+OK {len(wire(M2))} octets\r\n".encode() + wire(M2) + b".\r\n")
    assert client("RETR 3").endswith(b"\r\n\r\nno final newline\r\n.\r\n")
    for n, raw in enumerate(MESSAGES, 1):
        body = client.body(f"RETR {n}")
        assert b"\r\n".join(body) + b"\r\n" == wire(raw)
        # LIST sizes are what RETR sends (before byte-stuffing), RFC 1939 §11.
        assert client(f"LIST {n}") == f"+OK {n} {len(wire(raw))}\r\n".encode()


def test_top(filled: Backend) -> None:
    client = Client(filled)
    client.login()
    assert client.body("TOP 1 0") == [b"From: a@example.com", b"Subject: one", b""]
    assert client.body("TOP 1 2") == [
        b"From: a@example.com",
        b"Subject: one",
        b"",
        b".leading dot",
        b"..two dots",
    ]
    assert client("TOP 1 2").endswith(b"\r\n\r\n..leading dot\r\n...two dots\r\n.\r\n")
    assert client.body("TOP 2 1") == [b"Subject: two", b"X-Bare: lf", b"", b"line 1"]
    assert client.body("TOP 2 3") == client.body("RETR 2")
    assert client.body("TOP 3 99") == client.body("RETR 3")
    assert client.status("TOP 1").startswith(b"-ERR")
    assert client.status("TOP 1 -1").startswith(b"-ERR")


@pytest.mark.parametrize(
    ("raw", "lines", "expected"),
    [
        (b"A: 1\r\n\r\nb1\r\nb2\r\n", 0, b"A: 1\r\n\r\n"),
        (b"A: 1\r\n\r\nb1\r\nb2\r\n", 1, b"A: 1\r\n\r\nb1\r\n"),
        (b"A: 1\r\n\r\nb1\r\nb2\r\n", 2, b"A: 1\r\n\r\nb1\r\nb2\r\n"),
        (b"A: 1\r\n\r\nb1\r\nb2", 5, b"A: 1\r\n\r\nb1\r\nb2"),
        (b"A: 1\r\nB: 2\r\n", 3, b"A: 1\r\nB: 2\r\n"),  # no body at all
        (b"\r\nbody only\r\nmore\r\n", 0, b"\r\n"),  # empty header
        (b"\r\nbody only\r\nmore\r\n", 1, b"\r\nbody only\r\n"),
        (b"A: 1\n\nx\ny\n", 1, b"A: 1\n\nx\n"),
    ],
)
def test_top_of(raw: bytes, lines: int, expected: bytes) -> None:
    assert top_of(raw, lines) == expected


@pytest.mark.parametrize(
    "raw", [b"", b"a", b"a\r\n", b"a\nb\n", b"a\r\nb", b"a\r\n\nb\r", b".\r\n..\n"]
)
def test_wire_size_is_what_retr_sends(raw: bytes) -> None:
    message = Message(raw, Envelope("", ()), datetime.now(timezone.utc), 1)
    stuffed = dot_stuff(raw)[:-3]  # without the terminator
    unstuffed = b"".join(
        line[1:] if line.startswith(b".") else line for line in stuffed.splitlines(keepends=True)
    )
    assert wire_size(message) == len(unstuffed)


def test_dele_rset_quit(filled: Backend) -> None:
    client = Client(filled)
    client.login()
    size1, size3 = len(wire(M1)), len(wire(M3))
    assert client("DELE 2") == b"+OK message 2 deleted\r\n"
    assert client("DELE 2") == b"-ERR message 2 is deleted\r\n"
    for line in ("RETR 2", "TOP 2 0", "LIST 2", "UIDL 2"):
        assert client(line) == b"-ERR message 2 is deleted\r\n"
    assert client("STAT") == f"+OK 2 {size1 + size3}\r\n".encode()
    assert [line.split()[0] for line in client.body("LIST")] == [b"1", b"3"]
    assert [line.split()[0] for line in client.body("UIDL")] == [b"1", b"3"]
    assert client("RSET").startswith(b"+OK maildrop has 3 messages")
    assert client("STAT").startswith(b"+OK 3 ")
    assert client("DELE 1").startswith(b"+OK")
    assert client("DELE 3").startswith(b"+OK")
    assert inbox(filled) == list(MESSAGES)  # nothing deleted before QUIT
    assert client("QUIT") == (
        b"+OK fakemail POP3 server signing off (1 messages left, 2 deleted)\r\n"
    )
    assert client.hosted.is_closed
    assert inbox(filled) == [M2]
    assert lock_is_free(filled)
    client.hosted.close()  # the host always calls close(): harmless after QUIT
    assert inbox(filled) == [M2]


def test_numbers_and_sizes_are_fixed_at_login(filled: Backend) -> None:
    client = Client(filled)
    client.login()
    deliver(filled, b"Subject: late\r\n\r\nlate\r\n")
    assert client("STAT").startswith(b"+OK 3 ")
    assert client("LIST 4") == b"-ERR no message 4\r\n"
    # Removed meanwhile by another protocol: the session still serves its snapshot.
    filled.store.expunge(ADDR, INBOX, [1])
    assert client.body("RETR 1")[-1] == b"end"
    assert client("DELE 1").startswith(b"+OK")
    assert client("DELE 2").startswith(b"+OK")
    assert client("QUIT") == (
        b"+OK fakemail POP3 server signing off (1 messages left, 1 deleted)\r\n"
    )
    assert inbox(filled) == [M3, b"Subject: late\r\n\r\nlate\r\n"]
    again = Client(filled)
    assert again.login().startswith(b"+OK bob@example.com has 2 messages")


@pytest.mark.parametrize("how", ["eof", "close", "timeout", "eof mid-line"])
def test_no_deletion_without_quit(filled: Backend, how: str) -> None:
    client = Client(filled)
    client.login()
    assert client("DELE 1").startswith(b"+OK")
    hosted = client.hosted
    if how == "eof":
        assert client.send(b"") == b""
        assert hosted.is_closed
    elif how == "eof mid-line":
        assert client.send(b"QUIT") == b""  # never a command without its CRLF
        assert client.send(b"") == b""
    elif how == "timeout":
        hosted.timed_out()
        assert hosted.is_closed
        assert hosted.data_to_send() == b""  # RFC 1939 §3: closed without a response
    assert not lock_is_free(filled)
    hosted.close()
    assert inbox(filled) == list(MESSAGES)
    assert lock_is_free(filled)


def test_quit_after_clear_deletes_nothing_new(filled: Backend) -> None:
    client = Client(filled)
    client.login()
    assert client("DELE 1").startswith(b"+OK")
    filled.store.clear()
    deliver(filled, b"Subject: new\r\n\r\nnew\r\n")  # UID 1 again, in a new INBOX
    assert client("QUIT").startswith(b"+OK")
    assert inbox(filled) == [b"Subject: new\r\n\r\nnew\r\n"]


def test_maildrop_lock(filled: Backend) -> None:
    first, second = Client(filled), Client(filled)
    first.login()
    second("USER bob@Example.COM")
    assert second("PASS pw") == b"-ERR [IN-USE] maildrop already locked by another session\r\n"
    assert second(f"APOP {ADDR} {apop(second.timestamp, 'pw')}").startswith(b"-ERR [IN-USE]")
    assert second(f"AUTH PLAIN {PLAIN_PW}").startswith(b"-ERR [IN-USE]")
    assert second.state() is Pop3State.AUTHORIZATION
    Client(filled).login(OTHER)  # other accounts are not locked
    assert first("QUIT").startswith(b"+OK")
    second.login()


def test_uidl_is_stable_and_never_reused(filled: Backend) -> None:
    def listing() -> dict[bytes, bytes]:
        client = Client(filled)
        client.login()
        ids = {}
        for line in client.body("UIDL"):
            number, uid = line.split()
            ids[uid] = client.body(f"RETR {int(number)}")[0]
        assert client("QUIT").startswith(b"+OK")
        return ids

    first = listing()
    assert len(first) == 3
    assert listing() == first
    client = Client(filled)
    client.login()
    client("DELE 1")
    client("QUIT")
    second = listing()
    assert second == {uid: head for uid, head in first.items() if head != b"From: a@example.com"}
    deliver(filled, M1)  # the same message again gets a new id
    third = listing()
    assert len(third) == 3
    assert set(second) < set(third)
    filled.store.clear()
    for raw in MESSAGES:
        deliver(filled, raw)
    assert not set(listing()) & set(third)  # new INBOX incarnation, new UIDVALIDITY


# --- everything gets an answer ---------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"XYZZY",
        b"STAT",
        b"LIST",
        b"RETR 1",
        b"DELE 1",
        b"RSET",
        b"NOOP",
        b"TOP 1 1",
        b"UIDL",
        b"USER",
        b"USER a b",
        b"APOP",
        b"AUTH a b c",
        b"QUIT now",
        b"CAPA x",
        b"\x00\x01",
        b"\xff\xfe",
        b"USER\tbob",
        b"X" * 9000,
    ],
)
def test_invalid_in_authorization_gets_err(backend: Backend, line: bytes) -> None:
    client = Client(backend)
    assert client.status(line).startswith(b"-ERR ")
    assert client.state() is Pop3State.AUTHORIZATION
    client.login()
    assert backend.take_errors() == []


@pytest.mark.parametrize(
    "line",
    [
        b"USER bob",
        b"PASS pw",
        b"APOP bob 0123456789abcdef0123456789abcdef",
        b"AUTH PLAIN",
        b"STLS",
        b"UTF8",
        b"RETR",
        b"RETR 0",
        b"RETR -1",
        b"RETR one",
        b"RETR 1 2",
        b"RETR 99999999999999999999999999",
        b"DELE 3",
        b"LIST 0",
        b"LIST 1 2",
        b"UIDL x",
        b"TOP 1",
        b"TOP 1 x",
        b"TOP x 1",
        b"STAT 1",
        b"NOOP x",
        b"",
        b"X" * 9000,
    ],
)
def test_invalid_in_transaction_gets_err(filled: Backend, line: bytes) -> None:
    deliver(filled, b"")  # even an empty message
    client = Client(filled)
    client.login()
    client("DELE 3")
    assert client.status(line).startswith(b"-ERR ")
    assert client.state() is Pop3State.TRANSACTION
    assert client("NOOP") == b"+OK\r\n"
    assert client.body("RETR 4") == []
    assert filled.take_errors() == []


def test_over_long_line_then_more(backend: Backend) -> None:
    client = Client(backend)
    too_long = b"x" * (backend.options.max_line_length + 10)
    out = client.send(b"USER " + too_long + b"\r\nCAPA\r\n")
    status, rest = out.split(b"\r\n", 1)
    assert status == b"-ERR line too long"
    assert split_reply(rest)[0].startswith(b"+OK")


def test_pipelined_commands_are_answered_in_order() -> None:
    commands = [
        b"CAPA",
        b"USER bob@example.com",
        b"PASS pw",
        b"STAT",
        b"LIST",
        b"BOGUS",
        b"UIDL 2",
        b"RETR 1",
        b"TOP 2 1",
        b"DELE 3",
        b"STAT",
        b"NOOP",
        b"QUIT",
    ]
    # Two identical maildrops, one session line by line, one in a single write.
    serial_backend, piped_backend = make_backend(), make_backend()
    for raw in MESSAGES:
        deliver(serial_backend, raw)
        deliver(piped_backend, raw)
    serial = Client(serial_backend)
    expected = b"".join(serial(line) for line in commands)
    piped = Client(piped_backend)
    out = piped.send(b"".join(line + b"\r\n" for line in [*commands, b"STAT"]))
    assert normalized(piped_backend, out) == normalized(serial_backend, expected)
    assert out.count(b"-ERR ") == 1
    assert out.endswith(b"(2 messages left, 1 deleted)\r\n")  # nothing after QUIT
    assert piped.hosted.is_closed
    assert inbox(piped_backend) == [M1, M2]


def test_pipelined_chunks_split_anywhere(filled: Backend) -> None:
    script = b"USER bob@example.com\r\nPASS pw\r\nLIST\r\nRETR 1\r\nQUIT\r\n"
    expected = Client(filled).send(script)
    for cut in range(1, len(script)):
        client = Client(filled)
        out = client.send(script[:cut]) + client.send(script[cut:])
        assert out == expected, cut


# --- failures inside fakemail ----------------------------------------------------------


class Raising:
    @hookimpl
    def fakemail_authenticate(self, username: str, credentials: object) -> bool:
        raise RuntimeError("plugin bug")


def test_authenticate_hook_raising_is_recorded_and_refused() -> None:
    backend = Backend(Options(), (Raising(),))
    client = Client(backend)
    client("USER " + ADDR)
    assert client("PASS pw").startswith(b"-ERR [AUTH]")
    errors = backend.take_errors()
    assert [str(e) for e in errors] == ["plugin bug"]
    assert client.state() is Pop3State.AUTHORIZATION
    assert client.status("CAPA").startswith(b"+OK")
    assert lock_is_free(backend)


def test_session_bug_answers_sys_temp_and_session_survives(
    filled: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(filled)
    client.login()

    def broken(self: Pop3Session, command: object) -> Response:
        raise ValueError("session bug")

    monkeypatch.setattr(Pop3Session, "_do_stat", broken)
    assert client("STAT") == b"-ERR [SYS/TEMP] internal error in the test mail server\r\n"
    assert [str(e) for e in filled.take_errors()] == ["session bug"]
    assert client("NOOP") == b"+OK\r\n"


def test_wrong_response_kind_answers_sys_temp(
    filled: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(filled)
    client.login()

    def multi(self: Pop3Session, command: object) -> Response:
        return MultiLine("oops", b"x")

    monkeypatch.setattr(Pop3Session, "_do_noop", multi)
    assert client("NOOP") == b"-ERR [SYS/TEMP] internal error in the test mail server\r\n"
    assert len(filled.take_errors()) == 1
    monkeypatch.undo()
    assert client("NOOP") == b"+OK\r\n"


def test_pop3_hosted_is_a_hosted_session(backend: Backend) -> None:
    # Checked by mypy: Pop3Hosted implements the host's protocol.
    hosted: HostedSession = Pop3Hosted(backend, ConnectionInfo("192.0.2.7:1", False, "pop3"))
    assert hosted.account is None
    assert not hosted.wants_tls
    assert not hosted.is_closed


def test_store_changed_is_harmless(filled: Backend) -> None:
    client = Client(filled)
    assert client.hosted.account is None
    client.login()
    client.hosted.store_changed()
    assert client.hosted.data_to_send() == b""
    assert client.hosted.timeout == Options().pop3_timeout
    assert Client(make_backend(pop3_timeout=0.5)).hosted.timeout == 0.5


def test_err_text_is_never_empty_or_broken(backend: Backend) -> None:
    assert Err("x").text == "x"  # guard: the glue's fallback is a valid Err
    client = Client(backend)
    for line in (b"XYZZY", b"STAT", b"PASS x"):
        assert re.fullmatch(rb"-ERR [ -~]+\r\n", client(line))


# --- hypothesis: any command sequence ----------------------------------------------------

LOGIN_PASSWORD = "secret"
PLAIN_OK = b64(f"\0{ADDR}\0{LOGIN_PASSWORD}".encode())
PLAIN_BAD = b64(f"\0{ADDR}\0wrong".encode())


@dataclass(frozen=True)
class Line:
    """A generated command line; ``kind``/``arg`` describe well-formed ones for the model."""

    data: bytes
    kind: str = "other"
    args: tuple[int, ...] = ()


def _numbered(keyword: str, count: int) -> st.SearchStrategy[Line]:
    number = st.integers(min_value=0, max_value=5)
    return st.tuples(*([number] * count)).map(
        lambda args: Line(
            f"{keyword} {' '.join(map(str, args))}".encode(), keyword.upper(), tuple(args)
        )
    )


_keyword = st.sampled_from(
    [
        "USER",
        "PASS",
        "APOP",
        "AUTH",
        "QUIT",
        "STAT",
        "LIST",
        "RETR",
        "DELE",
        "NOOP",
        "RSET",
        "TOP",
        "UIDL",
        "CAPA",
        "STLS",
        "UTF8",
        "XTND",
        "*",
    ]
).flatmap(lambda k: st.sampled_from([k, k.lower(), k.title()]))
_arg = st.one_of(
    st.sampled_from(
        [ADDR, "pw", LOGIN_PASSWORD, "PLAIN", "LOGIN", "=", "0", "1", "3", "-1", "1.5", PLAIN_OK]
    ),
    st.integers(min_value=-3, max_value=99_999_999_999_999_999_999_999).map(str),
    st.text(max_size=6).filter(lambda t: "\n" not in t),
)
_free = st.builds(
    lambda kw, args: Line(" ".join([kw, *args]).encode("utf-8", "surrogatepass")),
    _keyword,
    st.lists(_arg, max_size=3),
)
_login_lines = st.sampled_from(
    [
        Line(f"USER {ADDR}".encode()),
        Line(f"PASS {LOGIN_PASSWORD}".encode()),
        Line(b"PASS wrong"),
        Line(f"AUTH PLAIN {PLAIN_OK}".encode()),
        Line(f"AUTH PLAIN {PLAIN_BAD}".encode()),
        Line(b"AUTH PLAIN"),
        Line(PLAIN_OK.encode()),
        Line(b"*"),
        Line(b"", "APOP"),  # filled in with the right digest at run time
        Line(b"STLS"),
        Line(b"UTF8"),
        Line(b"CAPA"),
    ]
)
_transaction_lines = st.one_of(
    st.sampled_from(
        [
            Line(b"STAT", "STAT"),
            Line(b"RSET", "RSET"),
            Line(b"QUIT", "QUIT"),
            Line(b"LIST", "LIST"),
            Line(b"UIDL", "UIDL"),
            Line(b"NOOP"),
        ]
    ),
    _numbered("DELE", 1),
    _numbered("DELE", 1),
    _numbered("RETR", 1),
    _numbered("LIST", 1),
    _numbered("UIDL", 1),
    _numbered("TOP", 2),
)
_lines = st.one_of(
    _transaction_lines,
    _free,
    _login_lines,
    st.binary(max_size=12).map(lambda b: Line(b.replace(b"\n", b""))),
    st.just(Line(b"Z" * 300)),  # over max_line_length
)
#: Most sequences start with a login (that may still fail), to reach TRANSACTION often.
_prefixes = st.sampled_from(
    [
        [],
        [Line(f"USER {ADDR}".encode()), Line(f"PASS {LOGIN_PASSWORD}".encode())],
        [Line(f"USER {ADDR}".encode()), Line(b"PASS wrong")],
        [Line(f"AUTH PLAIN {PLAIN_OK}".encode())],
        [Line(b"AUTH PLAIN"), Line(PLAIN_OK.encode())],
        [Line(b"", "APOP")],
        [Line(b"STLS"), Line(f"USER {ADDR}".encode()), Line(f"PASS {LOGIN_PASSWORD}".encode())],
    ]
)


@dataclass
class Model:
    """What the maildrop must look like: the messages as of login, and marks."""

    raws: tuple[bytes, ...]
    deleted: set[int] = field(default_factory=set)
    updated: bool = False

    def valid(self, number: int) -> bool:
        return 1 <= number <= len(self.raws) and number not in self.deleted

    def live(self) -> list[int]:
        return [n for n in range(1, len(self.raws) + 1) if n not in self.deleted]

    def expected_inbox(self) -> list[bytes]:
        """Deletions happen iff QUIT was answered +OK in TRANSACTION (RFC 1939 §6)."""
        if not self.updated:
            return list(self.raws)
        return [self.raws[n - 1] for n in self.live()]

    def check(self, line: Line, out: bytes, body: list[bytes] | None, closed: bool) -> None:
        """Check the answer to ``line``, given in TRANSACTION; update the marks."""
        ok = out.startswith(b"+OK")
        kind, args = line.kind, line.args
        if kind in ("DELE", "RETR", "LIST", "UIDL", "TOP") and args:
            assert ok == self.valid(args[0]), (line, out)
            if ok and kind == "RETR":
                assert out.partition(b"\r\n")[2] == dot_stuff(self.raws[args[0] - 1])
            if ok and kind == "TOP":
                expected = top_of(self.raws[args[0] - 1], args[1])
                assert out.partition(b"\r\n")[2] == dot_stuff(expected)
        elif kind in ("LIST", "UIDL"):
            assert body is not None, out
            assert [int(entry.split()[0]) for entry in body] == self.live()
        elif kind == "STAT":
            size = sum(len(wire(self.raws[n - 1])) for n in self.live())
            assert out == f"+OK {len(self.live())} {size}\r\n".encode()
        elif kind in ("RSET", "QUIT"):
            assert ok, out
        # Free-form lines too: what the server accepted must agree with the model.
        words = line.data.split(b" ")
        keyword, words = words[0].upper(), [word for word in words[1:] if word]
        if ok and keyword == b"DELE":
            number = int(words[0])
            assert self.valid(number), (line, out)
            self.deleted.add(number)
        elif ok and keyword == b"RSET":
            self.deleted.clear()
        if ok and closed:
            assert keyword == b"QUIT", (line, out)
            self.updated = True


def run_session(backend: Backend, lines: list[Line], *, piped: bool = False) -> bytes:
    """Send ``lines`` through one connection, one by one (checking each answer against the
    model) or in as few writes as possible (split only after STLS, whose answer must come
    before TLS); return everything the server sent after the greeting."""
    client = Client(backend)
    client.hosted.session.timestamp = "<1.1@localhost>"  # the same APOP digest in every run
    digest = apop("<1.1@localhost>", LOGIN_PASSWORD)
    lines = [
        Line(f"APOP {ADDR} {digest}".encode()) if line.kind == "APOP" else line for line in lines
    ]
    model = Model(tuple(inbox(backend)))
    sent = b""
    chunk = b""
    for index, line in enumerate(lines, 1):
        if client.hosted.is_closed:
            break
        if piped:
            chunk += line.data + b"\r\n"
            if line.data.split(b" ")[0].upper() != b"STLS" and index < len(lines):
                continue
            sent += client.send(chunk)
            chunk = b""
        else:
            in_transaction = client.state() is Pop3State.TRANSACTION
            out = client.send(line.data + b"\r\n")
            _, body = split_reply(out)  # exactly one reply per line
            if in_transaction:
                model.check(line, out, body, client.hosted.is_closed)
            if not model.updated:  # nothing but QUIT in TRANSACTION changes the store
                assert inbox(backend) == list(model.raws)
            sent += out
        if client.hosted.wants_tls:
            client.hosted.tls_started()
    client.hosted.close()  # as the host does at the end of every connection
    if not piped:
        assert inbox(backend) == model.expected_inbox()
        event(f"updated={model.updated} deleted={len(model.deleted)}")
    return sent


def fresh(checks: bool, require_tls: bool) -> Backend:
    backend = make_backend(
        max_line_length=128,
        users={ADDR: LOGIN_PASSWORD} if checks else {},
        require_tls=require_tls,
    )
    for raw in MESSAGES:
        deliver(backend, raw)
    return backend


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    prefix=_prefixes,
    rest=st.lists(_lines, max_size=20),
    quit_=st.booleans(),
    checks=st.booleans(),
    require_tls=st.sampled_from([False, False, True]),
)
def test_any_command_sequence(
    prefix: list[Line], rest: list[Line], quit_: bool, checks: bool, require_tls: bool
) -> None:
    lines = prefix + rest + ([Line(b"QUIT", "QUIT")] if quit_ else [])
    backend = fresh(checks, require_tls)
    serial = run_session(backend, lines)
    assert backend.take_errors() == []
    assert lock_is_free(backend)
    # The same lines written at once get the same bytes: pipelining changes nothing.
    twin = fresh(checks, require_tls)
    piped = run_session(twin, lines, piped=True)
    assert normalized(twin, piped) == normalized(backend, serial)
    assert inbox(twin) == inbox(backend)
    assert twin.take_errors() == []
    assert lock_is_free(twin)
