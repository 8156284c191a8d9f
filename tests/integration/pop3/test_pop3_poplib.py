"""POP3 with the stdlib ``poplib`` client against a real ``MailServer`` over loopback."""

from __future__ import annotations

import base64
import poplib
from typing import Any

import pytest

from fakemail import hookimpl
from fakemail._exceptions import ServerError
from fakemail._server import MailServer
from fakemail._store import INBOX

# Fixture types (the helpers live in conftest.py).
Connect = Any
Send = Any
Raw = Any

PLAIN = b"From: app@example.com\r\nSubject: plain\r\n\r\nHello.\r\n"
DOTS = (
    b"From: app@example.com\r\nSubject: dots\r\n\r\n"
    b".leading dot\r\n..two dots\r\n.\r\n. space\r\nend\r\n"
)
EIGHT_BIT = (
    "From: app@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Grüße, Ärger, 日本語 ✓\r\n"
).encode() + b"latin-1 byte: \xe9\xff\r\n"


def stored(server: MailServer, address: str) -> list[bytes]:
    return [message.raw for message in server.mailbox(address).messages]


def login(client: poplib.POP3, address: str, password: str = "pw") -> bytes:
    assert client.user(address).startswith(b"+OK")
    response: bytes = client.pass_(password)
    return response


def joined(lines: list[bytes]) -> bytes:
    """What poplib returns (lines, CRLF and stuffing removed) back as message bytes."""
    return b"".join(line + b"\r\n" for line in lines)


# --- reading mail ----------------------------------------------------------------------


def test_stat_list_uidl_top_retr(
    server: MailServer, send: Send, connect: Connect, addr: str
) -> None:
    for raw in (PLAIN, DOTS, EIGHT_BIT):
        send(raw, addr)
    raws = stored(server, addr)
    assert raws == [PLAIN, DOTS, EIGHT_BIT]  # SMTP keeps the bytes as sent
    client = connect()
    assert login(client, addr) == (
        f"+OK {addr} has 3 messages ({sum(map(len, raws))} octets)".encode()
    )
    assert client.stat() == (3, sum(map(len, raws)))
    response, listing, _ = client.list()
    assert response == b"+OK 3 messages"
    assert listing == [f"{n} {len(raw)}".encode() for n, raw in enumerate(raws, 1)]
    assert client.list(2) == f"+OK 2 {len(DOTS)}".encode()
    uidvalidity = server.mailbox(addr).folder(INBOX).snapshot.uidvalidity
    _, uids, _ = client.uidl()
    assert uids == [f"{n} {uidvalidity}.{n}".encode() for n in (1, 2, 3)]
    assert client.uidl(3) == f"+OK 3 {uidvalidity}.3".encode()
    for number, raw in enumerate(raws, 1):
        response, lines, _ = client.retr(number)
        assert response == f"+OK {len(raw)} octets".encode()
        assert joined(lines) == raw
        head, _, body = raw.partition(b"\r\n\r\n")
        _, top, _ = client.top(number, 0)
        assert joined(top) == head + b"\r\n\r\n"
        _, top, _ = client.top(number, 2)
        assert joined(top) == head + b"\r\n\r\n" + b"".join(body.splitlines(True)[:2])
    assert client.quit().startswith(b"+OK")
    assert stored(server, addr) == raws  # reading deletes nothing


def test_one_megabyte_message(server: MailServer, send: Send, connect: Connect, addr: str) -> None:
    body = b"".join(b"%06d " % i + b"." * 70 + b"\r\n" for i in range(13_500))
    raw = b"Subject: big\r\n\r\n" + body
    assert len(raw) > 1_000_000
    send(raw, addr)
    client = connect()
    login(client, addr)
    assert client.list(1) == f"+OK 1 {len(raw)}".encode()
    _, lines, _ = client.retr(1)
    assert joined(lines) == raw
    _, top, _ = client.top(1, 3)
    assert joined(top) == b"Subject: big\r\n\r\n" + b"".join(body.splitlines(True)[:3])
    client.quit()


def test_delivered_messages_and_mailbox_view(
    server: MailServer, connect: Connect, addr: str
) -> None:
    server.deliver("Subject: api\n\nbare LF lines\n", to=addr)
    client = connect()
    login(client, addr)
    _, lines, _ = client.retr(1)
    assert lines == [b"Subject: api", b"", b"bare LF lines"]
    client.quit()


