"""What every protocol host and session shares: store, plugins, current options, errors, logs.

A :class:`Backend` is built by :class:`~fakemail.MailServer` and handed to the SMTP host and the
trio host, so that neither depends on the server module (imports point one way).
"""

from __future__ import annotations

import logging
import re
import threading
from enum import Enum, unique
from typing import TYPE_CHECKING, Final, final

from fakemail._address import normalize_address
from fakemail._config import Options
from fakemail._exceptions import ConfigError
from fakemail._faulttypes import Fault, FaultPoint
from fakemail._plugins import Plugins
from fakemail._store import MailStore
from fakemail._tls import TlsCertificates, certificates
from fakemail._transcript import Transcript, TranscriptLog

if TYPE_CHECKING:
    from fakemail._message import Envelope, Message
    from fakemail._sasl import Credentials

__all__ = ["Backend", "Refusal"]

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@unique
class Refusal(Enum):
    """Why :meth:`Backend.log_in` refused a login; the value is the text to answer with."""

    CREDENTIALS = "invalid user name or password"
    AUTHORIZATION = "cannot act as another user"


log = logging.getLogger("fakemail")


@final
class Backend:
    """Shared state of one server. Thread-safe."""

    def __init__(self, options: Options, plugins: tuple[object, ...] = ()) -> None:
        self._options = options
        self.store = MailStore()
        self.plugins = Plugins(lambda: self._options, plugins)
        self.transcripts = TranscriptLog(options.transcript_sessions, options.transcript_bytes)
        self._errors: list[BaseException] = []
        self._errors_lock = threading.Lock()

    @property
    def options(self) -> Options:
        """The options in force now (per-test changes included)."""
        return self._options

    @options.setter
    def options(self, value: Options) -> None:
        # A single reference swap: server threads read either the old or the new object.
        self._options = value
        self.transcripts.configure(value.transcript_sessions, value.transcript_bytes)

    def check_logins(self, options: Options) -> None:
        """Refuse options under which no client could ever send mail: AUTH required, yet
        every login would fail (:class:`~fakemail.ConfigError`)."""
        if (
            options.require_auth
            and not options.users
            and not options.auth_accept_any
            and not self.plugins.has_plugins("fakemail_authenticate")
        ):
            raise ConfigError(
                "require_auth without users would refuse every login: give users "
                "(fakemail serve --user), or auth_accept_any=True (--auth-accept-any) to "
                "require AUTH and accept any credentials"
            )

    @property
    def tls(self) -> TlsCertificates:
        """The process-wide test certificates (made on first use)."""
        return certificates()

    def record_error(self, error: BaseException, context: str) -> None:
        """Keep an exception raised by fakemail's code or a plugin on a server thread, to be
        re-raised in the test thread."""
        log.error("fakemail: error in %s", context, exc_info=error)
        add_note = getattr(error, "add_note", None)  # Python 3.11+
        if add_note is not None:
            add_note(f"(raised in fakemail's {context}, on a server thread)")
        with self._errors_lock:
            self._errors.append(error)

    def take_errors(self) -> list[BaseException]:
        """Remove and return the errors recorded so far."""
        with self._errors_lock:
            errors, self._errors = self._errors, []
        return errors

    def deliver(self, raw: bytes, envelope: Envelope) -> Message:
        """Store one accepted transaction: the plugins route it to mailboxes, the store records
        it, then ``fakemail_message_stored`` runs (its failure is recorded, not raised: the
        message is stored). Raises what routing or recording raised (nothing is stored then)."""
        mailboxes = self.plugins.route(envelope)
        message = self.store.record(raw, envelope, mailboxes)
        try:
            self.plugins.message_stored(message, mailboxes)
        except Exception as error:
            self.record_error(error, "fakemail_message_stored hook")
        return message

    def log_in(self, protocol: str, credentials: Credentials) -> str | Refusal:
        """The account a login with ``credentials`` opens, or why it is refused: the one rule
        of SMTP AUTH, IMAP LOGIN/AUTHENTICATE and POP3 USER/PASS, APOP and AUTH.

        The user name must be non-empty, at most ``max_username_length`` characters and free
        of control characters (a SASL name is decoded base64 and may hold CR, LF or NUL). A
        SASL authorization identity (RFC 4616 §2) other than the user itself or its own
        address is refused: no user may act as another. Then the plugins decide
        (``fakemail_authenticate``; a failing plugin means "no", recorded).
        """
        username = credentials.username
        options = self._options
        if (
            len(username) > options.max_username_length
            or not normalize_address(username)
            or _CONTROL.search(username)
        ):
            return Refusal.CREDENTIALS
        account = options.account_of(username)
        authzid = credentials.authzid
        if authzid and normalize_address(authzid) not in (normalize_address(username), account):
            return Refusal.AUTHORIZATION
        try:
            accepted = self.plugins.authenticate(protocol, username, credentials)
        except Exception as error:
            self.record_error(error, f"{protocol} authentication hook")
            return Refusal.CREDENTIALS
        return account if accepted else Refusal.CREDENTIALS

    def fault(
        self,
        protocol: str,
        stage: str,
        transcript: Transcript | None,
        *,
        addresses: tuple[str, ...] = (),
        user: str | None = None,
        mailbox: str | None = None,
    ) -> Fault | None:
        """The fault that fires at this point of a session, if any, noted in its transcript.

        One check when no plugin implements ``fakemail_fault`` (no fault rules): hot paths
        call this at every stage. A failing plugin means no fault (recorded).
        """
        if not self.plugins.has_plugins("fakemail_fault"):
            return None
        point = FaultPoint(
            protocol,
            stage,
            0 if transcript is None else transcript.id,
            "" if transcript is None else transcript.peer,
            addresses,
            user,
            mailbox,
        )
        try:
            fault = self.plugins.fault(point)
        except Exception as error:
            self.record_error(error, "fakemail_fault hook")
            return None
        if fault is not None and transcript is not None:
            transcript.fault(fault.label)
        return fault
