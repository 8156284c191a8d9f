"""Server-side SASL mechanisms (RFC 4422) shared by the POP3 and IMAP sessions, and APOP.

Pure: a mechanism object turns client responses (already base64-decoded by the protocol
engine) into the next step. It never sees the user database: the final
:class:`Credentials` carry a ``verify(password)`` callable the session calls with the
stored password, so challenge-response mechanisms (CRAM-MD5) work the same way as
plain-text ones::

    mech = start_mechanism("PLAIN", hostname="localhost")   # None if unsupported
    step = mech.step(initial_response)                      # bytes, or None if absent
    while isinstance(step, Challenge):
        step = mech.step(next_client_response)
    if isinstance(step, Credentials) and step.verify(stored_password_of(step.username)):
        ...  # authenticated
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Final, TypeAlias

from fakemail._exceptions import LocalProtocolError

__all__ = [
    "MECHANISMS",
    "Challenge",
    "CramMd5",
    "Credentials",
    "Login",
    "Mechanism",
    "Plain",
    "SaslFailure",
    "SaslStep",
    "apop_credentials",
    "apop_digest",
    "check_apop",
    "make_challenge",
    "password_credentials",
    "start_mechanism",
]

MECHANISMS: Final = ("PLAIN", "LOGIN", "CRAM-MD5")
"""The mechanism names :func:`start_mechanism` knows, in order of preference to advertise."""

_HOSTNAME: Final = re.compile(r"[\x21-\x3b\x3d\x3f\x41-\x7e]+")  # printable but "<", ">", "@"
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send ``data`` to the client as a challenge and pass its answer to the next step."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SaslFailure:
    """The client's response was malformed; the exchange failed. ``reason`` is for logs."""

    reason: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """The exchange ended with claimed credentials; the session must still check them.

    ``authzid`` is the identity to act as (``""`` if none was given: act as
    ``username``). ``password`` is the clear-text password for PLAIN and LOGIN, ``None``
    for CRAM-MD5 and APOP, where ``challenge`` and ``digest`` are set instead. ``verify(password)``
    says whether the stored ``password`` matches what the client proved, in constant time.
    """

    authzid: str
    username: str
    password: str | None = field(repr=False)
    verify: Callable[[str], bool] = field(repr=False, compare=False)
    mechanism: str = field(default="", kw_only=True)
    challenge: bytes | None = field(default=None, kw_only=True)
    digest: str | None = field(default=None, kw_only=True)


SaslStep: TypeAlias = Challenge | Credentials | SaslFailure
"""What :meth:`Mechanism.step` returns."""


def make_challenge(hostname: str = "localhost") -> str:
    """A fresh ``<random.clock@hostname>`` string: an APOP timestamp (RFC 1939 §7) or a
    CRAM-MD5 challenge (RFC 2195 §2). Raises :class:`ValueError` for a bad ``hostname``."""
    if not _HOSTNAME.fullmatch(hostname):
        raise ValueError(f"hostname not usable in a challenge: {hostname!r}")
    return f"<{secrets.randbits(64)}.{time.time_ns()}@{hostname}>"


def apop_digest(timestamp: str, password: str) -> str:
    """The APOP digest: lower-case hex MD5 of ``timestamp`` followed by ``password``
    (RFC 1939 §7), both UTF-8 encoded."""
    data = (timestamp + password).encode("utf-8")
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check_apop(timestamp: str, password: str, digest: str) -> bool:
    """Whether ``digest`` (from the client's APOP) matches ``password``, in constant time."""
    expected = apop_digest(timestamp, password).encode("ascii")
    return hmac.compare_digest(expected, digest.lower().encode("utf-8"))


def password_credentials(
    username: str, password: str, *, authzid: str = "", mechanism: str = ""
) -> Credentials:
    """:class:`Credentials` for a clear-text password (POP3 USER/PASS, IMAP LOGIN, PLAIN,
    LOGIN); ``verify`` compares in constant time."""
    expected = password.encode("utf-8")

    def verify(candidate: str) -> bool:
        # Bytes: compare_digest refuses str with non-ASCII characters.
        return hmac.compare_digest(candidate.encode("utf-8"), expected)

    return Credentials(authzid, username, password, verify, mechanism=mechanism)


