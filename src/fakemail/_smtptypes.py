"""Plain SMTP value types shared by the SMTP host and hooks: a typed reply and session facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["Reply", "SmtpSessionInfo"]


@final
@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply: a three-digit code and text (RFC 5321 §4.2).

    ``Reply(550, "5.1.1 No such user")`` renders as ``550 5.1.1 No such user``. Multi-line text
    (``\\n`` separated) renders as a multi-line reply.
    """

    code: int
    text: str = ""

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"SMTP reply code must be 200..599, got {self.code!r}")

    @property
    def is_success(self) -> bool:
        """Whether the code is 2xx or 3xx (the command was accepted)."""
        return self.code < 400

    def __str__(self) -> str:
        lines = self.text.split("\n") or [""]
        rendered = [f"{self.code}-{line}" for line in lines[:-1]]
        rendered.append(f"{self.code} {lines[-1]}".rstrip())
        return "\r\n".join(rendered)


@final
@dataclass(frozen=True, slots=True)
class SmtpSessionInfo:
    """Facts about an SMTP client session, as SMTP hooks see them."""

    #: ``(host, port)`` of the client.
    peer: tuple[str, int] | None
    #: The HELO/EHLO name, once given.
    helo: str | None
    #: Whether the connection is encrypted (STARTTLS done, or the SMTPS port).
    is_tls: bool
    #: The user name the client authenticated as, if it did.
    auth_user: str | None
