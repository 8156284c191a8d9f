"""fakemail's hook specifications (project name ``"fakemail"``).

Implement any of these in a plugin object or module, mark the functions with
:data:`fakemail.hookimpl`, and pass the plugin to ``MailServer(plugins=[...])``, the
``fakemail`` marker's ``plugins=`` or the ``fakemail_plugins`` fixture — or publish it under the
``fakemail`` entry-point group to load it everywhere.

Rules for implementations:

* Hooks are called with keyword arguments; an implementation may accept only the ones it needs.
* They run on a server thread (SMTP's asyncio thread or the trio thread), synchronously: keep
  them quick and thread-safe, and never block on the test thread.
* An exception raised by a hook is re-raised in the test that was running, at fixture teardown.
  The client sees a temporary failure for decisions (SMTP 451), a refused login for
  ``fakemail_authenticate``, and the normal 250 for ``fakemail_message_stored`` (the message
  was stored already).
* ``firstresult`` hooks decide: the first implementation to return something other than
  ``None`` wins; fakemail's own defaults are a plugin whose hook wrappers answer only when no
  other implementation did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from fakemail._faulttypes import Fault, FaultPoint
    from fakemail._message import Envelope, Message
    from fakemail._sasl import Credentials
    from fakemail._server import MailServer
    from fakemail._smtptypes import Reply, SmtpSessionInfo

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("fakemail")
#: Marker for hook implementations: ``@fakemail.hookimpl def fakemail_smtp_rcpt_to(...)``.
hookimpl = pluggy.HookimplMarker("fakemail")


# -------------------------------------------------------------------------------------------
# Server life cycle
# -------------------------------------------------------------------------------------------


@hookspec
def fakemail_server_started(server: MailServer) -> None:
    """Called once every listener of ``server`` accepts connections.

    :param server: the running server.
    """


@hookspec
def fakemail_server_stopping(server: MailServer) -> None:
    """Called when ``server`` begins to stop, before listeners close.

    :param server: the server being stopped.
    """


# -------------------------------------------------------------------------------------------
# SMTP decisions: return a Reply to override the default answer, or None to abstain
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def fakemail_smtp_mail_from(
    session: SmtpSessionInfo, address: str, options: Sequence[str]
) -> Reply | None:
    """Decide on ``MAIL FROM``.

    :param session: the client session (peer, HELO name, TLS, authenticated user).
    :param address: the sender address (``""`` for the null sender).
    :param options: ESMTP parameters, upper-cased (``["SIZE=123", "BODY=8BITMIME"]``).
    :return: a :class:`~fakemail.Reply` to answer with; a 4xx/5xx reply rejects the sender.
        ``None`` accepts (250).
    """


@hookspec(firstresult=True)
def fakemail_smtp_rcpt_to(
    session: SmtpSessionInfo, address: str, options: Sequence[str]
) -> Reply | None:
    """Decide on ``RCPT TO``.

    :param session: the client session.
    :param address: the recipient address.
    :param options: ESMTP parameters, upper-cased.
    :return: a :class:`~fakemail.Reply`; 4xx/5xx rejects this recipient only. ``None`` accepts.
    """


@hookspec(firstresult=True)
def fakemail_smtp_data(session: SmtpSessionInfo, envelope: Envelope, raw: bytes) -> Reply | None:
    """Decide on a complete message, before it is stored.

    :param session: the client session.
    :param envelope: sender, recipients and session facts.
    :param raw: the message bytes (dot-unstuffed).
    :return: a :class:`~fakemail.Reply`; 4xx/5xx rejects the message and nothing is stored.
        ``None`` accepts it (250) and stores it.
    """


# -------------------------------------------------------------------------------------------
# Authentication (SMTP AUTH, IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS, APOP, AUTH)
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def fakemail_authenticate(protocol: str, username: str, credentials: Credentials) -> bool | None:
    """Decide whether a login succeeds.

    The default accepts any password unless users are configured or ``require_auth`` is set;
    then the password must be the configured one.

    :param protocol: ``"smtp"``, ``"imap"`` or ``"pop3"``.
    :param username: the name the client logged in as (the account's address).
    :param credentials: ``credentials.password`` is the plaintext password, or ``None`` for
        challenge-response mechanisms (CRAM-MD5, APOP); ``credentials.verify(secret)`` tells
        whether the client proved knowledge of ``secret`` with any mechanism.
    :return: ``True`` to accept, ``False`` to refuse, ``None`` to leave it to others.
    """


# -------------------------------------------------------------------------------------------
# Delivery
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def fakemail_route(recipient: str, envelope: Envelope) -> Sequence[str] | None:
    """Choose the mailboxes (account addresses) that receive a copy for one recipient.

    The default delivers to the recipient's own address. Return ``[]`` to deliver no copy
    (the transaction is still recorded).

    :param recipient: one envelope recipient.
    :param envelope: the whole envelope.
    """


@hookspec
def fakemail_message_stored(message: Message, mailboxes: Sequence[str]) -> None:
    """Notification: an accepted message was stored.

    :param message: the stored message.
    :param mailboxes: the account addresses whose INBOX received a copy.
    """


# -------------------------------------------------------------------------------------------
# Faults
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def fakemail_fault(point: FaultPoint) -> Fault | None:
    """Decide whether a fault fires at a point of a session, before its normal answer.

    Asked at every stage of SMTP (``connect``, ``ehlo``, ``starttls``, ``auth``, ``mail``,
    ``rcpt``, ``data``, ``message``, ``rset``, ``quit``) and at the greeting and every command
    of IMAP and POP3 — only while some plugin implements it: fakemail's fault rules
    (:attr:`MailServer.faults <fakemail.MailServer.faults>`) are such a plugin while they hold
    a rule.

    :param point: where the session is (protocol, stage, session, addresses, user, mailbox).
    :return: a :class:`~fakemail.Fault` to carry out instead of the normal answer (a reply,
        a disconnect, a delay...), or ``None`` to go on normally.
    """