def test_utf8_command(server: MailServer, send: Send, connect: Connect) -> None:
    address = "jörg@bücher.example"
    server.deliver(EIGHT_BIT, to=address)
    client = connect()
    assert "UTF8" in client.capa()
    assert client.utf8().startswith(b"+OK")
    login(client, address)
    _, lines, _ = client.retr(1)
    assert joined(lines) == EIGHT_BIT
    client.quit()


# --- deleting --------------------------------------------------------------------------


def test_dele_then_rset_keeps_everything(
    server: MailServer, send: Send, connect: Connect, addr: str
) -> None:
    send(PLAIN, addr)
    send(DOTS, addr)
    client = connect()
    login(client, addr)
    assert client.dele(1) == b"+OK message 1 deleted"
    with pytest.raises(poplib.error_proto, match="deleted"):
        client.retr(1)
    assert client.stat() == (1, len(DOTS))
    assert client.rset().startswith(b"+OK")
    assert client.stat() == (2, len(PLAIN) + len(DOTS))
    assert client.quit().startswith(b"+OK")
    assert stored(server, addr) == [PLAIN, DOTS]


def test_dele_then_quit_removes_from_the_mailbox_only(
    server: MailServer, send: Send, connect: Connect, addr: str
) -> None:
    send(PLAIN, addr)
    send(DOTS, addr)
    client = connect()
    login(client, addr)
    uid_of_second = client.uidl(2).split()[-1]
    client.dele(1)
    assert stored(server, addr) == [PLAIN, DOTS]  # only marked until QUIT
    assert client.quit() == b"+OK fakemail POP3 server signing off (1 messages left, 1 deleted)"
    assert stored(server, addr) == [DOTS]
    # SMTP transactions are a record of what was sent: they stay.
    assert [m.raw for m in server.messages] == [PLAIN, DOTS]
    client = connect()
    login(client, addr)
    assert client.stat() == (1, len(DOTS))
    assert client.uidl(1).split()[-1] == uid_of_second  # renumbered, same unique id
    client.quit()


def test_dropping_the_connection_deletes_nothing(
    server: MailServer, send: Send, connect: Connect, raw: Raw, addr: str, wait_unlocked: Any
) -> None:
    send(PLAIN, addr)
    dropped = raw()
    dropped.send(f"USER {addr}\r\nPASS pw\r\nDELE 1\r\n".encode())
    assert dropped.reply().startswith(b"+OK")
    assert dropped.reply().startswith(b"+OK")
    assert dropped.reply() == b"+OK message 1 deleted\r\n"
    dropped.close()  # no QUIT
    wait_unlocked(addr)  # until the server has seen the EOF
    client = connect()
    login(client, addr)
    assert client.stat() == (1, len(PLAIN))
    client.quit()
    assert stored(server, addr) == [PLAIN]


def test_unique_ids_are_never_reused(
    server: MailServer, send: Send, connect: Connect, addr: str
) -> None:
    def uids() -> list[bytes]:
        client = connect()
        login(client, addr)
        _, listing, _ = client.uidl()
        client.quit()
        return [line.split()[1] for line in listing]

    send(PLAIN, addr)
    send(DOTS, addr)
    first = uids()
    assert uids() == first  # stable across sessions
    server.clear()
    send(PLAIN, addr)
    send(DOTS, addr)
    second = uids()
    assert len(second) == 2
    assert not set(first) & set(second)  # same UIDs, new UIDVALIDITY


# --- locking and authentication ---------------------------------------------------------


def test_maildrop_is_locked_while_a_session_holds_it(
    server: MailServer, send: Send, connect: Connect, addr: str
) -> None:
    send(PLAIN, addr)
    first, second = connect(), connect()
    login(first, addr)
    second.user(addr)
    with pytest.raises(poplib.error_proto) as caught:
        second.pass_("pw")
    assert caught.value.args[0] == b"-ERR [IN-USE] maildrop already locked by another session"
    assert "USER" in second.capa()  # the second connection lives on, in AUTHORIZATION
    first.quit()
    login(second, addr)
    assert second.stat() == (1, len(PLAIN))
    second.quit()


def test_any_password_by_default(server: MailServer, connect: Connect, addr: str) -> None:
    client = connect()
    assert login(client, addr, "anything at all").startswith(b"+OK")
    client.quit()


