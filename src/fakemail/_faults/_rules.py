"""Fault rules: where a fault fires, when, and what it does; validated on construction.

A :class:`Rule` is a frozen value. Every field is checked when it is made, so a malformed rule
raises :class:`~fakemail.ConfigError` naming the field where it was written, never later in a
session. The string syntax (:func:`~fakemail._faults._syntax.parse_rule`) and the JSON form
(:meth:`Rule.to_json`, :func:`rule_from_json`) make the same rules.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, final

from fakemail._exceptions import ConfigError
from fakemail._faults._stages import ANY, CONNECT, CUT_STAGES, STAGES, TLS_STAGES, stage_alias
from fakemail._faulttypes import ACTIONS, Action, Fault

if TYPE_CHECKING:
    from fakemail._faults._engine import FaultEngine

__all__ = ["Rule", "rule_from_json"]

_IMAP_REPLIES: Final = ("NO", "BAD", "BYE")
_SMTP_STATUS: Final = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}\Z")
# IMAP response codes are atoms (RFC 3501 §9 resp-text-code), POP3 ones slash-separated
# atoms (RFC 2449 §8).
_IMAP_CODE: Final = re.compile(r"[A-Z][A-Z0-9.-]*\Z")
_POP3_CODE: Final = re.compile(r"[A-Z0-9-]+(?:/[A-Z0-9-]+)*\Z")
_PATTERNS: Final = ("address", "user", "mailbox")
_CONNECT_ONLY: Final = dict.fromkeys(STAGES, (CONNECT,))
_COUNTS: Final = ("times", "nth", "every")


def _fail(name: str, problem: str) -> ConfigError:
    return ConfigError(f"fault rule: {name} {problem}")


def _number(name: str, value: object, *, integer: bool, minimum: float) -> None:
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if integer else "a number"
        raise _fail(name, f"must be {kind}, got {value!r}")
    number = float(value)  # type: ignore[arg-type]  # an int or float, checked above
    if not math.isfinite(number) or number < minimum:
        raise _fail(name, f"must be at least {minimum:g}, got {value!r}")


@final
@dataclass(frozen=True)
class Rule:
    """One fault rule: **where** (protocol, stage, patterns), **when** and **what**.

    ::

        Rule("smtp", "rcpt", reply=451, times=1)            # the next RCPT gets 451, once
        Rule("smtp", "rcpt", reply=550, address="*@bounce.test")
        Rule("imap", "fetch", action="cut")                 # drop the line mid-literal
        Rule("pop3", "retr", reply="ERR", code="SYS/TEMP", probability=0.2)

    Where: ``protocol`` (``"smtp"``, ``"imap"``, ``"pop3"``) and ``stage`` (see
    :data:`~fakemail._faults._stages.STAGES`; ``"*"`` is every stage but ``connect``);
    ``address``, ``user`` and ``mailbox`` are case-insensitive shell patterns
    (``"*@bounce.test"``) the point's facts must match.

    When: each point the rule matches (inside its time window ``after``..``until``, seconds
    since the rule was added) is one *occurrence*. It fires on occurrence ``nth`` only, on
    every ``every``-th one, with ``probability`` (a seeded draw), and at most ``times`` times;
    by default on every occurrence.

    What: the fields of :class:`~fakemail.Fault` (``action``, ``reply``, ``code``, ``text``,
    ``close``, ``delay``, ``throttle``). ``action`` defaults to ``"reply"`` when ``reply`` is
    given, else to ``"pass"`` (delay or throttle only).

    A rule returned by :meth:`FaultEngine.add <fakemail.FaultEngine.add>` knows its engine:
    ``rule.fired`` counts its firings, and ``with rule:`` removes it at the end of the block.
    """

    protocol: str
    stage: str
    action: Action | None = None
    reply: int | str | None = None
    code: str | None = None
    text: str | None = None
    close: bool = False
    delay: float = 0.0
    throttle: int | None = None
    address: str | None = None
    user: str | None = None
    mailbox: str | None = None
    times: int | None = None
    nth: int | None = None
    every: int | None = None
    probability: float | None = None
    after: float = 0.0
    until: float | None = None
    #: Assigned by the engine when the rule is added (``None`` before).
    id: int | None = None
    _engine: FaultEngine | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalised values are set once, here
        if not isinstance(self.protocol, str) or self.protocol.lower() not in STAGES:
            raise _fail("protocol", f"must be one of {', '.join(STAGES)}, got {self.protocol!r}")
        protocol = self.protocol.lower()
        set_(self, "protocol", protocol)
        if not isinstance(self.stage, str):
            raise _fail("stage", f"must be a str, got {self.stage!r}")
        stage = stage_alias(protocol, self.stage.lower())
        if stage != ANY and stage not in STAGES[protocol]:
            raise _fail(
                "stage",
                f"{self.stage!r} is not one of the {protocol} stages "
                f"{', '.join(STAGES[protocol])} or *",
            )
        set_(self, "stage", stage)
        set_(self, "reply", self._checked_reply())
        action = self.action
        if action is None:
            action = "reply" if self.reply is not None else "pass"
        if action not in ACTIONS:
            raise _fail("action", f"must be one of {', '.join(ACTIONS)}, got {action!r}")
        set_(self, "action", action)
        self._check_action()
        self._check_what()
        self._check_when()
        for name in _PATTERNS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise _fail(name, f"must be a non-empty pattern, got {value!r}")

    # ------------------------------------------------------------------ validation

    def _checked_reply(self) -> int | str | None:
        reply = self.reply
        if reply is None:
            return None
        if self.protocol == "smtp":
            if isinstance(reply, str) and reply.isdigit():
                reply = int(reply)
            if isinstance(reply, bool) or not isinstance(reply, int) or not 400 <= reply <= 599:
                raise _fail("reply", f"must be an SMTP error code 400..599, got {reply!r}")
            return reply
        allowed = _IMAP_REPLIES if self.protocol == "imap" else ("ERR",)
        text = reply.upper().lstrip("-") if isinstance(reply, str) else None
        if text not in allowed:
            choices = " or ".join(allowed)
            raise _fail("reply", f"must be {choices} for {self.protocol}, got {reply!r}")
        return text

    def _check_action(self) -> None:
        action, stage, protocol = self.action, self.stage, self.protocol
        if action == "reply" and self.reply is None:
            raise _fail("reply", "is needed for action reply")
        if action != "reply" and self.reply is not None:
            raise _fail("reply", f"does not go with action {action!r}")
        if action == "pass" and not self.delay and self.throttle is None:
            raise _fail("action", "is missing: give a reply, an action, delay= or throttle=")
        if stage == ANY and action in ("cut", "refuse", "tls-fail"):
            raise _fail("stage", f"must be named for action {action!r}, not *")
        where = {"cut": CUT_STAGES, "tls-fail": TLS_STAGES, "refuse": _CONNECT_ONLY}
        if action in where and stage not in where[action][protocol]:
            stages = " or ".join(where[action][protocol])
            raise _fail("action", f"{action!r} is for the {protocol} stage {stages}, not {stage}")
        if stage == CONNECT and self.reply in ("NO", "BAD"):
            raise _fail("reply", f"{self.reply} cannot answer the IMAP greeting; use BYE")

    def _check_what(self) -> None:
        if self.code is not None:
            if not isinstance(self.code, str):
                raise _fail("code", f"must be a str, got {self.code!r}")
            code = self.code if self.protocol == "smtp" else self.code.upper()
            object.__setattr__(self, "code", code)
            if self.protocol == "smtp":
                if not _SMTP_STATUS.match(code) or str(self.reply)[:1] != code[:1]:
                    raise _fail(
                        "code",
                        f"must be an enhanced status code of the reply's class "
                        f"({str(self.reply)[:1]}.x.y, RFC 3463), got {code!r}",
                    )
            elif not (_IMAP_CODE if self.protocol == "imap" else _POP3_CODE).match(code):
                raise _fail("code", f"is not a {self.protocol} response code: {code!r}")
        if self.text is not None and (
            not isinstance(self.text, str) or "\r" in self.text or "\n" in self.text
        ):
            raise _fail("text", f"must be one line of text, got {self.text!r}")
        if not isinstance(self.close, bool):
            raise _fail("close", f"must be True or False, got {self.close!r}")
        if self.close and self.action != "reply":
            raise _fail("close", "closes after a reply; for no reply use action close")
        _number("delay", self.delay, integer=False, minimum=0)
        if self.throttle is not None:
            _number("throttle", self.throttle, integer=True, minimum=1)

    def _check_when(self) -> None:
        for name in _COUNTS:
            value = getattr(self, name)
            if value is not None:
                _number(name, value, integer=True, minimum=1)
        if self.probability is not None:
            _number("probability", self.probability, integer=False, minimum=0)
            if self.probability > 1:
                raise _fail("probability", f"must be in [0, 1], got {self.probability!r}")
        _number("after", self.after, integer=False, minimum=0)
        if self.until is not None:
            _number("until", self.until, integer=False, minimum=0)
            if self.until <= self.after:
                raise _fail("until", f"must be later than after={self.after:g}, got {self.until!r}")
        if self.id is not None:
            _number("id", self.id, integer=True, minimum=1)

    # ------------------------------------------------------------------ derived values

    @property
    def closes(self) -> bool:
        """Whether the connection closes after the reply (``close``, SMTP 421, IMAP BYE)."""
        return self.close or self.reply in (421, "BYE")

    @property
    def label(self) -> str:
        """How transcripts and reports name the rule: ``"rcpt 451 (rule 2)"``."""
        what = [str(self.reply) if self.action == "reply" else str(self.action)]
        if self.action == "pass":
            what = []
        if self.close:
            what.append("then close")
        if self.delay:
            what.append(f"after {self.delay:g}s")
        if self.throttle is not None:
            what.append(f"throttled to {self.throttle} B/s")
        who = "" if self.id is None else f" (rule {self.id})"
        return f"{self.stage} {' '.join(what)}{who}"

    def fault(self) -> Fault:
        """What to carry out when the rule fires."""
        assert self.action is not None
        return Fault(
            self.action,
            self.reply,
            self.text,
            self.code,
            self.closes,
            float(self.delay),
            self.throttle,
            self.label,
        )

    # ------------------------------------------------------------------ forms

    def to_json(self) -> dict[str, Any]:
        """The rule as a JSON object: the fields that differ from their defaults, and ``id``.

        ``rule_from_json(rule.to_json()) == rule``.
        """
        data: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "_engine" or (
                item.name not in ("protocol", "stage", "action") and value == item.default
            ):
                continue
            data[item.name] = value
        return data

    def __str__(self) -> str:
        """The rule in the string syntax (``smtp:rcpt:451:times=1``), id left out."""
        from fakemail._faults._syntax import format_rule

        return format_rule(self)

    # ------------------------------------------------------------------ live rules

    @property
    def fired(self) -> int:
        """How many times the rule fired since it was added (0 for a rule never added)."""
        return 0 if self._engine is None else self._engine.fired_count(self)

    def __enter__(self) -> Rule:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._engine is not None:
            self._engine.remove(self)


_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(Rule) if f.name != "_engine")


def rule_from_json(data: Mapping[str, Any]) -> Rule:
    """A rule from its JSON object (:meth:`Rule.to_json`); :class:`~fakemail.ConfigError`
    names an unknown or missing field."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"fault rule: a JSON rule must be an object, got {data!r}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise _fail(unknown[0], f"is not a rule field (fields: {', '.join(sorted(_FIELDS))})")
    for name in ("protocol", "stage"):
        if name not in data:
            raise _fail(name, "is missing")
    return Rule(**data)
