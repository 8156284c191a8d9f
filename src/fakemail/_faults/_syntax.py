"""The string syntax of fault rules, for ``fakemail serve --fault`` and the marker.

::

    PROTOCOL:STAGE[:ACTION][:NAME=VALUE | :close]...[:text=ANY TEXT]

``smtp:rcpt:451:times=1``, ``smtp:rcpt:550:code=5.1.1:address=*@bounce.test``,
``imap:fetch:NO:code=UNAVAILABLE:p=0.3``, ``pop3:retr:cut``, ``smtp:connect:delay=2s``.
ACTION is a reply (an SMTP code; IMAP ``NO``, ``BAD``, ``BYE``; POP3 ``ERR``) or an action
name (``close``, ``cut``, ``hang``, ``refuse``, ``tls-fail``, ``pass``); left out, it is
``pass`` (then a ``delay`` or ``throttle`` is needed). ``text=`` comes last and takes the rest
of the string, colons included. Seconds may be written ``2``, ``2s`` or ``500ms``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from fakemail._exceptions import ConfigError
from fakemail._faults._rules import Rule
from fakemail._faulttypes import ACTIONS

__all__ = ["format_rule", "parse_rule"]

_SECONDS: Final = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s)?\Z")


def _seconds(text: str) -> float:
    match = _SECONDS.match(text)
    if match is None:
        raise ValueError(text)
    value = float(match[1])
    return value / 1000 if match[2] == "ms" else value


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("", "1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


_VALUES: Final[Mapping[str, tuple[str, Callable[[str], Any]]]] = {
    "code": ("code", str),
    "close": ("close", _boolean),
    "delay": ("delay", _seconds),
    "throttle": ("throttle", int),
    "address": ("address", str),
    "user": ("user", str),
    "mailbox": ("mailbox", str),
    "times": ("times", int),
    "nth": ("nth", int),
    "every": ("every", int),
    "p": ("probability", float),
    "probability": ("probability", float),
    "after": ("after", _seconds),
    "until": ("until", _seconds),
}


def parse_rule(text: str) -> Rule:
    """The :class:`~fakemail.Rule` a string says (see the module docstring).

    Raises :class:`~fakemail.ConfigError` naming the part that is wrong.
    """
    if not isinstance(text, str):
        raise ConfigError(f"fault rule: expected a string, got {text!r}")
    head, marker, rest = text.partition(":text=")
    parts = head.split(":")
    if len(parts) < 3 and not (len(parts) == 2 and marker):
        raise ConfigError(
            f"fault rule {text!r}: expected PROTOCOL:STAGE:ACTION[:NAME=VALUE]... "
            "(e.g. smtp:rcpt:451:times=1)"
        )
    fields: dict[str, Any] = {"protocol": parts[0], "stage": parts[1]}
    items = parts[2:]
    if items and "=" not in items[0]:
        # First, "close" is the action (no reply); after a reply, the flag to close after it.
        action = items.pop(0)
        if action.lower() in ACTIONS:
            fields["action"] = action.lower()
        else:
            fields["reply"] = action
    for item in items:
        name, _, value = item.partition("=")
        key = name.strip().lower()
        if key not in _VALUES:
            raise ConfigError(
                f"fault rule {text!r}: unknown option {name!r} "
                f"(options: {', '.join([*_VALUES, 'text'])})"
            )
        field_name, convert = _VALUES[key]
        if not value and key != "close":
            raise ConfigError(f"fault rule {text!r}: {key} needs a value ({key}=...)")
        try:
            fields[field_name] = convert(value)
        except ValueError:
            raise ConfigError(f"fault rule {text!r}: bad {key} value {value!r}") from None
    if marker:
        fields["text"] = rest
    try:
        return Rule(**fields)
    except ConfigError as error:
        raise ConfigError(f"{error} (in {text!r})") from None


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value == float(f"{value:g}") else repr(value)
    return str(value)


def format_rule(rule: Rule) -> str:
    """``rule`` in the string syntax; ``parse_rule(format_rule(rule))`` equals it (but its id)."""
    parts = [rule.protocol, rule.stage]
    if rule.action == "reply":
        parts.append(str(rule.reply))
    elif rule.action != "pass":
        parts.append(str(rule.action))
    data = rule.to_json()
    for key, (name, _) in _VALUES.items():
        if key == "p" or name not in data:
            continue
        parts.append("close" if name == "close" else f"{key}={_value(data[name])}")
    text = "" if rule.text is None else f":text={rule.text}"
    return ":".join(parts) + text
