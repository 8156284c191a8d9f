"""The state table (RFC 3501 §6) and the transitions on tagged responses."""

from __future__ import annotations

import pytest

from fakemail._imap._events import (
    Append,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    SearchAll,
    Select,
    SequenceSet,
    Sort,
    StartTls,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)
from fakemail._imap._state import COMMAND_STATES, ImapState, is_valid_in, next_state

N, A, S, L = (
    ImapState.NOT_AUTHENTICATED,
    ImapState.AUTHENTICATED,
    ImapState.SELECTED,
    ImapState.LOGOUT,
)

EXPECTED: dict[type[Command], set[ImapState]] = {
    Capability: {N, A, S},
    Noop: {N, A, S},
    Logout: {N, A, S},
    Id: {N, A, S},
    StartTls: {N},
    Authenticate: {N},
    Login: {N},
    Select: {A, S},
    Create: {A, S},
    Delete: {A, S},
    Rename: {A, S},
    Subscribe: {A, S},
    Unsubscribe: {A, S},
    List: {A, S},
    Lsub: {A, S},
    Status: {A, S},
    Append: {A, S},
    Namespace: {A, S},
    Idle: {A, S},
    Enable: {A},
    Check: {S},
    Close: {S},
    Unselect: {S},
    Expunge: {S},
    Search: {S},
    Sort: {S},
    Thread: {S},
    Fetch: {S},
    Store: {S},
    Copy: {S},
    Move: {S},
}


def test_table_covers_every_command() -> None:
    assert set(COMMAND_STATES) == set(EXPECTED)


@pytest.mark.parametrize("command", list(EXPECTED), ids=lambda c: c.__name__)
@pytest.mark.parametrize("state", list(ImapState), ids=lambda s: s.name)
def test_validity(command: type[Command], state: ImapState) -> None:
    assert is_valid_in(command, state) == (state in EXPECTED[command])


SEQ = SequenceSet(((1, 1),))


@pytest.mark.parametrize(
    ("state", "command", "status", "after"),
    [
        (N, Login("a", "u", "p"), "OK", A),
        (N, Login("a", "u", "p"), "NO", N),
        (N, Authenticate("a", "PLAIN"), "OK", A),
        (N, Authenticate("a", "PLAIN"), "NO", N),
        (N, StartTls("a"), "OK", N),
        (A, Select("a", "INBOX"), "OK", S),
        (A, Select("a", "INBOX", readonly=True), "OK", S),
        (A, Select("a", "nope"), "NO", A),
        (S, Select("a", "other"), "OK", S),
        (S, Select("a", "nope"), "NO", A),  # RFC 3501 §6.3.1
        (S, Select("a", "nope", readonly=True), "NO", A),
        (S, Select("a", "x"), "BAD", S),
        (S, Close("a"), "OK", A),
        (S, Close("a"), "NO", S),
        (S, Unselect("a"), "OK", A),
        (S, Expunge("a"), "OK", S),
        (S, Fetch("a", False, SEQ, ()), "OK", S),
        (S, Search("a", False, None, SearchAll()), "NO", S),
        (N, Logout("a"), "OK", L),
        (A, Logout("a"), "OK", L),
        (S, Logout("a"), "OK", L),
        (A, Create("a", "x"), "OK", A),
        (A, Noop("a"), "OK", A),
    ],
)
def test_transitions(state: ImapState, command: Command, status: str, after: ImapState) -> None:
    assert next_state(state, command, status) is after  # type: ignore[arg-type]
