"""What SMTP faults say: the stages the SMTP host asks about and the text of fault replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fakemail._faulttypes import Fault

__all__ = ["REFUSAL", "STAGES", "fault_reply"]

#: The SMTP stages, in session order: the greeting, then each command (``data`` is DATA
#: before its 354; ``message`` is the end of data, after the final dot).
STAGES: Final = (
    "connect",
    "ehlo",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "message",
    "rset",
    "quit",
)

#: The answer to a connection over the limit (RFC 5321 §3.8: 421, then close).
REFUSAL: Final = "421 4.7.0 Too many connections, try again later"

# A fitting enhanced status code (RFC 3463, RFC 5248) and text for the common codes.
_TEXTS: Final[Mapping[int, tuple[str, str]]] = {
    421: ("4.3.2", "Service not available, closing transmission channel"),
    450: ("4.2.1", "Mailbox unavailable, try again later"),
    451: ("4.3.0", "Local error in processing, try again later"),
    452: ("4.3.1", "Insufficient system storage"),
    454: ("4.7.0", "Temporary failure, try again later"),
    500: ("5.5.2", "Syntax error, command unrecognized"),
    501: ("5.5.4", "Syntax error in parameters"),
    502: ("5.5.1", "Command not implemented"),
    503: ("5.5.1", "Bad sequence of commands"),
    530: ("5.7.0", "Authentication required"),
    535: ("5.7.8", "Authentication credentials invalid"),
    550: ("5.1.1", "Mailbox unavailable"),
    551: ("5.1.6", "User not local"),
    552: ("5.3.4", "Message size exceeds storage allocation"),
    553: ("5.1.3", "Mailbox name not allowed"),
    554: ("5.7.1", "Transaction failed"),
}


def fault_reply(fault: Fault) -> str:
    """The reply line of a ``reply`` fault: ``451 4.3.0 Local error in processing, ...``."""
    code = int(str(fault.reply))
    status, text = _TEXTS.get(code, (f"{code // 100}.0.0", "Failure"))
    return f"{code} {fault.code or status} {fault.text or text}"
