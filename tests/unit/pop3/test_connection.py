"""Byte-transcript tests of the POP3 engine: framing, grammar, responses and state rules."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakemail._exceptions import LocalProtocolError
from fakemail._pop3 import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    ConnectionClosed,
    Continuation,
    Dele,
    Err,
    Event,
    InvalidCommand,
    List,
    MultiLine,
    Noop,
    Ok,
    Pass,
    Pop3Connection,
    Pop3State,
    Quit,
    Response,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
    dot_stuff,
)
from fakemail._pop3._state import Reply, reply_kinds

GREETING = b"+OK fakemail POP3 ready <1896.697170952@localhost>\r\n"

# --- helpers ---------------------------------------------------------------------------


def greeted(max_line: int = 8192, *, tls: bool = False) -> Pop3Connection:
    """A connection that has sent its greeting (and whose output buffer is empty)."""
    conn = Pop3Connection(max_line, tls=tls)
    conn.send(Ok("fakemail POP3 ready <1896.697170952@localhost>"))
    assert conn.data_to_send() == GREETING
    return conn


def exchange(conn: Pop3Connection, data: bytes, *answers: Response) -> tuple[list[Event], bytes]:
    """C: ``data``; answer each event in turn with the next of ``answers`` (the way a host
    pumps: events() again after answering, until it returns nothing); return the events and
    the bytes the server wrote."""
    if data:
        conn.receive_data(data)
    remaining = list(answers)
    events: list[Event] = []
    while batch := conn.events():
        for event in batch:
            events.append(event)
            if not isinstance(event, ConnectionClosed):
                assert remaining, f"no answer scripted for {event!r}"
                conn.send(remaining.pop(0))
    assert not remaining, f"unused answers {remaining!r}"
    return events, conn.data_to_send()


Step = tuple[bytes, Sequence[tuple[Event, Response | None]], bytes]


def play(conn: Pop3Connection, steps: Sequence[Step]) -> None:
    """Run a transcript: per step, C: bytes, the (event, answer) pairs expected, S: bytes."""
    for data, pairs, expected_output in steps:
        answers = [answer for _, answer in pairs if answer is not None]
        events, output = exchange(conn, data, *answers)
        assert events == [event for event, _ in pairs]
        assert output == expected_output


def logged_in(max_line: int = 8192) -> Pop3Connection:
    conn = greeted(max_line)
    exchange(conn, b"USER bob\r\nPASS secret\r\n", Ok(), Ok())
    assert conn.state is Pop3State.TRANSACTION
    return conn


def one(conn: Pop3Connection, line: bytes) -> Event:
    """Feed one line and return its single event, unanswered."""
    conn.receive_data(line)
    events = conn.events()
    assert len(events) == 1, events
    return events[0]


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


# --- greeting --------------------------------------------------------------------------


def test_nothing_is_parsed_before_the_greeting() -> None:
    conn = Pop3Connection()
    conn.receive_data(b"CAPA\r\n")
    assert conn.events() == []
    conn.send(Ok("hi"))
    assert conn.events() == [Capa()]
    assert conn.data_to_send() == b"+OK hi\r\n"


def test_err_greeting_closes() -> None:
    conn = Pop3Connection()
    conn.send(Err("too busy", code="SYS/TEMP"))
    assert conn.data_to_send() == b"-ERR [SYS/TEMP] too busy\r\n"
    assert conn.state is Pop3State.CLOSED
    conn.receive_data(b"CAPA\r\n")
    assert conn.events() == []


@pytest.mark.parametrize("greeting", [MultiLine("x", b"body"), Continuation(b"x")])
def test_greeting_must_be_ok_or_err(greeting: Response) -> None:
    conn = Pop3Connection()
    with pytest.raises(LocalProtocolError):
        conn.send(greeting)
    assert conn.data_to_send() == b""


# --- full sessions ---------------------------------------------------------------------


def test_user_pass_session() -> None:
    conn = greeted()
    assert conn.state is Pop3State.AUTHORIZATION
    play(
        conn,
        [
            (b"CAPA\r\n", [(Capa(), MultiLine("Capability list follows", b"USER\r\nUIDL\r\n"))],
             b"+OK Capability list follows\r\nUSER\r\nUIDL\r\n.\r\n"),
            (b"USER bob@example.com\r\n", [(User("bob@example.com"), Ok())], b"+OK\r\n"),
            (b"PASS s3cret pass \r\n", [(Pass("s3cret pass "), Ok("maildrop locked"))],
             b"+OK maildrop locked\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION
    play(
        conn,
        [
            (b"STAT\r\n", [(Stat(), Ok("2 320"))], b"+OK 2 320\r\n"),
            (b"LIST\r\n", [(List(), MultiLine("2 messages", b"1 120\r\n2 200\r\n"))],
             b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"),
            (b"LIST 2\r\n", [(List(2), Ok("2 200"))], b"+OK 2 200\r\n"),
            (b"UIDL\r\n", [(Uidl(), MultiLine("", b"1 a\r\n"))], b"+OK\r\n1 a\r\n.\r\n"),
            (b"UIDL 1\r\n", [(Uidl(1), Ok("1 a"))], b"+OK 1 a\r\n"),
            (b"RETR 1\r\n", [(Retr(1), MultiLine("120 octets", b"Subject: x\r\n\r\n.hi\r\n"))],
             b"+OK 120 octets\r\nSubject: x\r\n\r\n..hi\r\n.\r\n"),
            (b"TOP 2 0\r\n", [(Top(2, 0), MultiLine("", b"Subject: y\r\n\r\n"))],
             b"+OK\r\nSubject: y\r\n\r\n.\r\n"),
            (b"DELE 1\r\n", [(Dele(1), Ok("message 1 deleted"))], b"+OK message 1 deleted\r\n"),
            (b"DELE 1\r\n", [(Dele(1), Err("message 1 already deleted"))],
             b"-ERR message 1 already deleted\r\n"),
            (b"RSET\r\n", [(Rset(), Ok())], b"+OK\r\n"),
            (b"NOOP\r\n", [(Noop(), Ok())], b"+OK\r\n"),
            (b"CAPA\r\n", [(Capa(), MultiLine("", b"TOP\r\n"))], b"+OK\r\nTOP\r\n.\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION
    conn.receive_data(b"QUIT\r\nNOOP\r\n")
    assert conn.events() == [Quit()]
    assert conn.state is Pop3State.UPDATE  # the session deletes while answering (§6)
    conn.send(Ok("bye"))
    assert conn.state is Pop3State.CLOSED
    assert conn.data_to_send() == b"+OK bye\r\n"
    assert conn.events() == []  # the NOOP after QUIT is never parsed
    conn.receive_data(b"STAT\r\n")  # ignored once closed
    conn.receive_data(b"")
    assert conn.events() == []


def test_err_to_quit_in_update_still_closes() -> None:
    conn = logged_in()
    play(conn, [(b"QUIT\r\n", [(Quit(), Err("some deleted messages not removed"))],
                 b"-ERR some deleted messages not removed\r\n")])  # fmt: skip
    assert conn.state is Pop3State.CLOSED


def test_quit_in_authorization_closes_without_update() -> None:
    conn = greeted()
    assert one(conn, b"QUIT\r\n") == Quit()
    assert conn.state is Pop3State.AUTHORIZATION  # never UPDATE from AUTHORIZATION (§6)
    conn.send(Ok("bye"))
    assert conn.state is Pop3State.CLOSED


def test_apop_session() -> None:
    conn = greeted()
    digest = "c4c9334bac560ecc979e58001b3e22fb"
    play(conn, [(f"APOP mrose {digest}\r\n".encode(), [(Apop("mrose", digest), Ok())], b"+OK\r\n")])
    assert conn.state is Pop3State.TRANSACTION


def test_apop_digest_is_lower_cased() -> None:
    conn = greeted()
    assert one(conn, b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n") == Apop(
        "mrose", "c4c9334bac560ecc979e58001b3e22fb"
    )


def test_failed_apop_stays_in_authorization() -> None:
    conn = greeted()
    play(conn, [(b"APOP a " + b"0" * 32 + b"\r\n", [(Apop("a", "0" * 32), Err("no"))],
                 b"-ERR no\r\n")])  # fmt: skip
    assert conn.state is Pop3State.AUTHORIZATION


def test_auth_plain_with_initial_response() -> None:
    conn = greeted()
    ir = b64(b"\0bob\0secret")
    play(conn, [(b"AUTH PLAIN " + ir + b"\r\n", [(Auth("PLAIN", b"\0bob\0secret"), Ok())],
                 b"+OK\r\n")])  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION


def test_auth_plain_with_continuation() -> None:
    conn = greeted()
    play(
        conn,
        [
            (b"auth plain\r\n", [(Auth("PLAIN"), Continuation(b""))], b"+ \r\n"),
            (b64(b"\0bob\0secret") + b"\r\n", [(AuthResponse(b"\0bob\0secret"), Ok("welcome"))],
             b"+OK welcome\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION


def test_auth_login_two_challenges() -> None:
    conn = greeted()
    play(
        conn,
        [
            (b"AUTH LOGIN\r\n", [(Auth("LOGIN"), Continuation(b"Username:"))],
             b"+ VXNlcm5hbWU6\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.SASL_EXCHANGE
    play(
        conn,
        [
            (b"Ym9i\r\n", [(AuthResponse(b"bob"), Continuation(b"Password:"))],
             b"+ UGFzc3dvcmQ6\r\n"),
            (b"c2VjcmV0\r\n", [(AuthResponse(b"secret"), Ok())], b"+OK\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION


def test_auth_cancel_returns_to_authorization() -> None:
    conn = greeted()
    _, output = exchange(conn, b"AUTH CRAM-MD5\r\n", Continuation(b"<1.2@h>"))
    assert output == b"+ PDEuMkBoPg==\r\n"
    assert one(conn, b"*\r\n") == AuthResponse(None)
    for wrong in (Ok(), Continuation(b"x"), MultiLine("x", b"")):
        with pytest.raises(LocalProtocolError):
            conn.send(wrong)  # RFC 5034 §4: a cancel MUST get -ERR
    conn.send(Err("cancelled"))
    assert conn.data_to_send() == b"-ERR cancelled\r\n"
    assert conn.state is Pop3State.AUTHORIZATION
    # The exchange is over: the next line is a command again.
    play(conn, [(b"USER bob\r\n", [(User("bob"), Ok())], b"+OK\r\n")])


def test_auth_failure_returns_to_authorization() -> None:
    conn = greeted()
    exchange(conn, b"AUTH PLAIN\r\n", Continuation(b""))
    play(conn, [(b"AAAA\r\n", [(AuthResponse(b"\0\0\0"), Err("bad"))], b"-ERR bad\r\n")])
    assert conn.state is Pop3State.AUTHORIZATION


@pytest.mark.parametrize(
    "line", [b"not base64!", b"=AAA", b"AAA=BBB", b"AAA", b"Y m9i", b"=", b"AAAA====", b"Ym9i="]
)
def test_malformed_base64_in_exchange_is_invalid_and_ends_it(line: bytes) -> None:
    conn = greeted()
    exchange(conn, b"AUTH LOGIN\r\n", Continuation(b"Username:"))
    event = one(conn, line + b"\r\n")
    assert isinstance(event, InvalidCommand)
    assert "base64" in event.reason
    with pytest.raises(LocalProtocolError):
        conn.send(Continuation(b"x"))  # RFC 5034 §4: MUST reject with -ERR
    conn.send(Err(event.reason))
    assert conn.state is Pop3State.AUTHORIZATION


def test_empty_line_in_exchange_is_an_empty_response() -> None:
    conn = greeted()
    exchange(conn, b"AUTH X-TEST\r\n", Continuation(b"go"))
    assert one(conn, b"\r\n") == AuthResponse(b"")


def test_over_long_line_in_exchange_ends_it() -> None:
    conn = greeted(max_line=16)
    exchange(conn, b"AUTH PLAIN\r\n", Continuation())
    assert one(conn, b"A" * 40 + b"\r\n") == InvalidCommand("line too long")
    conn.send(Err("line too long"))
    assert conn.state is Pop3State.AUTHORIZATION


def test_commands_are_not_recognised_during_an_exchange() -> None:
    conn = greeted()
    exchange(conn, b"AUTH PLAIN\r\n", Continuation())
    # "QUIT" is valid base64: during an exchange it is data, not a command (RFC 5034 §4).
    assert one(conn, b"QUIT\r\n") == AuthResponse(base64.b64decode(b"QUIT"))


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"AUTH\r\n", Auth(None, None)),
        (b"AUTH plain\r\n", Auth("PLAIN")),
        (b"AUTH Cram-Md5\r\n", Auth("CRAM-MD5")),
        (b"AUTH X_Y-2\r\n", Auth("X_Y-2")),
        (b"AUTH PLAIN =\r\n", Auth("PLAIN", b"")),  # RFC 5034 §4: "=" is an empty response
        (b"AUTH PLAIN AGJvYgBz\r\n", Auth("PLAIN", b"\0bob\0s")),
        (b"AUTH PLAIN  AGJvYgBz \r\n", Auth("PLAIN", b"\0bob\0s")),
        (b"AUTH PLAIN AGJvYgBz=\r\n", InvalidCommand("malformed base64 in the initial response")),
        (b"AUTH PLAIN ==\r\n", InvalidCommand("malformed base64 in the initial response")),
        (b"AUTH PLAIN AGJvYgB\r\n", InvalidCommand("malformed base64 in the initial response")),
        (b"AUTH PLAIN AAAA====\r\n", InvalidCommand("malformed base64 in the initial response")),
        ("AUTH PLAIN AGJvYgB\u00e9\r\n".encode(),
         InvalidCommand("malformed base64 in the initial response")),
        (b"AUTH PLAIN a b\r\n",
         InvalidCommand("AUTH takes a mechanism and an optional initial response")),
        (b"AUTH PL@IN\r\n", InvalidCommand("invalid SASL mechanism name")),
        (b"AUTH " + b"X" * 21 + b"\r\n", InvalidCommand("invalid SASL mechanism name")),
    ],
)  # fmt: skip
def test_auth_arguments(line: bytes, event: Event) -> None:
    assert one(greeted(), line) == event


def test_bare_auth_needs_a_multiline_answer() -> None:
    conn = greeted()
    assert one(conn, b"AUTH\r\n") == Auth()
    for wrong in (Ok(), Continuation(b"")):
        with pytest.raises(LocalProtocolError):
            conn.send(wrong)
    conn.send(MultiLine("methods", b"PLAIN\r\nLOGIN\r\n"))
    assert conn.data_to_send() == b"+OK methods\r\nPLAIN\r\nLOGIN\r\n.\r\n"
    assert conn.state is Pop3State.AUTHORIZATION


def test_continuation_encodes_base64() -> None:
    conn = greeted()
    challenge = b"<1896.697170952@postoffice.example.net>"
    _, output = exchange(conn, b"AUTH CRAM-MD5\r\n", Continuation(challenge))
    assert output == b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n"
    assert base64.b64decode(output[2:]) == challenge
    assert conn.state is Pop3State.SASL_EXCHANGE


def test_continuation_outside_auth_is_a_local_error() -> None:
    conn = greeted()
    assert one(conn, b"USER bob\r\n") == User("bob")
    with pytest.raises(LocalProtocolError):
        conn.send(Continuation(b"x"))
    conn.send(Ok())  # the failed send changed nothing
    assert conn.data_to_send() == b"+OK\r\n"


def test_auth_after_login_is_invalid() -> None:
    conn = logged_in()
    event = one(conn, b"AUTH PLAIN\r\n")
    assert event == InvalidCommand("AUTH is not valid in the TRANSACTION state")


# --- STLS ------------------------------------------------------------------------------


def test_stls_then_handshake() -> None:
    conn = greeted()
    play(conn, [(b"STLS\r\n", [(Stls(), Ok("Begin TLS negotiation"))],
                 b"+OK Begin TLS negotiation\r\n")])  # fmt: skip
    assert conn.state is Pop3State.STARTING_TLS
    assert conn.trailing_data == b""
    assert conn.events() == []
    conn.start_tls()
    assert conn.state is Pop3State.AUTHORIZATION
    assert conn.tls_active
    play(conn, [(b"CAPA\r\n", [(Capa(), MultiLine("", b"USER\r\n"))], b"+OK\r\nUSER\r\n.\r\n")])
    # RFC 2595 §4: STLS is refused once TLS is active.
    assert one(conn, b"STLS\r\n") == InvalidCommand("TLS is already active")


def test_stls_trailing_data_is_kept_apart() -> None:
    conn = greeted()
    conn.receive_data(b"STLS\r\nUSER evil\r\nPA")
    assert conn.events() == [Stls()]  # nothing after STLS is parsed before its answer
    conn.send(Ok())
    assert conn.state is Pop3State.STARTING_TLS
    assert conn.trailing_data == b"USER evil\r\nPA"
    conn.receive_data(b"SS x\r\n")
    assert conn.trailing_data == b"USER evil\r\nPASS x\r\n"
    assert conn.events() == []
    with pytest.raises(LocalProtocolError):
        conn.start_tls()  # the host must drop such a connection


def test_refused_stls_keeps_parsing() -> None:
    conn = greeted()
    play(conn, [(b"STLS\r\nCAPA\r\n", [(Stls(), Err("no TLS")), (Capa(), MultiLine("", b""))],
                 b"-ERR no TLS\r\n+OK\r\n.\r\n")])  # fmt: skip
    assert conn.state is Pop3State.AUTHORIZATION
    assert not conn.tls_active


def test_stls_invalid_on_implicit_tls_and_after_login() -> None:
    assert one(greeted(tls=True), b"STLS\r\n") == InvalidCommand("TLS is already active")
    assert one(logged_in(), b"STLS\r\n") == InvalidCommand(
        "STLS is not valid in the TRANSACTION state"
    )


def test_start_tls_outside_stls_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        greeted().start_tls()


def test_eof_during_tls_start_is_reported_after_the_handshake() -> None:
    conn = greeted()
    exchange(conn, b"STLS\r\n", Ok())
    conn.receive_data(b"")
    assert conn.trailing_data == b""
    conn.start_tls()
    assert conn.events() == [ConnectionClosed()]


# --- UTF8 ------------------------------------------------------------------------------


def test_utf8_mode_and_stls_after_it() -> None:
    conn = greeted()
    assert not conn.utf8_enabled
    play(conn, [(b"UTF8\r\n", [(Utf8(), Ok())], b"+OK\r\n")])
    assert conn.utf8_enabled
    # RFC 6856 §2.1: servers MAY refuse STLS after UTF8; we do.
    assert one(conn, b"STLS\r\n") == InvalidCommand("STLS is not allowed after UTF8")


def test_refused_utf8_leaves_mode_off() -> None:
    conn = greeted()
    exchange(conn, b"UTF8\r\n", Err("no"))
    assert not conn.utf8_enabled
    assert one(conn, b"STLS\r\n") == Stls()


def test_utf8_arguments_and_state() -> None:
    assert one(greeted(), b"UTF8 x\r\n") == InvalidCommand("UTF8 takes no arguments")
    assert one(logged_in(), b"UTF8\r\n") == InvalidCommand(
        "UTF8 is not valid in the TRANSACTION state"
    )


def test_utf8_user_name_and_password() -> None:
    conn = greeted()
    play(
        conn,
        [
            ("USER jörg@bücher.example\r\n".encode(), [(User("jörg@bücher.example"), Ok())],
             b"+OK\r\n"),
            ("PASS pässwörd\r\n".encode(), [(Pass("pässwörd"), Ok("héllo"))],
             "+OK héllo\r\n".encode()),
        ],
    )  # fmt: skip


# --- USER / PASS rules -----------------------------------------------------------------


def test_pass_without_user_is_invalid() -> None:
    assert one(greeted(), b"PASS x\r\n") == InvalidCommand("PASS must follow a successful USER")


def test_pass_after_refused_user_is_invalid() -> None:
    conn = greeted()
    exchange(conn, b"USER nobody\r\n", Err("no such user"))
    assert one(conn, b"PASS x\r\n") == InvalidCommand("PASS must follow a successful USER")


def test_failed_pass_resets_the_user() -> None:
    conn = greeted()
    play(
        conn,
        [
            (b"USER bob\r\n", [(User("bob"), Ok())], b"+OK\r\n"),
            (b"PASS wrong\r\n", [(Pass("wrong"), Err("invalid password"))],
             b"-ERR invalid password\r\n"),
            (b"PASS again\r\n",
             [(InvalidCommand("PASS must follow a successful USER"), Err("USER first"))],
             b"-ERR USER first\r\n"),
        ],
    )  # fmt: skip
    assert conn.state is Pop3State.AUTHORIZATION


def test_pass_must_come_immediately_after_user() -> None:
    conn = greeted()
    exchange(conn, b"USER bob\r\nCAPA\r\n", Ok(), MultiLine("", b""))
    assert one(conn, b"PASS x\r\n") == InvalidCommand("PASS must follow a successful USER")


def test_user_may_be_repeated_before_pass() -> None:
    conn = greeted()
    exchange(conn, b"USER a\r\nUSER b\r\n", Ok(), Ok())
    assert one(conn, b"PASS x\r\n") == Pass("x")


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"PASS\r\n", InvalidCommand("PASS needs a password")),
        (b"PASS \r\n", Pass("")),
        (b"PASS  two  spaces \r\n", Pass(" two  spaces ")),
        (b"pass MiXeD\r\n", Pass("MiXeD")),
    ],
)
def test_pass_takes_the_rest_of_the_line(line: bytes, event: Event) -> None:
    conn = greeted()
    exchange(conn, b"USER bob\r\n", Ok())
    assert one(conn, line) == event


def test_pass_repr_hides_the_password() -> None:
    assert "hunter2" not in repr(Pass("hunter2"))


# --- state validity --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", [b"NOOP", b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"RSET", b"TOP 1 1", b"UIDL"]
)
def test_transaction_commands_are_invalid_in_authorization(line: bytes) -> None:
    event = one(greeted(), line + b"\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.reason.endswith("is not valid in the AUTHORIZATION state")


@pytest.mark.parametrize("line", [b"USER a", b"PASS a", b"APOP a " + b"0" * 32, b"AUTH PLAIN"])
def test_authorization_commands_are_invalid_in_transaction(line: bytes) -> None:
    event = one(logged_in(), line + b"\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.reason.endswith("is not valid in the TRANSACTION state")


def test_err_to_invalid_command_keeps_the_session() -> None:
    conn = logged_in()
    play(conn, [(b"BOGUS\r\n", [(InvalidCommand("unknown command"), Err("unknown command"))],
                 b"-ERR unknown command\r\n")])  # fmt: skip
    assert conn.state is Pop3State.TRANSACTION
    play(conn, [(b"NOOP\r\n", [(Noop(), Ok())], b"+OK\r\n")])


def test_ok_to_invalid_command_is_a_local_error() -> None:
    conn = greeted()
    assert isinstance(one(conn, b"BOGUS\r\n"), InvalidCommand)
    with pytest.raises(LocalProtocolError):
        conn.send(Ok())


# --- grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"STAT", Stat()),
        (b"stat", Stat()),
        (b"StAt ", Stat()),
        (b"STAT x", InvalidCommand("STAT takes no arguments")),
        (b"NOOP 1", InvalidCommand("NOOP takes no arguments")),
        (b"RSET 1", InvalidCommand("RSET takes no arguments")),
        (b"QUIT now", InvalidCommand("QUIT takes no arguments")),
        (b"CAPA x", InvalidCommand("CAPA takes no arguments")),
        (b"LIST", List()),
        (b"LIST 1", List(1)),
        (b"LIST  7 ", List(7)),
        (b"LIST 007", List(7)),
        (b"LIST 0", InvalidCommand("invalid message number")),
        (b"LIST -1", InvalidCommand("invalid message number")),
        (b"LIST +1", InvalidCommand("invalid message number")),
        (b"LIST 1x", InvalidCommand("invalid message number")),
        (b"LIST x", InvalidCommand("invalid message number")),
        ("LIST \u0663".encode(), InvalidCommand("invalid message number")),  # Arabic 3
        (b"LIST " + b"9" * 21, InvalidCommand("invalid message number")),
        (b"LIST 1 2", InvalidCommand("LIST takes at most one message number")),
        (b"UIDL", Uidl()),
        (b"UIDL 3", Uidl(3)),
        (b"UIDL 0", InvalidCommand("invalid message number")),
        (b"UIDL 1 2", InvalidCommand("UIDL takes at most one message number")),
        (b"RETR 1", Retr(1)),
        (b"retr 12", Retr(12)),
        (b"RETR", InvalidCommand("RETR takes one message number")),
        (b"RETR 1 2", InvalidCommand("RETR takes one message number")),
        (b"RETR 0", InvalidCommand("invalid message number")),
        (b"RETR 1.5", InvalidCommand("invalid message number")),
        (b"DELE 4", Dele(4)),
        (b"DELE", InvalidCommand("DELE takes one message number")),
        (b"DELE -4", InvalidCommand("invalid message number")),
        (b"TOP 1 0", Top(1, 0)),
        (b"TOP 3 10", Top(3, 10)),
        (b"TOP 1", InvalidCommand("TOP takes a message number and a line count")),
        (b"TOP 1 2 3", InvalidCommand("TOP takes a message number and a line count")),
        (b"TOP 0 1", InvalidCommand("invalid message number")),
        (b"TOP 1 -1", InvalidCommand("invalid line count")),
        (b"TOP 1 x", InvalidCommand("invalid line count")),
        (b"", InvalidCommand("empty command")),
        (b" ", InvalidCommand("unknown command")),
        (b" STAT", InvalidCommand("unknown command")),
        (b"FOO", InvalidCommand("unknown command")),
        (b"STATS", InvalidCommand("unknown command")),
        ("\u017fTAT".encode(), InvalidCommand("unknown command")),  # long s upper-cases to S
        (b"ST\x00AT", InvalidCommand("control character in command")),
        (b"STAT\t", InvalidCommand("control character in command")),
        (b"STAT\r", InvalidCommand("control character in command")),  # bare CR in the line
        (b"LIST \xff", InvalidCommand("command is not valid UTF-8")),
    ],
)
def test_transaction_grammar(line: bytes, event: Event) -> None:
    assert one(logged_in(), line + b"\r\n") == event


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"USER bob", User("bob")),
        (b"user Bob", User("Bob")),
        (b"USER", InvalidCommand("USER takes exactly one argument")),
        (b"USER a b", InvalidCommand("USER takes exactly one argument")),
        (b"APOP a", InvalidCommand("APOP takes a name and a digest")),
        (b"APOP a b c", InvalidCommand("APOP takes a name and a digest")),
        (b"APOP a 123", InvalidCommand("APOP digest must be 32 hexadecimal digits")),
        (b"APOP a " + b"g" * 32, InvalidCommand("APOP digest must be 32 hexadecimal digits")),
        (b"STLS x", InvalidCommand("STLS takes no arguments")),
        (b"CAPA", Capa()),
        (b"UTF8", Utf8()),
        (b"QUIT", Quit()),
    ],
)
def test_authorization_grammar(line: bytes, event: Event) -> None:
    assert one(greeted(), line + b"\r\n") == event


def test_bare_lf_line_endings_are_accepted() -> None:
    conn = logged_in()
    conn.receive_data(b"STAT\nNOOP\n")
    assert conn.events() == [Stat(), Noop()]


# --- pipelining and framing ------------------------------------------------------------


def test_pipelined_transaction_commands_come_in_one_batch() -> None:
    conn = logged_in()
    conn.receive_data(b"STAT\r\nLIST\r\nRETR 1\r\nNOOP\r\n")
    events = conn.events()
    assert events == [Stat(), List(), Retr(1), Noop()]
    conn.send(Ok("1 5"))
    conn.send(MultiLine("", b"1 5\r\n"))
    conn.send(MultiLine("", b"hello"))
    conn.send(Ok())
    assert conn.data_to_send() == b"+OK 1 5\r\n+OK\r\n1 5\r\n.\r\n+OK\r\nhello\r\n.\r\n+OK\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send(Ok())  # nothing left to answer


def test_pipelined_login_waits_for_each_answer() -> None:
    conn = greeted()
    conn.receive_data(b"USER bob\r\nPASS secret\r\nSTAT\r\n")
    assert conn.events() == [User("bob")]
    assert conn.events() == []  # PASS's validity depends on USER's answer
    conn.send(Ok())
    assert conn.events() == [Pass("secret")]
    assert conn.events() == []
    conn.send(Ok())
    assert conn.events() == [Stat()]  # valid now: the session is in TRANSACTION


def test_pipelined_login_with_failure() -> None:
    conn = greeted()
    events, output = exchange(conn, b"USER bob\r\nPASS wrong\r\nSTAT\r\n", Ok(), Err("no"), Err())
    assert events == [
        User("bob"),
        Pass("wrong"),
        InvalidCommand("STAT is not valid in the AUTHORIZATION state"),
    ]
    assert output == b"+OK\r\n-ERR no\r\n-ERR\r\n"


def test_input_split_byte_by_byte() -> None:
    script = (
        b"CAPA\r\nUSER bob\r\nPASS a b\r\nSTAT\r\nLIST 1\r\nRETR 1\r\nBOGUS\r\nTOP 1 2\r\n"
        b"UIDL\r\nQUIT\r\n"
    )
    answers: dict[type, Response] = {
        Capa: MultiLine("", b"X"),
        List: Ok(),
        Retr: MultiLine("", b"X"),
        Top: MultiLine("", b"X"),
        Uidl: MultiLine("", b"X"),
        InvalidCommand: Err(),
    }
    conn = greeted()
    events: list[Event] = []
    for index in range(len(script)):
        conn.receive_data(script[index : index + 1])
        while batch := conn.events():
            for event in batch:
                events.append(event)
                conn.send(answers.get(type(event), Ok()))
    assert events == [
        Capa(),
        User("bob"),
        Pass("a b"),
        Stat(),
        List(1),
        Retr(1),
        InvalidCommand("unknown command"),
        Top(1, 2),
        Uidl(),
        Quit(),
    ]
    assert conn.state is Pop3State.CLOSED


def test_over_long_line_then_a_good_command() -> None:
    conn = logged_in(max_line=32)
    conn.receive_data(b"LIST " + b"1" * 60 + b"\r\nNOOP\r\n")
    assert conn.events() == [InvalidCommand("line too long"), Noop()]


def test_over_long_line_arriving_in_pieces_gets_one_reply() -> None:
    conn = logged_in(max_line=32)
    conn.receive_data(b"X" * 40)  # no LF yet: reported as soon as it passes the limit
    assert conn.events() == [InvalidCommand("line too long")]
    conn.send(Err("line too long"))
    conn.receive_data(b"Y" * 100)
    assert conn.events() == []  # still the same line
    conn.receive_data(b"Z\r\nSTAT\r\n")
    assert conn.events() == [Stat()]


def test_line_at_the_limit_is_accepted() -> None:
    conn = greeted(max_line=10)
    assert one(conn, b"USER 12345\r\n") == User("12345")  # exactly 10 octets
    conn.send(Err())
    assert one(conn, b"USER 123456\r\n") == InvalidCommand("line too long")


# --- EOF -------------------------------------------------------------------------------


def test_eof() -> None:
    conn = logged_in()
    conn.receive_data(b"")
    assert conn.events() == [ConnectionClosed()]
    assert conn.state is Pop3State.CLOSED  # not UPDATE: no deletions without QUIT (§6)
    assert conn.events() == []


def test_eof_mid_line() -> None:
    conn = logged_in()
    conn.receive_data(b"STAT\r\nRET")
    conn.receive_data(b"")
    assert conn.events() == [Stat(), ConnectionClosed()]
    conn.send(Ok("1 2"))  # an earlier command may still be answered
    assert conn.data_to_send() == b"+OK 1 2\r\n"


def test_eof_waits_behind_an_unanswered_barrier() -> None:
    conn = greeted()
    conn.receive_data(b"USER bob\r\n")
    conn.receive_data(b"")
    assert conn.events() == [User("bob")]
    assert conn.events() == []
    conn.send(Ok())
    assert conn.events() == [ConnectionClosed()]


def test_eof_during_sasl_exchange() -> None:
    conn = greeted()
    exchange(conn, b"AUTH PLAIN\r\n", Continuation())
    conn.receive_data(b"")
    assert conn.events() == [ConnectionClosed()]
    assert conn.state is Pop3State.CLOSED


def test_data_after_eof_is_a_local_error() -> None:
    conn = greeted()
    conn.receive_data(b"")
    conn.receive_data(b"")  # a repeated EOF is harmless
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"NOOP\r\n")


# --- responses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "wire"),
    [
        (Ok(), b"+OK\r\n"),
        (Ok("fine"), b"+OK fine\r\n"),
        (Ok("fine", code="SYS/TEMP"), b"+OK [SYS/TEMP] fine\r\n"),
        (Err(), b"-ERR\r\n"),
        (Err("no", code="AUTH"), b"-ERR [AUTH] no\r\n"),
        (Err(code="IN-USE"), b"-ERR [IN-USE]\r\n"),
        (Ok("caf\u00e9"), "+OK caf\u00e9\r\n".encode()),
    ],
)
def test_single_line_responses(response: Response, wire: bytes) -> None:
    conn = logged_in()
    one(conn, b"NOOP\r\n")
    conn.send(response)
    assert conn.data_to_send() == wire


@pytest.mark.parametrize(
    "response",
    [
        Ok("two\r\nlines"),
        Ok("a\nb"),
        Err("nul\x00"),
        Ok("x", code=""),
        Ok("x", code="A]B"),
        Ok("x", code="A B"),
        Ok("x", code="A//B"),
        Err(code="/A"),
        MultiLine("x\r\ny", b""),
    ],
)
def test_malformed_responses_are_local_errors(response: Response) -> None:
    conn = logged_in()
    one(conn, b"CAPA\r\n" if isinstance(response, MultiLine) else b"NOOP\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(response)
    assert conn.data_to_send() == b""
    conn.send(Err())  # the command is still pending
    assert conn.data_to_send() == b"-ERR\r\n"


def test_multiline_with_code() -> None:
    conn = logged_in()
    one(conn, b"RETR 1\r\n")
    conn.send(MultiLine("", b"", code="UTF8"))
    assert conn.data_to_send() == b"+OK [UTF8]\r\n.\r\n"


@pytest.mark.parametrize(
    ("body", "stuffed"),
    [
        (b"", b".\r\n"),
        (b".", b"..\r\n.\r\n"),
        (b"\r\n", b"\r\n.\r\n"),
        (b"abc", b"abc\r\n.\r\n"),
        (b"abc\r\n", b"abc\r\n.\r\n"),
        (
            b".leading\r\n..two\r\nmid.dle\r\n.\r\n",
            b"..leading\r\n...two\r\nmid.dle\r\n..\r\n.\r\n",
        ),
        (b"a\nb\n.c\n", b"a\r\nb\r\n..c\r\n.\r\n"),  # bare LF -> CRLF
        (b"a\r\nb\n.c", b"a\r\nb\r\n..c\r\n.\r\n"),  # mixed, no final CRLF
        (b"\n.\n", b"\r\n..\r\n.\r\n"),
        (b"cr\ronly", b"cr\ronly\r\n.\r\n"),  # a bare CR is data
    ],
)
def test_dot_stuffing(body: bytes, stuffed: bytes) -> None:
    assert dot_stuff(body) == stuffed
    conn = logged_in()
    one(conn, b"RETR 1\r\n")
    conn.send(MultiLine("msg", body))
    assert conn.data_to_send() == b"+OK msg\r\n" + stuffed


def unstuff(wire: bytes) -> bytes:
    """Undo multi-line framing the way a client does (RFC 1939 §3)."""
    assert wire.endswith(b".\r\n")
    content = wire[:-3]
    if not content:
        return b""
    assert content.endswith(b"\r\n")
    lines = content[:-2].split(b"\r\n")
    out = []
    for line in lines:
        if line.startswith(b"."):
            assert line.startswith(b".."), "an unstuffed dot would end the response early"
            line = line[1:]
        out.append(line)
    return b"\r\n".join(out) + b"\r\n"


def crlf_normalised(body: bytes) -> bytes:
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body


bodies = st.one_of(
    st.binary(max_size=200),
    st.lists(
        st.sampled_from([b".", b"..", b"a", b"\r", b"\n", b"\r\n", b".\r\n", b"x.y", b" "]),
        max_size=30,
    ).map(b"".join),
)


@given(bodies)
def test_unstuffing_gives_back_the_normalised_body(body: bytes) -> None:
    wire = dot_stuff(body)
    assert unstuff(wire) == crlf_normalised(body)
    assert b"\r\n.\r\n" not in wire[:-3] or not body  # no early terminator


# --- local protocol errors -------------------------------------------------------------


def test_send_with_nothing_pending() -> None:
    conn = greeted()
    with pytest.raises(LocalProtocolError):
        conn.send(Ok())


def test_second_response_to_one_command() -> None:
    conn = logged_in()
    one(conn, b"NOOP\r\n")
    conn.send(Ok())
    with pytest.raises(LocalProtocolError):
        conn.send(Ok())


@pytest.mark.parametrize("line", [b"STAT", b"NOOP", b"LIST 1", b"UIDL 1", b"DELE 1", b"RSET"])
def test_multiline_to_single_line_command(line: bytes) -> None:
    conn = logged_in()
    one(conn, line + b"\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(MultiLine("x", b"y"))


@pytest.mark.parametrize("line", [b"LIST", b"UIDL", b"RETR 1", b"TOP 1 1", b"CAPA"])
def test_single_line_ok_to_multiline_command(line: bytes) -> None:
    conn = logged_in()
    one(conn, line + b"\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(Ok("x"))
    conn.send(Err("no such message"))  # -ERR is always single-line
    assert conn.data_to_send() == b"-ERR no such message\r\n"


def test_data_to_send_clears_the_buffer() -> None:
    conn = logged_in()
    exchange(conn, b"NOOP\r\n", Ok())
    assert conn.data_to_send() == b""


# --- properties ------------------------------------------------------------------------

KEYWORDS = [
    "USER", "PASS", "APOP", "AUTH", "QUIT", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP",
    "UIDL", "CAPA", "STLS", "UTF8", "user", "Pass", "auth", "XYZ",
]  # fmt: skip
ARGUMENTS = ["1", "0", "-1", "2x", "=", "*", "PLAIN", "login", "AGJvYgBz", "a" * 32, "9" * 25, ""]

command_lines = st.builds(
    lambda keyword, args: " ".join([keyword, *args]).encode(),
    st.sampled_from(KEYWORDS),
    st.lists(st.sampled_from(ARGUMENTS), max_size=3),
)
lines = st.lists(
    st.tuples(
        st.one_of(
            command_lines,
            st.binary(max_size=90).map(lambda data: data.replace(b"\n", b"")),
            st.sampled_from([b"*", b"", b"AGJvYgBz", b"QUIT"]),
        ),
        st.sampled_from([b"\r\n", b"\n"]),
    ),
    max_size=25,
)


def random_answer(data: st.DataObject, event: Event) -> Response:
    assert not isinstance(event, ConnectionClosed)
    kind = data.draw(st.sampled_from(sorted(reply_kinds(event), key=lambda kind: kind.value)))
    answers: dict[Reply, Response] = {
        Reply.OK: Ok("ok"),
        Reply.ERR: Err("err"),
        Reply.MULTILINE: MultiLine("m", b".x\n"),
        Reply.CONTINUATION: Continuation(b"c"),
    }
    return answers[kind]


@settings(max_examples=300)
@given(lines, st.binary(max_size=10).map(lambda data: data.replace(b"\n", b"")), st.booleans(),
       st.data())  # fmt: skip
def test_any_input_gets_one_event_per_line(
    script: list[tuple[bytes, bytes]], tail: bytes, eof: bool, data: st.DataObject
) -> None:
    """Random lines, split at random points and answered at random: never raises, and
    every complete line is one event until parsing stops (STLS +OK, QUIT answered)."""
    wire = b"".join(line + ending for line, ending in script) + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    chunks = [wire[start:end] for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    chunks = [chunk for chunk in chunks if chunk]  # b"" would mean EOF
    if eof:
        chunks.append(b"")
    conn = greeted(max_line=64)
    events: list[Event] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while batch := conn.events():
            for event in batch:
                events.append(event)
                if not isinstance(event, ConnectionClosed):
                    conn.send(random_answer(data, event))
    commands = [event for event in events if not isinstance(event, ConnectionClosed)]
    if conn.state is Pop3State.STARTING_TLS:
        assert commands[-1] == Stls()
        consumed = sum(len(line) + len(end) for line, end in script[: len(commands)])
        assert conn.trailing_data == wire[consumed:]
    elif ConnectionClosed() in events:
        assert eof
        assert events.index(ConnectionClosed()) == len(events) - 1
        assert len(commands) == len(script)  # the unfinished tail is no command
    elif conn.state is Pop3State.CLOSED:
        assert commands[-1] == Quit()
        assert len(commands) <= len(script)
    else:
        assert not eof
        assert len(commands) == len(script)
    output = conn.data_to_send()
    assert output.count(b"\r\n") >= len(commands)  # each command got an answer line
