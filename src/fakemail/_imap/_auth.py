"""IMAP commands of any state and of the not-authenticated state, and ENABLE/NAMESPACE.

CAPABILITY, NOOP, LOGOUT, ID (RFC 2971); STARTTLS, LOGIN, AUTHENTICATE with SASL-IR
(RFC 3501 §6.2, RFC 4959); ENABLE (RFC 5161) and NAMESPACE (RFC 2342).
"""

from __future__ import annotations

import base64
from typing import Final

from fakemail._backend import Refusal
from fakemail._imap._events import (
    Authenticate,
    AuthResponse,
    Capability,
    Enable,
    Id,
    Login,
    Logout,
    Namespace,
    Noop,
    StartTls,
)
from fakemail._imap._response import Atom, Continuation, Response, Tagged, Untagged, UntaggedStatus
from fakemail._imap._view import DELIMITER, SessionBase
from fakemail._sasl import MECHANISMS, Challenge, Credentials, password_credentials, start_mechanism
from fakemail._version import __version__

__all__ = ["AuthCommands"]

_ENABLEABLE: Final = frozenset({"CONDSTORE"})


class AuthCommands(SessionBase):
    """The capability list, log-in and the commands valid in any state."""

    def capabilities(self) -> list[str]:
        """The capability list for the current state (RFC 3501 §7.2.1)."""
        caps = ["IMAP4rev1", "LITERAL+"]
        if self.account is None:
            if not self.is_tls:
                caps.append("STARTTLS")
            if self._login_disabled:
                caps.append("LOGINDISABLED")  # RFC 3501 §6.2.3
            else:
                caps += [f"AUTH={m}" for m in MECHANISMS]
                caps.append("SASL-IR")
        caps += [
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UIDPLUS",
            "MOVE",
            "UNSELECT",
            "CHILDREN",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "ESEARCH",
            "SORT",
            "SORT=DISPLAY",
            "ESORT",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
            "CONDSTORE",
            "STATUS=SIZE",
            f"APPENDLIMIT={self.backend.options.max_message_size}",
        ]
        return caps

    def _capability_code(self) -> str:
        return "CAPABILITY " + " ".join(self.capabilities())

    def _capability(self, cmd: Capability, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities()))))
        return Tagged(cmd.tag, "OK", "CAPABILITY completed")

    def _noop(self, cmd: Noop, out: list[Response]) -> Tagged:
        return Tagged(cmd.tag, "OK", "NOOP completed")

    def _logout(self, cmd: Logout, out: list[Response]) -> Tagged:
        self._view = None
        out.append(UntaggedStatus("BYE", "fakemail IMAP4rev1 server logging out"))
        return Tagged(cmd.tag, "OK", "LOGOUT completed")

    def _id(self, cmd: Id, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("ID"), ("name", "fakemail", "version", __version__))))
        return Tagged(cmd.tag, "OK", "ID completed")

    @property
    def _login_disabled(self) -> bool:
        return self.backend.options.require_tls and not self.is_tls

    def _starttls(self, cmd: StartTls, out: list[Response]) -> Tagged:
        if self.is_tls:
            return Tagged(cmd.tag, "BAD", "TLS is already active")
        return Tagged(cmd.tag, "OK", "Begin TLS negotiation now")

    def _login(self, cmd: Login, out: list[Response]) -> Tagged:
        if self._login_disabled:
            return Tagged(cmd.tag, "NO", "use STARTTLS before LOGIN", "PRIVACYREQUIRED")
        credentials = password_credentials(cmd.username, cmd.password, mechanism="LOGIN")
        return self._log_in(cmd.tag, credentials)

    def _authenticate(self, cmd: Authenticate, out: list[Response]) -> Tagged | None:
        if self._login_disabled:
            return Tagged(cmd.tag, "NO", "use STARTTLS before AUTHENTICATE", "PRIVACYREQUIRED")
        hostname = self.backend.options.hostname
        try:
            self._mechanism = start_mechanism(cmd.mechanism, hostname=hostname)
        except ValueError:  # a hostname unusable in a CRAM-MD5 challenge
            self._mechanism = start_mechanism(cmd.mechanism)
        if self._mechanism is None:
            return Tagged(cmd.tag, "NO", f"unsupported SASL mechanism {cmd.mechanism}")
        return self._sasl_step(cmd.tag, cmd.initial_response, out)

    def _auth_response(self, cmd: AuthResponse, out: list[Response]) -> Tagged | None:
        if cmd.data is None or self._mechanism is None:
            # RFC 3501 §6.2.2: a "*" line cancels, and the command is rejected with BAD.
            self._mechanism = None
            return Tagged(cmd.tag, "BAD", "authentication cancelled")
        return self._sasl_step(cmd.tag, cmd.data, out)

    def _sasl_step(self, tag: str, data: bytes | None, out: list[Response]) -> Tagged | None:
        assert self._mechanism is not None
        step = self._mechanism.step(data)
        if isinstance(step, Challenge):
            out.append(Continuation(base64.b64encode(step.data).decode("ascii")))
            return None
        self._mechanism = None
        if isinstance(step, Credentials):
            return self._log_in(tag, step)
        return Tagged(tag, "NO", f"authentication failed: {step.reason}", "AUTHENTICATIONFAILED")

    def _log_in(self, tag: str, credentials: Credentials) -> Tagged:
        account = self.backend.log_in("imap", credentials)
        if account is Refusal.AUTHORIZATION:
            return Tagged(tag, "NO", account.value, "AUTHORIZATIONFAILED")  # RFC 5530
        if isinstance(account, Refusal):
            # RFC 3501 §11.3 (say no more than that), RFC 5530 response code.
            return Tagged(tag, "NO", account.value, "AUTHENTICATIONFAILED")
        self.account = self.backend.store.ensure_account(account)
        return Tagged(tag, "OK", "Logged in", self._capability_code())

    def _namespace(self, cmd: Namespace, out: list[Response]) -> Tagged:
        out.append(Untagged((Atom("NAMESPACE"), (("", DELIMITER),), None, None)))
        return Tagged(cmd.tag, "OK", "NAMESPACE completed")

    def _enable(self, cmd: Enable, out: list[Response]) -> Tagged:
        enabled = [c for c in dict.fromkeys(cmd.capabilities) if c in _ENABLEABLE]
        if "CONDSTORE" in enabled:
            self.condstore = True
        out.append(Untagged((Atom("ENABLED"), *(Atom(c) for c in enabled))))
        return Tagged(cmd.tag, "OK", "ENABLE completed")
