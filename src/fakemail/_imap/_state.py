"""IMAP connection states (RFC 3501 §3) and which command is valid in which state (§6).

The engine refuses a command that is not valid in the current state (``BAD``) before the
session sees it, and moves between states on the tagged response the session sends.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, Literal

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
    Select,
    Sort,
    StartTls,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)

__all__ = ["COMMAND_STATES", "ImapState", "is_valid_in", "next_state"]


class ImapState(enum.Enum):
    """Where an IMAP connection is (RFC 3501 §3)."""

    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


_ANY: Final = frozenset({ImapState.NOT_AUTHENTICATED, ImapState.AUTHENTICATED, ImapState.SELECTED})
_NOT_AUTH: Final = frozenset({ImapState.NOT_AUTHENTICATED})
_AUTH_ONLY: Final = frozenset({ImapState.AUTHENTICATED})
_AUTH: Final = frozenset({ImapState.AUTHENTICATED, ImapState.SELECTED})
_SELECTED: Final = frozenset({ImapState.SELECTED})

COMMAND_STATES: Final[Mapping[type[Command], frozenset[ImapState]]] = {
    # RFC 3501 §6.1: any state.
    Capability: _ANY,
    Noop: _ANY,
    Logout: _ANY,
    Id: _ANY,  # RFC 2971 §3.1
    # §6.2: not authenticated.
    StartTls: _NOT_AUTH,
    Authenticate: _NOT_AUTH,
    Login: _NOT_AUTH,
    # §6.3: authenticated (and so selected too).
    Select: _AUTH,  # SELECT and EXAMINE
    Create: _AUTH,
    Delete: _AUTH,
    Rename: _AUTH,
    Subscribe: _AUTH,
    Unsubscribe: _AUTH,
    List: _AUTH,
    Lsub: _AUTH,
    Status: _AUTH,
    Append: _AUTH,
    Namespace: _AUTH,  # RFC 2342 §5
    Idle: _AUTH,  # RFC 2177 §4 command_auth
    Enable: _AUTH_ONLY,  # RFC 5161 §3.1: "before any mailbox is selected"
    # §6.4: selected.
    Check: _SELECTED,
    Close: _SELECTED,
    Unselect: _SELECTED,  # RFC 3691
    Expunge: _SELECTED,
    Search: _SELECTED,
    Sort: _SELECTED,  # RFC 5256 §3
    Thread: _SELECTED,
    Fetch: _SELECTED,
    Store: _SELECTED,
    Copy: _SELECTED,
    Move: _SELECTED,  # RFC 6851
}
"""The states in which each command is valid."""


def is_valid_in(command: type[Command], state: ImapState) -> bool:
    """Whether a command of this type may be issued in ``state``."""
    return state in COMMAND_STATES[command]


def next_state(state: ImapState, command: Command, status: Literal["OK", "NO", "BAD"]) -> ImapState:
    """The state after the tagged ``status`` response to ``command``."""
    if status == "OK":
        if isinstance(command, (Login, Authenticate)):
            return ImapState.AUTHENTICATED
        if isinstance(command, Select):
            return ImapState.SELECTED
        if isinstance(command, (Close, Unselect)):
            return ImapState.AUTHENTICATED
        if isinstance(command, Logout):
            return ImapState.LOGOUT
    elif status == "NO" and isinstance(command, Select) and state is ImapState.SELECTED:
        # RFC 3501 §6.3.1: a failed SELECT/EXAMINE leaves no mailbox selected.
        return ImapState.AUTHENTICATED
    return state
