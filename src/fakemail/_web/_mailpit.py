"""Mailpit's JSON shapes (``MessageSummary``, ``Message``...) built from fakemail's model.

Field names and types follow Mailpit's swagger document (docs: HTTP API reference). Strings are
never ``null`` where Mailpit's are plain strings; address lists are ``[]`` when empty. What
does not change for a message (addresses, subject, snippet...) is computed once per message.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from starlette.datastructures import QueryParams

from fakemail._message import Message
from fakemail._store import Transaction
from fakemail._web._paging import page
from fakemail._web._parts import Part, bodies, parts

__all__ = ["all_tags", "message_json", "messages_summary", "rfc3339", "summary"]

_KEY: Final = "web.summary"
#: Characters of text in a summary's ``Snippet`` (Mailpit's length).
SNIPPET_LENGTH: Final = 250
_BLANKS: Final = re.compile(r"\s+")
_TAGS_RE: Final = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def rfc3339(when: datetime) -> str:
    """``2026-01-02T03:04:05.678Z`` (UTC), or the zone's offset when not UTC."""
    text = when.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _addresses(message: Message, name: str) -> list[dict[str, str]]:
    values = message.headers.get_all(name)
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:  # hostile header text: list nothing rather than fail the whole list
        return []
    return [{"Name": n, "Address": a} for n, a in pairs if a or n]


def _first(message: Message, name: str) -> str:
    try:
        value = message.headers.get(name)
    except Exception:
        return ""
    return value.strip() if value else ""


def _snippet(message: Message) -> str:
    found = bodies(message)
    text = found.text or _TAGS_RE.sub(" ", found.html)
    return _BLANKS.sub(" ", text).strip()[:SNIPPET_LENGTH]


def _static(message: Message) -> dict[str, Any]:
    """The parts of a summary that never change for this message."""
    bcc = [{"Name": "", "Address": a} for a in message.bcc]
    from_ = _addresses(message, "From")
    return {
        "MessageID": _first(message, "Message-ID").strip("<>"),
        "From": from_[0] if from_ else None,
        "To": _addresses(message, "To"),
        "Cc": _addresses(message, "Cc"),
        "Bcc": _addresses(message, "Bcc") or bcc,
        "ReplyTo": _addresses(message, "Reply-To"),
        "Subject": _first(message, "Subject"),
        "Created": rfc3339(message.received_at),
        "Username": message.envelope.auth_user or "",
        "Size": message.size,
        "Attachments": sum(1 for p in parts(message) if not p.inline),
        "Snippet": _snippet(message),
    }


def summary(transaction: Transaction) -> dict[str, Any]:
    """Mailpit's ``MessageSummary`` of one transaction."""
    static = transaction.message.derived(_KEY, _static)
    return {
        "ID": transaction.id,
        "Read": transaction.read,
        "Tags": list(transaction.tags),
        **static,
    }


def _attachment(part: Part) -> dict[str, Any]:
    return {
        "PartID": part.part_id,
        "FileName": part.filename,
        "ContentType": part.content_type,
        "ContentID": part.content_id,
        "Size": part.size,
        "Checksums": {"MD5": part.md5, "SHA1": part.sha1, "SHA256": part.sha256},
    }


def _list_unsubscribe(message: Message) -> dict[str, Any]:
    header = _first(message, "List-Unsubscribe")
    links = re.findall(r"<([^>]*)>", header)
    return {
        "Header": header,
        "HeaderPost": _first(message, "List-Unsubscribe-Post"),
        "Links": links,
        "Errors": "" if links or not header else "no <link> in List-Unsubscribe",
    }


def message_json(transaction: Transaction) -> dict[str, Any]:
    """Mailpit's ``Message`` (``GET /api/v1/message/{ID}``)."""
    message = transaction.message
    static = message.derived(_KEY, _static)
    found = bodies(message)
    listed = found.parts
    date = message.date
    return {
        "ID": transaction.id,
        "MessageID": static["MessageID"],
        "From": static["From"],
        "To": static["To"],
        "Cc": static["Cc"],
        "Bcc": static["Bcc"],
        "ReplyTo": static["ReplyTo"],
        "ReturnPath": _first(message, "Return-Path").strip("<>") or message.sender,
        "Subject": static["Subject"],
        "Date": rfc3339(date if date is not None else message.received_at),
        "Username": static["Username"],
        "Tags": list(transaction.tags),
        "Size": message.size,
        "Text": found.text,
        "HTML": found.html,
        "Attachments": [_attachment(p) for p in listed if not p.inline],
        "Inline": [_attachment(p) for p in listed if p.inline],
        "ListUnsubscribe": _list_unsubscribe(message),
    }


def all_tags(transactions: Sequence[Transaction]) -> list[str]:
    """Every tag in use, sorted (case-insensitively; one spelling each)."""
    seen: dict[str, str] = {}
    for transaction in transactions:
        for tag in transaction.tags:
            seen.setdefault(tag.lower(), tag)
    return sorted(seen.values(), key=str.lower)


def messages_summary(
    everything: Sequence[Transaction], matching: Sequence[Transaction], params: QueryParams
) -> dict[str, Any]:
    """Mailpit's ``MessagesSummary``: one page (``start``, ``limit`` in ``params``) of
    ``matching`` (arrival order, shown newest first) with the totals of ``everything``."""
    start, shown = page(matching[::-1], params)
    return {
        "total": len(everything),
        "unread": sum(1 for t in everything if not t.read),
        "messages_count": len(matching),
        "messages_unread": sum(1 for t in matching if not t.read),
        "start": start,
        "tags": all_tags(everything),
        "messages": [summary(t) for t in shown],
    }
