"""The stages of each protocol where a fault may fire, as the hosts name them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fakemail._imap._hosted import STAGES as IMAP_STAGES
from fakemail._pop3._hosted import STAGES as POP3_STAGES
from fakemail._smtpfaults import STAGES as SMTP_STAGES

__all__ = ["ANY", "CONNECT", "CUT_STAGES", "STAGES", "TLS_STAGES", "stage_alias"]

#: The stage of a rule that matches every stage but ``connect``.
ANY: Final = "*"
#: The greeting, in every protocol.
CONNECT: Final = "connect"

#: Every stage of each protocol, in session order where there is one.
STAGES: Final[Mapping[str, tuple[str, ...]]] = {
    "smtp": SMTP_STAGES,
    "imap": IMAP_STAGES,
    "pop3": POP3_STAGES,
}
#: Where ``cut`` can close mid-message.
CUT_STAGES: Final[Mapping[str, tuple[str, ...]]] = {
    "smtp": ("data",),
    "imap": ("fetch",),
    "pop3": ("retr", "top"),
}
#: Where ``tls-fail`` can abort the handshake.
TLS_STAGES: Final[Mapping[str, tuple[str, ...]]] = {
    "smtp": ("starttls",),
    "imap": ("starttls",),
    "pop3": ("stls",),
}
_ALIASES: Final[Mapping[tuple[str, str], str]] = {
    ("smtp", "helo"): "ehlo",
    ("smtp", "greeting"): CONNECT,
    ("imap", "greeting"): CONNECT,
    ("pop3", "greeting"): CONNECT,
}


def stage_alias(protocol: str, stage: str) -> str:
    """The stage's own name for another a user may write (``helo`` is ``ehlo``)."""
    return _ALIASES.get((protocol, stage), stage)
