"""Fault points and faults: what the ``fakemail_fault`` hook is asked about, and what it answers.

Plain values shared by the protocol hosts, which ask at each point of a session and carry out
the answer, and by the fault engine (:mod:`fakemail._faults`), a plugin answering the hook.
Neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, final

__all__ = ["ACTIONS", "Action", "Fault", "FaultPoint"]

#: What a fault does at its point (see :class:`Fault`).
Action: TypeAlias = Literal["reply", "close", "cut", "hang", "refuse", "tls-fail", "pass"]
ACTIONS: Final[tuple[Action, ...]] = ("reply", "close", "cut", "hang", "refuse", "tls-fail", "pass")


@final
@dataclass(frozen=True, slots=True)
class FaultPoint:
    """A place in a session where a fault may fire.

    ``FaultPoint("smtp", "rcpt", session=3, peer="127.0.0.1:50123",
    addresses=("bob@example.com",))``: the RCPT command of SMTP session #3.
    """

    #: ``"smtp"``, ``"imap"`` or ``"pop3"``.
    protocol: str
    #: The stage: ``"connect"`` (the greeting), an SMTP stage (``"ehlo"``, ``"mail"``,
    #: ``"rcpt"``, ``"data"``, ``"message"``...) or an IMAP/POP3 command name, lower-case.
    stage: str
    #: The session's transcript number (``#3`` in transcripts).
    session: int = 0
    #: The client's ``host:port``.
    peer: str = ""
    #: Addresses the point concerns: the MAIL sender, the RCPT recipient, or every recipient
    #: of a message (DATA and end of data).
    addresses: tuple[str, ...] = ()
    #: The login name given (LOGIN, USER, PASS, APOP) or logged in with, where known.
    user: str | None = None
    #: The IMAP mailbox the command names, or else the one selected.
    mailbox: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Fault:
    """What to do at a :class:`FaultPoint` instead of the normal answer.

    Whatever the action, the host first waits ``delay`` seconds and, with ``throttle``, limits
    the connection to that many bytes per second in each direction from then on.

    ``action`` is one of:

    * ``"reply"``: answer with ``reply`` (an SMTP code such as ``451``; IMAP ``"NO"``,
      ``"BAD"`` or ``"BYE"``; POP3 ``"ERR"``), ``code`` (an SMTP enhanced status code such as
      ``"4.2.1"``, or an IMAP/POP3 response code such as ``"UNAVAILABLE"``, ``"SYS/TEMP"``)
      and ``text``; then close if ``close`` (always after SMTP 421 and IMAP BYE);
    * ``"close"``: close the connection without answering;
    * ``"cut"``: close in the middle of the message: SMTP DATA after ``354`` once the first
      message bytes arrive, IMAP FETCH halfway through the first literal, POP3 RETR/TOP
      halfway through the message;
    * ``"hang"``: never answer (read and ignore the client until it gives up);
    * ``"refuse"``: at ``connect``, the connection-limit refusal;
    * ``"tls-fail"``: at STARTTLS/STLS, accept, then abort the TLS handshake;
    * ``"pass"``: go on normally (after the delay, with the throttle).
    """

    action: Action = "pass"
    reply: int | str | None = None
    text: str | None = None
    code: str | None = None
    close: bool = False
    delay: float = 0.0
    throttle: int | None = None
    #: How transcripts and reports name it: ``"rcpt 451 (rule 2)"``.
    label: str = "fault"
