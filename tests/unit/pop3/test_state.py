"""The POP3 state rules, table-driven against expectations written out from the RFCs, and a
hypothesis state machine checking the engine against an independent model of them."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fakemail._exceptions import LocalProtocolError
from fakemail._pop3 import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    Command,
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
)
from fakemail._pop3._state import (
    Reply,
    command_error,
    is_barrier,
    reply_kinds,
    state_after_command,
    state_after_reply,
)

S = Pop3State
R = Reply
COMMAND_TYPES: list[type[Command]] = [
    User, Pass, Apop, Auth, AuthResponse, Quit, Stat, List, Retr, Dele, Noop, Rset, Top, Uidl,
    Capa, Stls, Utf8, InvalidCommand,
]  # fmt: skip

# RFC 1939 §4-§5, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4, RFC 6856 §2.
VALID: dict[Pop3State, set[type[Command]]] = {
    S.AUTHORIZATION: {User, Pass, Apop, Auth, Capa, Stls, Utf8, Quit},
    S.SASL_EXCHANGE: {AuthResponse},
    S.STARTING_TLS: set(),
    S.TRANSACTION: {Stat, List, Retr, Dele, Noop, Rset, Top, Uidl, Capa, Quit},
    S.UPDATE: set(),
    S.CLOSED: set(),
}

TRANSITIONS: dict[tuple[Pop3State, type[Command], Reply], Pop3State] = {
    (S.AUTHORIZATION, Pass, R.OK): S.TRANSACTION,
    (S.AUTHORIZATION, Apop, R.OK): S.TRANSACTION,
    (S.AUTHORIZATION, Auth, R.OK): S.TRANSACTION,
    (S.AUTHORIZATION, Auth, R.CONTINUATION): S.SASL_EXCHANGE,
    (S.SASL_EXCHANGE, AuthResponse, R.OK): S.TRANSACTION,
    (S.SASL_EXCHANGE, AuthResponse, R.CONTINUATION): S.SASL_EXCHANGE,
    (S.SASL_EXCHANGE, AuthResponse, R.ERR): S.AUTHORIZATION,
    (S.SASL_EXCHANGE, InvalidCommand, R.ERR): S.AUTHORIZATION,
    (S.AUTHORIZATION, Stls, R.OK): S.STARTING_TLS,
    (S.AUTHORIZATION, Quit, R.OK): S.CLOSED,
    (S.AUTHORIZATION, Quit, R.ERR): S.CLOSED,
    (S.UPDATE, Quit, R.OK): S.CLOSED,
    (S.UPDATE, Quit, R.ERR): S.CLOSED,
}


def instance(command: type[Command]) -> Command:
    """A representative event of each type (with arguments where they matter)."""
    samples: dict[type[Command], Command] = {
        User: User("u"), Pass: Pass("p"), Apop: Apop("u", "0" * 32), Auth: Auth("PLAIN"),
        AuthResponse: AuthResponse(b"x"), Quit: Quit(), Stat: Stat(), List: List(1),
        Retr: Retr(1), Dele: Dele(1), Noop: Noop(), Rset: Rset(), Top: Top(1, 1),
        Uidl: Uidl(1), Capa: Capa(), Stls: Stls(), Utf8: Utf8(), InvalidCommand:
        InvalidCommand("x"),
    }  # fmt: skip
    return samples[command]


@pytest.mark.parametrize(
    ("state", "command"), list(itertools.product(Pop3State, COMMAND_TYPES[:-1]))
)
def test_validity_table(state: Pop3State, command: type[Command]) -> None:
    error = command_error(state, command, user_accepted=True, tls_active=False, utf8_enabled=False)
    assert (error is None) == (command in VALID[state])
    if error is not None:
        assert error == f"{command.__name__.upper()} is not valid in the {state.value} state"


@pytest.mark.parametrize(
    ("command", "flags", "reason"),
    [
        (Pass, {"user_accepted": False}, "PASS must follow a successful USER"),
        (Stls, {"tls_active": True}, "TLS is already active"),
        (Stls, {"utf8_enabled": True}, "STLS is not allowed after UTF8"),
    ],
)
def test_flag_rules(command: type[Command], flags: dict[str, bool], reason: str) -> None:
    values = {"user_accepted": True, "tls_active": False, "utf8_enabled": False} | flags
    assert command_error(S.AUTHORIZATION, command, **values) == reason


@pytest.mark.parametrize(
    ("state", "command", "reply"),
    list(itertools.product(Pop3State, COMMAND_TYPES, Reply)),
)
def test_transition_table(state: Pop3State, command: type[Command], reply: Reply) -> None:
    expected = TRANSITIONS.get((state, command, reply), state)
    assert state_after_reply(state, instance(command), reply) is expected


@pytest.mark.parametrize(("state", "command"), list(itertools.product(Pop3State, COMMAND_TYPES)))
def test_receiving_changes_state_only_for_quit_in_transaction(
    state: Pop3State, command: type[Command]
) -> None:
    expected = S.UPDATE if (state, command) == (S.TRANSACTION, Quit) else state
    assert state_after_command(state, instance(command)) is expected


SINGLE = {R.OK, R.ERR}
MULTI = {R.MULTILINE, R.ERR}
STEP = {R.OK, R.ERR, R.CONTINUATION}


@pytest.mark.parametrize(
    ("command", "kinds"),
    [
        (User("u"), SINGLE), (Pass("p"), SINGLE), (Apop("u", "0" * 32), SINGLE),
        (Auth(), MULTI), (Auth("PLAIN"), STEP), (Auth("PLAIN", b""), STEP),
        (AuthResponse(b""), STEP), (AuthResponse(None), {R.ERR}),
        (Quit(), SINGLE), (Stat(), SINGLE), (List(), MULTI), (List(1), SINGLE),
        (Retr(1), MULTI), (Dele(1), SINGLE), (Noop(), SINGLE), (Rset(), SINGLE),
        (Top(1, 0), MULTI), (Uidl(), MULTI), (Uidl(1), SINGLE), (Capa(), MULTI),
        (Stls(), SINGLE), (Utf8(), SINGLE), (InvalidCommand("x"), {R.ERR}),
    ],
)  # fmt: skip
def test_reply_kinds(command: Command, kinds: set[Reply]) -> None:
    assert reply_kinds(command) == kinds


@pytest.mark.parametrize(
    ("state", "command", "barrier"),
    [
        (S.AUTHORIZATION, User("u"), True),  # decides whether PASS is valid
        (S.AUTHORIZATION, Pass("p"), True),
        (S.AUTHORIZATION, Apop("u", "0" * 32), True),
        (S.AUTHORIZATION, Auth("PLAIN"), True),
        (S.AUTHORIZATION, Stls(), True),
        (S.AUTHORIZATION, Utf8(), True),  # decides whether STLS is valid
        (S.AUTHORIZATION, Quit(), True),
        (S.AUTHORIZATION, Capa(), False),
        (S.AUTHORIZATION, InvalidCommand("x"), False),
        (S.SASL_EXCHANGE, AuthResponse(b""), True),
        (S.SASL_EXCHANGE, InvalidCommand("x"), True),  # its -ERR ends the exchange
        (S.UPDATE, Quit(), True),
        (S.TRANSACTION, Stat(), False),
        (S.TRANSACTION, Retr(1), False),
        (S.TRANSACTION, Dele(1), False),
        (S.TRANSACTION, Capa(), False),
        (S.TRANSACTION, InvalidCommand("x"), False),
    ],
)
def test_barriers(state: Pop3State, command: Command, barrier: bool) -> None:
    assert is_barrier(state, command) is barrier


# --- the engine against the same tables, through bytes --------------------------------

LINES: dict[type[Command], bytes] = {
    User: b"USER bob", Pass: b"PASS pw", Apop: b"APOP bob " + b"0" * 32, Auth: b"AUTH PLAIN",
    Quit: b"QUIT", Stat: b"STAT", List: b"LIST", Retr: b"RETR 1", Dele: b"DELE 1",
    Noop: b"NOOP", Rset: b"RSET", Top: b"TOP 1 1", Uidl: b"UIDL", Capa: b"CAPA",
    Stls: b"STLS", Utf8: b"UTF8",
}  # fmt: skip


def connection_in(state: Pop3State) -> Pop3Connection:
    conn = Pop3Connection()
    conn.send(Ok("hi"))
    if state is S.TRANSACTION:
        conn.receive_data(b"APOP bob " + b"0" * 32 + b"\r\n")
        conn.events()
        conn.send(Ok())
    elif state is S.SASL_EXCHANGE:
        conn.receive_data(b"AUTH PLAIN\r\n")
        conn.events()
        conn.send(Continuation())
    assert conn.state is state
    conn.data_to_send()
    return conn


@pytest.mark.parametrize(
    ("state", "command"),
    list(itertools.product([S.AUTHORIZATION, S.TRANSACTION], LINES)),
)
def test_engine_follows_the_validity_table(state: Pop3State, command: type[Command]) -> None:
    conn = connection_in(state)
    if command is Pass and state is S.AUTHORIZATION:
        conn.receive_data(b"USER bob\r\n")
        conn.events()
        conn.send(Ok())
    conn.receive_data(LINES[command] + b"\r\n")
    [event] = conn.events()
    assert isinstance(event, command) == (command in VALID[state])
    assert isinstance(event, InvalidCommand) == (command not in VALID[state])


@pytest.mark.parametrize("command", list(LINES))
def test_every_line_is_data_during_an_exchange(command: type[Command]) -> None:
    conn = connection_in(S.SASL_EXCHANGE)
    conn.receive_data(LINES[command] + b"\r\n")
    [event] = conn.events()
    assert isinstance(event, (AuthResponse, InvalidCommand))


# --- hypothesis: the engine against an independent model -----------------------------

MODEL_LINES = [
    *LINES.values(), b"AUTH", b"AUTH LOGIN AGJvYgBz", b"LIST 1", b"UIDL 1", b"*", b"Ym9i",
    b"BOGUS", b"!!", b"",
]  # fmt: skip
MULTILINE_COMMANDS = (Retr, Top, Capa)
AUTH_ONLY = {"USER", "PASS", "APOP", "AUTH", "STLS", "UTF8"}
TRANSACTION_ONLY = {"STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL"}
BOTH = {"CAPA", "QUIT"}
RESPONSES: dict[str, Response] = {
    "ok": Ok("ok"),
    "err": Err("err"),
    "multi": MultiLine("m", b"x"),
    "cont": Continuation(b"c"),
}


class Pop3Model(RuleBasedStateMachine):
    """Drives a connection one line at a time, answering at random, and predicts each event
    and each state from the RFC rules written out again here."""

    def __init__(self) -> None:
        super().__init__()
        self.conn = Pop3Connection()
        self.conn.send(Ok("hi"))
        self.state = "AUTHORIZATION"
        self.user_ok = False
        self.tls = False
        self.utf8 = False

    def expected_valid(self, line: bytes, *, user_ok: bool) -> bool:
        keyword = line.split(b" ")[0].decode("ascii", "replace").upper()
        if self.state == "AUTHORIZATION":
            if keyword == "PASS":
                return user_ok
            if keyword == "STLS":
                return not self.tls and not self.utf8
            return keyword in AUTH_ONLY | BOTH
        return keyword in TRANSACTION_ONLY | BOTH

    @staticmethod
    def allowed(event: Event) -> set[str]:
        if isinstance(event, InvalidCommand):
            return {"err"}
        if isinstance(event, AuthResponse):
            return {"err"} if event.data is None else {"ok", "err", "cont"}
        if isinstance(event, Auth):
            return {"multi", "err"} if event.mechanism is None else {"ok", "err", "cont"}
        if isinstance(event, (List, Uidl)) and event.msg is None:
            return {"multi", "err"}
        if isinstance(event, MULTILINE_COMMANDS):
            return {"multi", "err"}
        return {"ok", "err"}

    @precondition(lambda self: self.state in ("AUTHORIZATION", "TRANSACTION", "SASL_EXCHANGE"))
    @rule(line=st.sampled_from(MODEL_LINES), answer=st.sampled_from(sorted(RESPONSES)))
    def command(self, line: bytes, answer: str) -> None:
        self.conn.receive_data(line + b"\r\n")
        events = self.conn.events()
        assert len(events) == 1, events
        [event] = events
        was_user_ok, self.user_ok = self.user_ok, False  # only the very next line may be PASS
        if self.state == "SASL_EXCHANGE":
            # Every line is data: "*" cancels, well-formed base64 is a response.
            is_data = line == b"*" or re.fullmatch(rb"(?:[A-Za-z0-9+/]{4})*", line) is not None
            assert isinstance(event, AuthResponse) == is_data, (line, event)
            assert isinstance(event, (AuthResponse, InvalidCommand))
        else:
            valid = self.expected_valid(line, user_ok=was_user_ok)
            assert isinstance(event, InvalidCommand) != valid, (self.state, line, event)
        if self.state == "TRANSACTION" and isinstance(event, Quit):
            self.state = "UPDATE"
        assert self.conn.state.value == self.state

        reply = answer
        if reply not in self.allowed(event):
            with pytest.raises(LocalProtocolError):
                self.conn.send(RESPONSES[reply])
            reply = "err"
        self.conn.send(RESPONSES[reply])

        if isinstance(event, Quit):
            self.state = "CLOSED"
        elif self.state == "SASL_EXCHANGE":
            self.state = {"ok": "TRANSACTION", "cont": "SASL_EXCHANGE"}.get(reply, "AUTHORIZATION")
        elif self.state == "AUTHORIZATION" and reply in ("ok", "cont"):
            if isinstance(event, User):
                self.user_ok = True
            elif isinstance(event, Utf8):
                self.utf8 = True
            elif isinstance(event, Stls):
                self.state = "STARTING_TLS"
            elif isinstance(event, Auth) and reply == "cont":
                self.state = "SASL_EXCHANGE"
            elif isinstance(event, (Pass, Apop, Auth)):
                self.state = "TRANSACTION"

    @precondition(lambda self: self.state == "STARTING_TLS")
    @rule()
    def handshake(self) -> None:
        assert self.conn.trailing_data == b""
        self.conn.start_tls()
        self.state = "AUTHORIZATION"
        self.tls = True

    @precondition(lambda self: self.state in ("AUTHORIZATION", "TRANSACTION", "SASL_EXCHANGE"))
    @rule(partial=st.sampled_from([b"", b"STA", b"*"]))
    def eof(self, partial: bytes) -> None:
        self.conn.receive_data(partial)
        self.conn.receive_data(b"")
        assert self.conn.events() == [ConnectionClosed()]
        self.state = "CLOSED"

    @invariant()
    def engine_agrees(self) -> None:
        assert self.conn.state.value == self.state
        assert self.conn.tls_active == self.tls
        assert self.conn.utf8_enabled == self.utf8

    @precondition(lambda self: self.state == "CLOSED")
    @rule(data=st.sampled_from([b"NOOP\r\n", b"", b"QUIT\r\n"]))
    def after_close(self, data: bytes) -> None:
        self.conn.receive_data(data)  # ignored
        assert self.conn.events() == []
        with pytest.raises(LocalProtocolError):
            self.conn.send(Err())  # nothing is pending


Pop3Model.TestCase.settings = settings(max_examples=200, stateful_step_count=30)
TestPop3Model = Pop3Model.TestCase
