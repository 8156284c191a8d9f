"""Response headers for serving untrusted mail content from the UI's origin.

Mail is attacker-controlled: an HTML body or an attached ``.html``/``.svg`` opened from the
listener's origin could run script with the UI's rights (read every message, delete them).
Every such response is therefore a sandboxed document (CSP ``sandbox`` without
``allow-scripts``: no script, an opaque origin) that may load nothing remote unless asked.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

__all__ = ["MAIL_CSP", "REMOTE_CSP", "download_headers"]

#: Mail HTML as a document: no script, no plugins, no forms, nothing fetched but its own
#: inline images; the UI (same origin) may frame it.
MAIL_CSP: Final = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src 'self' data:; style-src 'unsafe-inline'; font-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
#: The same, with remote images, styles and fonts allowed (the UI's "load remote content").
REMOTE_CSP: Final = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src * data:; style-src * 'unsafe-inline'; font-src * data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
#: A part served as a file: never rendered as a live document of this origin.
_PART_CSP: Final = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def _quoted(filename: str) -> str:
    # RFC 6266: a plain ASCII fallback (quotes and controls dropped) and the UTF-8 name.
    fallback = "".join(c for c in filename if c.isascii() and c.isprintable() and c not in '"\\')
    return f"filename=\"{fallback or 'part'}\"; filename*=UTF-8''{quote(filename)}"


def download_headers(filename: str, *, inline: bool) -> dict[str, str]:
    """Headers for a part served as a file (attachment, or ``inline`` for images the UI
    shows), sandboxed whatever its type."""
    disposition = "inline" if inline else "attachment"
    if filename:
        disposition = f"{disposition}; {_quoted(filename)}"
    return {"Content-Disposition": disposition, "Content-Security-Policy": _PART_CSP}