def apop_credentials(username: str, timestamp: str, digest: str) -> Credentials:
    """:class:`Credentials` for POP3 ``APOP username digest`` answering the greeting's
    ``timestamp``; no password, ``verify`` recomputes the digest (RFC 1939 §7)."""
    digest = digest.lower()

    def verify(password: str) -> bool:
        return check_apop(timestamp, password, digest)

    return Credentials(
        "",
        username,
        None,
        verify,
        mechanism="APOP",
        challenge=timestamp.encode("utf-8"),
        digest=digest,
    )


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class Mechanism(ABC):
    """One server-side SASL exchange; create it with :func:`start_mechanism`.

    Call :meth:`step` first with the initial response (``None`` if the client sent
    none), then once with each answer to a :class:`Challenge`, until it returns
    :class:`Credentials` or :class:`SaslFailure`.
    """

    __slots__ = ("_finished", "_steps")

    name: ClassVar[str]
    """The mechanism's registered name, e.g. ``"PLAIN"``."""

    def __init__(self) -> None:
        self._finished = False
        self._steps = 0

    def step(self, response: bytes | None) -> SaslStep:
        """Take the client's (decoded) response; return the next step.

        Raises :class:`LocalProtocolError` after the exchange ended, or for ``None``
        anywhere but the first step.
        """
        if self._finished:
            raise LocalProtocolError(f"the {self.name} exchange is over")
        if response is None and self._steps:
            raise LocalProtocolError("only the first step may come without a response")
        result = self._step(response)
        self._steps += 1
        if not isinstance(result, Challenge):
            self._finished = True
        return result

    @abstractmethod
    def _step(self, response: bytes | None) -> SaslStep:
        """The mechanism-specific part of :meth:`step`."""


class Plain(Mechanism):
    """PLAIN (RFC 4616): one message ``[authzid] NUL authcid NUL passwd``, UTF-8."""

    __slots__ = ()
    name = "PLAIN"

    def _step(self, response: bytes | None) -> SaslStep:
        if response is None:
            return Challenge(b"")  # RFC 4422 §5: an empty challenge asks for the response
        parts = response.split(b"\0")
        if len(parts) != 3:
            return SaslFailure("PLAIN response must be authzid NUL authcid NUL passwd")
        authzid, username, password = (_utf8(part) for part in parts)
        if authzid is None or username is None or password is None:
            return SaslFailure("PLAIN response is not valid UTF-8")
        if not username or not password:
            return SaslFailure("PLAIN authcid and passwd must not be empty")  # RFC 4616 §2
        return password_credentials(username, password, authzid=authzid, mechanism=self.name)


class Login(Mechanism):
    """LOGIN (draft-murchison-sasl-login): challenges ``Username:`` then ``Password:``.

    An initial response, if given, is the user name.
    """

    __slots__ = ("_username",)
    name = "LOGIN"

    def __init__(self) -> None:
        super().__init__()
        self._username: str | None = None

    def _step(self, response: bytes | None) -> SaslStep:
        if response is None:
            return Challenge(b"Username:")
        text = _utf8(response)
        if text is None:
            return SaslFailure("LOGIN response is not valid UTF-8")
        if self._username is None:
            if not text:
                return SaslFailure("LOGIN user name must not be empty")
            self._username = text
            return Challenge(b"Password:")
        return password_credentials(self._username, text, mechanism=self.name)


class CramMd5(Mechanism):
    """CRAM-MD5 (RFC 2195): challenge ``<random.clock@hostname>``, answer ``user hexdigest``.

    The digest is HMAC-MD5 keyed with the password, so :class:`Credentials` carry no
    password: ``verify(password)`` recomputes the HMAC.
    """

    __slots__ = ("_challenge",)
    name = "CRAM-MD5"

    def __init__(self, hostname: str = "localhost") -> None:
        super().__init__()
        self._challenge = make_challenge(hostname).encode("ascii")

    def _step(self, response: bytes | None) -> SaslStep:
        if not self._steps:
            if response is not None:
                # RFC 5034 §4 / RFC 4422 §4: the server speaks first in CRAM-MD5.
                return SaslFailure("CRAM-MD5 takes no initial response")
            return Challenge(self._challenge)
        assert response is not None  # step() allows None only first
        text = _utf8(response)
        if text is None:
            return SaslFailure("CRAM-MD5 response is not valid UTF-8")
        # The user name may itself contain spaces: the digest is after the last one.
        username, _, digest = text.rpartition(" ")
        if not username or not _HEX_DIGEST.fullmatch(digest):
            return SaslFailure("CRAM-MD5 response must be 'user hexdigest'")
        digest = digest.lower()
        challenge = self._challenge

        def verify(password: str) -> bool:
            expected = hmac.new(password.encode("utf-8"), challenge, "md5").hexdigest()
            return hmac.compare_digest(expected, digest)

        return Credentials(
            "",
            username,
            None,
            verify,
            mechanism=self.name,
            challenge=challenge,
            digest=digest,
        )


def start_mechanism(name: str, *, hostname: str = "localhost") -> Mechanism | None:
    """A new exchange for mechanism ``name`` (case-insensitive); ``None`` if unsupported.

    ``hostname`` goes into the CRAM-MD5 challenge.
    """
    match name.upper() if name.isascii() else "":
        case "PLAIN":
            return Plain()
        case "LOGIN":
            return Login()
        case "CRAM-MD5":
            return CramMd5(hostname)
        case _:
            return None