@pytest.mark.parametrize(
    "options",
    [
        {"users": {"bob@example.com": "secret"}},
        {"users": {"bob@example.com": "secret"}, "require_auth": True},
    ],
)
def test_wrong_passwords_are_refused_with_auth_on(
    server: MailServer, connect: Connect, options: dict[str, Any]
) -> None:
    server.configure(**options)
    client = connect()
    client.user("bob@example.com")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        client.pass_("wrong")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.apop("bob@example.com", "wrong")
    assert login(client, "bob@example.com", "secret").startswith(b"+OK")
    client.quit()


def test_apop(server: MailServer, connect: Connect) -> None:
    server.configure(users={"bob@example.com": "tanstaaf"})
    server.deliver(PLAIN, to="bob@example.com")
    client = connect()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.apop("bob@example.com", "wrong secret")
    assert client.apop("bob@example.com", "tanstaaf").startswith(b"+OK bob@example.com has 1")
    assert client.stat() == (1, len(PLAIN))
    client.quit()


def test_auth_plain(server: MailServer, connect: Connect) -> None:
    server.configure(users={"bob@example.com": "secret"})
    good = base64.b64encode(b"\0bob@example.com\0secret").decode()
    bad = base64.b64encode(b"\0bob@example.com\0nope").decode()
    client = connect()
    assert "PLAIN" in client.capa()["SASL"]
    # Initial response (RFC 5034 §4), wrong then right.
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client._shortcmd(f"AUTH PLAIN {bad}")
    # "*" cancels an exchange.
    client._putcmd("AUTH PLAIN")
    assert client._getline()[0] == b"+ "
    with pytest.raises(poplib.error_proto, match="cancelled"):
        client._shortcmd("*")
    # The "+" continuation.
    client._putcmd("AUTH PLAIN")
    assert client._getline()[0] == b"+ "
    assert client._shortcmd(good).startswith(b"+OK bob@example.com has 0 messages")
    assert client.stat() == (0, 0)
    client.quit()
    again = connect()
    assert again._shortcmd(f"AUTH PLAIN {good}").startswith(b"+OK")
    again.quit()


class RaisingAuthenticator:
    @hookimpl
    def fakemail_authenticate(self, protocol: str, username: str, credentials: object) -> bool:
        raise RuntimeError("authenticator bug")


def test_plugin_raising_in_authenticate(server: MailServer, connect: Connect, addr: str) -> None:
    plugin = RaisingAuthenticator()
    server.add_plugin(plugin, temporary=True)
    client = connect()
    client.user(addr)
    with pytest.raises(poplib.error_proto, match="-ERR"):
        client.pass_("pw")
    assert "USER" in client.capa()  # the session goes on
    with pytest.raises(ServerError, match="authenticator bug"):
        server.check()
    server.reset()  # removes the plugin
    login(client, addr)
    client.quit()


# --- TLS -------------------------------------------------------------------------------


def test_stls(server: MailServer, send: Send, connect: Connect, addr: str) -> None:
    send(DOTS, addr)
    client = connect()
    assert "STLS" in client.capa()
    assert client.stls(context=server.client_ssl_context()).startswith(b"+OK")
    assert "STLS" not in client.capa()
    login(client, addr)
    _, lines, _ = client.retr(1)
    assert joined(lines) == DOTS
    client.quit()


def test_pop3s(server: MailServer, send: Send, connect: Connect, addr: str) -> None:
    send(EIGHT_BIT, addr)
    client = connect(tls=True)
    assert client.getwelcome().startswith(b"+OK")
    assert "STLS" not in client.capa()
    login(client, addr)
    _, lines, _ = client.retr(1)
    assert joined(lines) == EIGHT_BIT
    client.quit()


def test_require_tls(server: MailServer, connect: Connect, addr: str) -> None:
    server.configure(require_tls=True)
    client = connect()
    capabilities = client.capa()
    assert "USER" not in capabilities
    assert "SASL" not in capabilities
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\].*TLS"):
        client.user(addr)

    with pytest.raises(poplib.error_proto, match=r"-ERR"):
        client._shortcmd("AUTH PLAIN " + base64.b64encode(f"\0{addr}\0pw".encode()).decode())
    client.stls(context=server.client_ssl_context())
    assert "USER" in client.capa()
    login(client, addr)
    client.quit()
    secure = connect(tls=True)
    login(secure, addr)
    secure.quit()
    apop = connect()  # APOP does not send the password: allowed in the clear
    assert apop.apop(addr, "pw").startswith(b"+OK")
    apop.quit()
