"""Filters shared by every query and assertion, and the failure reports that explain misses.

A text filter is an exact string, a compiled regular expression (``search``) or a callable
returning a bool. Address comparisons ignore case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union, final

from fakemail._exceptions import ConfigError
from fakemail._message import Message

__all__ = ["Criteria", "TextFilter", "describe_message", "report", "summarize_message"]

TextFilter = Union[str, "re.Pattern[str]", Callable[[str], bool]]


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _describe_filter(flt: TextFilter) -> str:
    if isinstance(flt, str):
        return repr(flt)
    if isinstance(flt, re.Pattern):
        return f"re.compile({flt.pattern!r})"
    return getattr(flt, "__name__", repr(flt))


def _text_matches(flt: TextFilter, value: str | None, *, casefold: bool = False) -> bool:
    if value is None:
        return False
    if isinstance(flt, str):
        return flt.casefold() == value.casefold() if casefold else flt == value
    if isinstance(flt, re.Pattern):
        return flt.search(value) is not None
    return bool(flt(value))


def _check_filter(name: str, flt: object) -> TextFilter:
    if isinstance(flt, re.Pattern):
        if isinstance(flt.pattern, str):  # a bytes pattern cannot search decoded text
            return flt
    elif isinstance(flt, str) or callable(flt):
        return flt
    raise ConfigError(f"{name}= takes a string, a compiled regex or a callable, got {flt!r}")


def _normalise_body(text: str) -> str:
    # Bodies have LF line ends (Message.text); a filter may have been written with CRLF.
    return text.replace("\r\n", "\n").rstrip("\n")


@final
@dataclass(frozen=True)
class Criteria:
    """A set of filters; a message matches when it passes every one."""

    filters: tuple[tuple[str, Any], ...]

    @classmethod
    def build(cls, **filters: Any) -> Criteria:
        """Validate keyword filters (``to``, ``sender``, ``from_``, ``subject``, ``body``,
        ``has_attachment``, ``header=(name, value)``)."""
        checked: list[tuple[str, Any]] = []
        for name, value in filters.items():
            if name not in _MISS:
                raise ConfigError(f"unknown filter {name}=; filters are: {', '.join(_MISS)}")
            if name == "has_attachment":
                if not isinstance(value, bool):
                    raise ConfigError("has_attachment= takes True or False")
            elif name == "header":
                if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
                    raise ConfigError("header= takes a (name, value) pair")
                value = (value[0], _check_filter("header", value[1]))
            else:
                value = _check_filter(name, value)
            checked.append((name, value))
        return cls(tuple(checked))

    def __str__(self) -> str:
        parts = []
        for name, value in self.filters:
            if name == "header":
                parts.append(f"header=({value[0]!r}, {_describe_filter(value[1])})")
            elif name == "has_attachment":
                parts.append(f"has_attachment={value!r}")
            else:
                parts.append(f"{name}={_describe_filter(value)}")
        return ", ".join(parts)

    def misses(self, message: Message) -> list[str]:
        """Why ``message`` does not match: one line per failed filter (empty if it matches)."""
        reasons = []
        for name, flt in self.filters:
            reason = _MISS[name](message, flt)
            if reason:
                reasons.append(reason)
        return reasons

    def matches(self, message: Message) -> bool:
        """Whether ``message`` passes every filter."""
        return all(not _MISS[name](message, flt) for name, flt in self.filters)

    def select(self, messages: Iterable[Message]) -> list[Message]:
        """The matching messages, in order."""
        return [m for m in messages if self.matches(m)]


def _miss_to(message: Message, flt: TextFilter) -> str | None:
    # "Sent to" means the envelope (Bcc included) or the visible To/Cc headers. The envelope
    # is checked first: it usually decides, and reading headers means parsing the message.
    if any(_text_matches(flt, addr, casefold=True) for addr in message.recipients):
        return None
    candidates = list(dict.fromkeys((*message.recipients, *message.to, *message.cc)))
    if any(_text_matches(flt, addr, casefold=True) for addr in candidates):
        return None
    return f"to: {_describe_filter(flt)} not among recipients {candidates!r}"


def _miss_sender(message: Message, flt: TextFilter) -> str | None:
    if _text_matches(flt, message.sender, casefold=True):
        return None
    return f"sender: envelope sender {message.sender!r} does not match {_describe_filter(flt)}"


def _miss_from(message: Message, flt: TextFilter) -> str | None:
    if _text_matches(flt, message.from_, casefold=True):
        return None
    return f"from_: From {message.from_!r} does not match {_describe_filter(flt)}"


def _miss_subject(message: Message, flt: TextFilter) -> str | None:
    if _text_matches(flt, message.subject):
        return None
    return f"subject: {_show(message.subject)} does not match {_describe_filter(flt)}"


def _miss_body(message: Message, flt: TextFilter) -> str | None:
    bodies = [b for b in (message.text, message.html) if b is not None]
    if isinstance(flt, str):
        if any(_normalise_body(b) == _normalise_body(flt) for b in bodies):
            return None
    elif any(_text_matches(flt, b) for b in bodies):
        return None
    shown = _show(bodies[0]) if bodies else "no text body"
    return f"body: {shown} does not match {_describe_filter(flt)}"


def _miss_attachment(message: Message, wanted: bool) -> str | None:
    names = [a.filename or a.content_type for a in message.attachments]
    if bool(names) == wanted:
        return None
    return f"has_attachment: wanted {wanted}, attachments are {names!r}"


def _miss_header(message: Message, flt: tuple[str, TextFilter]) -> str | None:
    name, value_filter = flt
    values = message.headers.get_all(name)
    if any(_text_matches(value_filter, v) for v in values):
        return None
    found = _show(values[0]) if len(values) == 1 else _show(values)
    if not values:
        found = "absent"
    return f"header {name}: {found} does not match {_describe_filter(value_filter)}"


#: Each filter's name (in the order error messages list them) and its check.
_MISS: dict[str, Callable[[Message, Any], str | None]] = {
    "to": _miss_to,
    "sender": _miss_sender,
    "from_": _miss_from,
    "subject": _miss_subject,
    "body": _miss_body,
    "has_attachment": _miss_attachment,
    "header": _miss_header,
}


def summarize_message(message: Message) -> str:
    """Envelope sender and recipients and subject, on one line."""
    return (
        f"from {message.sender or '<>'} to {', '.join(message.recipients) or '-'} "
        f"subject {_show(message.subject)}"
    )


def describe_message(message: Message) -> str:
    """One line: arrival number and time, then :func:`summarize_message`."""
    return f"#{message.seq} {message.received_at:%H:%M:%S} {summarize_message(message)}"


def report(
    headline: str, criteria: Criteria, messages: Sequence[Message], *, limit: int = 20
) -> str:
    """A failure message: what was asked, then each captured message with its misses."""
    lines = [headline]
    if criteria.filters:
        lines.append(f"Filters: {criteria}")
    if not messages:
        lines.append("No messages were captured.")
        return "\n".join(lines)
    lines.append(f"Captured {len(messages)} message(s):")
    for message in messages[-limit:]:
        misses = criteria.misses(message)
        mark = "MATCH" if not misses else "miss "
        lines.append(f"  {mark} {describe_message(message)}")
        lines.extend(f"          - {reason}" for reason in misses)
    if len(messages) > limit:
        lines.append(f"  (and {len(messages) - limit} earlier message(s) not shown)")
    return "\n".join(lines)
