"""Account keys: how an address names a mailbox."""

from __future__ import annotations

__all__ = ["normalize_address"]


def normalize_address(address: str) -> str:
    """Return the key an account is stored under: the domain lower-cased, the local part kept.

    RFC 5321 §2.4: domains are case-insensitive, local parts may not be.
    """
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local}@{domain.lower()}"
