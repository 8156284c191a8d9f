"""ImapConnection driven by byte transcripts: framing, literals, modes and states."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakemail._exceptions import LocalProtocolError, RemoteProtocolError
from fakemail._imap._connection import LITERAL_CONTINUATION, ImapConnection
from fakemail._imap._events import (
    Append,
    Authenticate,
    AuthResponse,
    Capability,
    Close,
    ConnectionClosed,
    Done,
    Event,
    Idle,
    InvalidCommand,
    List,
    Login,
    Logout,
    Noop,
    Select,
    StartTls,
)
from fakemail._imap._response import (
    Atom,
    Continuation,
    FetchData,
    Mailbox,
    Tagged,
    Untagged,
    UntaggedStatus,
)
from fakemail._imap._state import ImapState

CONT = LITERAL_CONTINUATION


def feed(conn: ImapConnection, data: bytes) -> list[Event]:
    conn.receive_data(data)
    return list(conn.events())


def ok(conn: ImapConnection, tag: str, text: str = "done") -> None:
    conn.send(Tagged(tag, "OK", text))


def logged_in(**kwargs: int) -> ImapConnection:
    conn = ImapConnection(**kwargs)
    assert feed(conn, b"L LOGIN user pass\r\n") == [Login("L", "user", "pass")]
    ok(conn, "L")
    conn.data_to_send()
    assert conn.state is ImapState.AUTHENTICATED
    return conn


def selected(**kwargs: int) -> ImapConnection:
    conn = logged_in(**kwargs)
    assert feed(conn, b"S SELECT INBOX\r\n") == [Select("S", "INBOX")]
    ok(conn, "S")
    conn.data_to_send()
    assert conn.state is ImapState.SELECTED
    return conn


# --------------------------------------------------------------------------- basics


def test_greeting_command_and_response_bytes() -> None:
    conn = ImapConnection()
    assert conn.state is ImapState.NOT_AUTHENTICATED
    conn.send(UntaggedStatus("OK", "fakemail ready", "CAPABILITY IMAP4rev1"))
    assert conn.data_to_send() == b"* OK [CAPABILITY IMAP4rev1] fakemail ready\r\n"
    assert feed(conn, b"a1 CAPABILITY\r\n") == [Capability("a1")]
    conn.send(Untagged((Atom("CAPABILITY"), Atom("IMAP4rev1"), Atom("IDLE"))))
    ok(conn, "a1", "CAPABILITY completed")
    assert conn.data_to_send() == (b"* CAPABILITY IMAP4rev1 IDLE\r\na1 OK CAPABILITY completed\r\n")
    assert conn.data_to_send() == b""


def test_partial_line_waits_and_bare_lf_is_accepted() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a NO") == []
    assert feed(conn, b"OP") == []
    assert feed(conn, b"\n") == [Noop("a")]


def test_pipelined_commands_are_handed_out_one_at_a_time() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a NOOP\r\nb CAPABILITY\r\nc NOOP\r\n")
    assert list(conn.events()) == [Noop("a")]
    assert list(conn.events()) == []  # "a" is not answered yet
    seen: list[Event] = []
    ok(conn, "a")
    for event in conn.events():
        seen.append(event)
        assert isinstance(event, (Capability, Noop))
        ok(conn, event.tag)
    assert seen == [Capability("b"), Noop("c")]
    assert conn.data_to_send() == b"a OK done\r\nb OK done\r\nc OK done\r\n"


def test_state_check_uses_state_after_previous_answer() -> None:
    # SELECT pipelined after LOGIN is judged once LOGIN's answer is known.
    conn = ImapConnection()
    conn.receive_data(b"a LOGIN u p\r\nb SELECT inbox\r\n")
    events = conn.events()
    assert next(events) == Login("a", "u", "p")
    ok(conn, "a")
    assert next(events) == Select("b", "INBOX")


def test_next_event_none_when_idle() -> None:
    conn = ImapConnection()
    assert conn.next_event() is None
    conn.receive_data(b"a NOOP\r\n")
    assert conn.next_event() == Noop("a")
    assert conn.next_event() is None


# --------------------------------------------------------------------------- literals


def test_sync_literal_continuation_exactly_once_at_the_right_time() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a LOGIN {3}") == []
    assert conn.data_to_send() == b""  # the line is not complete yet
    assert feed(conn, b"\r\n") == []
    assert conn.data_to_send() == CONT
    assert feed(conn, b"bo") == []
    assert conn.data_to_send() == b""
    assert feed(conn, b"b {4}\r\n") == []
    assert conn.data_to_send() == CONT
    assert feed(conn, b"p w") == []
    assert feed(conn, b"d\r\n") == [Login("a", "bob", "p wd")]
    assert conn.data_to_send() == b""


def test_non_sync_literal_gets_no_continuation() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a LOGIN {3+}\r\nbob {2+}\r\npw\r\n") == [Login("a", "bob", "pw")]
    assert conn.data_to_send() == b""


def test_append_literal_with_crlf_and_braces_byte_by_byte() -> None:
    message = b"Subject: {5}\r\n\r\nline {3}\r\n{4+}\r\n\r\n.\r\n"
    wire = b"A003 APPEND saved-messages (\\Seen) {%d}\r\n%s\r\n" % (len(message), message)
    conn = logged_in()
    marker_end = wire.index(b"\r\n") + 2
    got: list[Event] = []
    continuations_at: list[int] = []
    for i in range(len(wire)):
        conn.receive_data(wire[i : i + 1])
        got.extend(conn.events())
        if conn.data_to_send() == CONT:
            continuations_at.append(i + 1)
    assert continuations_at == [marker_end]
    assert got == [Append("A003", "saved-messages", ("\\Seen",), None, message)]


def test_literal_then_more_commands_in_one_chunk() -> None:
    conn = logged_in()
    conn.receive_data(b"a APPEND x {2+}\r\nhi\r\nb NOOP\r\n")
    events = conn.events()
    assert next(events) == Append("a", "x", (), None, b"hi")
    ok(conn, "a")
    assert next(events) == Noop("b")


def test_oversize_sync_literal_refused_without_continuation() -> None:
    conn = logged_in(max_literal=10)
    (event,) = feed(conn, b"a APPEND INBOX {11}\r\n")
    assert isinstance(event, InvalidCommand)
    assert (event.tag, event.status, event.code) == ("a", "NO", "TOOBIG")
    assert conn.data_to_send() == b""  # no "+"
    conn.send(Tagged("a", "NO", event.reason, event.code))
    assert conn.data_to_send().startswith(b"a NO [TOOBIG] ")
    # The client gives up on the command; the next one works.
    assert feed(conn, b"b NOOP\r\n") == [Noop("b")]


def test_literal_at_limit_accepted() -> None:
    conn = logged_in(max_literal=10)
    assert feed(conn, b"a APPEND INBOX {10}\r\n0123456789\r\n") == [
        Append("a", "INBOX", (), None, b"0123456789")
    ]
    assert conn.data_to_send() == CONT


def test_oversize_non_sync_literal_is_discarded() -> None:
    conn = logged_in(max_literal=10)
    (event,) = feed(conn, b"a APPEND INBOX {20+}\r\n0123456789")
    assert isinstance(event, InvalidCommand)
    assert (event.tag, event.status, event.code) == ("a", "NO", "TOOBIG")
    conn.send(Tagged("a", "NO", "too big", "TOOBIG"))
    assert feed(conn, b"abcdefghi") == []
    # The last literal byte, the rest of the line (with another literal), then a command.
    assert feed(conn, b"j extra {3+}\r\nxyz tail\r\nb NOOP\r\n") == [Noop("b")]
    assert conn.data_to_send() == b"a NO [TOOBIG] too big\r\n"


def test_oversize_non_sync_literal_in_second_literal() -> None:
    conn = ImapConnection(max_literal=5)
    (event,) = feed(conn, b"a LOGIN {3+}\r\nbob {9+}\r\n123456789\r\nb NOOP\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.code == "TOOBIG"
    conn.send(Tagged("a", "NO", "too big"))
    assert list(conn.events()) == [Noop("b")]


def test_command_total_size_is_bounded() -> None:
    # Each literal is small, but together they pass max_literal + max_line.
    conn = ImapConnection(max_line=100, max_literal=10)
    data = b"a LOGIN {10+}\r\n0123456789 " + b"{10+}\r\n0123456789" * 20 + b"\r\nb NOOP\r\n"
    events = conn.events()
    conn.receive_data(data)
    event = next(events)
    assert isinstance(event, InvalidCommand)
    assert event.code == "TOOBIG"
    conn.send(Tagged("a", "NO", "too big"))
    assert list(conn.events()) == [Noop("b")]


def test_absurd_non_sync_literal_ends_the_connection() -> None:
    conn = ImapConnection(max_literal=10)
    conn.receive_data(b"a LOGIN {41+}\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        list(conn.events())
    assert info.value.reply.startswith(b"* BYE ")
    assert info.value.reply.endswith(b"\r\n")
    assert conn.state is ImapState.LOGOUT


def test_literal8_refused() -> None:
    conn = logged_in()
    (event,) = feed(conn, b"a APPEND INBOX ~{3}\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.status == "BAD"
    assert "literal8" in event.reason
    assert conn.data_to_send() == b""
    conn.send(Tagged("a", "BAD", "no"))
    (event,) = feed(conn, b"b APPEND INBOX ~{3+}\r\nabc\r\nc NOOP\r\n")
    assert isinstance(event, InvalidCommand)
    conn.send(Tagged("b", "BAD", "no"))
    assert list(conn.events()) == [Noop("c")]


def test_literal_command_in_wrong_state_refused_before_continuation() -> None:
    conn = ImapConnection()
    (event,) = feed(conn, b"a APPEND INBOX {5}\r\n")
    assert event == InvalidCommand("a", "APPEND is not valid in the not authenticated state")
    assert conn.data_to_send() == b""
    conn.send(Tagged("a", "BAD", "not now"))
    conn.data_to_send()
    (event,) = feed(conn, b"b FROB {5}\r\n")
    assert event == InvalidCommand("b", "unknown command FROB")
    assert conn.data_to_send() == b""


def test_untaggable_line_with_literal() -> None:
    conn = ImapConnection()
    (event,) = feed(conn, b"* LOGIN {5}\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.tag is None
    assert conn.data_to_send() == b""
    # No tagged answer is due: the next command comes straight away.
    conn.send(UntaggedStatus("BAD", event.reason))
    assert feed(conn, b"a NOOP\r\n") == [Noop("a")]


# --------------------------------------------------------------------------- bad lines


def test_overlong_line_gives_one_bad_and_next_command_works() -> None:
    conn = ImapConnection(max_line=100)
    events = feed(conn, b"a LOGIN " + b"x" * 300 + b" y\r\nb NOOP\r\n")
    assert events == [InvalidCommand("a", "line longer than 100 octets")]
    conn.send(Tagged("a", "BAD", "line longer than 100 octets"))  # tagged: the next waits
    assert list(conn.events()) == [Noop("b")]


def test_overlong_line_without_a_readable_tag_gets_an_untagged_bad() -> None:
    conn = ImapConnection(max_line=100)
    events = feed(conn, b"(" + b"x" * 300 + b"\r\nb NOOP\r\n")
    assert events == [InvalidCommand(None, "line longer than 100 octets"), Noop("b")]


def test_overlong_line_split_across_reads() -> None:
    conn = ImapConnection(max_line=50)
    got: list[Event] = []
    for _ in range(10):
        got.extend(feed(conn, b"y" * 20))
    got.extend(feed(conn, b"\r\na NOOP\r\n"))
    assert [type(e) for e in got] == [InvalidCommand, Noop]


def test_overlong_continuation_line_is_tagged() -> None:
    conn = ImapConnection(max_line=50)
    events = feed(conn, b"a LOGIN {3+}\r\nbob " + b"z" * 100 + b"\r\nb NOOP\r\n")
    assert len(events) == 1
    assert isinstance(events[0], InvalidCommand)
    assert events[0].tag == "a"
    conn.send(Tagged("a", "BAD", "too long"))
    assert list(conn.events()) == [Noop("b")]


@pytest.mark.parametrize("line", [b"\r\n", b"* NOOP\r\n", b"+\r\n", b"   \r\n", b"\x00\x01\r\n"])
def test_untagged_bad_for_garbage(line: bytes) -> None:
    conn = ImapConnection()
    # An untagged BAD needs no tagged answer, so the next command follows at once.
    event, noop = feed(conn, line + b"a NOOP\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.tag is None
    assert event.status == "BAD"
    assert noop == Noop("a")


def test_syntax_error_is_tagged_bad() -> None:
    conn = ImapConnection()
    (event,) = feed(conn, b"a LOGIN onlyuser\r\n")
    assert isinstance(event, InvalidCommand)
    assert (event.tag, event.status) == ("a", "BAD")
    assert feed(conn, b"b NOOP\r\n") == []  # "a" still needs its answer
    conn.send(Tagged("a", "BAD", event.reason))
    assert list(conn.events()) == [Noop("b")]


# --------------------------------------------------------------------------- states


@pytest.mark.parametrize(
    ("setup", "line", "name"),
    [
        (ImapConnection, b"a SELECT INBOX", "SELECT"),
        (ImapConnection, b"a FETCH 1 FLAGS", "FETCH"),
        (ImapConnection, b"a IDLE", "IDLE"),
        (ImapConnection, b"a ENABLE UTF8=ACCEPT", "ENABLE"),
        (logged_in, b"a LOGIN u p", "LOGIN"),
        (logged_in, b"a AUTHENTICATE PLAIN", "AUTHENTICATE"),
        (logged_in, b"a STARTTLS", "STARTTLS"),
        (logged_in, b"a UID FETCH 1 FLAGS", "UID FETCH"),
        (logged_in, b"a CLOSE", "CLOSE"),
        (logged_in, b"a EXPUNGE", "EXPUNGE"),
        (selected, b"a ENABLE UTF8=ACCEPT", "ENABLE"),
        (selected, b"a LOGIN u p", "LOGIN"),
    ],
)
def test_commands_in_wrong_state(setup: type[ImapConnection], line: bytes, name: str) -> None:
    conn = setup()
    (event,) = feed(conn, line + b"\r\n")
    assert isinstance(event, InvalidCommand)
    assert event.status == "BAD"
    assert event.reason.startswith(f"{name} is not valid in the ")


def state(conn: ImapConnection) -> ImapState:
    """The state, read through a call so that type checkers do not narrow it."""
    return conn.state


def test_state_transitions_through_a_session() -> None:
    conn = ImapConnection()
    feed(conn, b"a LOGIN u wrong\r\n")
    conn.send(Tagged("a", "NO", "bad password", "AUTHENTICATIONFAILED"))
    assert state(conn) is ImapState.NOT_AUTHENTICATED
    feed(conn, b"b LOGIN u p\r\n")
    ok(conn, "b")
    assert state(conn) is ImapState.AUTHENTICATED
    assert feed(conn, b"c EXAMINE inbox\r\n") == [Select("c", "INBOX", readonly=True)]
    ok(conn, "c")
    assert state(conn) is ImapState.SELECTED
    feed(conn, b"d SELECT nosuch\r\n")
    conn.send(Tagged("d", "NO", "no such mailbox"))
    assert state(conn) is ImapState.AUTHENTICATED  # RFC 3501 §6.3.1
    feed(conn, b"e SELECT INBOX\r\n")
    ok(conn, "e")
    assert feed(conn, b"f CLOSE\r\n") == [Close("f")]
    ok(conn, "f")
    assert state(conn) is ImapState.AUTHENTICATED
    feed(conn, b"g SELECT INBOX\r\n")
    ok(conn, "g")
    feed(conn, b"h UNSELECT\r\n")
    ok(conn, "h")
    assert state(conn) is ImapState.AUTHENTICATED
    assert feed(conn, b"i LOGOUT\r\n") == [Logout("i")]
    conn.send(UntaggedStatus("BYE", "bye"))
    ok(conn, "i")
    assert state(conn) is ImapState.LOGOUT
    assert conn.data_to_send().endswith(b"* BYE bye\r\ni OK done\r\n")
    # Further input is ignored; EOF still reported.
    assert feed(conn, b"j NOOP\r\n") == []
    assert feed(conn, b"") == [ConnectionClosed()]


def test_preauth_greeting() -> None:
    conn = ImapConnection()
    conn.send(UntaggedStatus("PREAUTH", "welcome"))
    assert conn.state is ImapState.AUTHENTICATED
    assert feed(conn, b"a SELECT INBOX\r\n") == [Select("a", "INBOX")]


def test_bye_at_any_time_moves_to_logout() -> None:
    conn = selected()
    conn.send(UntaggedStatus("BYE", "autologout"))
    assert conn.state is ImapState.LOGOUT
    assert feed(conn, b"a NOOP\r\n") == []


# --------------------------------------------------------------------------- AUTHENTICATE


def test_authenticate_with_sasl_ir() -> None:
    conn = ImapConnection()
    ir = base64.b64encode(b"\0user\0pass")
    assert feed(conn, b"a AUTHENTICATE PLAIN " + ir + b"\r\n") == [
        Authenticate("a", "PLAIN", b"\0user\0pass")
    ]
    ok(conn, "a")
    assert conn.state is ImapState.AUTHENTICATED


def test_authenticate_with_continuations() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a AUTHENTICATE login\r\nb NOOP\r\n") == [Authenticate("a", "LOGIN")]
    conn.send(Continuation(base64.b64encode(b"Username:").decode()))
    assert conn.data_to_send() == b"+ VXNlcm5hbWU6\r\n"
    # Bytes keep their order: the line after the command is the SASL response, even
    # when it arrived before the continuation was sent.
    assert list(conn.events()) == [
        InvalidCommand("a", "malformed base64 in authentication exchange")
    ]
    conn.send(Tagged("a", "BAD", "bad base64"))
    assert list(conn.events()) == []
    assert conn.state is ImapState.NOT_AUTHENTICATED


def test_authenticate_multi_step_and_empty_response() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a AUTHENTICATE LOGIN\r\n") == [Authenticate("a", "LOGIN")]
    assert feed(conn, b"dXNlcg==\r\n") == []  # no continuation yet: not the client's turn
    conn.send(Continuation("VXNlcm5hbWU6"))
    assert list(conn.events()) == [AuthResponse("a", b"user")]
    conn.send(Continuation("UGFzc3dvcmQ6"))
    assert feed(conn, b"\r\n") == [AuthResponse("a", b"")]
    ok(conn, "a")
    assert conn.state is ImapState.AUTHENTICATED
    assert conn.data_to_send() == b"+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na OK done\r\n"


def test_authenticate_cancel() -> None:
    conn = ImapConnection()
    feed(conn, b"a AUTHENTICATE PLAIN\r\n")
    conn.send(Continuation())
    assert feed(conn, b"*\r\n") == [AuthResponse("a", None)]
    conn.send(Tagged("a", "BAD", "cancelled"))
    assert conn.state is ImapState.NOT_AUTHENTICATED
    assert feed(conn, b"b NOOP\r\n") == [Noop("b")]


@pytest.mark.parametrize("line", [b"not base64!", b"YWJj=", b"=", b"YQ", b"* x"])
def test_authenticate_malformed_response(line: bytes) -> None:
    conn = ImapConnection()
    feed(conn, b"a AUTHENTICATE PLAIN\r\n")
    conn.send(Continuation())
    (event,) = feed(conn, line + b"\r\n")
    assert isinstance(event, InvalidCommand)
    assert (event.tag, event.status) == ("a", "BAD")


def test_continuation_only_for_authenticate_and_idle() -> None:
    conn = ImapConnection()
    with pytest.raises(LocalProtocolError):
        conn.send(Continuation())
    feed(conn, b"a NOOP\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(Continuation())
    ok(conn, "a")
    feed(conn, b"b AUTHENTICATE PLAIN\r\n")
    conn.send(Continuation())
    with pytest.raises(LocalProtocolError):
        conn.send(Continuation())  # the client has not answered the first one


# --------------------------------------------------------------------------- IDLE


def test_idle_done() -> None:
    conn = selected()
    assert feed(conn, b"a IDLE\r\n") == [Idle("a")]
    conn.send(Continuation("idling"))
    conn.send(Untagged((4, Atom("EXISTS"))))
    conn.send(FetchData(4, (("FLAGS", (Atom("\\Seen"),)),)))
    assert feed(conn, b"dOnE\r\nb NOOP\r\n") == [Done("a")]
    assert list(conn.events()) == []  # IDLE still needs its tagged OK
    ok(conn, "a", "IDLE terminated")
    assert list(conn.events()) == [Noop("b")]
    assert conn.data_to_send() == (
        b"+ idling\r\n* 4 EXISTS\r\n* 4 FETCH (FLAGS (\\Seen))\r\na OK IDLE terminated\r\n"
    )


def test_idle_anything_but_done_is_bad() -> None:
    conn = logged_in()
    feed(conn, b"a IDLE\r\n")
    conn.send(Continuation("idling"))
    assert feed(conn, b"b NOOP\r\n") == [InvalidCommand("a", "expected DONE to end IDLE")]
    conn.send(Tagged("a", "BAD", "expected DONE"))
    assert feed(conn, b"c NOOP\r\n") == [Noop("c")]


def test_idle_eof() -> None:
    conn = logged_in()
    feed(conn, b"a IDLE\r\n")
    conn.send(Continuation("idling"))
    assert feed(conn, b"") == [ConnectionClosed()]


# --------------------------------------------------------------------------- STARTTLS


def test_starttls_trailing_data() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a STARTTLS\r\nb LOGIN injected x\r\n") == [StartTls("a")]
    ok(conn, "a", "Begin TLS negotiation now")
    assert conn.data_to_send() == b"a OK Begin TLS negotiation now\r\n"
    assert conn.trailing_data == b"b LOGIN injected x\r\n"
    assert feed(conn, b"more") == []
    assert conn.trailing_data == b"b LOGIN injected x\r\nmore"


def test_starttls_clean_then_resume() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a STARTTLS\r\n") == [StartTls("a")]
    ok(conn, "a")
    assert conn.trailing_data == b""
    conn.start_tls()
    assert feed(conn, b"b CAPABILITY\r\n") == [Capability("b")]
    ok(conn, "b")
    with pytest.raises(LocalProtocolError):
        conn.start_tls()


def test_starttls_refused_goes_on() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a STARTTLS\r\nb NOOP\r\n")
    events = conn.events()
    assert next(events) == StartTls("a")
    conn.send(Tagged("a", "BAD", "TLS already active"))
    assert next(events) == Noop("b")
    assert conn.trailing_data == b""


# --------------------------------------------------------------------------- mailbox names


def test_mutf7_mailbox_round_trip() -> None:
    conn = logged_in()
    (event,) = feed(conn, b'a LIST "" &ZeVnLIqe-/%\r\n')
    assert event == List("a", "", ("日本語/%",))
    conn.send(Untagged((Atom("LIST"), (), "/", Mailbox("日本語/子"))))
    ok(conn, "a")
    assert conn.data_to_send() == b'* LIST () "/" "&ZeVnLIqe-/&W1A-"\r\na OK done\r\n'
    assert feed(conn, b"b SELECT &ZeVnLIqe-/&W1A-\r\n") == [Select("b", "日本語/子")]


def test_inbox_case_folding() -> None:
    conn = logged_in()
    for i, name in enumerate([b"inbox", b"InBox", b'"INBOX"', b"{5}\r\niNBOX"]):
        (event,) = feed(conn, b"t%d SELECT %s\r\n" % (i, name))
        assert event == Select(f"t{i}", "INBOX")
        conn.send(Tagged(f"t{i}", "NO", "x"))


def test_utf8_enabled_mailbox_names() -> None:
    conn = logged_in()
    conn.utf8_enabled = True
    (event,) = feed(conn, 'a SELECT "日本語"\r\n'.encode())
    assert event == Select("a", "日本語")
    conn.send(Untagged((Atom("LIST"), (), "/", Mailbox("日本語"))))
    ok(conn, "a")
    assert conn.data_to_send() == '* LIST () "/" "日本語"\r\na OK done\r\n'.encode()


def test_bad_mailbox_encoding() -> None:
    conn = logged_in()
    (event,) = feed(conn, b"a SELECT a&b\r\n")
    assert isinstance(event, InvalidCommand)
    assert "modified UTF-7" in event.reason
    assert (event.status, event.code) == ("NO", "NONEXISTENT")


# --------------------------------------------------------------------------- EOF, misuse


def test_eof_after_pending_commands() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a NOOP\r\nb NOOP\r\npartial")
    conn.receive_data(b"")
    events = conn.events()
    assert next(events) == Noop("a")
    assert list(conn.events()) == []  # waits for the answer, even at EOF
    ok(conn, "a")
    assert next(conn.events()) == Noop("b")
    ok(conn, "b")
    assert list(conn.events()) == [ConnectionClosed()]
    assert list(conn.events()) == []
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")


def test_eof_mid_literal() -> None:
    conn = ImapConnection()
    assert feed(conn, b"a LOGIN {10}\r\nabc") == []
    assert feed(conn, b"") == [ConnectionClosed()]


def test_eof_while_discarding() -> None:
    conn = logged_in(max_literal=5)
    (_event,) = feed(conn, b"a APPEND x {9+}\r\nabc")
    conn.send(Tagged("a", "NO", "too big"))
    assert feed(conn, b"") == [ConnectionClosed()]


def test_tagged_must_answer_the_current_command() -> None:
    conn = ImapConnection()
    with pytest.raises(LocalProtocolError):
        ok(conn, "a")
    feed(conn, b"a NOOP\r\n")
    with pytest.raises(LocalProtocolError):
        ok(conn, "b")
    ok(conn, "a")
    with pytest.raises(LocalProtocolError):
        ok(conn, "a")  # already answered


def test_untagged_allowed_any_time() -> None:
    conn = ImapConnection()
    conn.send(Untagged((1, Atom("EXISTS"))))
    conn.send(UntaggedStatus("OK", "still here"))
    assert conn.data_to_send() == b"* 1 EXISTS\r\n* OK still here\r\n"


# --------------------------------------------------------------------------- fuzzing


def answer_all(conn: ImapConnection, *, continuations: bool = True) -> list[Event]:
    """Drain events, answering each: NO for STARTTLS/LOGOUT, else OK; maybe go into modes."""
    got: list[Event] = []
    for event in conn.events():
        got.append(event)
        if isinstance(event, (Authenticate, Idle)) and continuations and len(got) % 2:
            conn.send(Continuation())  # sometimes enter SASL / IDLE mode
        elif isinstance(event, (StartTls, Logout, AuthResponse, Done)):
            conn.send(Tagged(event.tag, "NO", "x"))
        elif isinstance(event, InvalidCommand):
            if event.tag is not None:
                conn.send(Tagged(event.tag, event.status, "x"))
        elif not isinstance(event, ConnectionClosed):
            conn.send(Tagged(event.tag, "OK", "x"))
    return got


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=60), max_size=12))
def test_random_bytes_never_raise(chunks: list[bytes]) -> None:
    conn = ImapConnection(max_line=40, max_literal=1000)
    absurd = b"+}" in b"".join(chunks)  # only an absurd {n+} may end the connection

    def run() -> None:
        for chunk in chunks:
            if chunk:
                conn.receive_data(chunk)
                answer_all(conn)
                conn.data_to_send()
        conn.receive_data(b"")
        assert answer_all(conn)[-1:] == [ConnectionClosed()] or conn.state is ImapState.LOGOUT

    if not absurd:
        run()
        return
    try:
        run()
    except RemoteProtocolError as exc:
        reply = exc.reply
        assert reply.startswith(b"* BYE")


TOKENS = [
    b"a",
    b"A1",
    b"*",
    b"+",
    b"]",
    b" ",
    b"  ",
    b"(",
    b")",
    b"[",
    b'"',
    b'"x y"',
    b"\\",
    b"\\Seen",
    b"{3}",
    b"{0+}",
    b"~{1}",
    b"NIL",
    b"UID",
    b"FETCH",
    b"SEARCH",
    b"STORE",
    b"LOGIN",
    b"SELECT",
    b"INBOX",
    b"&ZeVnLIqe-",
    b"&",
    b"1:*",
    b"$",
    b"0",
    b"4294967296",
    b"BODY.PEEK[HEADER.FIELDS (A)]<0.1>",
    b"FLAGS",
    b"+FLAGS.SILENT",
    b"CHARSET",
    b"RETURN",
    b"OR",
    b"NOT",
    b"1-Jan-2000",
    b"APPEND",
    b"LIST",
    b"IDLE",
    b"DONE",
    b"AUTHENTICATE",
    b"PLAIN",
    b"=",
    b"\x00",
    b"\xff",
    b"\r",
]


@settings(max_examples=400)
@given(
    st.lists(
        st.tuples(st.sampled_from([b"t1", b"t2", b"x]"]), st.lists(st.sampled_from(TOKENS))),
        min_size=1,
        max_size=8,
    )
)
def test_token_soup_one_event_per_tagged_line(lines: list[tuple[bytes, list[bytes]]]) -> None:
    max_line = 200
    conn = ImapConnection(max_line=max_line)
    wire = []
    for tag, tokens in lines:
        line = tag + b" " + b" ".join(tokens)
        if line.endswith(b"}"):
            line += b" x"  # a literal marker would continue the command on the next line
        wire.append(line)
    conn.receive_data(b"".join(line + b"\r\n" for line in wire))
    conn.receive_data(b"")
    got = answer_all(conn, continuations=False)
    assert got[-1] == ConnectionClosed()
    commands = got[:-1]
    assert len(commands) == len(lines)
    for event, line, (tag, _) in zip(commands, wire, lines, strict=False):
        # Over-long lines too: the tag is read from the line's first bytes.
        assert getattr(event, "tag", None) == tag.decode(), (event, line)
